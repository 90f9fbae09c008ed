"""Start-up validation: allowed values and ranges, task schemas, rules between keys, and the
command line's errors (one short message, exit status 2, before JAX is imported)."""

import inspect
import os
import subprocess
import sys

import ml_collections
import pytest

from configs import common
from jddc import configuration

REPO = configuration.REPO_ROOT


def _config(name: str, **overrides) -> ml_collections.ConfigDict:
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    for key, value in overrides.items():
      section, _, field = key.rpartition(".")
      (configuration.lookup(config, section) if section else config)[field] = value
  return config


def _errors(config) -> str:
  with pytest.raises(configuration.ConfigError) as info:
    configuration.validate(config, common.reference(config))
  return str(info.value)


@pytest.mark.parametrize("path", configuration.available_configs(), ids=os.path.basename)
def test_every_config_validates_at_every_size_with_checkpointed_best_steps(path):
  for size in common.SIZES:
    config = configuration.load_config(f"{path}:{size}")
    configuration.validate(config, common.reference(config))
    if common.TASKS[config.task].trainable:
      assert config.train.eval_every % config.train.checkpoint_every == 0, size


def test_small_budgets_keep_their_steps():
  """Aligning checkpoints changed no `small` budget (the README's figures are for these)."""
  steps = {"rewrite_gen_text": 600, "rewrite_gen_mm": 600, "response_retrieval_text": 300, "rewrite_cls_text": 600,
           "summary_pgn": 600, "summary_text": 400, "rewrite_gen_restoration": 3500, "response_mm": 1000}
  for name, total in steps.items():
    assert configuration.load_config(f"configs/{name}.py:small").train.steps == total, name


#: (config, overrides, what the message says): every one accepted by the type check alone
BAD_VALUES = [
    ("response_text", {"train.log_every": 0}, "train.log_every: 0 is out of range: expected >= 1"),
    ("response_text", {"train.steps": -1}, "train.steps: -1 is out of range: expected >= 1"),
    ("response_text", {"train.steps": 0}, "train.steps: 0 is out of range: expected >= 1"),
    ("summary_lead", {"train.steps": -1}, "expected >= 0 (task 'summary_extractive' has nothing to train)"),
    ("response_text", {"eval.split": "dev"}, "eval.split: 'dev' is not allowed (did you mean 'valid'?)"),
    ("response_text", {"eval.metric": "blue"}, "eval.metric: 'blue' is not a validation metric of task 'response' "
                                               "(did you mean 'bleu'?)"),
    ("image_category", {"eval.metric": "bleu"}, "'bleu' is not a validation metric of task 'image_category'"),
    ("response_text", {"eval.metric": "examples"}, "'examples' is not a validation metric"),
    ("response_text", {"decode.method": "beem"}, "decode.method: 'beem' is not a decoding method of task 'response' "
                                                 "(did you mean 'beam'?)"),
    ("summary_pgn", {"decode.method": "sample"}, "'sample' is not a decoding method of task 'summary_pgn'"),
    ("response_text", {"data.max_len": 24}, "data.max_len 24 must be greater than data.max_response_len 24"),
    ("response_text", {"data.max_len": 200}, "data.max_len 200 is longer than model.n_positions 128"),
    ("response_text", {"train.eval_every": 30}, "train.eval_every 30 is not a multiple of train.checkpoint_every 20: "
                                                "a resumed run re-runs the steps since its last checkpoint"),
    ("response_text", {"train.compute_dtype": "float16"}, "train.compute_dtype: 'float16' is not allowed"),
    ("response_text", {"data.on_error": "ignore"}, "data.on_error: 'ignore' is not allowed"),
    ("response_text", {"train.batch_size": 0}, "train.batch_size: 0 is out of range"),
    ("response_text", {"train.batch_size": 8, "train.grad_accum": 3}, "not a multiple of train.grad_accum 3"),
    ("response_text", {"model.dropout": 1.5}, "model.dropout: 1.5 is out of range: expected >= 0 and <= 1"),
    ("response_text", {"decode.top_p": -0.1}, "decode.top_p: -0.1 is out of range"),
    ("response_text", {"decode.temperature": 0.0}, "decode.temperature: 0.0 is out of range: expected > 0"),
    ("response_text", {"optim.lr": 0.0}, "optim.lr: 0.0 is out of range: expected > 0"),
    ("response_text", {"optim.b2": 1.0}, "optim.b2: 1.0 is out of range"),
    ("response_text", {"optim.lr": float("nan")}, "optim.lr: nan is not a finite number"),
    ("response_text", {"model.n_head": 3}, "model.d_model 64 is not a multiple of model.n_head 3"),
    ("response_text", {"decode.min_new_tokens": 20}, "decode.min_new_tokens 20 exceeds decode.max_new_tokens 16"),
    ("response_text", {"mesh.data": -1, "mesh.model": -1}, "mesh: at most one axis may be -1"),
    ("response_text", {"mesh.fsdp": 0}, "mesh.fsdp: 0 is out of range"),
    ("response_text", {"data.corpus": "csd"}, "data.corpus: 'csd' is not allowed (did you mean 'csds'?)"),
    ("response_text", {"data.corpus_size": "small"}, "data.corpus_size: 'small' is not allowed"),
    ("response_text", {"model.image_feature_dim": 512}, "model.image_feature_dim 512 needs a features section"),
    ("response_mm", {"model.image_feature_dim": 256}, "model.image_feature_dim 256 differs from features.dim 512"),
    ("response_mm", {"features.size": "huge"}, "features.size: 'huge' is not allowed"),
    ("response_mm", {"features.extractor_config": "configs/image_categry.py"},
     "features.extractor_config: 'configs/image_categry.py' does not exist"),
    ("response_text", {"data.release": "/nonexistent/release"}, "data.release: '/nonexistent/release' does not exist"),
    ("response_retrieval_text", {"retrieval.distance": "cosine"}, "retrieval.distance: 'cosine' is not allowed"),
    ("response_retrieval_text", {"retrieval.embedder": "bret"}, "(did you mean 'bert'?)"),
    ("response_retrieval_mm", {"retrieval.index": "faiss_flat"}, "retrieval.index: 'faiss_flat' is not allowed"),
    ("discourse_text", {"model.train_structure": "teacher"}, "model.train_structure: 'teacher' is not allowed"),
    ("summary_pgn", {"model.optimizer": "adam"}, "model.optimizer: 'adam' is not allowed"),
    ("summary_lexrank", {"model.threshold": 2.0}, "model.threshold: 2.0 is out of range"),
    ("response_text", {"task": "respons"}, "task: unknown task 'respons' (did you mean 'response'?)"),
    ("response_text", {"task": "rewrite_cls"}, "model.name: task 'rewrite_cls' runs model 'bert' or 'transresnet', "
                                               "not 'gpt2'"),
    ("response_text", {"size": "huge"}, "unknown size 'huge'"),
    ("discourse_text", {"data.knowledge_budget": 32}, "only the GPT-2 rows (response, rewrite_gen) read knowledge"),
    ("response_text", {"data.knowledge_budget": 100}, "data.max_len 96 must be greater than data.max_response_len 24"
                                                     " + data.knowledge_budget 100"),
    ("response_text", {"data.knowledge_budget": 30, "decode.prompt_reserve": 70},
     "decode.prompt_reserve 70 (with data.knowledge_budget 30) leaves no context in data.max_len 96"),
    ("response_text", {"data.knowledge_budget": -1}, "data.knowledge_budget: -1 is out of range"),
]


