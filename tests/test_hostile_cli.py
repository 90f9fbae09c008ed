"""Hostile input at the user-facing edges: `--mode=predict` inputs, `jddc.score`, untrusted run folders."""

import json
import os
import pathlib
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from jddc import configuration, predict_inputs, retrieval, score
from jddc.data.errors import DataError
from jddc.tasks.response import ResponseTask
from jddc.tasks.rewrite_gen import RewriteGenTask

REPO = configuration.REPO_ROOT
GOOD = {"context_texts": ["你好", "", "这个怎么回事？"], "context_images": ["", "kettle.jpg", ""],
        "context_speakers": [0, 0, 0]}


def _line(**changes) -> str:
  example = {**GOOD, **changes}
  return json.dumps({k: v for k, v in example.items() if v is not None}, ensure_ascii=False)


# (case id, line 2 of the inputs file (line 1 is a good input), expected message after "<file>:2: ")
BAD_PREDICT_LINES = [
    ("speaker_as_string", _line(context_speakers=["0", 0, 0]),
     r'context_speakers\[0\] must be the integer 0 \(customer\) or 1 \(agent\), got "0"'),
    ("speaker_as_boolean", _line(context_speakers=[True, 0, 0]), r"context_speakers\[0\] .* got true"),
    ("speaker_as_float", _line(context_speakers=[0, 1.0, 0]), r"context_speakers\[1\] .* got 1.0"),
    ("speaker_out_of_range", _line(context_speakers=[0, 2, 0]), r"context_speakers\[1\] .* got 2"),
    ("three_texts_two_images", _line(context_images=["", "kettle.jpg"]),
     r"one entry per message in each list, but the lengths differ: "
     r"context_texts has 3, context_images has 2, context_speakers has 3"),
    ("texts_as_a_string", _line(context_texts="你好啊"), r"context_texts must be a list .*, got a string"),
    ("text_not_a_string", _line(context_texts=["你好", "", 3]),
     r"context_texts\[2\] must be a string, got an integer"),
    ("image_not_a_string", _line(context_images=["", None, ""]), r"context_images\[1\] must be a string"),
    ("bad_json", '{"context_texts": ["你好",', r"not valid JSON: .* at column \d+"),
    ("lone_cr_line_ends", _line() + "\r" + _line(), r"not valid JSON: Extra data .*lone CR line endings"),
    ("line_is_a_list", json.dumps([GOOD]), r"expected a JSON object \(a dialogue\), got a list"),
    ("line_is_a_string", '"你好"', r"expected a JSON object \(a dialogue\), got a string"),
    ("missing_keys", _line(context_speakers=None), r"missing key context_speakers"),
    ("unknown_key_did_you_mean", _line(context_text=["你好"]),
     r"unknown key 'context_text' \(did you mean 'context_texts'\?\)"),
    ("unknown_key", _line(foo=1), r"unknown key 'foo'; expected context_texts, context_images, context_speakers"),
    ("repeated_key", _line()[:-1] + ', "context_speakers": [1, 1, 1]}', r"key 'context_speakers' given twice"),
    ("empty_context", _line(context_texts=[], context_images=[], context_speakers=[]),
     r"context_texts is empty: the dialogue needs at least one message"),
    ("message_neither_text_nor_image", _line(context_texts=["你好", "", ""]),
     r"message 2 of the context: .* both empty"),
    ("message_both_text_and_image", _line(context_texts=["你好", "看", "这个怎么回事？"]),
     r"message 1 of the context: .* both given"),
]


@pytest.mark.parametrize("line,message", [c[1:] for c in BAD_PREDICT_LINES], ids=[c[0] for c in BAD_PREDICT_LINES])
def test_bad_predict_input_names_the_file_and_line(tmp_path, line, message):
  path = tmp_path / "inputs.jsonl"
  path.write_text(_line() + "\n" + line + "\n", encoding="utf-8")
  with pytest.raises(DataError) as info:
    predict_inputs.read(str(path), ResponseTask)
  assert info.value.path == str(path) and info.value.line == 2
  assert re.search(rf"^{re.escape(str(path))}:2: {message}", str(info.value)), str(info.value)


