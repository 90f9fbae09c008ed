"""Runs configs over several seeds and prints mean ± standard deviation of their results.

    python benchmarks/seed_spread.py --configs=response_text,response_mm --seeds=0,1,2 [--size=small]

Each run is `python -m jddc.main --config=configs/<name>.py:<size> --config.seed=<k>` in
`runs/<name>_<size>_seed<k>` (with `--overrides`, `..._seed<k>-<hash of the overrides>`, so
runs of other overrides are never read as these). Finished runs are reused: a complete
test-split results.json is read; the run folder's own identity check (`jddc.run_identity`)
refuses a folder trained with another config.
Prints a table per metric and the wall time of each run.
"""

import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

from jddc import fsutil

FLAGS = flags.FLAGS
flags.DEFINE_list("configs", ["response_text", "response_mm"], "Config names under configs/.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds.")
flags.DEFINE_string("size", "small", "Size variant.")
flags.DEFINE_list("metrics", ["bleu", "rougeL", "distinct1", "distinct2"], "Metrics to tabulate.")
flags.DEFINE_list("overrides", [], "Extra --config.KEY=VALUE overrides for every run.")


def run(name: str, seed: str) -> tuple[dict, float]:
  suffix = f"-{fsutil.content_key(sorted(FLAGS.overrides), length=8)}" if FLAGS.overrides else ""
  workdir = os.path.join("runs", f"{name}_{FLAGS.size}_seed{seed}{suffix}")
  results = os.path.join(workdir, "results.json")
  if os.path.isfile(results):
    done = fsutil.read_json(results)
    if done.get("split") == "test":
      return done, 0.0
  start = time.perf_counter()
  cmd = [sys.executable, "-m", "jddc.main", f"--config=configs/{name}.py:{FLAGS.size}", f"--config.seed={seed}",
         f"--workdir={workdir}"] + [f"--config.{o}" for o in FLAGS.overrides]
  subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
  return fsutil.read_json(results), time.perf_counter() - start


def main(argv):
  del argv
  table = {}
  for name in FLAGS.configs:
    for seed in FLAGS.seeds:
      results, seconds = run(name, seed)
      table.setdefault(name, []).append(results)
      print(f"{name} seed {seed}: " + ", ".join(f"{m} {results[m]:.2f}" for m in FLAGS.metrics)
            + (f"  ({seconds:.0f} s)" if seconds else "  (reused)"), flush=True)
  print(f"\n{'config':<20}" + "".join(f"{m:>18}" for m in FLAGS.metrics))
  for name, rows in table.items():
    cells = []
    for m in FLAGS.metrics:
      values = [r[m] for r in rows]
      sd = statistics.stdev(values) if len(values) > 1 else 0.0
      cells.append(f"{statistics.mean(values):.2f} ± {sd:.2f}")
    print(f"{name:<20}" + "".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
  app.run(main)
