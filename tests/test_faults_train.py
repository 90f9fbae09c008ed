"""Kill a tiny run anywhere in the training loop and rerun it: the same results, bit for bit.

Also: a run folder knows the config it was trained with (a changed training key is an
error, an evaluation option is not), `--mode=eval` never overwrites the training's
results, and `metrics.jsonl` holds every step once after a resume.
"""

import glob
import json
import os
import signal
import subprocess
import sys

import pytest

from jddc import configuration

REPO = configuration.REPO_ROOT
# Evaluations (and best saves) at 20 and 40, latest checkpoints at 10, 20, 30, 40: a kill after
# the best save at 20, before the latest save of the same step, resumes from 10 and re-reaches 20.
RUN_FLAGS = ("--config=configs/response_text.py:tiny", "--config.model.dropout=0.1", "--config.train.steps=40",
             "--config.train.eval_every=20", "--config.train.checkpoint_every=10")
TIMING_KEYS = ("train/steps_per_second", "train/tokens_per_second", "train/wall_seconds")


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_release):
  """A data cache holding the session's tiny corpus, and one XLA compilation cache for every run."""
  root = tmp_path_factory.mktemp("faults_train")
  os.makedirs(root / "data_cache")
  os.symlink(tiny_release, root / "data_cache" / "jddc_tiny_seed0")
  return {"root": root, "cache": str(root / "data_cache"),
          "env": dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(root / "xla_cache"),
                      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0.5")}


def _main(env, workdir, *extra, kill_at=None):
  run_env = dict(env["env"])
  run_env.pop("JDDC_KILL_AT", None)
  if kill_at:
    run_env["JDDC_KILL_AT"] = kill_at
  return subprocess.run([sys.executable, "-m", "jddc.main", *RUN_FLAGS, f"--workdir={workdir}",
                         f"--config.data.cache_dir={env['cache']}", *extra],
                        cwd=REPO, env=run_env, capture_output=True, text=True, timeout=600)


def _read(path):
  with open(path, "rb") as f:
    return f.read()


def _metrics(workdir):
  """[(step, {key: value})] of metrics.jsonl without the wall-clock timings."""
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  return [(r["step"], {k: v for k, v in r.items() if k != "step" and k not in TIMING_KEYS}) for r in records]


@pytest.fixture(scope="module")
def straight(env):
  """An uninterrupted run's folder."""
  workdir = str(env["root"] / "straight")
  out = _main(env, workdir)
  assert out.returncode == 0, out.stdout + out.stderr
  return workdir


def _killed_at_best_save(workdir):
  steps = lambda d: sorted(int(p) for p in os.listdir(os.path.join(workdir, d)) if p.isdigit())  # noqa: E731
  assert steps("best") == [20] and steps("checkpoints") == [10], "a best save at 20, the latest at 10"


def _killed_during_save(workdir):
  assert [int(p) for p in os.listdir(os.path.join(workdir, "checkpoints")) if p.isdigit()] == [10]
  assert glob.glob(os.path.join(workdir, "checkpoints", "20.orbax-checkpoint-tmp*")), "a partial step-20 checkpoint"


def _killed_during_final_eval(workdir):
  assert not os.path.exists(os.path.join(workdir, "predictions_test.jsonl"))
  assert not os.path.exists(os.path.join(workdir, "results.json"))
  leftovers = glob.glob(os.path.join(workdir, ".predictions_test.jsonl.tmp-*"))
  assert len(leftovers) == 1 and 0 < os.path.getsize(leftovers[0]), "some predictions written, under a temporary name"


def _killed_while_results_written(workdir):
  assert not os.path.exists(os.path.join(workdir, "results.json"))
  (leftover,) = glob.glob(os.path.join(workdir, ".results.json.tmp-*"))
  assert json.loads(_read(leftover))["split"] == "test"
  assert os.path.exists(os.path.join(workdir, "predictions_test.jsonl"))


KILL_POINTS = {
    "train.after_best_save": _killed_at_best_save,
    "checkpoint.during_save:2": _killed_during_save,  # the 2nd latest save (step 20): step 10 is complete
    "eval.during_final": _killed_during_final_eval,
    "results.during_write": _killed_while_results_written,
}


@pytest.mark.parametrize("kill_at", sorted(KILL_POINTS))
def test_kill_then_rerun_gives_the_uninterrupted_results(env, straight, kill_at):
  workdir = str(env["root"] / kill_at.replace(":", "_"))
  killed = _main(env, workdir, kill_at=kill_at)
  assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
  KILL_POINTS[kill_at](workdir)
  rerun = _main(env, workdir)
  assert rerun.returncode == 0, rerun.stdout + rerun.stderr
  for name in ("results.json", "predictions_test.jsonl", "config.json"):
    assert _read(os.path.join(workdir, name)) == _read(os.path.join(straight, name)), name
  assert not glob.glob(os.path.join(workdir, ".*.tmp-*")), "leftovers of the killed writer are swept"
  # Every step logged once, with the uninterrupted run's values (the replayed steps are not doubled).
  assert _metrics(workdir) == _metrics(straight)


def test_changed_training_key_is_an_error_and_eval_options_are_not(env, straight):
  config_json = _read(os.path.join(straight, "config.json"))
  results_json = _read(os.path.join(straight, "results.json"))
  out = _main(env, straight, "--config.optim.lr=3e-4")
  assert out.returncode != 0
  (message,) = [line for line in out.stderr.splitlines() if "(trained) vs" in line]
  assert "optim.lr 0.003 (trained) vs 0.0003 (now)" in message and "--workdir" in message, out.stderr
  assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) <= 3, out.stderr

  out = _main(env, straight, "--mode=eval", "--split=valid", "--config.decode.max_new_tokens=8")
  assert out.returncode == 0, out.stdout + out.stderr
  evaluated = json.loads(_read(os.path.join(straight, "eval", "results_valid.json")))
  assert evaluated["split"] == "valid" and evaluated["best_step"] == json.loads(results_json)["best_step"]
  assert evaluated["eval_overrides"] == {"decode.max_new_tokens": 8}
  assert "Results (valid split" in out.stdout and "eval/results_valid.json" in out.stdout
  assert os.path.exists(os.path.join(straight, "eval", "predictions_valid.jsonl"))
  # The training's record is untouched: its config, results and predictions.
  assert _read(os.path.join(straight, "config.json")) == config_json
  assert _read(os.path.join(straight, "results.json")) == results_json
  assert not os.path.exists(os.path.join(straight, "predictions_valid.jsonl"))


