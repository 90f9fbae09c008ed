"""Cache keys cover everything a cache entry depends on; entries appear only when complete (issue 12, items 5, 8)."""

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from jddc import configuration, features, fsutil
from jddc.data import tfds_builder, tokenizers
from jddc.data.synth import generate
from jddc.tasks import base

REPO = configuration.REPO_ROOT


@pytest.fixture()
def release_copy(tiny_release, tmp_path):
  """A copy of the tiny corpus this test may change."""
  out = str(tmp_path / "jddc_tiny_seed0")
  shutil.copytree(tiny_release, out)
  return out


def _replace_image(root: str) -> str:
  """Replaces the first image by another valid JPEG under the same name; returns the name."""
  name = sorted(os.listdir(os.path.join(root, "images")))[0]
  path = os.path.join(root, "images", name)
  with Image.open(path) as image:
    flipped = image.convert("RGB").transpose(Image.FLIP_LEFT_RIGHT)
  flipped.save(path, format="JPEG", quality=90)
  return name


def _config(name: str, release: str, cache: str, **data):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.release = release
    config.data.cache_dir = cache
    for k, v in data.items():
      config.data[k] = v
  return config


def test_shard_key_covers_example_code_on_error_and_under_skip_the_images(release_copy, monkeypatch):
  raise_key, skip_key = tfds_builder.shard_key(release_copy, "raise"), tfds_builder.shard_key(release_copy, "skip")
  assert raise_key != skip_key
  real = fsutil.code_fingerprint
  monkeypatch.setattr(fsutil, "code_fingerprint",
                      lambda *m, **kw: real(*m, **kw) + ("x" if "jddc.data.examples" in m else ""))
  assert tfds_builder.shard_key(release_copy, "raise") != raise_key, "a change to examples.py keeps old shards"
  monkeypatch.setattr(fsutil, "code_fingerprint", real)
  _replace_image(release_copy)
  assert tfds_builder.shard_key(release_copy, "skip") != skip_key, "a replaced image keeps shards built under skip"
  assert tfds_builder.shard_key(release_copy, "raise") == raise_key  # under raise no shard depends on image bytes


def test_tokenizer_key_covers_texts_options_vocabulary_and_code(release_copy, tmp_path, monkeypatch):
  config = _config("response_text", release_copy, str(tmp_path / "cache"))
  key = base.tokenizer_key(config)
  assert base.tokenizer_key(_config("response_text", release_copy, str(tmp_path / "cache"), on_error="skip")) != key
  assert base.tokenizer_key(_config("response_text", release_copy, str(tmp_path / "cache"), vocab_size=999)) != key
  real = fsutil.code_fingerprint
  monkeypatch.setattr(fsutil, "code_fingerprint",
                      lambda *m, **kw: real(*m, **kw) + ("x" if "jddc.data.tokenizers" in m else ""))
  assert base.tokenizer_key(config) != key, "a change to the tokenizer code keeps the old tokenizer"
  monkeypatch.setattr(fsutil, "code_fingerprint", real)
  with open(os.path.join(release_copy, "dialogues", "train.tsv"), "a", encoding="utf-8") as f:
    f.write("\n")
  assert base.tokenizer_key(config) != key


def test_a_run_keeps_the_tokenizer_it_was_first_given(release_copy, tmp_path):
  config = _config("response_text", release_copy, str(tmp_path / "cache"))
  workdir = str(tmp_path / "run")
  first = base.run_tokenizer(config, workdir)
  own = os.path.join(workdir, base.RUN_TOKENIZER, tokenizers.SP_MODEL_FILE)
  with open(own, "rb") as f:
    own_bytes = f.read()
  other = tokenizers.train_sentencepiece(["你好，请问", "谢谢"] * 20, str(tmp_path / "other"), vocab_size=400)
  (cached,) = [os.path.join(tmp_path, "cache", "tokenizers", d) for d in os.listdir(tmp_path / "cache" / "tokenizers")
               if not d.endswith(".lock")]
  shutil.copy(os.path.join(tmp_path, "other", tokenizers.SP_MODEL_FILE), os.path.join(cached, tokenizers.SP_MODEL_FILE))
  assert base.tokenizer(config).vocab_size == other.vocab_size  # the cache now holds another tokenizer
  again = base.run_tokenizer(config, workdir)
  assert again.vocab_size == first.vocab_size != other.vocab_size
  with open(own, "rb") as f:
    assert f.read() == own_bytes


