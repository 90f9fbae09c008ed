"""Public-corpus readers (CSDS, REWRITE, JDDC 2019) on the real files, their shards, the `data` option."""

import collections
import json
import os
import shutil

import pytest

from jddc.data import corpora
from jddc.data.corpora import builder, common, csds, jddc2019, rewrite_corpus
from jddc.data.errors import DataError, ErrorPolicy
from tests.conftest import shared_path

KIND = {"csds": "summary", "rewrite": "rewrite", "jddc2019": "response"}


def _examples(name, root, split, on_error="raise"):
  policy = ErrorPolicy(on_error)
  return list(corpora.READERS[name].examples(root, KIND[name], split, policy)), policy


def _key(example):
  return (example["session_id"], example.get("index"))


# ---------------------------------------------------------------------------
# Every reader: the interface
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(KIND))
def test_reader_interface_on_real_files(name):
  reader, root = corpora.READERS[name], shared_path(name)
  assert reader.name == name and KIND[name] in reader.kinds
  keys = common.feature_keys(KIND[name])
  by_split = {s: _examples(name, root, s)[0] for s in common.SPLITS}
  everything = _examples(name, root, common.ALL)[0]
  for split, examples in by_split.items():
    assert examples, split
    for example in examples:
      common.check_example(KIND[name], example, keys)
      n = len(example.get("texts", example.get("context_texts")))
      assert n and all(len(example[f]) == n for f in keys if f.endswith(("images", "speakers")) and "query" not in f)
      assert set(example.get("speakers", example.get("context_speakers"))) <= {0, 1}
  # splits partition the folder, keys are unique, reading is deterministic
  assert sorted(map(_key, everything)) == sorted(_key(e) for s in common.SPLITS for e in by_split[s])
  assert len(set(map(_key, everything))) == len(everything)
  assert _examples(name, root, "test")[0] == by_split["test"]
  assert reader.fingerprint(root) == reader.fingerprint(root)
  texts = list(reader.training_texts(root, ErrorPolicy()))
  assert texts and all(texts)
  held_out = {t for s in ("valid", "test") for e in by_split[s] for t in common.example_texts(e)}
  train = {t for e in by_split["train"] for t in common.example_texts(e)}
  assert held_out - train and (held_out - train).isdisjoint(texts)  # only train-split texts
  assert reader.texts is not None or set(texts) <= train
  with pytest.raises(ValueError, match="has no 'discourse' examples"):
    next(reader.examples(root, "discourse", "train", ErrorPolicy()))
  with pytest.raises(ValueError, match="unknown split"):
    next(reader.examples(root, KIND[name], "dev", ErrorPolicy()))


def test_registry_names_every_reader_and_rejects_unknown():
  assert all(r.name == n for n, r in corpora.READERS.items())
  with pytest.raises(ValueError, match="unknown corpus 'nope'"):
    corpora.get_reader("nope")


# ---------------------------------------------------------------------------
# CSDS
# ---------------------------------------------------------------------------

def test_csds_groups_records_into_dialogues_with_overall_summaries():
  path = shared_path("csds", "val.json")
  records = [r for _, r in csds.iter_json_list(path, ErrorPolicy())]
  assert len(records) == 1277
  examples, _ = _examples("csds", shared_path("csds"), common.ALL)
  assert len(examples) == 777
  assert all(e["summary"] for e in examples)
  first = examples[0]
  own = [r["QASumm"] for r in records if r["Dialogue"] == records[0]["Dialogue"]]
  assert len(own) == 3 and first["summary"] == "".join(own)
  assert first["texts"][:2] == ["咨询订单号:[订单编号]", "在吗"] and first["speakers"][:3] == [0, 0, 1]
  assert first["texts"][-1] == "请问还有其他还可以帮到您的吗?"
  others = [(t, s) for e in examples for t, s in zip(e["texts"], e["speakers"]) if t.startswith("商家:")]
  assert others and all(s == 1 for _, s in others)  # other service roles keep their prefix
  splits = {s: len(_examples("csds", shared_path("csds"), s)[0]) for s in common.SPLITS}
  assert splits == {"train": 616, "valid": 86, "test": 75}


def test_csds_full_copy_reads_split_files(tmp_path):
  with open(shared_path("csds", "val.json"), encoding="utf-8") as f:
    records = json.load(f)
  for name, part in (("train.json", records[:40]), ("val.json", records[40:60]), ("test.json", records[60:90])):
    (tmp_path / name).write_text(json.dumps(part, ensure_ascii=False, indent=2), encoding="utf-8")
  counts = {s: {e["summary"] for e in _examples("csds", str(tmp_path), s)[0]} for s in common.SPLITS}
  dialogues = lambda part: len({r["Dialogue"] for r in part})  # noqa: E731
  assert [len(counts[s]) for s in common.SPLITS] == [dialogues(records[:40]), dialogues(records[40:60]),
                                                     dialogues(records[60:90])]
  assert csds.files(str(tmp_path)) == [str(tmp_path / n) for n in ("train.json", "val.json", "test.json")]


