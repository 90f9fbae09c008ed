"""Entry point: `python -m jddc.main --config=configs/<task>_<model>.py[:size] [--mode=train|eval|predict]`.

    python -m jddc.main --config=configs/response_mm.py                  # train + evaluate (small)
    python -m jddc.main --config=configs/response_mm.py:tiny --config.optim.lr=3e-4
    python -m jddc.main --config=configs/response_mm.py --mode=eval      # best checkpoint on the test split
    python -m jddc.main --config=configs/response_mm.py --mode=predict --inputs=dialogues.jsonl

Multi-process (several hosts, or several GPUs with one process each): run the same command
in every process with `--coordinator_address=HOST:PORT --num_processes=N --process_id=I`
(or JDDC_COORDINATOR / JDDC_NUM_PROCESSES / JDDC_PROCESS_ID); on a TPU VM nothing is needed
(`jddc.distributed`). Process 0 prints, logs and writes results.

The config is validated against its schema (configs/common.py) before anything is built.
The default workdir is `runs/<config name>_<size>_seed<seed>`; rerunning the same command
resumes from its latest checkpoint. A run folder holds one run: starting it again with a
config that differs in a training key (`--config.optim.lr=...`) is an error naming the keys
(`jddc.run_identity`); evaluation options (`eval.max_examples`, `decode.*`) may differ in
`--mode=eval|predict`, whose results go to `<workdir>/eval/results_<split>.json`.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from jddc import configuration, distributed  # configuration puts the repository root on sys.path for `configs.*`

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "A config file, e.g. configs/response_mm.py:small.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Run folder (default: runs/<config>_<size>_seed<seed>).")
flags.DEFINE_enum("mode", "train", ["train", "eval", "predict", "prepare"],
                  "What to do (prepare: build the data, tokenizer and image features, then stop).")
flags.DEFINE_string("split", None, "Split for --mode=eval (default: config.eval.split).")
flags.DEFINE_string("inputs", None, "JSON lines of examples for --mode=predict.")
flags.DEFINE_string("coordinator_address", None,
                    "Multi-process runs: HOST:PORT of process 0 (or env JDDC_COORDINATOR); TPU VMs need none.")
flags.DEFINE_integer("num_processes", None, "Multi-process runs: how many (or env JDDC_NUM_PROCESSES).")
flags.DEFINE_integer("process_id", None, "Multi-process runs: this process's index (or env JDDC_PROCESS_ID).")
flags.mark_flags_as_required(["config"])


def default_workdir(config_path: str, config) -> str:
  name = os.path.splitext(os.path.basename(config_path.partition(":")[0]))[0]
  return os.path.join("runs", f"{name}_{config.size}_seed{config.seed}")


def format_results(results: dict) -> str:
  width = max(len(k) for k in results) + 2
  lines = ["metric".ljust(width) + "value", "-" * (width + 10)]
  lines += [k.ljust(width) + (f"{v:.2f}" if isinstance(v, float) else str(v)) for k, v in results.items()]
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  from configs import common

  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax and TFDS are chatty at INFO
  config = FLAGS.config
  try:
    configuration.validate(config, common.reference(config))
  except (configuration.ConfigError, ValueError) as e:
    raise app.UsageError(str(e)) from e
  workdir = FLAGS.workdir or default_workdir(FLAGS["config"].config_filename, config)
  try:
    cluster = distributed.resolve(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  distributed.initialize(cluster)  # before anything touches a JAX backend
  import jax

  from jddc import train  # heavy imports after validation

  if jax.process_index() == 0:
    print(f"workdir {workdir}", flush=True)
  if cluster.mode != "single":
    train.log("process %d of %d (%s), %d devices in all", jax.process_index(), jax.process_count(),
              cluster.mode, jax.device_count())

  from jddc import run_identity

  if FLAGS.mode == "prepare":
    train.prepare_data(config, workdir)
    return
  try:
    if FLAGS.mode == "train":
      results = train.train_and_evaluate(config, workdir)
    elif FLAGS.mode == "eval":
      results = train.evaluate(config, workdir, FLAGS.split)
  except run_identity.RunMismatchError as e:
    sys.exit(f"error: {e}")  # one paragraph, no usage text: the flags were fine
  if FLAGS.mode == "predict":
    if not FLAGS.inputs:
      raise app.UsageError("--mode=predict needs --inputs=FILE (JSON lines)")
    with open(FLAGS.inputs, encoding="utf-8") as f:
      examples = [json.loads(line) for line in f if line.strip()]
    try:
      task, model = train.load_model(config, workdir)
    except run_identity.RunMismatchError as e:
      sys.exit(f"error: {e}")  # one paragraph, no usage text: the flags were fine
    for row in task.predict(model, examples):
      if jax.process_index() == 0:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return
  if jax.process_index() != 0:
    return
  path = train.results_path(workdir, results["split"], FLAGS.mode)
  print(f"\nResults ({results['split']} split, best validation checkpoint, step {results['best_step']}) -> {path}")
  print(format_results(results))


if __name__ == "__main__":
  app.run(main)
