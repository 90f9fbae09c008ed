"""Preparation survives a SIGKILL anywhere and concurrent first runs (issue 12, items 2, 5, 8).

A tiny multimodal run (`configs/response_mm.py:tiny`: corpus, ResNet-18 extractor, features,
shards, tokenizer, GPT-2) is started twice at once on one empty data cache: both finish
with the same results (one builds each cache entry, the other waits and reads it). Then the
same command is killed (SIGKILL, `JDDC_KILL_AT`) at each preparation point in turn, on a
cache of its own: each killed run leaves no cache entry under its final name, the next
command (killed at the next point) recovers it, and the last one completes with exactly the
results and predictions of the uninterrupted runs.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from jddc import configuration

REPO = configuration.REPO_ROOT
CONFIG = "configs/response_mm.py:tiny"
# In pipeline order: each killed run's successor (killed at the next point) must first
# recover what the previous kill interrupted. Image features are a prerequisite the engine
# resolves before the row's own shards and tokenizer (`jddc.train.prepare`).
PREPARE_POINTS = ("corpus.during_generation", "extractor.before_first_eval", "extractor.after_first_eval",
                  "features.during_extraction", "shards.during_build", "tokenizer.during_training")


@pytest.fixture(scope="module")
def xla_cache(tmp_path_factory):
  """XLA's persistent compilation cache, shared by this module's runs (they compile the same programs)."""
  return str(tmp_path_factory.mktemp("xla_cache"))


def _start(workdir, cache, xla_cache, kill_at=None, extra=()):
  env = {k: v for k, v in os.environ.items() if k != "JDDC_KILL_AT"}
  env.update(JAX_COMPILATION_CACHE_DIR=xla_cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  if kill_at:
    env["JDDC_KILL_AT"] = kill_at
  return subprocess.Popen([sys.executable, "-m", "jddc.main", f"--config={CONFIG}", f"--workdir={workdir}",
                           f"--config.data.cache_dir={cache}", *extra],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _outcome(workdir) -> dict:
  """What a finished run reports: results.json and its test predictions."""
  with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
    results = json.load(f)
  with open(os.path.join(workdir, "predictions_test.jsonl"), encoding="utf-8") as f:
    predictions = f.read()
  return {"results": results, "predictions": predictions}


def _feature_rows(cache) -> tuple[list[str], np.ndarray]:
  (path,) = glob.glob(os.path.join(cache, "features", "*.npz"))
  with np.load(path) as data:
    return [str(n) for n in data["names"]], data["features"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, xla_cache):
  """Two first runs started at once on one empty cache: (their outcomes, the cache, run folders)."""
  root = tmp_path_factory.mktemp("concurrent")
  cache = str(root / "cache")
  workdirs = [str(root / f"run{i}") for i in range(2)]
  procs = [_start(w, cache, xla_cache) for w in workdirs]
  outputs = [p.communicate(timeout=1200)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-4000:]
  return [_outcome(w) for w in workdirs], cache, workdirs


def test_two_first_runs_at_once_build_each_cache_entry_once_and_agree(reference):
  outcomes, cache, _ = reference
  assert outcomes[0] == outcomes[1]
  (extractor,) = glob.glob(os.path.join(cache, "feature_extractor", "*-tiny"))
  with open(os.path.join(extractor, "metrics.jsonl"), encoding="utf-8") as f:
    steps = [json.loads(line)["step"] for line in f if "train/loss" in line]
  assert steps == sorted(set(steps)), f"the extractor was trained twice into one folder: steps {steps}"
  assert len(glob.glob(os.path.join(cache, "features", "*.npz"))) == 1
  assert len(glob.glob(os.path.join(cache, "tokenizers", "*", "spm.model"))) == 1
  assert not glob.glob(os.path.join(cache, "**", ".*.tmp-*"), recursive=True), "a writer's leftover remains"


def _check_nothing_half_built(point: str, cache: str) -> None:
  """After a kill at `point`, the entry it interrupted does not exist under its final name."""
  if point == "corpus.during_generation":
    assert not os.path.exists(os.path.join(cache, "jddc_tiny_seed0"))
    assert glob.glob(os.path.join(cache, ".jddc_tiny_seed0.tmp-*")), "the kill was not during generation"
  elif point == "shards.during_build":
    assert not glob.glob(os.path.join(cache, "tfds", "*", "jddc_examples", "response", "1.0.0"))
  elif point == "tokenizer.during_training":
    assert not glob.glob(os.path.join(cache, "tokenizers", "*", "spm.model"))
  elif point.startswith("extractor."):
    (extractor,) = glob.glob(os.path.join(cache, "feature_extractor", "*-tiny"))
    assert not os.path.exists(os.path.join(extractor, "extractor_complete.json"))
    has_best = bool(glob.glob(os.path.join(extractor, "best", "[0-9]*")))
    assert has_best == (point == "extractor.after_first_eval")
  elif point == "features.during_extraction":
    assert glob.glob(os.path.join(cache, "feature_extractor", "*-tiny", "extractor_complete.json"))
    assert not glob.glob(os.path.join(cache, "features", "*.npz"))


def test_a_kill_at_each_preparation_point_is_recovered_with_identical_results(reference, xla_cache, tmp_path):
  outcomes, reference_cache, _ = reference
  cache, workdir = str(tmp_path / "cache"), str(tmp_path / "run")
  for point in PREPARE_POINTS:
    proc = _start(workdir, cache, xla_cache, kill_at=point)
    out = proc.communicate(timeout=1200)[0]
    assert proc.returncode == -9, f"JDDC_KILL_AT={point}: not killed (rc {proc.returncode})\n{out[-4000:]}"
    _check_nothing_half_built(point, cache)
  proc = _start(workdir, cache, xla_cache)
  out = proc.communicate(timeout=1200)[0]
  assert proc.returncode == 0, out[-4000:]
  assert _outcome(workdir) == outcomes[0]
  names, rows = _feature_rows(cache)
  reference_names, reference_rows = _feature_rows(reference_cache)
  assert names == reference_names and np.array_equal(rows, reference_rows)


def test_eval_decodes_with_the_runs_own_tokenizer_whatever_the_cache_holds(reference, tmp_path):
  from jddc import train
  from jddc.data import tokenizers

  outcomes, cache, workdirs = reference
  workdir = str(tmp_path / "run")
  shutil.copytree(workdirs[0], workdir)
  own = os.path.join(workdir, "tokenizer", tokenizers.SP_MODEL_FILE)
  with open(own, "rb") as f:
    own_bytes = f.read()
  # The cached tokenizer is replaced by another one (as after the corpus was regenerated by other code).
  (cached,) = [p for p in glob.glob(os.path.join(cache, "tokenizers", "*")) if os.path.isdir(p)]
  other = tokenizers.train_sentencepiece(["你好，请问这个怎么用", "谢谢", "好的"] * 20, str(tmp_path / "other"),
                                         vocab_size=400)
  shutil.copy(os.path.join(str(tmp_path / "other"), tokenizers.SP_MODEL_FILE),
              os.path.join(cached, tokenizers.SP_MODEL_FILE))
  config = configuration.load_config(CONFIG)
  with config.unlocked():
    config.data.cache_dir = cache
  try:
    results = train.evaluate(config, workdir, "test")
  finally:
    shutil.rmtree(cached)  # the cache no longer holds a tokenizer made from its data
  with open(own, "rb") as f:
    assert f.read() == own_bytes, "eval overwrote the run's own tokenizer"
  assert other.vocab_size != tokenizers.load_tokenizer(os.path.dirname(own)).vocab_size
  assert results == outcomes[0]["results"]