def test_csds_bad_input_names_file_and_line(tmp_path):
  good = {"Dialogue": "用户:在吗[SEP][CLS]客服:在的", "QASumm": "用户询问。", "Topic": "", "AllTopic": ""}
  bad = dict(good, Dialogue="用户:在吗[SEP][CLS]没有角色")
  path = tmp_path / "val.json"
  path.write_text(json.dumps([good, bad], indent=1, ensure_ascii=False), encoding="utf-8")
  with pytest.raises(DataError, match=r"val\.json:8: turn 1 '没有角色' lacks a 'role:' prefix"):
    _examples("csds", str(tmp_path), common.ALL)
  examples, policy = _examples("csds", str(tmp_path), common.ALL, "skip")
  assert len(examples) == 1 and policy.counts == {"bad_field": 1}
  path.write_text('[{"Dialogue": "用户:在吗", "QASumm": "x"},\n {"Dialogue": ', encoding="utf-8")
  with pytest.raises(DataError, match=r"val\.json:2: not valid JSON"):
    _examples("csds", str(tmp_path), common.ALL)
  with pytest.raises(DataError, match="no CSDS files"):
    csds.files(str(tmp_path / ".."))


# ---------------------------------------------------------------------------
# REWRITE
# ---------------------------------------------------------------------------

def test_rewrite_reads_every_line_and_carves_the_end():
  root = shared_path("rewrite")
  splits = {s: _examples("rewrite", root, s)[0] for s in common.SPLITS}
  assert {s: len(e) for s, e in splits.items()} == {"train": 15300, "valid": 900, "test": 1800}
  first = splits["train"][0]
  assert first["context_texts"] == ["能给我签名吗", "出专辑再议"] and first["context_speakers"] == [0, 1]
  assert first["query_texts"] == ["我现在就要"] and first["rewrite"] == "我现在就要签名"
  assert first["can_rewrite"] == 1 and first["index"] == 2 and first["knowledge"] == []
  assert splits["valid"][0]["session_id"] == "rewrite-train-15301"
  assert splits["test"][-1]["session_id"] == "rewrite-train-18000"
  empty_ctx2 = next(e for e in splits["train"] if e["session_id"] == "rewrite-train-425")
  assert empty_ctx2["context_texts"] == ["晚上需要开空调吗"] and empty_ctx2["index"] == 1