def test_a_reached_best_step_is_not_saved_again(tmp_path):
  """The mechanism behind the kill after a best save, at any alignment of evaluations and checkpoints."""
  import numpy as np

  from jddc import checkpointing
  state = {"w": np.arange(4, dtype=np.float32)}
  ckpt = checkpointing.Checkpointer(str(tmp_path), best_metric="bleu")
  ckpt.save_best(15, state, {"bleu": 2.0})
  ckpt.close()  # killed here, before the next latest save; the resumed run re-reaches 15 (and earlier steps)
  resumed = checkpointing.Checkpointer(str(tmp_path), best_metric="bleu")
  assert not resumed.save_best(15, state, {"bleu": 2.0})  # on main: StepAlreadyExistsError
  assert not resumed.save_best(10, state, {"bleu": 9.0})
  assert resumed.save_best(30, state, {"bleu": 1.0}) and resumed.best_step() == 15
  resumed.close()


def test_metrics_log_drops_the_steps_after_the_resumed_checkpoint(tmp_path):
  from jddc.metric_writer import MetricWriter
  writer = MetricWriter(str(tmp_path))
  for step in (10, 20, 30):
    writer.write(step, {"train/loss": float(step)})
  writer.close()
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 40, "train/lo')  # torn by a kill
  writer = MetricWriter(str(tmp_path), resumed_step=20)
  writer.write(30, {"train/loss": 3.0})
  writer.close()
  with open(tmp_path / "metrics.jsonl") as f:
    assert [(r["step"], r["train/loss"]) for r in map(json.loads, f)] == [(10, 10.0), (20, 20.0), (30, 3.0)]


def test_run_identity_records_once_and_names_every_differing_key(tmp_path):
  from jddc import run_identity
  config = configuration.load_config("configs/response_text.py:tiny")
  run_identity.start_training(config, str(tmp_path))
  recorded = _read(tmp_path / "config.json")
  with config.unlocked():
    config.train.log_every, config.data.cache_dir = 5, "/elsewhere"  # runtime keys: any mode
    config.eval.max_examples = 8  # an evaluation option: eval and predict only
  with pytest.raises(run_identity.RunMismatchError, match=r"eval\.max_examples 32 \(trained\) vs 8 \(now\)"):
    run_identity.start_training(config, str(tmp_path))
  assert run_identity.check_for_evaluation(config, str(tmp_path)) == {"eval.max_examples": 8}
  with config.unlocked():
    config.optim.lr, config.train.steps = 1e-4, 80
    config.model.new_key = 1  # a key the run never had
  with pytest.raises(run_identity.RunMismatchError) as error:
    run_identity.check_for_evaluation(config, str(tmp_path))
  message = str(error.value)
  for part in ("model.new_key (absent) (trained) vs 1 (now)", "optim.lr 0.003 (trained) vs 0.0001 (now)",
               "train.steps 40 (trained) vs 80 (now)"):
    assert part in message
  assert "max_examples" not in message.split("Keys that may differ")[0]
  assert _read(tmp_path / "config.json") == recorded
  with pytest.raises(run_identity.RunMismatchError, match="not a trained run folder"):
    run_identity.check_for_evaluation(config, str(tmp_path / "empty"))


def test_two_starts_of_one_run_folder_at_once(env, straight):
  """The second waits for the first (`run.lock`), then finds the run finished: the same results."""
  workdir = str(env["root"] / "twice")
  command = [sys.executable, "-m", "jddc.main", *RUN_FLAGS, f"--workdir={workdir}",
             f"--config.data.cache_dir={env['cache']}"]
  procs = [subprocess.Popen(command, cwd=REPO, env=env["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) for _ in range(2)]
  outputs = [p.communicate(timeout=600)[0] for p in procs]
  assert [p.returncode for p in procs] == [0, 0], outputs
  assert sum("resumed from step 40" in out for out in outputs) == 1, outputs
  assert _read(os.path.join(workdir, "results.json")) == _read(os.path.join(straight, "results.json"))
  assert _metrics(workdir) == _metrics(straight)
