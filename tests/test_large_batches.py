"""Large batches on small hardware: gradient accumulation and bf16 compute (tiny response config)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jddc import configuration, train
from jddc.tasks import get_task


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  return str(cache)


def _task(data_cache, workdir, **train_overrides):
  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = data_cache
    for key, value in train_overrides.items():
      config.train[key] = value
  task = get_task(config.task)(config, str(workdir))
  task.prepare()
  return task, config


def _one_step(task, config, batch):
  mesh = train.sharding.make_mesh({"data": 1}, jax.devices()[:1])
  run = train.RunState(task, config, mesh)
  with jax.set_mesh(mesh):
    state, metrics = train.make_train_step(task, run)(run.init(), train.to_global(batch, mesh), jnp.int32(1))
  return jax.device_get(state), jax.device_get(metrics)


def _max_diff(a, b):
  return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_accumulation_gives_the_large_batch_update(data_cache, tmp_path):
  task, config = _task(data_cache, tmp_path, batch_size=32)
  batch = next(iter(task.train_dataset(0, 1)))
  targets = batch["loss_mask"][:, 1:].reshape(8, 4, -1).swapaxes(0, 1).sum((1, 2))
  assert len(set(targets.tolist())) > 1, "micro-batches should hold different numbers of targets"
  large_state, large = _one_step(task, config, batch)
  with config.unlocked():
    config.train.grad_accum = 4
  accum_state, accum = _one_step(task, config, batch)
  print(f"accumulation: loss {float(large['loss'][0]):.7f} vs {float(accum['loss'][0]):.7f}, grad_norm "
        f"{float(large['grad_norm'][0]):.7f} vs {float(accum['grad_norm'][0]):.7f}, "
        f"max |param diff| {_max_diff(large_state, accum_state):.2e}")
  assert abs(float(large["loss"][0]) - float(accum["loss"][0])) < 1e-5
  assert abs(float(large["grad_norm"][0]) - float(accum["grad_norm"][0])) < 1e-6
  assert float(accum["token_loss"][1]) == float(large["token_loss"][1]) == targets.sum()
  assert _max_diff(large_state, accum_state) < 1e-6
  # Equal weights for the micro-batches (a mean of means) would not give that update.
  task.loss_count_metric = None
  _, naive = _one_step(task, config, batch)
  print(f"equal-weight micro-batches: loss {float(naive['loss'][0]):.7f} grad_norm {float(naive['grad_norm'][0]):.7f}")
  assert abs(float(large["grad_norm"][0]) - float(naive["grad_norm"][0])) > 1e-4


BF16_STEPS = 5


def _losses(task, config, batches):
  mesh = train.sharding.make_mesh({"data": 1}, jax.devices()[:1])
  run = train.RunState(task, config, mesh)
  step_fn, state, losses = train.make_train_step(task, run), run.init(), []
  with jax.set_mesh(mesh):
    for step, batch in enumerate(batches, 1):
      state, metrics = step_fn(state, train.to_global(batch, mesh), jnp.int32(step))
      losses.append(float(metrics["loss"][0]))
  return np.asarray(losses), state


def test_bf16_compute_tracks_float32_with_float32_state(data_cache, tmp_path):
  task, config = _task(data_cache, tmp_path)
  data = iter(task.train_dataset(0, 1))
  batches = [next(data) for _ in range(BF16_STEPS)]
  f32, _ = _losses(task, config, batches)
  bf16_task, _ = _task(data_cache, tmp_path, compute_dtype="bfloat16")
  assert bf16_task.model_context().compute_dtype == "bfloat16"
  bf16, state = _losses(bf16_task, bf16_task.config, batches)
  rel = np.abs(bf16 - f32) / f32
  print("float32 losses ", np.round(f32, 4).tolist())
  print("bfloat16 losses", np.round(bf16, 4).tolist(), "max relative difference", float(rel.max()))
  assert f32[-1] < f32[0] and bf16[-1] < bf16[0]
  assert 0 < rel.max() < 0.01  # bf16 changes the numbers, a little
  dtypes = {str(x.dtype) for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)}
  assert dtypes == {"float32"}, dtypes
