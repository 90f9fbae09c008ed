"""Ahead-of-time check: does a config's train step fit a mesh? Compiled, never run.

    python -m jddc.aot --config=configs/response_mm.py --mesh=data:4,model:2   # base size by default
    python -m jddc.aot --config=configs/response_mm.py:base --mesh=fsdp:8 --batch_size=128

Builds the run's state abstractly (`nnx.eval_shape`: nothing allocated), places it on a
mesh of fake CPU devices (`--xla_force_host_platform_device_count`, set before JAX starts),
lowers and compiles the real train step (`jax.jit(...).lower(...).compile()`) and prints,
per device: the parameter and optimizer-state bytes of their shardings, and the compiled
executable's own memory analysis (arguments, outputs, temporaries = activations and
workspace, and the peak these add up to), and the step's floating-point operations per
device (XLA's cost analysis). With `--peak_tflops` (the accelerator's dense peak in the
compute dtype, e.g. 275 for a TPU v4 chip in bf16) it also prints the time a step and the
run's `train.steps` would take at 100% and at 40% of that peak: a lower bound and a typical
figure, not a measurement. Nothing is trained and no data is read (for tasks that know
their batch shapes from the config). CPU figures: XLA's TPU and GPU compilers fuse and
rematerialise differently, so treat temporaries and FLOPs as estimates.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile

from absl import app, flags

from jddc import configuration

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("config", None, "A config file and size, e.g. configs/response_mm.py:base (default size: base).")
  flags.DEFINE_string("mesh", "data:1", "Mesh axes and sizes, e.g. data:4,model:2 or fsdp:8.")
  flags.DEFINE_integer("batch_size", None, "Global batch (default: config.train.batch_size).")
  flags.DEFINE_integer("grad_accum", None, "Micro-batches per step (default: config.train.grad_accum).")
  flags.DEFINE_string("compute_dtype", None, "float32 or bfloat16 (default: config.train.compute_dtype).")
  flags.DEFINE_float("peak_tflops", None, "Per-device dense peak (TFLOP/s) to turn FLOPs into time estimates.")
  flags.mark_flags_as_required(["config"])


def parse_mesh(spec: str) -> dict[str, int]:
  """"data:4,model:2" -> {"data": 4, "model": 2}."""
  axes = {}
  for part in filter(None, (p.strip() for p in spec.split(","))):
    name, sep, size = part.partition(":")
    if not sep or not size.isdigit() or int(size) < 1:
      raise ValueError(f"--mesh: expected NAME:SIZE[,NAME:SIZE...], got {spec!r}")
    axes[name] = int(size)
  if not axes:
    raise ValueError("--mesh is empty")
  return axes


def _shard_bytes(leaf) -> int:
  shape = leaf.sharding.shard_shape(leaf.shape) if leaf.sharding is not None else leaf.shape
  return math.prod(shape) * leaf.dtype.itemsize


def analyse(config, axes: dict[str, int]) -> dict:
  """Compiles `config`'s train step on a mesh of `axes` over the available devices; figures in bytes."""
  import jax
  from flax import nnx

  from jddc import sharding, train
  from jddc.tasks import get_task

  mesh = sharding.make_mesh(axes, jax.devices()[:math.prod(axes.values())])
  task = get_task(config.task)(config, tempfile.mkdtemp(prefix="jddc_aot_"))
  if not task.static_batch_shapes:  # shapes from a prepared batch: data (and image features) first
    train.prepare(task)
  batch = task.abstract_batch(config.train.batch_size)
  run = train.RunState(task, config, mesh)
  abstract = run.abstract()
  batch = {k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=train.batch_sharding(mesh, run.rules))
           for k, v in batch.items()}
  step = train.make_train_step(task, run)
  with jax.set_mesh(mesh), sharding.use_rules(run.rules):
    compiled = step.lower(abstract, batch, jax.ShapeDtypeStruct((), jax.numpy.int32)).compile()
  model_state, optimizer_state = abstract[0], abstract[1]
  params = jax.tree.leaves(nnx.state(model_state, nnx.Param))
  opt = jax.tree.leaves(optimizer_state)
  memory = compiled.memory_analysis()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  figures = {
      "config_task": config.task, "size": config.size, "mesh": dict(mesh.shape), "devices": mesh.size,
      "batch_size": config.train.batch_size, "grad_accum": config.train.grad_accum,
      "compute_dtype": config.train.compute_dtype,
      "parameters": sum(math.prod(p.shape) for p in params),
      "param_bytes_total": sum(math.prod(p.shape) * p.dtype.itemsize for p in params),
      "param_bytes_per_device": sum(_shard_bytes(p) for p in params),
      "optimizer_bytes_per_device": sum(_shard_bytes(p) for p in opt),
      "batch_bytes_per_device": sum(_shard_bytes(b) for b in batch.values()),
      "train_steps": config.train.steps,
  }
  if cost and cost.get("flops"):
    figures["flops_per_step_per_device"] = float(cost["flops"])
  if memory is not None:
    figures.update({
        "argument_bytes": int(memory.argument_size_in_bytes),
        "output_bytes": int(memory.output_size_in_bytes),
        "alias_bytes": int(memory.alias_size_in_bytes),
        "temp_bytes": int(memory.temp_size_in_bytes),
        "code_bytes": int(memory.generated_code_size_in_bytes),
    })
    figures["peak_bytes_estimate"] = (figures["argument_bytes"] + figures["output_bytes"] - figures["alias_bytes"]
                                      + figures["temp_bytes"])
  return figures


