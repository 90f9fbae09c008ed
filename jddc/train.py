"""The one training loop: init or restore, a jitted train step, logging, evaluation, checkpoints.

A run starts by resuming from `<workdir>/checkpoints` if there is one, else initialising
from the config's seed. Model and optimizer are built abstractly (`nnx.eval_shape`), their
shardings computed from the logical axis rules, and the state initialised (or restored)
straight into those shardings. The train step is one `jax.jit` of a pure function of the
split NNX state, with the state donated.

What a run folder holds and who writes it:

    config.json                    the config of the first training start, never rewritten
                                   (`jddc.run_identity`: later starts must match it)
    results.json                   the final evaluation of `--mode=train`: the best checkpoint on
                                   `config.eval.split`, with "split" and "best_step"
    predictions_<split>.jsonl      that evaluation's predictions
    eval/results_<split>.json      `--mode=eval` (any split, eval options): never the training's files
    eval/predictions_<split>.jsonl
    metrics.jsonl, tensorboard/    every logged step once, also after a resume

Every file is written atomically (`jddc.fsutil`): a kill leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import tempfile
import time
from typing import Any, Iterator, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P

from jddc import checkpointing, faults, features, fsutil, predictions, run_identity, sharding
from jddc.metric_writer import MetricWriter, flat_config
from jddc.models import warm_start
from jddc.tasks import base, get_task
from jddc.tasks.base import stage


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

class RunState:
  """The graph definition, abstract state and shardings of a run's (model, optimizer)."""

  def __init__(self, task, config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh):
    self.task, self.config, self.mesh = task, config, mesh
    self.rules = sharding.rules_from_config(config.mesh)
    self.tx = task.optimizer()
    abstract = nnx.eval_shape(self._create)  # logical axis names are metadata only: no mesh needed
    self.graphdef, self.abstract_state = nnx.split(abstract)
    self.shardings = sharding.state_shardings(self.abstract_state, mesh, self.rules)
    self.model_graphdef, self.abstract_model_state = nnx.split(abstract[0])
    self.model_shardings = sharding.state_shardings(self.abstract_model_state, mesh, self.rules)

  def _create(self):
    model = self.task.seeded_model()
    return model, nnx.Optimizer(model, self.tx, wrt=nnx.Param)

  def init(self):
    """The initial state, placed by the shardings."""
    return jax.jit(lambda: nnx.state(self._create()), out_shardings=self.shardings)()

  def abstract(self):
    return checkpointing.abstract_with_shardings(self.abstract_state, self.shardings)

  def abstract_model(self):
    return checkpointing.abstract_with_shardings(self.abstract_model_state, self.model_shardings)

  def model(self, state) -> nnx.Module:
    return nnx.merge(self.graphdef, state)[0]

  def model_from_model_state(self, model_state) -> nnx.Module:
    return nnx.merge(self.model_graphdef, model_state)

  def load_pretrained(self, state, path: str):
    """`state` with the model's variables imported from a checkpoint (`model.init_from`: a Hugging
    Face / PyTorch checkpoint, or a run folder of ours with `model.init_from_prefix` and
    `model.init_from_fresh`), in place; the optimizer state stays the fresh one."""
    model, optimizer = nnx.merge(self.graphdef, state)
    workdir = getattr(self.task, "workdir", "")
    report = warm_start.load_pretrained(model, path, prefix=self.config.model.get("init_from_prefix", ""),
                                        fresh=self.config.model.get("init_from_fresh", ""),
                                        tokenizer_dir=os.path.join(workdir, "tokenizer") if workdir else None)
    log(report.summary())
    return nnx.state((model, optimizer))


def batch_sharding(mesh: jax.sharding.Mesh, rules: Optional[sharding.Rules] = None) -> NamedSharding:
  """Leading (batch) dimension split over the mesh axes of the `batch` logical axis (`rules` None:
  `sharding.current_rules()`, the run's inside the loop)."""
  return NamedSharding(mesh, P(sharding.batch_axes(rules or sharding.current_rules())))


