"""A finished run, loaded from its folder alone: for notebooks (`launch/colab_restore.ipynb`).

    task, model = inference.load_run("runs/response_mm_base_seed0")        # or gs://bucket/runs/...
    task.feature_table = inference.image_features(inference.run_extractor(run), ["kettle.jpg"])
    task.predict(model, [{"context_texts": [...], "context_images": [...], "context_speakers": [...]}])

The run folder holds what this needs, from any working directory: `config.json` (the
resolved config), the best checkpoint (`best/<step>/`), for text tasks the tokenizer the run
trained with (`tokenizer/`), and for multimodal rows the image-feature extractor it was
trained with (`extractor/`: that run's config.json and best checkpoint, pinned there by
`jddc.features.pin_extractor` when the run was prepared). The model is restored onto a mesh
over whatever devices this process has (every device on the data axis unless `mesh` says
otherwise), not the run's.

This module builds and restores the model itself (as `jddc.train.RunState` does, without the
optimizer), so that `jddc.features`, which the engine calls, can load an extractor run
through it without importing the engine (tests/test_imports.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Optional, Sequence

import jax
import ml_collections
import numpy as np
from etils import epath
from flax import nnx

from jddc import checkpointing, evaluation, sharding
from jddc.data import pipeline
from jddc.tasks import base, get_task


#: <run>/extractor/: the feature extractor a multimodal run was trained with (config.json + best/)
RUN_EXTRACTOR_DIR = "extractor"


def run_extractor(run_dir: str) -> str:
  """The feature extractor run a multimodal run was trained with: its pinned copy
  `<run_dir>/extractor` (local or gs://).

  Raises:
    FileNotFoundError: the run has none (a text-only run, or one prepared before runs pinned
      their extractor: pass that extractor's folder to `image_features` yourself).
  """
  path = epath.Path(run_dir) / RUN_EXTRACTOR_DIR
  if not (path / "config.json").exists():
    raise FileNotFoundError(f"{path}: this run holds no feature extractor (a text-only run, or one prepared "
                            "before run folders pinned theirs: give image_features the extractor's folder)")
  return str(path)


def read_config(run_dir: str) -> ml_collections.ConfigDict:
  """The config a run was trained with (`<run_dir>/config.json`, local or gs://)."""
  path = epath.Path(run_dir) / "config.json"
  if not path.exists():
    raise FileNotFoundError(f"{path}: not a run folder (no config.json)")
  try:
    values = json.loads(path.read_text())
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise ValueError(f"{path}: not a readable config.json ({e}); the run folder is damaged") from None
  if not isinstance(values, dict):
    raise ValueError(f"{path}: expected a JSON object of config values")
  return ml_collections.ConfigDict(values)


def load_run(run_dir: str, mesh: Optional[dict[str, int]] = None) -> tuple[Any, Any]:
  """(task, model) of a run's best checkpoint, restored onto this process's devices.

  Args:
    run_dir: the run folder (local path or gs:// URL).
    mesh: mesh axes for `jddc.sharding.make_mesh` (default: every device on `data`).
  """
  config = read_config(run_dir)
  task = get_task(config.task)(config, run_dir)
  task.prepare_inference(local_run_files(run_dir))
  return task, restore_best_model(task, run_dir, sharding.make_mesh(mesh or {"data": -1}))


def local_run_files(run_dir: str, remote: Optional[bool] = None) -> str:
  """A folder with the run's `config.json` and `tokenizer/` on the local disk: `run_dir` itself,
  or for a remote one (gs://...; `remote` forces either) a temporary copy of those files, which
  tokenizer libraries read with local file calls. Checkpoints are read from `run_dir` by Orbax."""
  if not (("://" in run_dir) if remote is None else remote):
    return run_dir
  source, local = epath.Path(run_dir), epath.Path(tempfile.mkdtemp(prefix="jddc_run_"))
  (local / "config.json").write_bytes((source / "config.json").read_bytes())
  tokenizer = source / base.RUN_TOKENIZER
  if tokenizer.exists():
    (local / base.RUN_TOKENIZER).mkdir()
    for item in tokenizer.iterdir():
      (local / base.RUN_TOKENIZER / item.name).write_bytes(item.read_bytes())
  return str(local)


def restore_best_model(task, run_dir: str, mesh: jax.sharding.Mesh) -> nnx.Module:
  """The task's model with the variables of the run's best checkpoint, placed on `mesh` by the
  logical axis rules of its config (`mesh.rules`). Built as the engine builds it
  (`task.seeded_model`, under `nnx.eval_shape`), so the checkpoint's tree matches."""
  abstract = nnx.eval_shape(task.seeded_model)
  graphdef, abstract_state = nnx.split(abstract)
  rules = sharding.rules_from_config(task.config.mesh)
  target = checkpointing.abstract_with_shardings(abstract_state, sharding.state_shardings(abstract_state, mesh, rules))
  ckpt = checkpointing.Checkpointer(run_dir, 1, task.metric, task.metric_mode)
  try:
    with jax.set_mesh(mesh), sharding.use_rules(rules):
      return nnx.merge(graphdef, ckpt.restore_best(target))
  finally:
    ckpt.close()


def image_features(extractor_dir: str, image_paths: Sequence[str],
                   batch_size: int = 32) -> tuple[dict[str, int], np.ndarray]:
  """A feature table (image file name -> row, float32[N, 512]) for a response task's
  `feature_table`, from the ResNet-18 run in `extractor_dir` (an image_category run).

  Images are read, checked and resized as the run's own cached features were
  (`pipeline.load_pixels`), so a release image gets the features the run trained with; a
  missing or corrupt file is a DataError naming it. Two paths with one file name are refused
  (the table is keyed by name).
  """
  if isinstance(image_paths, str) or not image_paths:
    raise ValueError(f"image_paths: expected a non-empty list of image files, got {image_paths!r}")
  names = [os.path.basename(p) for p in image_paths]
  repeated = sorted({n for n in names if names.count(n) > 1 and len({p for p in image_paths
                                                                     if os.path.basename(p) == n}) > 1})
  if repeated:
    raise ValueError(f"image_paths: two different files named {repeated[0]!r}; features are keyed by file name")
  task, model = load_run(extractor_dir)
  size = task.config.data.image_size
  pixels = np.stack([pipeline.load_pixels(os.path.dirname(os.path.abspath(p)), os.path.basename(p), size)
                     for p in image_paths])
  extract = evaluation.jit_model(lambda m, images: m.features(images, train=False))
  rows = [np.asarray(extract(model, pixels[i:i + batch_size])) for i in range(0, len(pixels), batch_size)]
  return {os.path.basename(p): i for i, p in enumerate(image_paths)}, np.concatenate(rows)
