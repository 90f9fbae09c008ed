"""The one evaluation path: batching and padding, jit over split state, DecodeOptions, Evaluators."""

import glob
import json
import os
import re

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from configs import common
from jddc import configuration, decoding, evaluation
from jddc.tasks import base, get_task

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# No nnx.jit in the tasks
# ---------------------------------------------------------------------------

def test_no_task_jits_with_nnx_jit():
  """Tasks jit model functions through `evaluation.jit_model` (jax.jit over the split state)."""
  files = sorted(glob.glob(os.path.join(REPO, "jddc", "tasks", "*.py")))
  assert len(files) >= 9
  offenders = [f"{os.path.basename(path)}:{n}" for path in files
               for n, line in enumerate(open(path, encoding="utf-8"), start=1) if re.search(r"\bnnx\.jit\b", line)]
  assert not offenders, f"nnx.jit in jddc/tasks: {offenders}"


# ---------------------------------------------------------------------------
# Batching and the jitted model function
# ---------------------------------------------------------------------------

def test_stack_pads_with_the_last_row_and_batches_keep_order():
  rows = [{"x": np.full((2,), i, np.int32)} for i in range(3)]
  batch = evaluation.stack(rows, pad_to=5)
  assert batch["x"].shape == (5, 2) and batch["x"][:, 0].tolist() == [0, 1, 2, 2, 2]
  assert evaluation.stack(rows)["x"].shape == (3, 2)  # no padding asked for
  assert [len(c) for c in evaluation.batches(list(range(7)), 3)] == [3, 3, 1]
  with pytest.raises(ValueError, match="eval.batch_size"):
    list(evaluation.batches([1], 0))
  with pytest.raises(ValueError, match="no rows"):
    evaluation.stack([])


def test_map_batches_gives_the_same_outputs_whatever_the_batch_size():
  items = list(range(11))
  shapes = []

  def fn(batch):
    shapes.append(batch["x"].shape)
    return {"double": batch["x"] * 2, "sum": batch["x"].sum(-1)}

  encode = lambda i: {"x": np.arange(i, i + 3, dtype=np.float32)}  # noqa: E731
  outputs = {size: evaluation.map_batches(fn, encode, items, size) for size in (1, 4, 11, 16)}
  expected = np.stack([encode(i)["x"] * 2 for i in items])
  for size, out in outputs.items():
    np.testing.assert_array_equal(out["double"], expected, err_msg=str(size))
    assert out["sum"].shape == (11,)
  assert {s for s in shapes} == {(1, 3), (4, 3), (11, 3), (16, 3)}  # the last batch padded to the size
  unpadded = []
  evaluation.map_batches(lambda b: unpadded.append(b["x"].shape) or {}, encode, items, 4, pad=False)
  assert unpadded == [(4, 3), (4, 3), (3, 3)]


def test_in_batches_refuses_a_function_that_drops_outputs():
  assert evaluation.in_batches(lambda chunk: [c + 1 for c in chunk], [1, 2, 3], 2) == [2, 3, 4]
  with pytest.raises(ValueError, match="2 outputs for a batch of 1"):
    evaluation.in_batches(lambda chunk: [0, 0], [1, 2, 3], 2)


def test_jit_model_equals_the_model_and_compiles_once_for_new_weights():
  traces = []

  def apply(m, x):
    traces.append(1)
    return m(x)

  jitted = evaluation.jit_model(apply)
  x = jnp.arange(6, dtype=jnp.float32).reshape(2, 3)
  first, second = nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.Linear(3, 4, rngs=nnx.Rngs(1))
  for model in (first, second):
    np.testing.assert_allclose(np.asarray(jitted(model, x)), np.asarray(model(x)), rtol=1e-6)
  assert len(traces) == 1  # the second model's weights are an argument of the same compiled function
  assert not np.allclose(np.asarray(jitted(first, x)), np.asarray(jitted(second, x)))


# ---------------------------------------------------------------------------
# DecodeOptions
# ---------------------------------------------------------------------------

class _Tok:
  pad_id, unk_id, bos_id, eos_id, sep_id = 0, 1, 2, 3, 4


def test_decode_options_from_config_maps_every_decode_key():
  decode = common.decoding("tiny")
  assert set(decode) == set(decoding.DecodeOptions.CONFIG_KEYS) | set(decoding.DecodeOptions.PROMPT_KEYS)  # mapped, or the prompt's
  fields = {f.name for f in decoding.dataclasses.fields(decoding.DecodeOptions)}
  assert set(decoding.DecodeOptions.CONFIG_KEYS) <= fields
  # every key to a value unlike its default and unlike the others': each must land in its own field
  values = {"method": "beam", "top_k": 7, "top_p": 0.35, "temperature": 1.7, "max_new_tokens": 13,
            "beam_size": 6, "length_penalty": 0.85, "no_repeat_ngram": 3, "min_new_tokens": 2}
  assert set(values) == set(decode) - {"prompt_reserve"}
  with decode.unlocked():
    decode.update(values)
  options = decoding.DecodeOptions.from_config(decode, _Tok(), seq2seq=True)
  for key, value in values.items():
    assert getattr(options, key) == value, key
  assert (options.bos_id, options.eos_id, options.pad_id, options.banned_ids) == (2, 3, 0, (1, 0, 2))
  gpt2 = decoding.DecodeOptions.from_config(decode, _Tok(), seq2seq=False)
  assert (gpt2.eos_id, gpt2.pad_id, gpt2.banned_ids, gpt2.bos_id) == (4, 0, (1,), None)
  assert {k: getattr(gpt2, k) for k in values} == values


