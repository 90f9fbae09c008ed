"""Two JAX processes on this machine (CPU collectives over Gloo) train like one, and hand over.

Runs `python -m jddc.main` as (a) two processes with two fake CPU devices each, 4 steps;
(b) one process, 6 steps; (c) one process resuming (a)'s checkpoint to step 6. The
learning rate is constant after one warmup step, so the schedule does not depend on the
number of steps. Global batches are the same examples whatever the process count
(`jddc.data.pipeline`), so (a) = (b) over steps 1-4 and (c) = (b) over steps 5-6.
"""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from jddc import configuration

REPO = configuration.REPO_ROOT
TOLERANCE = 1e-5  # relative, on the logged training loss


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  from jddc.tasks import get_task
  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
  get_task(config.task)(config, str(tmp_path_factory.mktemp("prepare"))).prepare()  # shards, tokenizer
  return str(cache)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _command(workdir, cache, steps):
  return [sys.executable, "-m", "jddc.main", "--config=configs/response_text.py:tiny", f"--workdir={workdir}",
          f"--config.data.cache_dir={cache}", f"--config.train.steps={steps}", "--config.train.log_every=1",
          "--config.train.checkpoint_every=4", "--config.train.eval_every=4", "--config.optim.warmup_steps=0",
          "--config.optim.end_lr_fraction=1.0", "--config.eval.max_examples=4", "--config.decode.max_new_tokens=4"]


def _env(**extra):
  env = {k: v for k, v in os.environ.items() if not k.startswith("JDDC_") and k != "XLA_FLAGS"}
  env.update(extra)
  return env


def _losses(workdir) -> dict[int, float]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return {r["step"]: r["train/loss"] for r in map(json.loads, f) if "train/loss" in r}


def _run(workdir, cache, steps):
  out = subprocess.run(_command(workdir, cache, steps), cwd=REPO, env=_env(), capture_output=True, text=True,
                       timeout=600)
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  return out.stdout


def test_two_processes_train_like_one_and_hand_over(data_cache, tmp_path):
  two, one, resumed = tmp_path / "two", tmp_path / "one", tmp_path / "resumed"
  port = _free_port()
  procs = [subprocess.Popen(_command(two, data_cache, 4), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=_env(JDDC_COORDINATOR=f"127.0.0.1:{port}", JDDC_NUM_PROCESSES="2",
                                                JDDC_PROCESS_ID=str(i),
                                                XLA_FLAGS="--xla_force_host_platform_device_count=2"))
           for i in range(2)]
  outputs = [p.communicate(timeout=600)[0] for p in procs]
  for p, output in zip(procs, outputs):
    assert p.returncode == 0, output[-5000:]
  assert "process 0 of 2 (explicit), 4 devices in all" in outputs[0]
  assert "step 4/4" in outputs[0] and "step 4/4" not in outputs[1], "process 0 alone logs"
  assert "Results" not in outputs[1]
  assert {"process_0-of-2.json", "process_1-of-2.json"} <= set(os.listdir(two / "checkpoints" / "4" / "data"))
  shutil.copytree(two, resumed)
  # A run folder holds one config (`jddc.run_identity`): with a constant schedule a 4-step run
  # is the prefix of the 6-step one, so the copy is recorded as the 6-step run it continues.
  from jddc import fsutil
  recorded = fsutil.read_json(resumed / "config.json")
  recorded["train"]["steps"] = 6
  fsutil.write_json(resumed / "config.json", recorded)

  _run(one, data_cache, 6)
  resumed_output = _run(resumed, data_cache, 6)
  assert "resumed from step 4" in resumed_output

  a, b, c = _losses(two), _losses(one), _losses(resumed)
  print("step  two processes  one process  one process resuming the two-process checkpoint")
  for step in range(1, 7):
    print(f"{step:4d}  {a.get(step, float('nan')):13.7f}  {b[step]:11.7f}  {c.get(step, float('nan')):11.7f}")
  assert sorted(a) == [1, 2, 3, 4] and sorted(b) == [1, 2, 3, 4, 5, 6]
  for step in range(1, 5):
    assert abs(a[step] - b[step]) <= TOLERANCE * b[step], (step, a[step], b[step])
  for step in (5, 6):
    assert abs(c[step] - b[step]) <= TOLERANCE * b[step], (step, c[step], b[step])
  assert b[6] < b[1]


def test_how_a_process_joins():
  from jddc import distributed
  env = {"JDDC_COORDINATOR": "10.0.0.1:1234", "JDDC_NUM_PROCESSES": "4", "JDDC_PROCESS_ID": "3"}
  assert distributed.resolve(environ=env) == distributed.Cluster("explicit", "10.0.0.1:1234", 4, 3)
  assert distributed.resolve("h:1", 2, 0, environ=env) == distributed.Cluster("explicit", "h:1", 2, 0)
  with pytest.raises(ValueError, match="got only coordinator address"):
    distributed.resolve(environ={"JDDC_COORDINATOR": "h:1"})
  with pytest.raises(ValueError, match="not in"):
    distributed.resolve("h:1", 2, 2, environ={})
  assert distributed.resolve(environ={"JDDC_DISTRIBUTED": "off"}).mode == "single"
  if not distributed.on_tpu_vm():
    assert distributed.resolve(environ={}).mode == "single"
    assert distributed.resolve(environ={"JDDC_DISTRIBUTED": "auto"}).mode == "auto"


def test_iterator_state_moves_between_process_counts():
  from jddc import checkpointing
  assert checkpointing.rescale_iterator_state({"next_index": 12}, 2, 1) == {"next_index": 24}
  assert checkpointing.rescale_iterator_state({"next_index": 12}, 2, 4) == {"next_index": 6}
  with pytest.raises(ValueError, match="resume with 2 processes"):
    checkpointing.rescale_iterator_state({"workers": []}, 2, 1)
