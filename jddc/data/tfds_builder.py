"""TFDS builders writing `array_record` shards of task examples from a release folder.

No TensorFlow: shards are written by `download_and_prepare` and read with
`builder.as_data_source()` (random access, what Grain reads). The release folder is the
builder's manual directory; shards go under `<data_dir>/<release name>-<shard_key>/`, a key
of everything the shards' content depends on (`shard_key`: the release's data files, the code
that reads them and makes examples, `on_error`, and under `on_error="skip"` the image bytes,
since a bad image drops its message), so a change gets fresh shards instead of stale ones.
One process builds a shard folder at a time (`fsutil.file_lock`); TFDS writes a version into
an `.incomplete` folder and renames it when complete. Shards store image *names*; the
pipelines read the pixels from the release's image folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import Callable, Optional

import numpy as np
import tensorflow_datasets as tfds

from jddc import faults, fsutil
from jddc.data import examples as examples_lib
from jddc.data import release as release_lib
from jddc.data import schema

tfds.disable_progress_bar()  # one bar per split and shard drowns the run's own output

_TEXT = tfds.features.Text
_TEXTS = lambda: tfds.features.Sequence(tfds.features.Text())  # noqa: E731
_INTS = lambda: tfds.features.Sequence(np.int32)  # noqa: E731


def _dialogue(prefix: str) -> dict:
  return {f"{prefix}texts": _TEXTS(), f"{prefix}images": _TEXTS(), f"{prefix}speakers": _INTS()}


FEATURES = {
    "response": lambda: {"session_id": _TEXT(), "index": np.int32, "shop_type": _TEXT(), **_dialogue("context_"),
                         "response": _TEXT(), "knowledge": _TEXTS()},
    "rewrite": lambda: {"session_id": _TEXT(), "index": np.int32, "shop_type": _TEXT(), **_dialogue("context_"),
                        **_dialogue("query_"), "can_rewrite": np.int32, "rewrite": _TEXT(), "knowledge": _TEXTS()},
    "discourse": lambda: {"session_id": _TEXT(), "shop_type": _TEXT(), "edu_texts": _TEXTS(), "edu_images": _TEXTS(),
                          "edu_speakers": _INTS(), "edu_turns": _INTS(), "edu_messages": _INTS(),
                          "link_parents": _INTS(), "link_children": _INTS(), "link_relations": _INTS()},
    "summary": lambda: {"session_id": _TEXT(), "shop_type": _TEXT(), **_dialogue(""), "summary": _TEXT()},
    "image_category": lambda: {"session_id": _TEXT(), "index": np.int32, "image": _TEXT(), "label": np.int32},
}
assert set(FEATURES) == set(examples_lib.EXAMPLE_TYPES)


class JddcExamples(tfds.core.GeneratorBasedBuilder):
  """Task examples of a JDDC-layout release; one builder config per example type."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=kind) for kind in examples_lib.EXAMPLE_TYPES]
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass the release folder as the manual directory (see jddc.data.release)."

  def __init__(self, *, on_error: str = "raise", **kwargs):
    self._on_error = on_error
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(FEATURES[self.builder_config.name]()),
                                 description=f"JDDC {self.builder_config.name} examples")

  def _split_generators(self, dl_manager):
    release = release_lib.read_release(os.fspath(dl_manager.manual_dir), on_error=self._on_error)
    examples_lib.require_every_split(release, self.builder_config.name)
    return {split: self._generate_examples(release, split) for split in schema.SPLITS}

  def _generate_examples(self, release: schema.Release, split: str):
    key_field = "index" if self.builder_config.name in ("response", "rewrite", "image_category") else None
    for n, example in enumerate(examples_lib.BUILDERS[self.builder_config.name](release, split)):
      key = example["session_id"] + (f"/{example[key_field]}" if key_field else "")
      yield key, example
      if n == 1:
        faults.point("shards.during_build")