def test_decode_options_refuse_bad_config():
  decode = ml_collections.ConfigDict(dict(common.decoding("tiny")))
  decode.beam_width = 3
  with pytest.raises(ValueError, match=r"unknown keys \['beam_width'\]"):
    decoding.DecodeOptions.from_config(decode, _Tok(), seq2seq=True)
  decode = common.decoding("tiny")
  decode.method = "nucleus"
  with pytest.raises(ValueError, match="decode.method.*'nucleus'"):
    decoding.DecodeOptions.from_config(decode, _Tok(), seq2seq=False)
  with pytest.raises(TypeError, match="not both"):
    decoding.DecodeOptions.given(decoding.DecodeOptions(max_new_tokens=2, eos_id=None), {"method": "beam"})


def test_decode_options_unused_fields_share_one_compilation():
  greedy = decoding.DecodeOptions(max_new_tokens=4, eos_id=3, beam_size=5, length_penalty=0.6)
  other = decoding.DecodeOptions(max_new_tokens=4, eos_id=3, beam_size=2, length_penalty=0.0)
  assert greedy != other and greedy.normalized() == other.normalized()
  assert hash(decoding.DecodeOptions(max_new_tokens=4, eos_id=3, temperature=1)) == hash(
      decoding.DecodeOptions(max_new_tokens=4, eos_id=3, temperature=1.0))


# ---------------------------------------------------------------------------
# Rows through the engine (the tiny corpus)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  return str(cache)


def _config(name, cache, **eval_options):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache
    config.eval.update(eval_options)
  return config


def test_generation_predictions_do_not_depend_on_eval_batch_size(data_cache, tmp_path):
  """The PGN decodes a split in batches padded to `eval.batch_size`: the same predictions and
  scores for a batch size that divides the examples, one that leaves a short last batch, and one."""
  from jddc import sharding, train
  config = _config("summary_pgn", data_cache, max_examples=7)
  task = train.prepare_data(config, str(tmp_path / "run"))
  run = train.RunState(task, config, sharding.make_mesh(sharding.mesh_shape(config.mesh)))
  model = run.model(run.init())  # untrained weights decode arbitrary (but deterministic) summaries
  files, scores = {}, {}
  for size in (7, 3, 1):
    task.config.eval.batch_size = size
    out = tmp_path / f"batch{size}"
    out.mkdir()
    scores[size] = task.evaluate(model, "train", str(out))  # the tiny test split has only 4 dialogues
    files[size] = (out / "predictions_train.jsonl").read_text(encoding="utf-8")
  rows = [json.loads(line) for line in files[7].splitlines()]
  assert len(rows) == 7 and any(r["prediction"] for r in rows)
  assert files[3] == files[7] == files[1]
  assert scores[3] == scores[7] == scores[1]


def test_an_evaluator_row_takes_the_trained_rows_prepare_and_results_path(data_cache, tmp_path, monkeypatch):
  """Lead is a `base.Evaluator` (no model, loss or dataset methods, no stubs): training prepares
  it through `train.prepare` (process 0 first) and writes the results file a trained row's final
  evaluation writes; `--mode=eval` and `--mode=predict` take the same preparation."""
  from jddc import train
  cls = get_task("summary_extractive")  # the task of configs/summary_lead.py
  assert issubclass(cls, base.Evaluator) and not cls.trainable
  assert not any(hasattr(cls, name) for name in ("make_model", "loss", "train_dataset"))
  prepared = []
  real_prepare = train.prepare
  monkeypatch.setattr(train, "prepare", lambda task: (prepared.append(task), real_prepare(task))[1])
  config = _config("summary_lead", data_cache)
  workdir = str(tmp_path)
  results = train.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f) == results
  assert results["split"] == "test" and results["best_step"] == 0 and results["rougeL"] > 0
  lines = open(os.path.join(workdir, "predictions_test.jsonl"), encoding="utf-8").read().splitlines()
  assert len(lines) == results["examples"]
  assert len(prepared) == 1 and isinstance(prepared[0], cls)
  assert train.evaluate(config, workdir, "valid")["split"] == "valid"
  with open(os.path.join(workdir, "eval", "results_valid.json")) as f:
    assert json.load(f)["best_step"] == 0
  assert os.path.isfile(os.path.join(workdir, "eval", "predictions_valid.jsonl"))
  task, model = train.load_model(config, workdir)
  assert model is None and isinstance(task, cls) and len(prepared) == 3