def test_predict_inputs_files_that_hold_no_input(tmp_path):
  cases = {"empty.jsonl": b"", "blank.jsonl": b"\n  \n\n"}
  for name, data in cases.items():
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=rf"{name}: no inputs: the file has no JSON line"):
      predict_inputs.read(str(tmp_path / name), ResponseTask)
  with pytest.raises(DataError, match=r"missing\.jsonl: no such inputs file"):
    predict_inputs.read(str(tmp_path / "missing.jsonl"), ResponseTask)
  with pytest.raises(DataError, match=r"is a folder; --inputs takes a JSON-lines file"):
    predict_inputs.read(str(tmp_path), ResponseTask)
  (tmp_path / "latin1.jsonl").write_bytes((_line() + "\n").encode() * 2 + b'{"x": "\xe9"}\n')
  with pytest.raises(DataError, match=r"latin1\.jsonl:3: not valid UTF-8"):
    predict_inputs.read(str(tmp_path / "latin1.jsonl"), ResponseTask)


def test_good_predict_inputs_keep_their_line_numbers(tmp_path):
  path = tmp_path / "inputs.jsonl"
  extra = {**GOOD, "id": "a-1", "reference": "您好"}
  path.write_text("\ufeff" + json.dumps(GOOD) + "\r\n\n" + json.dumps(extra) + "\n", encoding="utf-8")
  examples = predict_inputs.read(str(path), ResponseTask)
  assert list(examples) == [GOOD, extra] and examples.lines == [1, 3]
  # a rewrite needs its query too; its context may be empty
  rewrite = {"context_texts": [], "context_images": [], "context_speakers": [],
             "query_texts": ["坏了"], "query_images": [""], "query_speakers": [0]}
  path.write_text(json.dumps(rewrite) + "\n" + json.dumps(GOOD) + "\n", encoding="utf-8")
  with pytest.raises(DataError, match=r"inputs\.jsonl:2: missing keys query_texts, query_images, query_speakers"):
    predict_inputs.read(str(path), RewriteGenTask)
  # examples given in Python (the notebook) are checked the same way, named by position
  with pytest.raises(DataError, match=r"^inputs\[1\]: context_speakers\[0\] must be the integer"):
    predict_inputs.check([GOOD, {**GOOD, "context_speakers": ["1", 0, 0]}], ResponseTask.predict_groups)


def _task(name: str, image_names=("kettle.jpg",)):
  from jddc.tasks import get_task
  config = configuration.load_config(f"configs/{name}.py:tiny")
  task = get_task(config.task)(config, "/nonexistent")
  task.feature_table = None if image_names is None else (
      {n: i for i, n in enumerate(image_names)}, np.zeros((len(image_names), 512), np.float32))
  return task


@pytest.mark.parametrize("name", ["response_mm", "response_retrieval_mm", "rewrite_gen_mm"])
def test_predict_with_an_unknown_image_names_the_image_and_line(tmp_path, name):
  task = _task(name)
  example = dict(GOOD, context_images=["", "phone.jpg", ""])
  if task.predict_groups == ("context_", "query_"):
    example.update(query_texts=["坏了"], query_images=[""], query_speakers=[0])
  path = tmp_path / "inputs.jsonl"
  path.write_text(json.dumps(example) + "\n", encoding="utf-8")
  examples = predict_inputs.read(str(path), type(task))
  with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:1: context_images\[1\]: image 'phone.jpg' has no "
                     r"image feature: it is not one of the 1 images this run reads"):
    task.predict(None, examples)  # refused before the model is touched
  if name == "response_mm":
    with pytest.raises(ValueError, match="is multimodal but has no image features"):
      _task(name, image_names=None).predict(None, [GOOD])