def test_rewrite_own_test_file_and_bad_lines(tmp_path):
  lines = ["a\t\tb\t\tc\t\tac"] * 20
  (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
  (tmp_path / "test.txt").write_text("x\t\ty\t\tz\t\txz\nonly\t\tthree\t\tfields\n", encoding="utf-8")
  assert [len(_examples("rewrite", str(tmp_path), s)[0]) for s in ("train", "valid")] == [19, 1]
  with pytest.raises(DataError, match=r"test\.txt:2: expected 4 fields"):
    _examples("rewrite", str(tmp_path), "test")
  examples, policy = _examples("rewrite", str(tmp_path), "test", "skip")
  assert [e["rewrite"] for e in examples] == ["xz"] and policy.counts == {"wrong_field_count": 1}
  with pytest.raises(DataError, match="no REWRITE training file"):
    rewrite_corpus.files(str(tmp_path / ".."))


# ---------------------------------------------------------------------------
# JDDC 2019
# ---------------------------------------------------------------------------

def test_jddc2019_sessions_split_by_session():
  root = shared_path("jddc2019")
  sessions = jddc2019.read_sessions(root, ErrorPolicy())
  assert len(sessions) == 994 and sum(len(s.messages) for s in sessions.values()) == 12136
  by_split = collections.Counter(s.split for s in sessions.values())
  assert by_split == {"train": 791, "valid": 112, "test": 91}
  for split in common.SPLITS:
    examples, _ = _examples("jddc2019", root, split)
    assert {e["session_id"] for e in examples} <= {i for i, s in sessions.items() if s.split == split}
    for e in examples[:50]:
      session = sessions[e["session_id"]]
      assert session.messages[e["index"]].is_agent and e["response"] == session.messages[e["index"]].text
      assert e["context_texts"] == [m.text for m in session.messages[:e["index"]]]


def test_jddc2019_two_logs_and_a_repeated_session(tmp_path):
  src = shared_path("jddc2019", "chat_0.1per.txt")
  shutil.copy(src, tmp_path / "chat_a.txt")
  with open(src, encoding="utf-8") as f:
    head = f.readline()
  (tmp_path / "chat_b.txt").write_text(head, encoding="utf-8")
  with pytest.raises(DataError, match=r"chat_b\.txt: session .* appears in two chat logs"):
    jddc2019.read_sessions(str(tmp_path), ErrorPolicy())
  policy = ErrorPolicy("skip")
  assert len(jddc2019.read_sessions(str(tmp_path), policy)) == 994
  assert policy.counts == {"duplicate_session": 1}


# ---------------------------------------------------------------------------
# TFDS shards and the config's `data` option
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  """A `config.data.cache_dir` shared by this module's tests, so each corpus is sharded once."""
  return str(tmp_path_factory.mktemp("corpus_cache"))


@pytest.mark.parametrize("name", sorted(KIND))
def test_shards_of_real_corpora(name, cache_dir):
  data_dir = os.path.join(cache_dir, "tfds")
  sources = builder.data_sources(name, shared_path(name), KIND[name], data_dir)
  for split in common.SPLITS:
    examples, _ = _examples(name, shared_path(name), split)
    assert len(sources[split]) == len(examples)
  record = sources["test"][0]
  assert set(record) == common.feature_keys(KIND[name])
  wanted = {(e["session_id"], e.get("index")): e for e in _examples(name, shared_path(name), "test")[0]}
  got_key = (record["session_id"].decode(), int(record["index"]) if "index" in record else None)
  text_field = {"summary": "summary", "rewrite": "rewrite", "response": "response"}[KIND[name]]
  assert record[text_field].decode() == wanted[got_key][text_field]
  assert corpora.READERS[name].fingerprint(shared_path(name)) in builder.shard_dir(name, shared_path(name), data_dir)


def test_data_option_reads_a_corpus_and_trains_its_tokenizer(cache_dir, tmp_path):
  from jddc import configuration
  from jddc.tasks import base
  config = configuration.load_config("configs/response_jddc2019.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache_dir
  sources = base.data_sources(config, "response")
  assert len(sources["test"]) == len(_examples("jddc2019", config.data.corpus_path, "test")[0])
  tokenizer = base.tokenizer(config)
  assert tokenizer.decode(tokenizer.encode("请问还有什么可以帮您")) == "请问还有什么可以帮您"
  assert os.listdir(os.path.join(cache_dir, "tokenizers"))[0].startswith("jddc2019-jddc2019-")
  with config.unlocked():
    config.data.corpus_path = str(tmp_path / "missing")
  with pytest.raises(FileNotFoundError, match="no jddc2019 folder"):
    base.data_sources(config, "response")
  with config.unlocked():
    config.data.corpus = "csds"
    config.data.corpus_path = shared_path("csds")
  with pytest.raises(ValueError, match="corpus 'csds' has no 'response' examples; it has: summary"):
    base.data_sources(config, "response")



# ---------------------------------------------------------------------------
# The public-corpus configs, end to end at `tiny`
# ---------------------------------------------------------------------------

REAL_CORPUS_CONFIGS = ("response_jddc2019", "rewrite_gen_restoration", "summary_lead_csds", "summary_lexrank_csds",
                       "discourse_stac", "discourse_moddp")


@pytest.mark.parametrize("name", REAL_CORPUS_CONFIGS)
def test_real_corpus_config_runs_end_to_end(name, cache_dir, tmp_path):
  from jddc import configuration, train
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache_dir
    config.eval.max_examples = 32
    if config.train.steps:
      config.train.steps, config.train.eval_every, config.train.log_every = 30, 30, 10
  results = train.train_and_evaluate(config, str(tmp_path))
  numbers = {k: v for k, v in results.items() if k not in ("best_step", "split", "examples", "dialogues", "gold",
                                                           "pred", "link_correct", "link_rel_correct", "unreachable",
                                                           "budget", "length")}
  assert numbers and all(0.0 <= v <= 100.0 for v in numbers.values()), results
  with open(tmp_path / "results.json") as f:
    assert json.load(f) == results
  if config.train.steps:
    with open(tmp_path / "metrics.jsonl") as f:
      losses = [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]
    assert len(losses) == 3 and losses[-1] < losses[0]
  if name in ("summary_lead_csds", "summary_lexrank_csds"):  # CSDS's form: "。" between the extracted turns,
    from jddc import extractive  # the budget counted without them and never exceeded
    with open(tmp_path / "predictions_test.jsonl", encoding="utf-8") as f:
      summaries = [json.loads(line)["prediction"] for line in f]
    assert len(summaries) == 32
    assert all(extractive.char_length(s.replace("。", "")) <= results["budget"] for s in summaries)
    assert sum(("。客服:" in s) or ("。用户:" in s) for s in summaries) > 0.9 * len(summaries)