def to_global(batch: dict[str, np.ndarray], mesh: jax.sharding.Mesh,
              rules: Optional[sharding.Rules] = None) -> dict[str, jax.Array]:
  """This process's part of a batch -> global arrays split over the batch axes."""
  s = batch_sharding(mesh, rules)
  return {k: jax.make_array_from_process_local_data(s, np.asarray(v)) for k, v in batch.items()}


def micro_batches(batch: dict[str, jax.Array], accum: int, mesh: jax.sharding.Mesh) -> dict[str, jax.Array]:
  """[B, ...] -> [accum, B / accum, ...]; micro-batch k holds rows k, k + accum, k + 2 accum, ...

  Interleaving (not contiguous blocks) keeps every device's rows on that device: a device
  holding a contiguous block of B / D rows holds B / (D accum) rows of each micro-batch.
  """
  spec = P(None, sharding.batch_axes(sharding.current_rules()))

  def split(x):
    x = x.reshape(x.shape[0] // accum, accum, *x.shape[1:]).swapaxes(0, 1)
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))
  return jax.tree.map(split, batch)


def check_batch(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh) -> None:
  """The global batch splits into `grad_accum` micro-batches that each split over the batch axes."""
  batch, accum = config.train.batch_size, config.train.grad_accum
  shards = math.prod(mesh.shape[a] for a in sharding.batch_axes(sharding.rules_from_config(config.mesh)))
  if accum < 1 or batch % accum:
    raise ValueError(f"config.train.batch_size {batch} is not a multiple of config.train.grad_accum {accum}")
  if (batch // accum) % shards:
    raise ValueError(f"micro-batch {batch // accum} (batch_size / grad_accum) is not a multiple of the "
                     f"{shards} devices on the mesh's batch axes")
  if batch % jax.process_count():
    raise ValueError(f"config.train.batch_size {batch} is not a multiple of {jax.process_count()} processes")


def make_grad_fn(task, config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh):
  """(model, batch, rng) -> (grads, loss, metrics) of a global batch, over `grad_accum` micro-batches.

  `task.loss` gives the summed loss S over C targets (C independent of the parameters;
  `base.LossSum`), and the engine divides: the large batch's loss is S / max(C, 1). With
  S = sum_k S_k and C = sum_k C_k over micro-batches k, its gradient is
  sum_k grad(S_k) / max(C, 1): one weighted micro-step, the gradient of S_k / D, summed
  over k. With one micro-batch (no scan: XLA's CPU convolutions inside a loop body were
  ~40x slower, ResNet-18 step) D = max(C, 1) comes from the same call, which is the plain
  gradient of the mean loss. With several, D is the large batch's max(C, 1), counted first
  by a pass that computes only the counts (they do not depend on the parameters, so XLA
  drops the model's forward from it); the update is the whole batch's to float tolerance
  however unevenly the targets fall (averaging micro-batch means would not be). A loss of
  several means (tuple of pairs, [T] arrays) is divided term by term the same way.
  Dropout keys are folded per micro-batch; BatchNorm statistics are those of each
  micro-batch, and in-batch negatives those of the micro-batch (the places where
  accumulation differs from the large batch). Metrics come back as (sum, count) over the
  whole batch; `loss` as the large batch's mean.
  """
  accum = config.train.grad_accum

  def objective(model, batch, rng, divisors):
    loss, metrics = task.loss(model, batch, rng)
    return base.divide_loss(loss, divisors), metrics

  def micro_step(model, batch, rng, divisors=None):
    (loss, metrics), grads = nnx.value_and_grad(objective, has_aux=True)(model, batch, rng, divisors)
    return grads, loss, metrics

  def grad_fn(model, batch, rng):
    if accum == 1:
      return micro_step(model, batch, jax.random.fold_in(rng, 0))
    graph, params, rest = nnx.split(model, nnx.Param, ...)
    micros, keys = micro_batches(batch, accum, mesh), jnp.arange(accum)
    divisors = large_batch_divisors(task, model, micros, rng)

    def one(carry, inputs):
      params, rest, grad_sum = carry  # params ride in the carry: scan-level values
      micro, k = inputs
      m = nnx.merge(graph, params, rest)
      grads, loss, metrics = micro_step(m, micro, jax.random.fold_in(rng, k), divisors)
      grad_sum = jax.tree.map(jnp.add, grad_sum, grads)
      return (params, nnx.split(m, nnx.Param, ...)[2], grad_sum), (loss, metrics)

    zeros = jax.tree.map(jnp.zeros_like, params)
    (_, rest, grads), (losses, metrics) = jax.lax.scan(one, (params, rest, zeros), (micros, keys))
    nnx.update(model, rest)
    return grads, losses.sum(), jax.tree.map(lambda x: x.sum(0), metrics)

  return grad_fn


def large_batch_divisors(task, model: nnx.Module, micros: dict[str, jax.Array], rng: jax.Array) -> tuple:
  """max(C, 1) per loss term of the batch whose micro-batches are `micros` ([accum, B / accum, ...]).

  Only the counts leave the pass, and they do not depend on the parameters: XLA drops the
  model's forward (`tests/test_large_batches.py` checks its FLOPs). Dropout keys are those
  of the micro-steps, the model a copy (its BatchNorm statistics are not updated).
  """
  graph, state = nnx.split(model)

  def counts(inputs):
    micro, k = inputs
    loss, _ = task.loss(nnx.merge(graph, state, copy=True), micro, jax.random.fold_in(rng, k))
    return base.loss_counts(loss)

  accum = jax.tree.leaves(micros)[0].shape[0]
  return jax.tree.map(lambda c: jnp.maximum(c.sum(0), 1.0), jax.lax.map(counts, (micros, jnp.arange(accum))))


def make_train_step(task, run: RunState):
  graphdef = run.graphdef
  check_batch(run.config, run.mesh)
  grad_fn = make_grad_fn(task, run.config, run.mesh)
  base_key = jax.random.key(run.config.seed)

  def train_step(state, batch, step):
    model, optimizer = nnx.merge(graphdef, state)
    grads, loss, metrics = grad_fn(model, batch, jax.random.fold_in(base_key, step))
    optimizer.update(model, grads)
    metrics = dict(metrics)
    metrics["loss"] = (loss, jnp.float32(1))
    metrics["grad_norm"] = (optax.tree.norm(grads), jnp.float32(1))
    return nnx.state((model, optimizer)), metrics

  return jax.jit(train_step, donate_argnums=0,
                 in_shardings=(run.shardings, batch_sharding(run.mesh, run.rules), None),
                 out_shardings=(run.shardings, None))


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------

def _is_main() -> bool:
  return jax.process_index() == 0


def log(message: str, *args) -> None:
  """Progress to stdout from process 0 (absl logging stays for warnings and library chatter)."""
  if _is_main():
    print(message % args if args else message, flush=True)


RESULTS_FILE = "results.json"
EVAL_DIR = "eval"


def results_path(workdir: str, split: str, mode: str = "train") -> str:
  """Where a results file goes: `results.json` (training's final evaluation) or `eval/results_<split>.json`."""
  return os.path.join(workdir, RESULTS_FILE) if mode == "train" else os.path.join(workdir, EVAL_DIR,
                                                                                  f"results_{split}.json")


def write_results(path: str, results: dict) -> None:
  """`results` as JSON at `path`, atomically (process 0 only)."""
  if not _is_main():
    return
  with fsutil.atomic_file(path, "w", encoding="utf-8") as f:
    f.write(fsutil.json_text(results))
    f.flush()
    faults.point("results.during_write")  # the temporary file is complete, not yet renamed


def setup(config: ml_collections.ConfigDict, workdir: str):
  """(task, mesh, run state) for a config, data prepared."""
  mesh = sharding.make_mesh(sharding.mesh_shape(config.mesh))
  task = prepare_data(config, workdir)
  return task, mesh, RunState(task, config, mesh)


def prepare_data(config: ml_collections.ConfigDict, workdir: str):
  """The config's task with everything it reads built (`--mode=prepare`); no model."""
  os.makedirs(workdir, exist_ok=True)
  task = get_task(config.task)(config, workdir)
  prepare(task)
  return task


def prepare(task) -> None:
  """The task's prerequisites (`image_features`, handed to it as `task.feature_table`), then
  `task.prepare()`; by process 0 first: on a shared filesystem the others then find its
  shards, tokenizer and features instead of racing to write them; on hosts with disks of
  their own each builds the same (deterministic) files."""
  if jax.process_count() == 1:
    _prepare_with_prerequisites(task)
    return
  from jax.experimental import multihost_utils
  if _is_main():
    _prepare_with_prerequisites(task)
  multihost_utils.sync_global_devices("jddc: process 0 prepared the data")
  if not _is_main():
    _prepare_with_prerequisites(task)


def _prepare_with_prerequisites(task) -> None:
  features_table = image_features(task.config, task.workdir)
  if features_table is not None:
    task.feature_table = features_table
  task.prepare()


# ---------------------------------------------------------------------------
# Prerequisites: runs a config's data depends on, resolved before its task prepares
# ---------------------------------------------------------------------------

def image_features(config: ml_collections.ConfigDict, workdir: str = "") -> Optional[features.FeatureTable]:
  """The frozen image features of a config whose model reads them (`features.reads_image_features`);
  None for any other config. They come from the extractor the run in `workdir` pinned
  (`features.pinned_extractor`), else from the config's (`ensure_extractor`, trained first if
  needed), which is then pinned in `workdir`, so the run keeps it."""
  if not features.reads_image_features(config):
    return None
  with stage("image features"):
    extractor = features.pinned_extractor(workdir) if workdir else None
    if extractor is None:
      extractor = ensure_extractor(config)
      if workdir:
        extractor = features.pin_extractor(extractor, workdir)
    return features.feature_table(config, extractor)


def ensure_extractor(config: ml_collections.ConfigDict) -> str:
  """The run folder of the config's feature extractor, complete: `features.checkpoint`, checked,
  or the default extractor (`features.extractor_config`), trained by this loop (or its
  training resumed) unless it is complete.

  Raises:
    RuntimeError: a multi-process run whose default extractor is not complete (one process
      trains it: `--mode=prepare` first).
  """
  workdir = features.extractor_workdir(config)
  if config.features.checkpoint:
    features.check_checkpoint(workdir)
    return workdir
  if features.is_complete(workdir):
    return workdir
  if jax.process_count() > 1:
    raise RuntimeError(f"multi-process runs read a trained image feature extractor, and {workdir} is not "
                       "complete: " + features.PREPARE_FIRST)
  with fsutil.file_lock(workdir):  # a concurrent first run waits here, then finds it complete
    if not features.is_complete(workdir):
      ext = features.extractor_config(config)
      log("training the image feature extractor in %s", workdir)
      with _extractor_fault_points(get_task(ext.task)):
        results = train_and_evaluate(ext, workdir)
      features.write_complete(workdir, results)
  return workdir


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


def _checkpointer(task, config: ml_collections.ConfigDict, workdir: str) -> checkpointing.Checkpointer:
  return checkpointing.Checkpointer(workdir, config.train.keep_checkpoints, task.metric, task.metric_mode)


def initial_state(run: RunState, ckpt: checkpointing.Checkpointer, data) -> tuple[int, Any]:
  """(step, state): resumed from the latest checkpoint, else initialised and, on this first
  run only, the model imported from `model.init_from` when set."""
  if ckpt.latest_step() is not None:
    start, state = ckpt.restore(run.abstract(), data)
    log("resumed from step %d", start)
    return start, state
  state = run.init()
  if run.config.model.get("init_from"):
    state = run.load_pretrained(state, run.config.model.init_from)
  return 0, state


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains (resuming if possible), keeps the best checkpoint by the validation metric,
  evaluates it on `config.eval.split` and writes `<workdir>/results.json`.

  One training at a time per run folder: a second start of the same folder (a single-process
  run) waits on `<workdir>/run.lock`, then resumes what the first left (a finished run is
  evaluated again, to the same results).
  """
  os.makedirs(workdir, exist_ok=True)
  single = jax.process_count() == 1  # processes of one multi-process run share the folder by design
  with fsutil.file_lock(os.path.join(workdir, "run")) if single else contextlib.nullcontext():
    return _train_and_evaluate(config, workdir)


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  run_identity.start_training(config, workdir, write=_is_main())
  if _is_main():
    for folder in (workdir, os.path.join(workdir, EVAL_DIR)):  # temporary files of a killed writer
      fsutil.sweep_leftovers(folder)
  if not get_task(config.task).trainable:  # an Evaluator: its final evaluation is the whole run
    task = prepare_data(config, workdir)
    t_eval = time.perf_counter()
    results = write_evaluation(task, None, workdir, config.eval.split, "train", best_step=0)
    log("[final evaluation] %.1f s", time.perf_counter() - t_eval)
    return results
  task, mesh, run = setup(config, workdir)
  ckpt = _checkpointer(task, config, workdir)
  data = iter(task.train_dataset(jax.process_index(), jax.process_count()))
  start, state = initial_state(run, ckpt, data)
  train_step = make_train_step(task, run)
  writer = MetricWriter(workdir, enabled=_is_main(), resumed_step=start)
  if start == 0:
    writer.hparams(flat_config(config.to_dict()), [f"valid/{task.metric}"])
  total = config.train.steps
  sums, tokens, t_log, step_log, paused = None, 0, time.perf_counter(), start, 0.0
  t_start = time.perf_counter()
  with jax.set_mesh(mesh), sharding.use_rules(run.rules):
    for step in range(start + 1, total + 1):
      batch = next(data)
      tokens += task.count_tokens(batch)
      state, metrics = train_step(state, to_global(batch, mesh), jnp.int32(step))
      sums = metrics if sums is None else jax.tree.map(jnp.add, sums, metrics)
      if step % config.train.log_every == 0 or step == total:
        values = {k: float(s) / max(float(c), 1e-9) for k, (s, c) in jax.device_get(sums).items()}
        if not all(math.isfinite(v) for v in values.values()):
          raise FloatingPointError(f"non-finite training metrics at step {step}: {values}")
        elapsed = time.perf_counter() - t_log - paused
        values.update(task.learning_rates(step))
        values["steps_per_second"] = (step - step_log) / elapsed
        unit = task.throughput_unit
        values[f"{unit}_per_second"] = tokens / elapsed
        eta = (total - step) / max(values["steps_per_second"], 1e-9)
        writer.write(step, {f"train/{k}": v for k, v in values.items()})
        log("step %d/%d loss %.4f | %.2f steps/s %.0f %s/s | eta %.0f s", step, total, values["loss"],
            values["steps_per_second"], values[f"{unit}_per_second"], unit, eta)
        sums, tokens, t_log, step_log, paused = None, 0, time.perf_counter(), step, 0.0
      t_pause = time.perf_counter()
      if step % config.train.eval_every == 0 or step == total:
        model = run.model(state)
        with _validation_predictions(writer.enabled) as out_dir, faults.skipping("eval.during_final"):
          metrics_valid = task.evaluate(model, "valid", out_dir)
          writer.examples(step, "valid/examples", _first_predictions(out_dir, "valid", VALID_EXAMPLES))
        writer.write(step, {f"valid/{k}": v for k, v in metrics_valid.items()})
        log("step %d valid %s", step, {k: round(v, 2) for k, v in metrics_valid.items()})
        if ckpt.save_best(step, nnx.state(model), metrics_valid):
          faults.point("train.after_best_save")
      if step % config.train.checkpoint_every == 0 or step == total:
        ckpt.save(step, state, data)
      paused += time.perf_counter() - t_pause  # evaluation and checkpoints are not training throughput
  ckpt.wait()
  log("[training] %.1f s", time.perf_counter() - t_start)
  if start < total:  # a run resumed after its last step logged its training time already
    writer.write(total, {"train/wall_seconds": time.perf_counter() - t_start})
  t_eval = time.perf_counter()
  results = evaluate_best(task, run, ckpt, workdir, config.eval.split, "train")
  log("[final evaluation] %.1f s", time.perf_counter() - t_eval)
  ckpt.close()
  writer.close()
  return results


VALID_EXAMPLES = 4  # decoded validation examples shown in TensorBoard at each evaluation


@contextlib.contextmanager
def _validation_predictions(enabled: bool) -> Iterator[Optional[str]]:
  """A temporary folder for one validation's predictions (None where nothing is logged)."""
  if not enabled:
    yield None
    return
  with tempfile.TemporaryDirectory(prefix="jddc_valid_") as tmp:
    yield tmp


def _first_predictions(out_dir: Optional[str], split: str, n: int) -> list[dict]:
  path = predictions.path(out_dir, split) if out_dir else ""
  if not path or not os.path.isfile(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in itertools.islice(f, n)]


def _results(metrics: dict, split: str, best_step: int, overrides: Optional[dict] = None) -> dict:
  """Metrics rounded to 2 decimals, with the split evaluated, the checkpoint's step and, for
  `--mode=eval`, the evaluation options that differ from training (`run_identity.EVAL_KEYS`)."""
  results = {k: round(float(v), 2) for k, v in metrics.items()}
  results["split"], results["best_step"] = split, best_step
  if overrides:
    results["eval_overrides"] = overrides
  return results


def write_evaluation(task, model: Optional[nnx.Module], workdir: str, split: str, mode: str, best_step: int,
                     overrides: Optional[dict] = None) -> dict:
  """The one evaluation a run records: `task.evaluate(model, split, ...)` (model None for an
  `Evaluator`), its predictions beside the results file of `mode` (`results_path`), which
  holds the metrics, `split` and `best_step` (0 for an Evaluator)."""
  path = results_path(workdir, split, mode)
  metrics = task.evaluate(model, split, os.path.dirname(path) if _is_main() else None)
  results = _results(metrics, split, best_step, overrides)
  write_results(path, results)
  return results


def evaluate_best(task, run: RunState, ckpt: checkpointing.Checkpointer, workdir: str, split: str,
                  mode: str = "train", overrides: Optional[dict] = None) -> dict:
  """Evaluates the best checkpoint on `split` (`write_evaluation`)."""
  with jax.set_mesh(run.mesh), sharding.use_rules(run.rules):
    model = run.model_from_model_state(ckpt.restore_best(run.abstract_model()))
    return write_evaluation(task, model, workdir, split, mode, ckpt.best_step(), overrides)


def evaluate(config: ml_collections.ConfigDict, workdir: str, split: Optional[str] = None) -> dict:
  """`--mode=eval`: the best checkpoint of a finished (or interrupted) run on a split, written to
  `eval/results_<split>.json` (never over the training's `results.json`); an Evaluator's
  evaluation of the split (`best_step` 0)."""
  split = split or config.eval.split
  trainable = get_task(config.task).trainable
  overrides = run_identity.check_for_evaluation(config, workdir, "eval", required=trainable)
  if not trainable:
    return write_evaluation(prepare_data(config, workdir), None, workdir, split, "eval", 0, overrides)
  task, _, run = setup(config, workdir)
  ckpt = _checkpointer(task, config, workdir)
  try:
    return evaluate_best(task, run, ckpt, workdir, split, "eval", overrides)
  finally:
    ckpt.close()


def load_model(config: ml_collections.ConfigDict, workdir: str):
  """(task, model) of a run's best checkpoint, for predict mode and feature extraction; model None
  for an Evaluator (prepared as a task is: `prepare`, process 0 first)."""
  trainable = get_task(config.task).trainable
  run_identity.check_for_evaluation(config, workdir, "predict", required=trainable)
  if not trainable:
    task = get_task(config.task)(config, workdir)
    prepare(task)
    return task, None
  task, _, run = setup(config, workdir)
  ckpt = _checkpointer(task, config, workdir)
  try:
    with jax.set_mesh(run.mesh), sharding.use_rules(run.rules):
      return task, run.model_from_model_state(ckpt.restore_best(run.abstract_model()))
  finally:
    ckpt.close()