def report(f: dict) -> str:
  mib = lambda n: f"{n / 2**20:10.1f} MiB"
  lines = [f"{f['config_task']} {f['size']}: {f['parameters']:,} parameters ({mib(f['param_bytes_total']).strip()}), "
           f"global batch {f['batch_size']} in {f['grad_accum']} micro-batch(es), compute {f['compute_dtype']}",
           f"mesh {f['mesh']} ({f['devices']} devices); per device:",
           f"  parameters            {mib(f['param_bytes_per_device'])}",
           f"  optimizer state       {mib(f['optimizer_bytes_per_device'])}",
           f"  batch                 {mib(f['batch_bytes_per_device'])}"]
  if "temp_bytes" in f:
    lines += [f"  compiled: arguments   {mib(f['argument_bytes'])}",
              f"            outputs     {mib(f['output_bytes'])} ({mib(f['alias_bytes']).strip()} donated in place)",
              f"            temporaries {mib(f['temp_bytes'])} (activations, gradients, workspace)",
              f"            peak (est.) {mib(f['peak_bytes_estimate'])}"]
  if "flops_per_step_per_device" in f:
    lines.append(f"  FLOPs per step        {f['flops_per_step_per_device']:.3e}")
  if "step_seconds_at_peak" in f:
    step = f["step_seconds_at_peak"]
    lines.append(f"  time at {f['peak_tflops']:g} TFLOP/s: a step {step * 1e3:.3g} ms at 100% / {step / 0.4 * 1e3:.3g} ms "
                 f"at 40%; {f['train_steps']:,} steps {step * f['train_steps'] / 60:.3g} / "
                 f"{step * f['train_steps'] / 0.4 / 60:.3g} min")
  return "\n".join(lines)


def with_time_estimates(figures: dict, peak_tflops: float | None) -> dict:
  """`figures` plus the seconds a step takes at `peak_tflops` per device (nothing without either)."""
  if peak_tflops and figures.get("flops_per_step_per_device"):
    figures = dict(figures, peak_tflops=peak_tflops,
                   step_seconds_at_peak=figures["flops_per_step_per_device"] / (peak_tflops * 1e12))
  return figures


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if "jax" in sys.modules:
    raise RuntimeError("jddc.aot must set the fake device count before JAX is imported")
  from configs import common

  try:
    axes = parse_mesh(FLAGS.mesh)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  os.environ["JAX_PLATFORMS"] = "cpu"
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             f" --xla_force_host_platform_device_count={math.prod(axes.values())}").strip()
  spec = FLAGS.config if ":" in FLAGS.config else FLAGS.config + ":base"
  try:
    config = configuration.load_config(spec)
  except (configuration.ConfigError, FileNotFoundError) as e:
    sys.exit(f"jddc.aot: {e}")
  with config.unlocked():
    mesh_axes = [k for k in config.mesh.keys() if k != "rules"]
    unknown = set(axes) - set(mesh_axes)
    if unknown:
      raise app.UsageError(f"--mesh: unknown axes {sorted(unknown)}; the mesh has {mesh_axes}")
    for name in mesh_axes:
      config.mesh[name] = axes.get(name, 1)
    if FLAGS.batch_size:
      config.train.batch_size = FLAGS.batch_size
    if FLAGS.grad_accum:
      config.train.grad_accum = FLAGS.grad_accum
    if FLAGS.compute_dtype:
      config.train.compute_dtype = FLAGS.compute_dtype
    if config.get("model", {}).get("vocab_size", None) == 0:
      config.model.vocab_size = config.data.vocab_size  # the tokenizer trained to data.vocab_size
  try:
    configuration.validate(config, common.reference(config))
  except configuration.ConfigError as e:
    sys.exit(f"jddc.aot: {e}")
  figures = with_time_estimates(analyse(config, axes), FLAGS.peak_tflops)
  print(report(figures))
  print(json.dumps(figures))


if __name__ == "__main__":
  define_flags()
  app.run(main)
