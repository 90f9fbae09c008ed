"""Entry point: `python -m jddc.main --config=configs/<task>_<model>.py[:size] [--mode=train|eval|predict]`.

    python -m jddc.main --config=configs/response_mm.py                  # train + evaluate (small)
    python -m jddc.main --config=configs/response_mm.py:tiny --config.optim.lr=3e-4
    python -m jddc.main --config=configs/response_mm.py --mode=eval      # best checkpoint on the test split
    python -m jddc.main --config=configs/response_mm.py --mode=predict --inputs=dialogues.jsonl

Multi-process (several hosts, or several GPUs with one process each): run the same command
in every process with `--coordinator_address=HOST:PORT --num_processes=N --process_id=I`
(or JDDC_COORDINATOR / JDDC_NUM_PROCESSES / JDDC_PROCESS_ID); on a TPU VM nothing is needed
(`jddc.distributed`). Process 0 prints, logs and writes results.

The config is validated against its schema (configs/common.py: types, allowed values and
ranges, what the task accepts, rules between keys), and the flags checked, before JAX is
imported; a bad one is a short message on stderr and exit status 2, not a traceback.
The default workdir is `<runs_dir>/<config name>_<size>_seed<seed>` (`--runs_dir`, default
`runs`); rerunning the same command resumes from its latest checkpoint. A run folder holds
one run: starting it again with a config that differs in a training key
(`--config.optim.lr=...`) is an error naming the keys (`jddc.run_identity`); evaluation
options (`eval.max_examples`, `decode.*`) may differ in
`--mode=eval|predict`, whose results go to `<workdir>/eval/results_<split>.json`.

Every mode (`--mode=prepare` included) prepares through `jddc.train.prepare`, which first
resolves the config's prerequisites (a multimodal row's image features: its extractor run,
trained by the one loop if needed, then the extracted table) and hands them to the task.
"""

from __future__ import annotations

import os
import sys

import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

# configuration puts the repository root on sys.path for `configs.*`
from jddc import configuration, distributed

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "A config file, e.g. configs/response_mm.py:small.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Run folder (default: <runs_dir>/<config>_<size>_seed<seed>).")
flags.DEFINE_string("runs_dir", "runs", "Where the default run folder goes (a bucket mount on a TPU VM).")
flags.DEFINE_enum("mode", "train", ["train", "eval", "predict", "prepare"],
                  "What to do (prepare: build the data, tokenizer and image features, then stop).")
flags.DEFINE_string("split", None, "Split for --mode=eval (default: config.eval.split).")
flags.DEFINE_string("inputs", None, "JSON lines of examples for --mode=predict.")
flags.DEFINE_string("coordinator_address", None,
                    "Multi-process runs: HOST:PORT of process 0 (or env JDDC_COORDINATOR); TPU VMs need none.")
flags.DEFINE_integer("num_processes", None, "Multi-process runs: how many (or env JDDC_NUM_PROCESSES).")
flags.DEFINE_integer("process_id", None, "Multi-process runs: this process's index (or env JDDC_PROCESS_ID).")
flags.mark_flags_as_required(["config"])


def default_workdir(config_path: str, config, runs_dir: str = "runs") -> str:
  """`<runs_dir>/<config name>_<size>_seed<seed>`: the seed is part of the name, so seeds never share a folder."""
  name = os.path.splitext(os.path.basename(config_path.partition(":")[0]))[0]
  return os.path.join(runs_dir, f"{name}_{config.size}_seed{config.seed}")


def format_results(results: dict) -> str:
  width = max(len(k) for k in results) + 2
  lines = ["metric".ljust(width) + "value", "-" * (width + 10)]
  lines += [k.ljust(width) + (f"{v:.2f}" if isinstance(v, float) else str(v)) for k, v in results.items()]
  return "\n".join(lines)


def fail(message: str) -> None:
  """A start-up error: the message on stderr, exit status 2 (as absl's usage errors)."""
  sys.stderr.write(f"jddc.main: error: {message}\n")
  sys.exit(2)


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with the config file and `--config.KEY` overrides checked first:
  absl's config flags report a missing file or an unknown key with a long chained traceback."""
  try:
    configuration.check_command_line(argv[1:])
  except configuration.ConfigError as e:
    fail(str(e))
  try:
    return FLAGS(argv)
  except flags.Error as e:
    fail(f"{e}\n  (python -m jddc.main --helpfull lists the flags)")


def check_start_up(config) -> None:
  """ConfigError for a config or flag that cannot run: everything checked before JAX is imported."""
  from configs import common

  if not isinstance(config, ml_collections.ConfigDict):
    raise configuration.ConfigError("--config=configs/<name>.py[:size] is required")
  configuration.validate(config, common.reference(config))
  mode = FLAGS.mode
  if FLAGS.split is not None and mode != "eval":
    raise configuration.ConfigError(f"--split is read by --mode=eval only (this is --mode={mode}; "
                                    "training evaluates on config.eval.split)")
  if FLAGS.split is not None and FLAGS.split not in common.SPLITS:
    raise configuration.ConfigError("--split: " + configuration.not_allowed(FLAGS.split, common.SPLITS, "a split",
                                                                        dict(common.SPLIT_HINTS)))
  if FLAGS.inputs is not None and mode != "predict":
    raise configuration.ConfigError(f"--inputs is read by --mode=predict only (this is --mode={mode})")
  if mode == "predict":
    if not common.TASKS[config.task].predicts:
      raise configuration.ConfigError(f"--mode=predict: task {config.task!r} has none (--mode=eval scores a split)")
    if not FLAGS.inputs:
      raise configuration.ConfigError("--mode=predict needs --inputs=FILE (JSON lines, one example a line)")
    if not os.path.isfile(FLAGS.inputs):
      raise configuration.ConfigError(f"--inputs: {FLAGS.inputs} is not a file")


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  from configs import common

  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax and TFDS are chatty at INFO
  config = FLAGS.config
  try:
    check_start_up(config)
  except configuration.ConfigError as e:
    fail(str(e))
  workdir = FLAGS.workdir or default_workdir(FLAGS["config"].config_filename, config, FLAGS.runs_dir)
  if FLAGS.mode in ("eval", "predict") and common.TASKS[config.task].trainable and not os.path.isdir(workdir):
    fail(f"--mode={FLAGS.mode}: no run folder {workdir} (train it first with --mode=train, or pass --workdir)")
  try:
    cluster = distributed.resolve(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  except ValueError as e:
    fail(str(e))
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
    else:
      from jddc import predict

      return predict.run(config, workdir, FLAGS.inputs)
  except run_identity.RunMismatchError as e:
    fail(str(e))  # one paragraph, no usage text: the flags were fine
  if jax.process_index() != 0:
    return
  path = train.results_path(workdir, results["split"], FLAGS.mode)
  print(f"\nResults ({results['split']} split, best validation checkpoint, step {results['best_step']}) -> {path}")
  print(format_results(results))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