def release_fingerprint(root: str) -> str:
  """A short hash of the release's dialogue, knowledge and annotation files."""
  digest = hashlib.sha256()
  paths = [release_lib.dialogue_path(root, s) for s in schema.SPLITS]
  paths += [os.path.join(root, "knowledge.tsv")]
  paths += [os.path.join(root, "annotations", n) for n in release_lib.ANNOTATION_FILES.values()]
  for path in paths:
    if path and os.path.isfile(path):
      digest.update(os.path.relpath(path, root).encode())
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
          digest.update(block)
  return digest.hexdigest()[:12]


#: the modules whose code makes a release's shards (a change to any of them rebuilds them)
SHARD_CODE = ("jddc.data.release", "jddc.data.images", "jddc.data.examples", "jddc.data.schema", "jddc.data.errors",
              "jddc.data.tfds_builder")


def image_digest(root: str, names: Optional[list[str]] = None) -> str:
  """A short hash of the names and bytes of the release's images (`names`, or every file of
  `images/`, sorted); an image replaced under the same name changes it."""
  image_dir = os.path.join(root, "images")
  if names is None:
    names = sorted(os.listdir(image_dir)) if os.path.isdir(image_dir) else []
  paths = [os.path.join(image_dir, n) for n in names]
  return fsutil.file_digest([p for p in paths if os.path.isfile(p)], root=image_dir) if paths else "no-images"


def shard_key(release_dir: str, on_error: str = "raise") -> str:
  """What a release's shards depend on: data files, example-making code, `on_error` (and the
  images under "skip": under "raise" a bad image fails the build, so no shard depends on them)."""
  parts = [release_fingerprint(release_dir), fsutil.code_fingerprint(*SHARD_CODE), on_error]
  if on_error != "raise":
    parts.append(image_digest(release_dir))
  return fsutil.content_key(*parts, length=12)


def shard_dir(release_dir: str, data_dir: str, on_error: str = "raise") -> str:
  name = os.path.basename(os.path.normpath(release_dir)) or "release"
  return os.path.join(data_dir, f"{name}-{shard_key(release_dir, on_error)}")


def prepare_locked(make_builder: Callable[[], tfds.core.DatasetBuilder], lock_path: str,
                   manual_dir: str) -> tfds.core.DatasetBuilder:
  """`make_builder()` with its data prepared, by one process at a time: a concurrent first run
  waits, then finds the shards complete. Leftovers of a killed build (TFDS's `incomplete.*`)
  are removed. The builder is made after the wait: one made before reads no splits."""
  builder = make_builder()
  if os.path.isfile(os.path.join(builder.data_dir, "dataset_info.json")):
    return builder
  with fsutil.file_lock(lock_path):
    builder = make_builder()
    parent = os.path.dirname(os.path.normpath(builder.data_dir))
    if os.path.isdir(parent):
      for entry in os.listdir(parent):
        if entry.startswith(tfds.core.constants.INCOMPLETE_PREFIX):
          shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def build(release_dir: str, kind: str, data_dir: Optional[str] = None, on_error: str = "raise") -> JddcExamples:
  """Builds (once) and returns the TFDS builder of `kind` examples for a release."""
  if kind not in FEATURES:
    raise ValueError(f"unknown example type {kind!r}; expected one of {examples_lib.EXAMPLE_TYPES}")
  data_dir = shard_dir(release_dir, data_dir or os.path.join(release_dir, "..", "tfds"), on_error)
  return prepare_locked(
      lambda: JddcExamples(config=kind, data_dir=data_dir, file_format="array_record", on_error=on_error),
      os.path.join(data_dir, kind), os.path.abspath(release_dir))


def data_sources(release_dir: str, kind: str, data_dir: Optional[str] = None, on_error: str = "raise") -> dict:
  """Split name -> random-access source of `kind` examples (built on first use)."""
  return dict(build(release_dir, kind, data_dir, on_error).as_data_source())
