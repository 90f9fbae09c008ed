"""Shared fixtures: the `tiny` embedded corpus (generated once per run) and real-data paths."""

import os
import shutil

import pytest

SHARED_DATA = os.environ.get("JDDC_SHARED_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
TINY_SESSIONS = 240


def shared_path(*parts: str) -> str:
  """A public corpus file under ../shared/data. With no ../shared/data at all (a checkout on its
  own) the test is skipped; with the folder there (as in CI) a missing file is a failure. Both
  name the path and docs/public_corpora.md, which says where each corpus comes from."""
  path = os.path.join(SHARED_DATA, *parts)
  if not os.path.exists(path):
    message = (f"real data not found at {os.path.normpath(path)}: the public corpora live in ../shared/data "
               "beside the repository (docs/public_corpora.md says where each comes from)")
    if os.path.isdir(SHARED_DATA):
      pytest.fail(message)
    pytest.skip(message)
  return path


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> str:
  from jddc.data.synth import generate
  out = str(tmp_path_factory.mktemp("tiny") / "release")
  generate.generate(out, TINY_SESSIONS, seed=0, workers=2)
  return out


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_release, tmp_path_factory):
  from jddc.data import release, tokenizers
  r = release.read_release(tiny_release)
  texts = [m.text for s in r.split("train") for m in s.messages if m.text]
  return tokenizers.train_sentencepiece(texts, str(tmp_path_factory.mktemp("spm")), vocab_size=1500)


def _train_tiny_features(tiny_release: str, cache: str) -> None:
  """ONE feature extractor and its feature table in `cache`, as every `configs/*_mm.py:tiny` row
  on the session's tiny corpus derives them, made by the engine's own prerequisite step."""
  from jddc import configuration, train
  os.symlink(tiny_release, os.path.join(cache, "jddc_tiny_seed0"))
  config = configuration.load_config("configs/response_mm.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache
  train.image_features(config)


@pytest.fixture(scope="session")
def copy_tiny_features(tiny_release, tmp_path_factory):
  """`copy(cache)`: puts the session's tiny feature extractor run and feature table (trained at
  the first call, once per session) into a data cache laid out as a test module's (the session's
  corpus linked as `jddc_tiny_seed0`), so its multimodal rows find them complete instead of
  training their own. The entries keep their names, which are cache keys: a row whose
  extractor would differ (another corpus, image size or code) does not find it and trains its
  own. The extractor's latest checkpoints (for resuming its training) are left out. The tests
  of the extractor's own training, locks and faults (test_faults_prepare, test_cache_keys)
  use none of this."""
  from jddc import checkpointing
  source = []

  def copy(cache) -> None:
    if not source:
      source.append(str(tmp_path_factory.mktemp("feature_cache")))
      _train_tiny_features(tiny_release, source[0])
    for folder in ("feature_extractor", "features"):
      os.makedirs(os.path.join(str(cache), folder), exist_ok=True)
      for entry in os.listdir(os.path.join(source[0], folder)):
        src, dst = os.path.join(source[0], folder, entry), os.path.join(str(cache), folder, entry)
        if entry.endswith(".lock") or os.path.exists(dst):
          continue
        if os.path.isdir(src):
          shutil.copytree(src, dst, ignore=shutil.ignore_patterns(checkpointing.LATEST_DIR, "*.lock"))
        else:
          shutil.copy2(src, dst)
  return copy
