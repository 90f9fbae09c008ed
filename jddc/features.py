"""Frozen ResNet-18 image features for the multimodal rows: extracted once, cached.

    <data.cache_dir>/features/<release>-<key>.npz   names: str[N], features: float32[N, 512]

The extractor is `config.features.checkpoint` (a run folder of configs/image_category.py)
or, by default, that config trained on the same release on first use, under
`<data.cache_dir>/feature_extractor/<release>-<key>-<size>/` (a derived artefact of the
data, like the shards). Both are cache entries that exist only when complete:

- the default extractor is complete when `extractor_complete.json` is there, written
  atomically after its training and final evaluation returned; an interrupted training is
  resumed by the next run (the train loop resumes from its latest checkpoint), never used
  half-trained. One process trains it at a time (`fsutil.file_lock`), a concurrent first
  run waits and then finds it complete;
- the feature table is written atomically, under a lock, and its key covers what it
  depends on: the extractor's identity (its config and its best checkpoint's bytes), the
  images' names and bytes, the image size and the code that extracts.
"""

from __future__ import annotations

import contextlib
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from jddc import configuration, faults, fsutil
from jddc.data import pipeline, release as release_lib, tfds_builder
from jddc.tasks import base

COMPLETE_FILE = "extractor_complete.json"  # <extractor workdir>/: written once its training finished
#: the code a default extractor's weights depend on (a change retrains it)
EXTRACTOR_CODE = ("jddc.tasks.image_category", "jddc.models.resnet", "jddc.models.layers", "jddc.data.pipeline",
                  "jddc.data.images", "jddc.train", "jddc.optim", "jddc.data.synth.facts")
#: the code a feature table depends on, given the extractor (a change re-extracts)
EXTRACT_CODE = ("jddc.features", "jddc.data.pipeline", "jddc.data.images", "jddc.data.release", "jddc.models.resnet",
                "jddc.models.layers", "jddc.tasks.image_category")


def extractor_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The feature extractor's config, reading the same release (or public corpus) as `config`."""
  ext = configuration.load_config(f"{config.features.extractor_config}:{config.features.size}")
  with ext.unlocked():
    ext.data.release = config.data.release
    ext.data.corpus = config.data.corpus
    ext.data.corpus_path = config.data.corpus_path
    ext.data.corpus_size = config.data.corpus_size
    ext.data.corpus_seed = config.data.corpus_seed
    ext.data.cache_dir = config.data.cache_dir
    ext.data.on_error = config.data.on_error
    ext.mesh = config.mesh
  return ext


def _config_identity(ext: ml_collections.ConfigDict) -> dict:
  """The extractor config without where the cache lives (which changes no weight)."""
  identity = ext.to_dict()
  identity["data"] = {k: v for k, v in identity["data"].items() if k != "cache_dir"}
  return identity


def _meta_digest(root: str) -> str:
  """The generator's latent image facts (`synth_meta.jsonl`), which the extractor's aux heads learn."""
  from jddc.data.synth import generate as synth_generate
  path = os.path.join(root, synth_generate.META_FILE)
  return fsutil.file_digest(path) if os.path.isfile(path) else ""


def extractor_workdir(config: ml_collections.ConfigDict) -> str:
  """`config.features.checkpoint`, or the default extractor's cache folder, named by a key of
  its config, the release's data and image bytes and the code that trains it."""
  if config.features.checkpoint:
    return config.features.checkpoint
  root = base.release_dir(config)
  ext = extractor_config(config)
  key = fsutil.content_key(_config_identity(ext), base.source_fingerprint(config), tfds_builder.image_digest(root),
                           _meta_digest(root), fsutil.code_fingerprint(*EXTRACTOR_CODE), length=12)
  name = f"{os.path.basename(os.path.normpath(root))}-{key}-{config.features.size}"
  return os.path.join(config.data.cache_dir, "feature_extractor", name)


def extractor_identity(workdir: str) -> str:
  """A hash of an extractor run's config and of its best checkpoint's files (not their times)."""
  best = os.path.join(workdir, "best")
  steps = sorted(d for d in os.listdir(best) if d.isdigit()) if os.path.isdir(best) else []
  if not steps:
    raise FileNotFoundError(f"no best checkpoint under {best}: the extractor run has not been evaluated")
  files = []
  for step in steps:
    for folder, _, names in sorted(os.walk(os.path.join(best, step))):
      files += [os.path.join(folder, n) for n in sorted(names) if n != "_CHECKPOINT_METADATA"]  # holds a time
  config_path = os.path.join(workdir, "config.json")
  config_digest = fsutil.file_digest(config_path) if os.path.isfile(config_path) else ""
  return fsutil.content_key(config_digest, steps, fsutil.file_digest(files, root=best))


@contextlib.contextmanager
def _extractor_fault_points(task_cls):
  """`extractor.before_first_eval` at the extractor's first evaluation, `extractor.after_first_eval`
  at the next one (its best checkpoint saved, its training not finished)."""
  original = task_cls.evaluate
  calls = []

  def evaluate(self, *args, **kwargs):
    faults.point("extractor.after_first_eval" if calls else "extractor.before_first_eval")
    calls.append(None)
    return original(self, *args, **kwargs)

  task_cls.evaluate = evaluate
  try:
    yield
  finally:
    task_cls.evaluate = original