def test_a_killed_tokenizer_training_leaves_no_entry(release_copy, tmp_path):
  cache = str(tmp_path / "cache")
  code = (f"from jddc import configuration; from jddc.tasks import base\n"
          f"c = configuration.load_config('configs/response_text.py:tiny')\n"
          f"with c.unlocked(): c.data.release = {release_copy!r}; c.data.cache_dir = {cache!r}\n"
          f"base.tokenizer(c)\n")
  env = {**os.environ, "JDDC_KILL_AT": "tokenizer.during_training"}
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == -9, proc.stderr[-3000:]
  folder = os.path.join(cache, "tokenizers")
  assert not [d for d in os.listdir(folder) if not d.startswith(".") and not d.endswith(".lock")]
  assert [d for d in os.listdir(folder) if fsutil.TMP_MARK in d]  # the half-done writer's folder
  config = _config("response_text", release_copy, cache)
  assert base.tokenizer(config).vocab_size > 300
  assert not [d for d in os.listdir(folder) if fsutil.TMP_MARK in d], "the next writer did not sweep the leftover"


def _fake_extractor(root: str) -> str:
  """A run folder with a best checkpoint's files (an extractor's identity is its config and those bytes)."""
  os.makedirs(os.path.join(root, "best", "30", "state"))
  with open(os.path.join(root, "best", "30", "state", "weights"), "wb") as f:
    f.write(b"\x01" * 64)
  with open(os.path.join(root, "best", "30", "_CHECKPOINT_METADATA"), "w") as f:
    f.write('{"init_timestamp_nsecs": 1}')
  with open(os.path.join(root, "config.json"), "w") as f:
    f.write('{"task": "image_category", "data": {"image_size": 32}}')
  return root


def test_feature_key_covers_the_extractor_weights_and_the_image_bytes(release_copy, tmp_path):
  config = _config("response_mm", release_copy, str(tmp_path / "cache"))
  extractor = _fake_extractor(str(tmp_path / "extractor"))
  names = features.release_image_names(release_copy)
  path = features.feature_cache_path(config, extractor, names)
  assert path == features.feature_cache_path(config, extractor, names)
  with open(os.path.join(extractor, "best", "30", "_CHECKPOINT_METADATA"), "w") as f:
    f.write('{"init_timestamp_nsecs": 2}')  # a time, not an identity
  assert features.feature_cache_path(config, extractor, names) == path
  with open(os.path.join(extractor, "best", "30", "state", "weights"), "wb") as f:
    f.write(b"\x02" * 64)
  retrained = features.feature_cache_path(config, extractor, names)
  assert retrained != path, "an extractor retrained in place keeps its old features"
  _replace_image(release_copy)
  assert features.feature_cache_path(config, extractor, names) != retrained, "a replaced image keeps its old features"
  shutil.rmtree(os.path.join(extractor, "best", "30"))
  with pytest.raises(FileNotFoundError, match="no best checkpoint"):
    features.feature_cache_path(config, extractor, names)


def test_the_extractor_reads_the_config_corpus_and_is_keyed_by_the_images(release_copy, tmp_path):
  config = _config("response_mm", "", str(tmp_path / "cache"), corpus="csds", corpus_path="/somewhere/csds")
  ext = features.extractor_config(config)
  assert (ext.data.corpus, ext.data.corpus_path) == ("csds", "/somewhere/csds")
  config = _config("response_mm", release_copy, str(tmp_path / "cache"))
  workdir = features.extractor_workdir(config)
  assert workdir.startswith(os.path.join(str(tmp_path / "cache"), "feature_extractor", "jddc_tiny_seed0-"))
  _replace_image(release_copy)
  assert features.extractor_workdir(config) != workdir


def test_synth_cli_refuses_to_delete_a_folder_it_did_not_write(tmp_path):
  precious = tmp_path / "mine"
  precious.mkdir()
  (precious / "thesis.tex").write_text("years of work")
  cmd = [sys.executable, "-m", "jddc.data.synth", "--sessions=3", "--workers=1"]
  proc = subprocess.run(cmd + [f"--out={precious}"], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode != 0
  assert (precious / "thesis.tex").read_text() == "years of work"
  last = proc.stderr.strip().splitlines()[-1]
  assert "Traceback" not in proc.stderr and str(precious) in last and generate.INFO_FILE in last
  corpus = tmp_path / "corpus"
  for _ in range(2):  # a corpus it wrote is replaced
    proc = subprocess.run(cmd + [f"--out={corpus}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
  assert (corpus / generate.INFO_FILE).is_file()
  assert not [p for p in os.listdir(tmp_path) if fsutil.TMP_MARK in p]


def test_a_given_extractor_run_is_used_only_when_its_training_finished(release_copy, tmp_path):
  extractor = _fake_extractor(str(tmp_path / "extractor"))
  config = _config("response_mm", release_copy, str(tmp_path / "cache"))
  with config.unlocked():
    config.features.checkpoint = extractor
  from jddc import train
  with pytest.raises(FileNotFoundError, match="has not finished"):
    train.ensure_extractor(config)
  with open(os.path.join(extractor, "results.json"), "w") as f:
    f.write('{"accuracy": 50.0, "best_step": 30}\n')
  assert train.ensure_extractor(config) == extractor
