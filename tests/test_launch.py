"""Launch scripts: --dry-run prints the exact commands (and runs none of them); shellcheck."""

import os
import shlex
import shutil
import subprocess

import pytest

from jddc import configuration

LAUNCH = os.path.join(configuration.REPO_ROOT, "launch")
SCRIPTS = ("tpu_vm.sh", "gpu.sh")


def _dry_run(tmp_path, script, *args):
  """The printed commands as argument lists; gcloud, ssh and git are traps that must not run."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir(exist_ok=True)
  for tool in ("gcloud", "ssh", "git", "python", "scp"):
    (bin_dir / tool).write_text(f"#!/bin/sh\necho ran {tool} >> {tmp_path}/ran\nexit 1\n")
    (bin_dir / tool).chmod(0o755)
  env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
  out = subprocess.run(["bash", os.path.join(LAUNCH, script), "--dry-run", *args], env=env, capture_output=True,
                       text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  assert not (tmp_path / "ran").exists(), "a dry run ran a command"
  lines = out.stdout.strip().splitlines()
  assert all(line.startswith("+ ") for line in lines), lines
  return [shlex.split(line[2:]) for line in lines]


def test_tpu_vm_dry_run(tmp_path):
  commands = _dry_run(tmp_path, "tpu_vm.sh", "--name=jddc-v4", "--zone=us-central2-b", "--accelerator=v4-32",
                      "--config=configs/response_mm.py:base", "--bucket=my-bucket", "--",
                      "--config.train.steps=20000")
  create, archive, scp, install, mount, train, delete = commands
  assert create == ["gcloud", "compute", "tpus", "tpu-vm", "create", "jddc-v4", "--zone=us-central2-b",
                    "--accelerator-type=v4-32", "--version=tpu-ubuntu2204-base"]
  assert archive == ["git", "-C", configuration.REPO_ROOT, "archive", "--format=tar.gz",
                     "--output=/tmp/jddc-jddc-v4.tar.gz", "HEAD"]
  assert scp == ["gcloud", "compute", "tpus", "tpu-vm", "scp", "/tmp/jddc-jddc-v4.tar.gz", "jddc-v4:jddc.tar.gz",
                 "--zone=us-central2-b", "--worker=all"]
  for ssh in (install, mount, train):
    assert ssh[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "jddc-v4"] and "--worker=all" in ssh
  assert "bash jddc/scripts/setup.sh --extra=tpu" in install[-1]
  assert "gcsfuse --implicit-dirs my-bucket $HOME/bucket" in mount[-1]
  remote = shlex.split(train[-1].split("--command=", 1)[1])
  assert remote == ["cd", "jddc", "&&", ".venv/bin/python", "-m", "jddc.main", "--config=configs/response_mm.py:base",
                    "--runs_dir=$HOME/bucket/runs", "--config.train.steps=20000"]
  assert delete == ["gcloud", "compute", "tpus", "tpu-vm", "delete", "jddc-v4", "--zone=us-central2-b", "--quiet"]


def test_tpu_queued_resource_dry_run(tmp_path):
  commands = _dry_run(tmp_path, "tpu_vm.sh", "--name=q", "--zone=z", "--accelerator=v5litepod-16", "--project=p",
                      "--config=configs/response_text.py", "--bucket=b", "--queued", "--spot")
  assert commands[0] == ["gcloud", "compute", "tpus", "queued-resources", "create", "q", "--node-id=q", "--zone=z",
                         "--project=p", "--accelerator-type=v5litepod-16", "--runtime-version=tpu-ubuntu2204-base",
                         "--spot"]
  assert commands[1][:5] == ["gcloud", "compute", "tpus", "queued-resources", "describe"]
  assert "--runs_dir=$HOME/bucket/runs" in commands[-2][-1]
  assert commands[-1][:6] == ["gcloud", "compute", "tpus", "queued-resources", "delete", "q"]
  assert "--force" in commands[-1]


def test_tpu_vm_needs_its_arguments(tmp_path):
  out = subprocess.run(["bash", os.path.join(LAUNCH, "tpu_vm.sh"), "--name=x", "--dry-run"], capture_output=True,
                       text=True)
  assert out.returncode == 2 and "missing --zone" in out.stderr


def test_gpu_dry_runs(tmp_path):
  (one,) = _dry_run(tmp_path, "gpu.sh", "--config=configs/response_mm.py:base")
  assert one == [".venv/bin/python", "-m", "jddc.main", "--config=configs/response_mm.py:base"]
  hosts = _dry_run(tmp_path, "gpu.sh", "--config=configs/response_mm.py:base", "--hosts=gpu0,gpu1,gpu2",
                   "--port=9000", "--workdir=/nfs/runs/mm", "--", "--config.train.grad_accum=4")
  assert [c[:2] for c in hosts] == [["ssh", "gpu0"], ["ssh", "gpu1"], ["ssh", "gpu2"]]
  for index, command in enumerate(hosts):
    assert shlex.split(command[2]) == [
        "cd", "jddc", "&&", "JDDC_COORDINATOR=gpu0:9000", "JDDC_NUM_PROCESSES=3", f"JDDC_PROCESS_ID={index}",
        ".venv/bin/python", "-m", "jddc.main", "--config=configs/response_mm.py:base", "--workdir=/nfs/runs/mm",
        "--config.train.grad_accum=4"]
  (part,) = _dry_run(tmp_path, "gpu.sh", "--config=c.py", "--coordinator=gpu0:1234", "--num-processes=2",
                     "--process-id=1")
  assert part == ["env", "JDDC_COORDINATOR=gpu0:1234", "JDDC_NUM_PROCESSES=2", "JDDC_PROCESS_ID=1",
                  ".venv/bin/python", "-m", "jddc.main", "--config=c.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck(script):
  if shutil.which("shellcheck") is None:
    pytest.skip("shellcheck is not installed")
  out = subprocess.run(["shellcheck", os.path.join(LAUNCH, script)], capture_output=True, text=True)
  assert out.returncode == 0, out.stdout


def _python_choice(tmp_path, pythons: dict[str, bool]) -> str:
  """What scripts/setup.sh would make .venv with, on a PATH holding only fake Pythons."""
  bin_dir = tmp_path / "fakebin"
  bin_dir.mkdir(parents=True)
  os.symlink(shutil.which("dirname"), bin_dir / "dirname")
  for name, in_range in pythons.items():  # the version check exits 0 only for a supported Python
    (bin_dir / name).write_text(f"#!/bin/sh\nexit {0 if in_range else 1}\n")
    (bin_dir / name).chmod(0o755)
  out = subprocess.run([shutil.which("bash"), os.path.join(configuration.REPO_ROOT, "scripts", "setup.sh"),
                        "--print-python"], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  return out.stdout.strip()


def test_setup_picks_a_python_the_pins_support(tmp_path):
  assert _python_choice(tmp_path / "a", {"python3.12": True, "python3.13": True, "python3": True}) == "python3.12"
  assert _python_choice(tmp_path / "b", {"python3": True}) == "python3"
  # a TPU VM image: python3 is 3.10, outside the range -> a standalone CPython from uv
  assert _python_choice(tmp_path / "c", {"python3": False}) == "uv:3.12"


def test_default_run_folder_names_the_seed():
  from jddc import main
  from configs import response_text
  config = response_text.get_config("tiny")
  config.seed = 3
  assert main.default_workdir("configs/response_text.py:tiny", config, "/bucket/runs") == \
      "/bucket/runs/response_text_tiny_seed3"


def test_get_public_data_dry_run_lays_out_every_shared_corpus(tmp_path):
  """scripts/get_public_data.sh --dry-run: one clone per source at its commit, and every file the
  tests read goes to its folder (docs/public_corpora.md); REWRITE only its first 18,000 lines."""
  out = subprocess.run(["bash", os.path.join(configuration.REPO_ROOT, "scripts", "get_public_data.sh"),
                        str(tmp_path / "data"), "--dry-run"], capture_output=True, text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  commands = [shlex.split(line[2:]) for line in out.stdout.splitlines()]
  clones = [c[3] for c in commands if c[:2] == ["git", "clone"]]
  assert len(clones) == 7 and all(c.startswith("https://github.com/") for c in clones)
  copied = {os.path.relpath(c[-1], tmp_path / "data") for c in commands if c[0] == "cp"}
  assert copied == {"csds/val.json", "csds/official_outputs", "stac/train.json", "stac/dev.json",
                    "moddp/train.csv", "moddp/eval.csv", "moddp/relation_database.json",
                    "jddc2019/chat_0.1per.txt", "jddc2020/6e53e543e7b5a24e5d82dde54767e5f4.jpg"}
  (head,) = [c for c in commands if c[0] == "head"]
  assert head[1:3] == ["-n", "18000"] and head[-1] == str(tmp_path / "data" / "rewrite" / "train.txt")
  assert not (tmp_path / "data").exists(), "a dry run wrote files"