def ensure_extractor(config: ml_collections.ConfigDict) -> str:
  """The extractor's run folder, complete: trained (or its training resumed) unless it is."""
  from jddc import train  # the extractor is trained by the same loop
  from jddc.tasks import get_task

  workdir = extractor_workdir(config)
  if config.features.checkpoint:
    if not os.path.isdir(os.path.join(workdir, "best")):
      raise FileNotFoundError(f"config.features.checkpoint: no best checkpoint under {workdir}/best")
    if not any(os.path.isfile(os.path.join(workdir, n)) for n in (COMPLETE_FILE, "results.json")):
      raise FileNotFoundError(f"config.features.checkpoint: {workdir} has no results.json: its training has not "
                              "finished (finish it, or point at a finished run), so its features would be a "
                              "half-trained extractor's")
    return workdir
  marker = os.path.join(workdir, COMPLETE_FILE)
  if os.path.isfile(marker):
    return workdir
  with fsutil.file_lock(workdir):  # a concurrent first run waits here, then finds it complete
    if not os.path.isfile(marker):
      ext = extractor_config(config)
      logging.info("training the image feature extractor in %s", workdir)
      with _extractor_fault_points(get_task(ext.task)):
        results = train.train_and_evaluate(ext, workdir)
      fsutil.write_json(marker, {"results": results, "identity": extractor_identity(workdir)})
  return workdir


def release_image_names(root: str, on_error: str = "raise", check_images: bool = True) -> list[str]:
  """The images the shards can name: checked (decoded in full), so a bad one is skipped
  (on_error="skip") as there. Unchecked: every image a message names, without decoding."""
  r = release_lib.read_release(root, on_error=on_error, check_images=check_images)
  return sorted({m.image for s in r.sessions.values() for m in s.messages if m.is_image})


def feature_cache_path(config: ml_collections.ConfigDict, workdir: str, names: list[str]) -> str:
  """The feature table's cache file for the extractor in `workdir` and the release's images `names`."""
  root = base.release_dir(config)
  ext = extractor_config(config)
  key = fsutil.content_key(extractor_identity(workdir), tfds_builder.image_digest(root, names), ext.data.image_size,
                           fsutil.code_fingerprint(*EXTRACT_CODE), length=16)
  return os.path.join(config.data.cache_dir, "features", f"{os.path.basename(os.path.normpath(root))}-{key}.npz")


def _load_table(path: str) -> tuple[dict[str, int], np.ndarray]:
  with np.load(path) as data:
    names = [str(n) for n in data["names"]]
    return {n: i for i, n in enumerate(names)}, data["features"]


def feature_table(config: ml_collections.ConfigDict, batch_size: int = 128) -> tuple[dict[str, int], np.ndarray]:
  """(image name -> row, float32[N, dim]) for every image of the config's release."""
  from jddc import train

  root = base.release_dir(config)
  # The key needs the images' bytes, not their decoding: which images a check would skip is a
  # function of those bytes and of the code (in the key); only extraction decodes them.
  names = release_image_names(root, config.data.on_error, check_images=False)
  if jax.process_count() > 1:
    # Training or running the extractor is a computation over every process's devices,
    # but processes prepare their data one after another (`jddc.train.setup`).
    workdir = extractor_workdir(config)
    complete = config.features.checkpoint or os.path.isfile(os.path.join(workdir, COMPLETE_FILE))
    cache = feature_cache_path(config, workdir, names) if complete else ""
    if not cache or not os.path.isfile(cache):
      raise RuntimeError(f"multi-process runs read cached image features, and those of {workdir} are missing: "
                         "prepare them with one process first (python -m jddc.main --config=... --mode=prepare), "
                         "on every host that does not share this filesystem")
    return _load_table(cache)
  workdir = ensure_extractor(config)
  cache = feature_cache_path(config, workdir, names)
  if os.path.isfile(cache):
    return _load_table(cache)
  with fsutil.file_lock(cache):
    if os.path.isfile(cache):
      return _load_table(cache)
    names = release_image_names(root, config.data.on_error)
    ext = extractor_config(config)
    _, model = train.load_model(ext, workdir)
    extract = nnx.jit(lambda m, x: m.features(x, train=False))
    image_dir = os.path.join(root, "images")
    rows = []
    for start in range(0, len(names), batch_size):
      pixels = np.stack([pipeline.load_pixels(image_dir, n, ext.data.image_size)
                         for n in names[start:start + batch_size]])
      rows.append(np.asarray(jax.device_get(extract(model, jnp.asarray(pixels))), np.float32))
      faults.point("features.during_extraction")
    features = np.concatenate(rows) if rows else np.zeros((0, config.features.dim), np.float32)
    fsutil.sweep_leftovers(os.path.dirname(cache), os.path.basename(cache))
    with fsutil.atomic_file(cache, "wb") as f:  # a file object: np.savez adds no ".npz"
      np.savez(f, names=np.asarray(names), features=features)
  return {n: i for i, n in enumerate(names)}, features