def test_retrieval_features_of_an_unknown_image_are_a_data_error():
  from jddc.tasks import retrieval as retrieval_task
  task = _task("response_retrieval_mm")
  task.tokenizer = _FakeTokenizer()
  transform = retrieval_task.RetrievalFeatures(task.tokenizer, task.pipeline_config(), task.feature_table, 512)
  example = {**GOOD, "context_images": ["", "phone.jpg", ""], "response": "好的", "session_id": b"s7"}
  with pytest.raises(DataError, match=r"^image features: no cached feature for image 'phone.jpg' \(session s7\)"):
    transform.map(example)  # was a raw KeyError
  example["context_images"][1] = "kettle.jpg"
  assert transform.map(example)["has_image"]


class _FakeTokenizer:
  cls_id, sep_id, image_id, agent_id, customer_id, bos_id, pad_id = 1, 2, 3, 4, 5, 6, 0

  def speaker_id(self, is_agent):
    return self.agent_id if is_agent else self.customer_id

  def encode(self, text):
    return [7] * len(text)


def test_notebook_image_features_refuse_ambiguous_image_lists():
  from jddc import inference
  with pytest.raises(ValueError, match="two different files named 'x.jpg'"):
    inference.image_features("/nonexistent", ["a/x.jpg", "b/x.jpg"])  # before any run is read
  with pytest.raises(ValueError, match="expected a non-empty list of image files"):
    inference.image_features("/nonexistent", "kettle.jpg")


def test_a_damaged_run_folder_config_is_named(tmp_path):
  from jddc import inference
  (tmp_path / "config.json").write_text('{"task": "respo', encoding="utf-8")
  with pytest.raises(ValueError, match=r"config\.json: not a readable config\.json"):
    inference.read_config(str(tmp_path))
  (tmp_path / "config.json").write_text("[1, 2]", encoding="utf-8")
  with pytest.raises(ValueError, match="expected a JSON object"):
    inference.read_config(str(tmp_path))


def test_cli_predict_refuses_bad_inputs_before_loading_a_model(tmp_path):
  path = tmp_path / "dialogues.jsonl"
  path.write_text(_line() + "\n" + _line(context_speakers=["0", 0, 0]) + "\n", encoding="utf-8")
  run_dir = tmp_path / "run"  # a folder without checkpoints: loading a model would fail, later
  run_dir.mkdir()
  out = subprocess.run([sys.executable, "-m", "jddc.main", "--config=configs/response_text.py:tiny", "--mode=predict",
                        f"--inputs={path}", f"--workdir={run_dir}", f"--config.data.cache_dir={tmp_path / 'cache'}"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
  assert out.returncode != 0
  assert f"{path}:2: context_speakers[0] must be the integer 0 (customer) or 1 (agent)" in out.stderr
  assert "Traceback" not in out.stderr and os.listdir(run_dir) == [] and not (tmp_path / "cache").exists()


# -- jddc.score ---------------------------------------------------------------

def _score_cli(*args):
  return subprocess.run([sys.executable, "-m", "jddc.score", *args], cwd=REPO, capture_output=True, text=True,
                        timeout=300)


def test_score_cli_refuses_nothing_to_score_and_folders(tmp_path):
  (tmp_path / "p.txt").write_text("", encoding="utf-8")
  (tmp_path / "r.txt").write_text("", encoding="utf-8")
  out = _score_cli(f"--pred={tmp_path / 'p.txt'}", f"--ref={tmp_path / 'r.txt'}")
  assert out.returncode != 0 and "nothing to score" in out.stderr and out.stdout == ""
  out = _score_cli(f"--pred={tmp_path}", f"--ref={tmp_path / 'r.txt'}")
  assert out.returncode != 0 and f"{tmp_path} is a folder" in out.stderr and "Traceback" not in out.stderr
  with pytest.raises(score.ScoreError, match=r"no such file: .*missing\.txt"):
    score.score_files(str(tmp_path / "missing.txt"), [str(tmp_path / "r.txt")], ["bleu"])
  with pytest.raises(score.ScoreError, match="nothing to score"):
    score.score([], [[]], ["bleu"])


def test_score_reads_a_runs_predictions_jsonl_and_names_bad_lines(tmp_path):
  rows = [{"prediction": "好的，请稍等", "reference": "好的，请稍等"},
          {"prediction": "您好", "reference": "请问您有什么问题"}]
  preds = tmp_path / "predictions_test.jsonl"
  preds.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
  got = score.score_files(str(preds), [str(preds)], ["bleu"])
  want = score.score([r["prediction"] for r in rows], [[r["reference"] for r in rows]], ["bleu"])
  assert got == want and got != score.score(["x", "y"], [[r["reference"] for r in rows]], ["bleu"])
  bad = tmp_path / "bad.jsonl"
  bad.write_text(json.dumps(rows[0]) + "\n{oops\n", encoding="utf-8")
  with pytest.raises(score.ScoreError, match=r"bad\.jsonl:2: not valid JSON"):
    score.score_files(str(bad), [str(preds)], ["bleu"])
  bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"text": "x"}) + "\n", encoding="utf-8")
  with pytest.raises(score.ScoreError, match=r"bad\.jsonl:2: expected a JSON object with a 'prediction' field"):
    score.score_files(str(bad), [str(preds)], ["bleu"])
  lone_cr = tmp_path / "mac.txt"
  lone_cr.write_bytes("好的\r您好\r".encode())
  with pytest.raises(score.ScoreError, match=r"mac\.txt:1: a carriage return inside a line"):
    score.score_files(str(lone_cr), [str(lone_cr)], ["bleu"])


