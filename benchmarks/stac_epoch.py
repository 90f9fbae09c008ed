"""Seconds per STAC training epoch of configs/discourse_stac.py, and the CPU's float32 matmul peak.

    taskset -c 0 python benchmarks/stac_epoch.py [--size=small] [--epochs=2] [--quick] [--config.K=V ...]

Builds the row's task and train step exactly as `jddc.train` does (`train.setup`,
`train.make_train_step`), then runs `--epochs` epochs of its training batches
(`task.steps_per_epoch()` steps each). The first epoch compiles the train step once per
batch shape (the length buckets); the later ones are the steady state reported as
"seconds per epoch" (target <= 30 s on the 2-core CPU of this project). One dev evaluation
is timed too (every epoch runs one). The matmul peak is `benchmarks/vs_pytorch.py:bench_peak`
(best of jnp.dot / torch.mm at 2048^3, and 4096^3 without --quick), imported, not copied.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

import vs_pytorch  # noqa: E402  (defines --quick / --rounds; the peak measurement lives there)

FLAGS = flags.FLAGS
flags.DEFINE_integer("epochs", 2, "Epochs to run: the first compiles, the others are timed.")
flags.DEFINE_bool("peak", True, "Also measure the float32 matmul peak.")
config_flags.DEFINE_config_file("config", "configs/discourse_stac.py", "The row's config (and --config.K=V).")


def main(argv):
  del argv
  import jax  # noqa: E402  (after flags)
  import jax.numpy as jnp
  from jddc import sharding, train

  config = FLAGS.config
  with tempfile.TemporaryDirectory() as workdir:
    t0 = time.perf_counter()
    task, mesh, run = train.setup(config, workdir)
    state = run.init()
    step_fn = train.make_train_step(task, run)
    per_epoch = task.steps_per_epoch()
    data = iter(task.train_dataset(0, 1))
    print(f"set-up {time.perf_counter() - t0:.1f} s; {per_epoch} steps an epoch, batch {config.train.batch_size}, "
          f"{jax.device_count()} device(s), cpu affinity {sorted(os.sched_getaffinity(0))}", flush=True)
    times = []
    step = 0
    with jax.set_mesh(mesh), sharding.use_rules(run.rules):
      for epoch in range(FLAGS.epochs):
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(per_epoch):
          step += 1
          state, metrics = step_fn(state, train.to_global(next(data), mesh), jnp.int32(step))
        jax.block_until_ready(metrics)
        times.append((time.perf_counter() - start, time.process_time() - cpu))
        print(f"epoch {epoch + 1}: {times[-1][0]:.1f} s wall, {times[-1][1]:.1f} s CPU"
              f"{' (compiles every batch shape)' if epoch == 0 else ''}", flush=True)
      start = time.perf_counter()
      scores = task.evaluate(run.model(state), "valid", None)
      t_eval = time.perf_counter() - start
    print(f"dev evaluation: {t_eval:.1f} s (first, compiles) link F1 {scores['link_f1']:.2f} "
          f"link&rel F1 {scores['link_rel_f1']:.2f}", flush=True)
  steady = [w for w, _ in times[1:]] or [times[0][0]]
  print(f"seconds per STAC training epoch: {min(steady):.1f} (best of {len(steady)} after the first; target <= 30)")
  if FLAGS.peak:
    peak = vs_pytorch.bench_peak()
    print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
  app.run(main)
