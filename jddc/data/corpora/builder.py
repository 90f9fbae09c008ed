"""TFDS builder writing `array_record` shards of a public corpus's task examples.

The twin of `jddc.data.tfds_builder.JddcExamples` for the corpora of `READERS`: the same
`FEATURES` per example type, the corpus folder as the manual directory, and shards under
`<data_dir>/<corpus>-<folder name>-<shard_key>/`: the reader's fingerprint (corpus files and
reader code), this builder's and the example code, and `on_error`, so a changed corpus file,
reader or option gets fresh shards instead of stale ones. Built by one process at a time
(`tfds_builder.prepare_locked`). Read with `as_data_source()` (Grain).
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow_datasets as tfds

from jddc import faults, fsutil
from jddc.data import examples as examples_lib
from jddc.data import tfds_builder
from jddc.data.corpora import READERS, common, get_reader
from jddc.data.errors import ErrorPolicy

_KEYED = ("response", "rewrite", "image_category")


class CorpusExamples(tfds.core.GeneratorBasedBuilder):
  """Task examples of a public corpus; one builder config per example type, the corpus by name."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=kind) for kind in examples_lib.EXAMPLE_TYPES]
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass the corpus folder as the manual directory (see jddc.data.corpora)."

  def __init__(self, *, corpus: str, on_error: str = "raise", **kwargs):
    self._reader = get_reader(corpus)
    self._on_error = on_error
    super().__init__(**kwargs)
    self._reader.check_kind(self.builder_config.name)

  def _info(self) -> tfds.core.DatasetInfo:
    kind = self.builder_config.name
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(tfds_builder.FEATURES[kind]()),
                                 description=f"{self._reader.description} ({kind} examples)")

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    return {split: self._generate_examples(root, split) for split in common.SPLITS}

  def _generate_examples(self, root: str, split: str):
    kind = self.builder_config.name
    keys = common.feature_keys(kind)
    policy = ErrorPolicy(self._on_error)
    for n, example in enumerate(self._reader.examples(root, kind, split, policy)):
      common.check_example(kind, example, keys)
      yield example["session_id"] + (f"/{example['index']}" if kind in _KEYED else ""), example
      if n == 1:
        faults.point("shards.during_build")
    policy.log_report()


#: the modules besides the reader's own whose code makes a corpus's shards
SHARD_CODE = ("jddc.data.corpora.builder", "jddc.data.corpora.common", "jddc.data.examples", "jddc.data.errors",
              "jddc.data.tfds_builder")


def shard_key(corpus: str, root: str, on_error: str = "raise") -> str:
  """The reader's fingerprint (its files' bytes and code) + the builder's code + `on_error`."""
  fingerprint = get_reader(corpus).fingerprint(root)
  return f"{fingerprint}-{fsutil.content_key(fsutil.code_fingerprint(*SHARD_CODE), on_error, length=8)}"


def shard_dir(corpus: str, root: str, data_dir: str, on_error: str = "raise") -> str:
  name = os.path.basename(os.path.normpath(root)) or corpus
  return os.path.join(data_dir, f"{corpus}-{name}-{shard_key(corpus, root, on_error)}")


def build(corpus: str, root: str, kind: str, data_dir: Optional[str] = None,
          on_error: str = "raise") -> CorpusExamples:
  """Builds (once) and returns the TFDS builder of `kind` examples of corpus folder `root`."""
  get_reader(corpus).check_kind(kind)
  data_dir = shard_dir(corpus, root, data_dir or os.path.join("data_cache", "tfds"), on_error)
  return tfds_builder.prepare_locked(
      lambda: CorpusExamples(corpus=corpus, config=kind, data_dir=data_dir, file_format="array_record",
                             on_error=on_error),
      os.path.join(data_dir, kind), os.path.abspath(root))


def data_sources(corpus: str, root: str, kind: str, data_dir: Optional[str] = None, on_error: str = "raise") -> dict:
  """Split name -> random-access source of `kind` examples of the corpus (built on first use)."""
  return dict(build(corpus, root, kind, data_dir, on_error).as_data_source())


__all__ = ["CorpusExamples", "READERS", "build", "data_sources", "shard_dir"]
