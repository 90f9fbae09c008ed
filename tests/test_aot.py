"""`python -m jddc.aot` compiles a train step for a mesh of fake devices without running it."""

import json
import os
import subprocess
import sys

from jddc import configuration


def test_aot_reports_memory_per_device():
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  out = subprocess.run([sys.executable, "-m", "jddc.aot", "--config=configs/response_mm.py:tiny",
                        "--mesh=data:2,model:2", "--grad_accum=2", "--peak_tflops=100"], cwd=configuration.REPO_ROOT,
                       env=env,
                       capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "temporaries" in out.stdout
  f = json.loads(out.stdout.strip().splitlines()[-1])
  assert f["devices"] == 4 and f["mesh"] == {"data": 2, "fsdp": 1, "model": 2} and f["grad_accum"] == 2
  # The model axis splits the vocabulary, heads and MLP: less than the whole model per device,
  # more than half of it (layer norms, positions and the image projection's input stay whole).
  assert f["param_bytes_total"] / 2 < f["param_bytes_per_device"] < f["param_bytes_total"]
  # AdamW keeps two moments per parameter (plus counters).
  assert 2 * f["param_bytes_per_device"] <= f["optimizer_bytes_per_device"] < 2 * f["param_bytes_per_device"] + 1024
  # The compiled step's arguments are this device's parameters, optimizer state and batch.
  assert f["argument_bytes"] >= f["param_bytes_per_device"] + f["optimizer_bytes_per_device"]
  assert f["temp_bytes"] > 0 and f["alias_bytes"] > 0
  # A training step costs at least the forward pass, 2 FLOPs per parameter and token, over this
  # device's share (half the batch on the data axis, half the weights on the model axis), and
  # at most about three times that for backward and attention.
  config = configuration.load_config("configs/response_mm.py:tiny")
  tokens = f["batch_size"] * config.data.max_len / 2
  forward = 2 * f["parameters"] * tokens / 2
  assert forward < f["flops_per_step_per_device"] < 4 * forward
  assert f["step_seconds_at_peak"] == f["flops_per_step_per_device"] / 100e12 and "at 40%" in out.stdout


def test_a_bad_config_is_one_line_not_a_traceback():
  out = subprocess.run([sys.executable, "-m", "jddc.aot", "--config=configs/response_mm.py:huge"],
                       cwd=configuration.REPO_ROOT, capture_output=True, text=True, timeout=120)
  assert out.returncode != 0 and "jddc.aot: configs/response_mm.py:huge: unknown size 'huge'" in out.stderr
  assert "Traceback" not in out.stderr
