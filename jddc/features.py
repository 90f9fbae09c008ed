"""Frozen ResNet-18 image features for the multimodal rows: extracted once, cached.

    <data.cache_dir>/features/<release>-<key>.npz   names: str[N], features: float32[N, 512]

A row reads image features exactly when its config has a `features` section
(`reads_image_features`; configs/common.py's rule `_image_features` ties the section to
`model.image_feature_dim`). They are a prerequisite the engine resolves before the task
prepares (`jddc.train.image_features`): it makes sure the extractor run exists, training it
with the one loop if needed, then asks this module for the table and hands it to the task
(`task.feature_table`). This module only names, checks and reads extractor runs and extracts;
it imports no training code.

The extractor is `config.features.checkpoint` (a run folder of configs/image_category.py)
or, by default, the config `extractor_config` derives from the row's, trained on the same
release on first use, under `<data.cache_dir>/feature_extractor/<release>-<key>-<size>/` (a
derived artefact of the data, like the shards). Both are cache entries that exist only when
complete:

- the default extractor is complete when `extractor_complete.json` is there, written
  atomically after its training and final evaluation returned; an interrupted training is
  resumed by the next run (the train loop resumes from its latest checkpoint), never used
  half-trained. One process trains it at a time (`fsutil.file_lock`), a concurrent first
  run waits and then finds it complete;
- the feature table is written atomically, under a lock, and its key covers what it
  depends on: the extractor's identity (its config and its best checkpoint's bytes), the
  images' names and bytes, the image size and the code that extracts. The extractor run is
  loaded through `jddc.inference`, and images are decoded at the size it was trained at
  (its `data.image_size`, which the row's must equal).

A run keeps the extractor it was trained with: `pin_extractor` puts that run's config.json,
best checkpoint and completion record into `<run>/extractor/` (hard links where the
filesystem allows, copies otherwise) when the run is first prepared, and every later train,
eval or predict of the run, from any working directory, reads its features through that copy
(`jddc.train.image_features`), whatever `data_cache/` now holds: a retrained or deleted cache
extractor never changes the features an existing run is evaluated on.

Multi-process runs only read: the extractor and the table must be prepared with one process
first (`python -m jddc.main --config=... --mode=prepare`).
"""

from __future__ import annotations

import os
import shutil

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from jddc import checkpointing, configuration, faults, fsutil, inference, sharding
from jddc.data import pipeline, release as release_lib, tfds_builder
from jddc.tasks import base

FeatureTable = tuple[dict[str, int], np.ndarray]  # (image name -> row, float32[N, dim])

COMPLETE_FILE = "extractor_complete.json"  # <extractor workdir>/: written once its training finished
#: the code a default extractor's weights depend on (a change retrains it)
EXTRACTOR_CODE = ("jddc.tasks.image_category", "jddc.tasks.base", "jddc.models.registry", "jddc.models.resnet",
                  "jddc.models.layers", "jddc.data.pipeline", "jddc.data.images", "jddc.train", "jddc.optim",
                  "jddc.data.synth.facts")
#: the code a feature table depends on, given the extractor (a change re-extracts)
EXTRACT_CODE = ("jddc.features", "jddc.inference", "jddc.data.pipeline", "jddc.data.images", "jddc.data.release",
                "jddc.models.registry", "jddc.models.resnet", "jddc.models.layers", "jddc.tasks.image_category")
#: `data` keys the default extractor keeps from its own config (`extractor_config`): text
#: settings an image classifier reads none of, so that rows differing only in them share one
#: extractor. Every other `data` key is the row's.
EXTRACTOR_OWN_DATA_KEYS = ("tokenizer", "vocab_size", "max_len", "max_response_len", "max_images")
PREPARE_FIRST = ("prepare them with one process first (python -m jddc.main --config=... --mode=prepare), "
                 "on every host that does not share this filesystem")


def reads_image_features(config: ml_collections.ConfigDict) -> bool:
  """Whether the config's model reads image features: it has a `features` section (validated to
  hold exactly when `model.image_feature_dim` > 0, configs/common.py `_image_features`)."""
  return "features" in config