# -- untrusted run folders ----------------------------------------------------

class _Exploit:
  """Unpickling this creates a marker file: what a hostile run folder could do instead."""

  def __init__(self, marker: str):
    self.marker = marker

  def __reduce__(self):
    return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_an_index_folder_with_a_pickle_is_refused_without_unpickling(tmp_path):
  vectors = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
  index = retrieval.EmbeddingIndex.build(vectors)
  folder = tmp_path / "run" / "index" / "text"
  index.save(str(folder), "weights-a")
  assert not any(n.endswith(".pkl") for n in os.listdir(folder))  # no doc id pickle written
  reloaded = retrieval.EmbeddingIndex.load(str(folder), "weights-a")
  np.testing.assert_array_equal(reloaded.search(vectors[:3], 4)[0], index.search(vectors[:3], 4)[0])
  marker = tmp_path / "pwned"
  with open(folder / "scann_docids.pkl", "wb") as f:
    pickle.dump(_Exploit(str(marker)), f)
  with pytest.raises(retrieval.UnsafeIndexError, match=r"scann_docids\.pkl: a pickle in a saved index"):
    retrieval.EmbeddingIndex.load(str(folder), "weights-a")
  assert not marker.exists()
  os.remove(folder / "scann_docids.pkl")
  assets = (folder / "scann_assets.pbtxt").read_text()
  (folder / "scann_assets.pbtxt").write_text(re.sub(r'asset_path: "[^"]*"', 'asset_path: "/etc/dataset.npy"', assets))
  with pytest.raises(retrieval.UnsafeIndexError, match=r"asset path '/etc/dataset.npy' lies outside"):
    retrieval.EmbeddingIndex.load(str(folder), "weights-a")


def test_no_module_reads_a_pickle():
  """Static guard over jddc/: no pickle module, no np.load(allow_pickle=True), torch.load only weights_only."""
  offences = []
  for path in sorted(pathlib.Path(REPO, "jddc").rglob("*.py")):
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(REPO)
    if re.search(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib)\b", text, re.M):
      offences.append(f"{name}: imports a pickle module")
    if re.search(r"allow_pickle\s*=\s*True", text):
      offences.append(f"{name}: np.load(allow_pickle=True)")
    for call in re.findall(r"torch\.load\([^)]*\)", text):
      if "weights_only=True" not in call:
        offences.append(f"{name}: {call}")
    if "load_searcher(" in text:
      offences.append(f"{name}: scann load_searcher (unpickles scann_docids.pkl)")
  assert offences == []
