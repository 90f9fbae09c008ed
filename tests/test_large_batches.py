"""Large batches on small hardware: gradient accumulation (every trainable task) and bf16 compute."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc import configuration, train
from jddc.tasks import base, get_task


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release, copy_tiny_features):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(str(cache))  # the session's feature extractor, for the multimodal rows
  return str(cache)


def _task(data_cache, workdir, name="response_text", **train_overrides):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = data_cache
    for key in config.model:  # no dropout: micro-batches and the large batch would draw different masks
      if "dropout" in key:
        config.model[key] = 0.0
    for key, value in train_overrides.items():
      config.train[key] = value
  task = get_task(config.task)(config, str(workdir))
  train.prepare(task)  # image features first, as the engine prepares
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
  _, naive = _one_step(_MeanOfMicroBatchMeans(task), config, batch)
  print(f"equal-weight micro-batches: loss {float(naive['loss'][0]):.7f} grad_norm {float(naive['grad_norm'][0]):.7f}")
  assert abs(float(large["grad_norm"][0]) - float(naive["grad_norm"][0])) > 1e-4


def test_the_engine_divides_each_term_by_its_count():
  f32 = jnp.float32
  assert float(base.divide_loss((f32(6), f32(3)))) == 2.0
  assert float(base.divide_loss((f32(6), f32(0)))) == 6.0  # max(count, 1): an empty batch adds nothing
  per_step = (jnp.asarray([2.0, 4.0, 0.0], f32), jnp.asarray([2.0, 0.0, 0.0], f32))
  assert float(base.divide_loss(((f32(6), f32(3)), per_step))) == 2.0 + 1.0 + 4.0
  assert float(base.divide_loss(per_step, divisors=(jnp.asarray([4.0, 2.0, 1.0], f32),))) == 0.5 + 2.0
  for loss, error in [((f32(1),), "of type tuple of length 1"), (f32(1), "of type ArrayImpl"),
                      ((jnp.ones(2, f32), f32(1)), "shape \\(2,\\) and loss_count of shape \\(\\) differ"),
                      ((f32(1), jnp.int32(2)), "loss_count must be float32, got int32")]:
    with pytest.raises((TypeError, ValueError), match=error):
      base.divide_loss(loss)


def test_the_counts_pass_runs_no_forward(data_cache, tmp_path):
  task, config = _task(data_cache, tmp_path)
  batch = {k: jnp.asarray(v) for k, v in next(iter(task.train_dataset(0, 1))).items()}
  micros = {k: v.reshape(v.shape[0] // 4, 4, *v.shape[1:]).swapaxes(0, 1) for k, v in batch.items()}
  mesh = train.sharding.make_mesh({"data": 1}, jax.devices()[:1])
  run = train.RunState(task, config, mesh)
  rng = jax.random.key(0)
  with jax.set_mesh(mesh):
    graphdef, state = nnx.split(run.model(run.init()))
    divisors_fn = jax.jit(lambda s, m: train.large_batch_divisors(task, nnx.merge(graphdef, s), m, rng))
    loss_fn = jax.jit(lambda s, b: base.divide_loss(task.loss(nnx.merge(graphdef, s), b, rng)[0]))
    micro = {k: v[0] for k, v in micros.items()}
    counting = divisors_fn.lower(state, micros).compile().cost_analysis()["flops"]
    forward = loss_fn.lower(state, micro).compile().cost_analysis()["flops"]
    (divisor,) = divisors_fn(state, micros)
  print(f"FLOPs: counts pass over 4 micro-batches {counting:.0f}, one micro-batch's loss {forward:.0f}")
  assert counting < 1e-3 * forward
  assert float(divisor) == float(batch["loss_mask"][:, 1:].sum())


class _MeanOfMicroBatchMeans:
  """A task whose loss is each batch's mean with count 1: accumulation then averages micro-batch means."""

  def __init__(self, task):
    self._task = task

  def __getattr__(self, name):
    return getattr(self._task, name)

  def loss(self, model, batch, rng):
    loss, metrics = self._task.loss(model, batch, rng)
    return (base.divide_loss(loss), jnp.float32(1)), metrics