def extractor_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The default feature extractor's config, derived from a row's config by one rule.

  It is `features.extractor_config` at size `features.size` (starting from the weights
  `features.init_from` names, if any), with the row's `mesh` and the
  row's `data` section except the keys in `EXTRACTOR_OWN_DATA_KEYS`, which keep the
  extractor's values. So the extractor reads the row's data (`release`, `corpus`,
  `corpus_path`, `corpus_size`, `corpus_seed`, `on_error`), cache (`cache_dir`) and image size
  (`image_size`: the side images are decoded at, for its training and for extraction), and a
  `data` key added later is the row's too unless listed there.

  Raises:
    ValueError: the config reads no image features (it has no `features` section).
  """
  if not reads_image_features(config):
    raise ValueError(f"task {config.task!r} with model {config.model.name!r} reads no image features "
                     "(no features section): it has no feature extractor")
  ext = configuration.load_config(f"{config.features.extractor_config}:{config.features.size}")
  with ext.unlocked():
    if config.features.get("init_from"):
      ext.model.init_from = config.features.init_from
    for key, value in config.data.items():
      if key not in EXTRACTOR_OWN_DATA_KEYS:
        ext.data[key] = value
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


def _weights_digest(path: str) -> tuple[str, ...]:
  """(digest,) of the weights a default extractor starts from (a file, or a folder's files); () for none,
  so that the keys of extractors trained from scratch stay what they were."""
  if not path:
    return ()
  if os.path.isdir(path):
    files = sorted(os.path.join(folder, n) for folder, _, names in os.walk(path) for n in names)
    return (fsutil.file_digest(files, root=path),)
  return (fsutil.file_digest(path),)


def extractor_workdir(config: ml_collections.ConfigDict) -> str:
  """`config.features.checkpoint`, or the default extractor's cache folder, named by a key of
  its config, the release's data and image bytes, the bytes of the weights it starts from
  (`features.init_from`) and the code that trains it."""
  if config.features.checkpoint:
    return config.features.checkpoint
  root = base.release_dir(config)
  ext = extractor_config(config)
  key = fsutil.content_key(_config_identity(ext), base.source_fingerprint(config), tfds_builder.image_digest(root),
                           _meta_digest(root), fsutil.code_fingerprint(*EXTRACTOR_CODE),
                           *_weights_digest(ext.model.get("init_from", "")), length=12)
  name = f"{os.path.basename(os.path.normpath(root))}-{key}-{config.features.size}"
  return os.path.join(config.data.cache_dir, "feature_extractor", name)


def extractor_identity(workdir: str) -> str:
  """A hash of an extractor run's config and of its best checkpoint's files (not their times)."""
  best = os.path.join(workdir, checkpointing.BEST_DIR)
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


def is_complete(workdir: str) -> bool:
  """Whether the default extractor in `workdir` finished training (its `COMPLETE_FILE` is there)."""
  return os.path.isfile(os.path.join(workdir, COMPLETE_FILE))


def write_complete(workdir: str, results: dict) -> None:
  """Marks the default extractor in `workdir` complete, once its training and final evaluation returned."""
  fsutil.write_json(os.path.join(workdir, COMPLETE_FILE), {"results": results, "identity": extractor_identity(workdir)})


def pinned_extractor(run_dir: str) -> str | None:
  """`<run_dir>/extractor` if the run has pinned its extractor there (`pin_extractor`), else None."""
  path = os.path.join(run_dir, inference.RUN_EXTRACTOR_DIR)
  return path if os.path.isfile(os.path.join(path, "config.json")) else None


def pin_extractor(extractor_dir: str, run_dir: str) -> str:
  """Puts the finished extractor run `extractor_dir` (its config.json, best checkpoint and
  results or completion record) into `<run_dir>/extractor/`, once and atomically, by process 0;
  returns that folder. Files are hard-linked when both folders share a filesystem (a finished
  extractor's files never change), else copied. The copy has the extractor's identity
  (`extractor_identity`), so it finds the same cached feature table."""
  own = os.path.join(run_dir, inference.RUN_EXTRACTOR_DIR)
  if pinned_extractor(run_dir) or jax.process_index() != 0:
    return own
  names = [n for n in ("config.json", COMPLETE_FILE, "results.json") if os.path.isfile(os.path.join(extractor_dir, n))]
  fsutil.sweep_leftovers(run_dir, inference.RUN_EXTRACTOR_DIR)  # a copy a killed run left half made
  with fsutil.atomic_dir(own) as tmp:  # a concurrent writer's identical copy wins
    for name in names:
      _link_or_copy(os.path.join(extractor_dir, name), os.path.join(tmp, name))
    best = os.path.join(extractor_dir, checkpointing.BEST_DIR)
    for folder, _, files in os.walk(best):
      target = os.path.join(tmp, checkpointing.BEST_DIR, os.path.relpath(folder, best))
      os.makedirs(target, exist_ok=True)
      for name in files:
        _link_or_copy(os.path.join(folder, name), os.path.join(target, name))
  return own


def _link_or_copy(src: str, dst: str) -> None:
  try:
    os.link(src, dst)
  except OSError:  # another filesystem, or links not allowed
    shutil.copy2(src, dst)


def check_checkpoint(workdir: str) -> None:
  """`config.features.checkpoint` is a finished extractor run.

  Raises:
    FileNotFoundError: it has no best checkpoint, or neither results.json nor `COMPLETE_FILE`.
  """
  if not os.path.isdir(os.path.join(workdir, checkpointing.BEST_DIR)):
    raise FileNotFoundError(f"config.features.checkpoint: no best checkpoint under "
                            f"{os.path.join(workdir, checkpointing.BEST_DIR)}")
  if not any(os.path.isfile(os.path.join(workdir, n)) for n in (COMPLETE_FILE, "results.json")):
    raise FileNotFoundError(f"config.features.checkpoint: {workdir} has no results.json: its training has not "
                            "finished (finish it, or point at a finished run), so its features would be a "
                            "half-trained extractor's")


def extractor_image_size(config: ml_collections.ConfigDict, workdir: str) -> int:
  """The side the extractor run in `workdir` decodes images at (its config.json's `data.image_size`).

  Raises:
    ValueError: the row's `data.image_size` differs (the row asks for one size, the extractor's
      weights were trained at another).
  """
  size = inference.read_config(workdir).data.image_size
  if size != config.data.image_size:
    raise ValueError(f"data.image_size {config.data.image_size} differs from {size}, the size the feature "
                     f"extractor {workdir} was trained at: set --config.data.image_size={size}")
  return size


def release_image_names(root: str, on_error: str = "raise", check_images: bool = True) -> list[str]:
  """The images the shards can name: checked (decoded in full), so a bad one is skipped
  (on_error="skip") as there. Unchecked: every image a message names, without decoding."""
  r = release_lib.read_release(root, on_error=on_error, check_images=check_images)
  return sorted({m.image for s in r.sessions.values() for m in s.messages if m.is_image})


def feature_cache_path(config: ml_collections.ConfigDict, workdir: str, names: list[str]) -> str:
  """The feature table's cache file for the extractor in `workdir` and the release's images `names`."""
  root = base.release_dir(config)
  key = fsutil.content_key(extractor_identity(workdir), tfds_builder.image_digest(root, names),
                           extractor_image_size(config, workdir), fsutil.code_fingerprint(*EXTRACT_CODE), length=16)
  return os.path.join(config.data.cache_dir, "features", f"{os.path.basename(os.path.normpath(root))}-{key}.npz")


def _load_table(path: str) -> FeatureTable:
  with np.load(path) as data:
    names = [str(n) for n in data["names"]]
    return {n: i for i, n in enumerate(names)}, data["features"]


def feature_table(config: ml_collections.ConfigDict, workdir: str, batch_size: int = 128) -> FeatureTable:
  """(image name -> row, float32[N, dim]) for every image of the config's release, by the
  complete extractor run in `workdir`: read from the cache, else extracted and cached.

  Raises:
    RuntimeError: a multi-process run whose table is not cached (it is extracted by one process).
  """
  root = base.release_dir(config)
  # The key needs the images' bytes, not their decoding: which images a check would skip is a
  # function of those bytes and of the code (in the key); only extraction decodes them.
  names = release_image_names(root, config.data.on_error, check_images=False)
  cache = feature_cache_path(config, workdir, names)
  if os.path.isfile(cache):
    return _load_table(cache)
  if jax.process_count() > 1:
    raise RuntimeError(f"multi-process runs read cached image features, and those of {workdir} are missing: "
                       + PREPARE_FIRST)
  with fsutil.file_lock(cache):
    if os.path.isfile(cache):
      return _load_table(cache)
    names = release_image_names(root, config.data.on_error)
    task, model = inference.load_run(workdir, mesh=sharding.mesh_shape(config.mesh))
    size = task.config.data.image_size
    extract = nnx.jit(lambda m, x: m.features(x, train=False))
    image_dir = os.path.join(root, "images")
    rows = []
    for start in range(0, len(names), batch_size):
      pixels = np.stack([pipeline.load_pixels(image_dir, n, size) for n in names[start:start + batch_size]])
      rows.append(np.asarray(jax.device_get(extract(model, jnp.asarray(pixels))), np.float32))
      faults.point("features.during_extraction")
    features = np.concatenate(rows) if rows else np.zeros((0, config.features.dim), np.float32)
    fsutil.sweep_leftovers(os.path.dirname(cache), os.path.basename(cache))
    with fsutil.atomic_file(cache, "wb") as f:  # a file object: np.savez adds no ".npz"
      np.savez(f, names=np.asarray(names), features=features)
  return {n: i for i, n in enumerate(names)}, features