@pytest.mark.parametrize("name,overrides,message", BAD_VALUES, ids=[str(o) for _, o, _ in BAD_VALUES])
def test_bad_value_is_refused_naming_the_key(name, overrides, message):
  assert message in _errors(_config(name, **overrides))


def test_a_model_that_does_not_fit_the_task_is_refused():
  config = _config("response_text")
  with config.unlocked():
    config.model = common.bert("tiny")
  assert "model.name: task 'response' runs model 'gpt2', not 'bert'" in _errors(config)


def test_a_section_the_task_needs_or_ignores():
  config = _config("response_text")
  with config.unlocked():
    del config["decode"]
    config.retrieval = common.retrieval("tiny")
  message = _errors(config)
  assert "decode: task 'response' needs a 'decode' section" in message
  assert "retrieval: task 'response' does not read a 'retrieval' section" in message
  config = _config("image_category")
  with config.unlocked():
    config.features = common.image_features("tiny")
  assert "features: task 'image_category' does not read a 'features' section" in _errors(config)
  config = _config("rewrite_cls_text")  # text-only BERT: image features would be silently unused
  with config.unlocked():
    config.features = common.image_features("tiny")
  assert "features: model 'bert' reads no image features" in _errors(config)


def test_the_schema_agrees_with_the_code():
  """The schema's lists are the code's: tasks, what they train, their default metrics, the
  metric names the evaluations return, decoding methods, distances, corpus sizes."""
  import numpy as np
  from jddc import decoding, metrics, retrieval
  from jddc.data.synth import generate
  from jddc.tasks import REGISTRY, Task

  assert set(common.TASKS) == set(REGISTRY)
  for name, cls in REGISTRY.items():
    spec = common.TASKS[name]
    assert spec.trainable == cls.trainable and cls.metric in spec.metrics and cls.metric_mode == "max", name
    assert spec.predicts == (cls.predict is not Task.predict), name
    assert spec.predicts == bool(getattr(cls, "predict_groups", ())), name  # predict_inputs reads these groups
  assert set(common.RESPONSE_METRICS) <= set(metrics.response_metrics(["ab"], ["ab"]))
  rewrite_scores = REGISTRY["rewrite_gen"].score(None, ["ab"], ["ab"], [{"query_texts": ["a"]}])  # + RUN's own
  assert set(common.REWRITE_METRICS) <= set(rewrite_scores)
  assert set(common.SUMMARY_METRICS) <= set(metrics.summary_metrics(["ab"], ["ab"]))
  assert set(common.DISCOURSE_METRICS) <= set(metrics.discourse_f1([[(0, 1, "qa")]], [[(0, "qa")]]))
  inline = {"rewrite_cls": REGISTRY["rewrite_cls"], "image_category": REGISTRY["image_category"]}
  for name, cls in inline.items():  # metrics these tasks compute in evaluate itself
    source = inspect.getsource(cls.evaluate)
    assert all(f'"{m}":' in source for m in common.TASKS[name].metrics), name
  assert all(f'"{m}"' in inspect.getsource(REGISTRY["retrieval"].evaluate) for m in ("candidate_recall", "exact_match"))
  checked_in_code = {  # values the consuming code itself checks: the same lists
      inspect.getsource(Task.compute_dtype.fget): common.COMPUTE_DTYPES,
      inspect.getsource(REGISTRY["discourse"]): common.CONSTRAINTS["model.train_structure"].values,
      inspect.getsource(REGISTRY["retrieval"]): common.CONSTRAINTS["retrieval.embedder"].values,
      inspect.getsource(REGISTRY["summary_pgn"]): common.CONSTRAINTS["model.optimizer"].values}
  for source, values in checked_in_code.items():
    assert all(repr(v) in source or f'"{v}"' in source for v in values), values
  assert common.GPT2_DECODE_METHODS == decoding.METHODS
  assert common.RETRIEVAL_DISTANCES == retrieval.DISTANCES
  assert common.RETRIEVAL_INDEXES == retrieval.INDEX_KINDS
  assert set(common.CORPUS_SIZES) == set(generate.SIZES)
  del np