#: every trainable task at tiny, the accumulation used, and whether its reference is the
#: large batch: not for in-batch negatives (retrieval) and BatchNorm (image_category, and
#: TransResNet's image branch in rewrite_cls_mm), whose micro-batches see their own negatives
#: and statistics (`train.make_grad_fn`)
ACCUMULATED = [
    ("response_text", 4, True), ("rewrite_gen_text", 2, True), ("rewrite_cls_text", 2, True),
    ("rewrite_cls_mm", 2, False), ("response_retrieval_text", 2, False), ("image_category", 2, False),
    ("discourse_text", 2, True), ("summary_pgn", 4, True), ("summary_text", 4, True),
]


def _micro(batch, k, accum):
  return {key: v[k::accum] for key, v in batch.items()}  # `train.micro_batches`' interleaving


def _jit_loss_fns(task, graphdef):
  counts = jax.jit(lambda state, b, key: base.loss_counts(task.loss(nnx.merge(graphdef, state), b, key)[0]))

  @jax.jit
  def grads(state, b, key, divisors):
    objective = lambda m: base.divide_loss(task.loss(m, b, key)[0], divisors)
    return nnx.grad(objective)(nnx.merge(graphdef, state))
  return counts, grads


def _relative_diff(got, want):
  got, want = jax.tree.leaves(got), jax.tree.leaves(want)
  assert len(got) == len(want)
  scale = max(float(np.max(np.abs(w))) for w in want)
  return max(float(np.max(np.abs(np.asarray(g, np.float64) - np.asarray(w, np.float64)))) for g, w in zip(got, want)) / scale


@pytest.mark.parametrize("name,accum,large_batch_reference", ACCUMULATED, ids=[a[0] for a in ACCUMULATED])
def test_accumulated_gradient_is_the_large_batch_gradient(data_cache, tmp_path, name, accum, large_batch_reference):
  task, config = _task(data_cache, tmp_path, name)
  batch = {k: jnp.asarray(v) for k, v in next(iter(task.train_dataset(0, 1))).items()}
  mesh = train.sharding.make_mesh({"data": 1}, jax.devices()[:1])
  rng = jax.random.key(3)
  run = train.RunState(task, config, mesh)
  with jax.set_mesh(mesh):
    graphdef, state = nnx.split(run.model(run.init()))
    grad_fns = {}
    for a in (1, accum):
      with config.unlocked():
        config.train.grad_accum = a
      grad_fn = train.make_grad_fn(task, config, mesh)
      grad_fns[a] = jax.jit(lambda s, b, fn=grad_fn: fn(nnx.merge(graphdef, s), b, rng)[:2])
    accumulated, accumulated_loss = grad_fns[accum](state, batch)
    counts_fn, micro_grads_fn = _jit_loss_fns(task, graphdef)
    keys = [jax.random.fold_in(rng, k) for k in range(accum)]
    counts = [counts_fn(state, _micro(batch, k, accum), keys[k]) for k in range(accum)]
    if large_batch_reference:
      want, want_loss = grad_fns[1](state, batch)
    else:  # the definition, micro-batch by micro-batch: sum_k grad(S_k) / max(C, 1)
      divisors = tuple(jnp.maximum(sum(c[t] for c in counts), 1.0) for t in range(len(counts[0])))
      micro_grads = [micro_grads_fn(state, _micro(batch, k, accum), keys[k], divisors) for k in range(accum)]
      want, want_loss = jax.tree.map(lambda *g: sum(g), *micro_grads), None
  diff = _relative_diff(accumulated, want)
  per_micro = [[np.asarray(c).sum().tolist() for c in cs] for cs in counts]
  print(f"{name}: grad_accum={accum} counts per micro-batch {per_micro}, max |grad diff| / max |grad| {diff:.1e}")
  assert diff < 1e-5
  if want_loss is not None:
    assert abs(float(accumulated_loss) - float(want_loss)) <= 1e-5 * abs(float(want_loss))
  if name not in ("rewrite_cls_text", "rewrite_cls_mm", "response_retrieval_text", "summary_pgn"):
    # counts are not just examples: micro-batches hold different numbers of targets
    assert len({str(c) for c in per_micro}) > 1, per_micro


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
