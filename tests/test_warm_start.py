"""Warm start from a run of ours: `response_mm` fine-tuned from a `response_text` run (tiny).

`model.init_from` a finished run folder loads its best checkpoint's variables by path; the
image projection, which only the multimodal model has, starts fresh (`init_from_fresh`).
"""

import json
import math
import os
import shutil

import jax
import numpy as np
import pytest

from jddc import configuration, train
from jddc.models import convert, warm_start

SHORT = {"train.steps": 4, "train.eval_every": 4, "train.checkpoint_every": 4, "train.log_every": 2,
         "eval.max_examples": 8}


def _config(name: str, cache: str, **model):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache
    for key, value in SHORT.items():
      section, field = key.split(".")
      config[section][field] = value
    for key, value in model.items():
      config.model[key] = value
  return config


def test_warm_start_keys_need_init_from():
  from configs import common
  for key in ("init_from_fresh", "init_from_prefix"):
    config = configuration.load_config("configs/response_mm.py:tiny")
    with config.unlocked():
      config.model[key] = "image_proj"
    with pytest.raises(configuration.ConfigError, match=f"model.{key} 'image_proj' is set but model.init_from is empty"):
      configuration.validate(config, common.reference(config))


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, tiny_release, copy_tiny_features):
  """(data cache, a finished tiny `response_text` run folder), trained once for the module."""
  root = tmp_path_factory.mktemp("warm_start")
  cache = root / "data_cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(str(cache))  # the session's feature extractor, for the response_mm run
  run_dir = str(root / "response_text")
  train.train_and_evaluate(_config("response_text", str(cache)), run_dir)
  return str(cache), run_dir


def _variables(model) -> dict[str, np.ndarray]:
  from flax import nnx
  return {".".join(str(p) for p in path): np.asarray(v.get_value())
          for path, v in nnx.iter_graph(model) if isinstance(v, nnx.Param)}


def test_response_mm_starts_from_a_response_text_run(text_run, tmp_path, capsys):
  cache, source_dir = text_run
  source = {".".join(p): v for p, v in warm_start.read_run_state(warm_start.finished_run(source_dir)[2]).items()}
  config = _config("response_mm", cache, init_from=source_dir, init_from_fresh="image_proj")
  from configs import common
  configuration.validate(config, common.reference(config))
  run_dir = str(tmp_path / "response_mm")

  task, _, run = train.setup(config, run_dir)
  ckpt = train._checkpointer(task, config, run_dir)
  capsys.readouterr()
  start, state = train.initial_state(run, ckpt, iter(task.train_dataset(0, 1)))
  ckpt.close()
  (printed,) = capsys.readouterr().out.strip().splitlines()
  loaded, fresh = _variables(run.model(state)), _variables(run.model(run.init()))
  only_mm = sorted(set(loaded) - set(source))
  assert start == 0 and only_mm == ["image_proj.bias", "image_proj.kernel"]
  values = sum(v.size for v in source.values())
  assert printed == (f"init_from {source_dir} (best step 4): imported {len(source)} gpt2 arrays ({values:,} values); "
                     "kept initial values (model.init_from_fresh, or outside model.init_from_prefix): image_proj")
  for name, value in loaded.items():
    expected = fresh[name] if name in only_mm else source[name]
    np.testing.assert_array_equal(value, expected, err_msg=name)
  assert not np.array_equal(loaded["wte.embedding"], fresh["wte.embedding"])  # the load did something

  results = train.train_and_evaluate(config, run_dir)
  with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
    assert json.load(f) == results and results["split"] == "test" and results["best_step"] == 4
  with open(os.path.join(run_dir, "metrics.jsonl"), encoding="utf-8") as f:
    losses = [row["train/loss"] for row in map(json.loads, f) if "train/loss" in row]
  assert len(losses) == 2 and all(math.isfinite(x) for x in losses)

  # A resumed run restores its own checkpoint and never reads init_from again (it is gone now).
  moved = str(tmp_path / "gone")
  shutil.move(source_dir, moved)
  try:
    ckpt = train._checkpointer(task, config, run_dir)
    capsys.readouterr()
    start, _ = train.initial_state(run, ckpt, iter(task.train_dataset(0, 1)))
    ckpt.close()
    assert start == 4 and "init_from" not in capsys.readouterr().out
  finally:
    shutil.move(moved, source_dir)


def test_warm_start_errors_list_every_problem(text_run, tmp_path):
  from flax import nnx
  from jddc.models import gpt2
  _, source_dir = text_run
  vocab = warm_start.read_run_state(warm_start.finished_run(source_dir)[2])[("wte", "embedding")].shape[0]
  model = nnx.eval_shape(lambda: gpt2.GPT2(gpt2.tiny(vocab_size=vocab + 1, image_feature_dim=8), rngs=nnx.Rngs(0)))
  with pytest.raises(convert.CheckpointError) as info:
    warm_start.load_pretrained(model, source_dir)
  message = str(info.value)
  assert "missing from the checkpoint (2):\n    image_proj.bias [64]\n    image_proj.kernel [8, 64]" in message
  assert f"shape mismatch (1):\n    wte.embedding: checkpoint [{vocab}, 64], model needs [{vocab + 1}, 64]" in message

  # Fresh covers a mis-shaped variable too; a partial load maps the source's blocks elsewhere.
  report = warm_start.load_pretrained(model, source_dir, fresh="image_proj,wte")
  assert report.kept == ["image_proj.bias", "image_proj.kernel", "wte.embedding"]
  assert report.ignored == ["wte.embedding"]
  swapped = nnx.eval_shape(lambda: gpt2.GPT2(gpt2.tiny(vocab_size=vocab), rngs=nnx.Rngs(0)))
  report = warm_start.load_pretrained(swapped, source_dir, prefix="h.0=h.1,h.1=h.0")
  assert report.imported == 24 and report.kept == ["ln_f.bias", "ln_f.scale", "wpe.embedding", "wte.embedding"]
  own_tokenizer = tmp_path / "tokenizer"
  shutil.copytree(os.path.join(source_dir, "tokenizer"), own_tokenizer)
  assert not warm_start.load_pretrained(swapped, source_dir, tokenizer_dir=str(own_tokenizer)).notes
  (own_tokenizer / "tokenizer.json").write_text("{}", encoding="utf-8")
  report = warm_start.load_pretrained(swapped, source_dir, tokenizer_dir=str(own_tokenizer))
  assert "NOTE: " in report.summary() and "differs from this run's tokenizer" in report.notes[0]
  with pytest.raises(convert.CheckpointError, match=r"unexpected in the checkpoint \(12\):\n    h.1.attn.c_attn.bias"):
    warm_start.load_pretrained(nnx.eval_shape(lambda: gpt2.GPT2(gpt2.tiny(vocab_size=vocab, n_layer=1),
                                                                rngs=nnx.Rngs(0))), source_dir)
  with pytest.raises(convert.CheckpointError, match="the model has no variable under 'encoder'"):
    warm_start.load_pretrained(swapped, source_dir, prefix="h=encoder")
  with pytest.raises(convert.CheckpointError, match="apply to a run folder of this codebase only"):
    warm_start.load_pretrained(swapped, str(tmp_path), prefix="h")

  unfinished = tmp_path / "unfinished"
  shutil.copytree(source_dir, unfinished, ignore=shutil.ignore_patterns("results.json"))
  with pytest.raises(FileNotFoundError, match=f"{unfinished} has no results.json: its training has not finished"):
    warm_start.load_pretrained(swapped, str(unfinished))