def _main(*args: str) -> subprocess.CompletedProcess:
  """`python -m jddc.main ARGS`, printing on exit whether JAX was imported."""
  probe = ("import atexit, runpy, sys\n"
           "atexit.register(lambda: sys.stderr.write('jax imported: %s\\n' % ('jax' in sys.modules)))\n"
           f"sys.argv = ['jddc.main'] + {list(args)!r}\n"
           "runpy.run_module('jddc.main', run_name='__main__', alter_sys=True)\n")
  return subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)


CLI_CASES = [
    (["--config=configs/response_text.py:tiny", "--config.typo=1"],
     ["--config.typo: unknown key", "the keys are: data, decode, eval"]),
    (["--config=configs/response_text.py:tiny", "--config.optim.learning_rate=1e-3"],
     ["--config.optim.learning_rate: unknown key (did you mean optim.lr?)"]),
    (["--config=configs/respons_mm.py"], ["config file not found: configs/respons_mm.py (did you mean "
                                          "configs/response_mm.py?)", "configs/summary_pgn.py"]),
    (["--config=configs/response_text.py:tiny", "--mode=predict"], ["--mode=predict needs --inputs=FILE"]),
    (["--config=configs/response_text.py:tiny", "--mode=predict", "--inputs=/nonexistent.jsonl"],
     ["--inputs: /nonexistent.jsonl is not a file"]),
    (["--config=configs/response_text.py:tiny", "--mode=eval", "--split=dev"],
     ["--split: 'dev' is not a split (did you mean 'valid'?)"]),
    (["--config=configs/response_mm.py:tiny", "--config.eval.metric=blue", "--config.train.log_every=0"],
     ["eval.metric: 'blue' is not a validation metric of task 'response' (did you mean 'bleu'?)",
      "train.log_every: 0 is out of range"]),
    (["--config=configs/response_text.py:tiny", "--config.train.steps=ten"],
     ["--config.train.steps=ten: invalid literal for int()"]),
    (["--config=configs/response_text.py:tinyy"], ["unknown size 'tinyy'"]),
    (["--config=configs/discourse_text.py:tiny", "--mode=predict", f"--inputs={__file__}"],
     ["--mode=predict: task 'discourse' has none"]),
    (["--config=configs/response_text.py:tiny", "--mode=eval"], ["--mode=eval: no run folder /nonexistent/run"]),
    (["--config=configs/response_text.py:tiny", "--split=valid"], ["--split is read by --mode=eval only"]),
    (["--config=configs/response_text.py:tiny", "--config.task=response_mm"],
     ["task: unknown task 'response_mm' (did you mean 'response'?)"]),
]


@pytest.mark.parametrize("args,messages", CLI_CASES, ids=[" ".join(a[1:]) or a[0] for a, _ in CLI_CASES])
def test_command_line_error_is_a_short_message_before_jax(args, messages):
  out = _main(*args, "--workdir=/nonexistent/run")
  assert out.returncode == 2, out.stderr
  assert "Traceback" not in out.stderr
  assert out.stderr.startswith("jddc.main: error: ")
  for message in messages:
    assert message in out.stderr
  assert len(out.stderr.splitlines()) <= 4, out.stderr
  assert out.stderr.endswith("jax imported: False\n")
