"""Frozen ResNet-18 image features for the multimodal rows: extracted once, cached.

    <data.cache_dir>/features/<release>-<fingerprint>-<extractor>.npz   names: str[N], features: float32[N, 512]

The extractor is `config.features.checkpoint` (a run folder of configs/image_category.py)
or, by default, that config trained on the same release on first use, under
`<data.cache_dir>/feature_extractor/` (a derived artefact of the data, like the shards).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from jddc import configuration
from jddc.data import pipeline, release as release_lib, tfds_builder
from jddc.tasks import base


def extractor_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The feature extractor's config, reading the same release as `config`."""
  ext = configuration.load_config(f"{config.features.extractor_config}:{config.features.size}")
  with ext.unlocked():
    ext.data.release = config.data.release
    ext.data.corpus_size = config.data.corpus_size
    ext.data.corpus_seed = config.data.corpus_seed
    ext.data.cache_dir = config.data.cache_dir
    ext.data.on_error = config.data.on_error
    ext.mesh = config.mesh
  return ext


def extractor_workdir(config: ml_collections.ConfigDict) -> str:
  if config.features.checkpoint:
    return config.features.checkpoint
  root = base.release_dir(config)
  name = f"{os.path.basename(os.path.normpath(root))}-{tfds_builder.release_fingerprint(root)}-{config.features.size}"
  return os.path.join(config.data.cache_dir, "feature_extractor", name)


def release_image_names(root: str, on_error: str = "raise") -> list[str]:
  """The images the shards can name: checked, so a bad one is skipped (on_error="skip") as there."""
  r = release_lib.read_release(root, on_error=on_error, check_images=True)
  return sorted({m.image for s in r.sessions.values() for m in s.messages if m.is_image})


def feature_table(config: ml_collections.ConfigDict, batch_size: int = 128) -> tuple[dict[str, int], np.ndarray]:
  """(image name -> row, float32[N, dim]) for every image of the config's release."""
  from jddc import train  # the extractor is trained by the same loop

  root = base.release_dir(config)
  workdir = extractor_workdir(config)
  ext = extractor_config(config)
  cache = os.path.join(config.data.cache_dir, "features",
                       f"{os.path.basename(os.path.normpath(root))}-{tfds_builder.release_fingerprint(root)}-"
                       f"{os.path.basename(os.path.normpath(workdir))}.npz")
  if jax.process_count() > 1 and not os.path.isfile(cache):
    # Training or running the extractor is a computation over every process's devices,
    # but processes prepare their data one after another (`jddc.train.setup`).
    raise RuntimeError(f"multi-process runs read cached image features, and {cache} is missing: prepare them "
                       "with one process first (python -m jddc.main --config=... --mode=prepare), on every "
                       "host that does not share this filesystem")
  if not os.path.isdir(os.path.join(workdir, "best")):
    if config.features.checkpoint:
      raise FileNotFoundError(f"config.features.checkpoint: no best checkpoint under {workdir}/best")
    logging.info("training the image feature extractor in %s", workdir)
    train.train_and_evaluate(ext, workdir)
  if os.path.isfile(cache) and os.path.getmtime(cache) >= os.path.getmtime(os.path.join(workdir, "best")):
    data = np.load(cache)
    names = [str(n) for n in data["names"]]
    return {n: i for i, n in enumerate(names)}, data["features"]
  _, model = train.load_model(ext, workdir)
  names = release_image_names(root, config.data.on_error)
  extract = nnx.jit(lambda m, x: m.features(x, train=False))
  image_dir = os.path.join(root, "images")
  rows = []
  for start in range(0, len(names), batch_size):
    pixels = np.stack([pipeline.load_pixels(image_dir, n, ext.data.image_size) for n in names[start:start + batch_size]])
    rows.append(np.asarray(jax.device_get(extract(model, jnp.asarray(pixels))), np.float32))
  features = np.concatenate(rows) if rows else np.zeros((0, config.features.dim), np.float32)
  os.makedirs(os.path.dirname(cache), exist_ok=True)
  np.savez(cache, names=np.asarray(names), features=features)
  return {n: i for i, n in enumerate(names)}, features
