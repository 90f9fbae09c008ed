"""The embedded corpus's own checks (jddc.data.synth.checks) and its language figures (jddc.data.stats).

Every check passes on the generated tiny corpus and catches a hand-made bad case. Nothing
here counts what the generator draws: the tests hold for any correct corpus. (Determinism,
same seed -> same bytes, is tests/test_release.py's test_same_seed_gives_identical_bytes.)
"""

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from jddc.data import release, schema, stats
from jddc.data.synth import checks, facts, generate
from tests.conftest import SHARED_DATA, shared_path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# Measure words
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["一台电饭煲", "给您换一件新的T恤", "这双运动鞋", "一条牛仔裤", "一个双肩包",
                                  "这条黑色的牛仔裤", "这款连衣裙", "两台美的电饭煲", "[数字x]件外套",
                                  "一条连衣裙", "这个图片里的连衣裙", "这个颜色的运动鞋", "那个，运动鞋有货吗"])
def test_right_measure_words_pass(text):
  assert checks.measure_word_errors(text) == []


@pytest.mark.parametrize("text, wrong, right", [
    ("给您换一台新的连衣裙", "台", "件"), ("您这个T恤左上角有破洞", "个", "件"), ("一双双肩包", "双", "个"),
    ("那件红色的运动鞋", "件", "双"), ("[数字x]台吹风机", "台", "个"), ("这只电饭煲", "只", "台")])
def test_wrong_measure_words_are_caught(text, wrong, right):
  (error,) = checks.measure_word_errors(text)
  assert f"uses {wrong}" in error and f"takes {right}" in error


def _session(session_id, split, *texts):
  """A session of alternating customer/agent text messages (None: a customer image)."""
  messages = [schema.Message(is_agent=False, image=f"{session_id}{k}.jpg") if text is None
              else schema.Message(is_agent=k % 2 == 1, text=text) for k, text in enumerate(texts)]
  return schema.Session(session_id, "fashion", (), tuple(messages), split)


def _release(sessions, discourse=(), summaries=(), rewrites=()):
  return schema.Release(root="hand-made", sessions={s.session_id: s for s in sessions}, knowledge={}, image_dir="",
                        image_categories=[], rewrites=list(rewrites), discourse=list(discourse),
                        summaries=list(summaries))


def test_measure_words_scan_messages_summaries_and_rewrites():
  r = _release([_session("s1", "train", "裙子破了", "给您换一台新的连衣裙", "好的", "这件连衣裙马上发出")],
               summaries=[schema.SummaryAnnotation("s1", "顾客的一条新的T恤有破洞")],
               rewrites=[schema.RewriteAnnotation("s1", (0,), True, "这双连衣裙怎么办？")])
  found = checks.measure_words(r)
  assert len(found) == 3, found
  assert "session s1 (train) message 1 (agent)" in found[0] and "给您换一台新的连衣裙" in found[0]
  assert "session s1 (train) summary" in found[1] and "T恤 takes 件" in found[1]
  assert "session s1 (train) rewrite" in found[2] and "uses 双" in found[2]


@pytest.mark.parametrize("text", ["看到了，您收到的台黑色电风扇左下角有划痕", "好的，件T恤马上发出"])
def test_a_measure_word_without_determiner_is_caught(text):
  (error,) = checks.measure_word_errors(text)
  assert "needs a determiner" in error


@pytest.mark.parametrize("kind", [
    "takes",
    "needs a determiner",
])
def test_the_tiny_corpus_has_right_measure_words(tiny_release, kind):
  found = [v for v in checks.measure_words(tiny_release) if kind in v]
  assert found == [], "\n".join(found[:20])


@pytest.mark.parametrize("text,word", [("您物流物流异常的事", "物流"), ("看到您的您的订单还在配送中", "您的"),
                                       ("我等着用我等着用。说实话有点急", "我等着用")])
def test_a_word_said_twice_is_caught(text, word):
  (error,) = checks.repeated_word_errors(text)
  assert f"says {word} twice" in error


def test_the_item_had_twice_and_reduplications(tiny_release):
  assert "how the item was had twice" in checks.repeated_word_errors("我买的购买的绿色外套开线，能退换吗？")[0]
  assert checks.repeated_word_errors("好的好的  可以尽快处理? 可以可以") == []


def test_the_tiny_corpus_says_no_word_twice(tiny_release):
  found = checks.repeated_words(tiny_release)
  assert found == [], "\n".join(found[:20])


# ---------------------------------------------------------------------------
# Fact consistency
# ---------------------------------------------------------------------------

def test_the_tiny_corpus_is_consistent(tiny_release):
  found = checks.fact_consistency(tiny_release)
  assert found == [], "\n".join(found[:20])


@pytest.fixture
def corpus_copy(tiny_release, tmp_path):
  """A copy of the tiny corpus without its images (the checks do not open them) and its meta."""
  out = str(tmp_path / "release")
  shutil.copytree(tiny_release, out, ignore=shutil.ignore_patterns("*.jpg"))
  return out, checks.read_meta(out)


def _write_meta(root, metas):
  with open(os.path.join(root, generate.META_FILE), "w", encoding="utf-8") as f:
    f.writelines(json.dumps(m, ensure_ascii=False) + "\n" for m in metas)


def _own_coloured(meta):
  """The meta's images of the customer's own item with a colour."""
  return [i for i in meta["images"].values() if i["category"] in checks.OWN_ITEM_CATEGORIES and "colour" in i["facts"]]


def _other_colour(*colours):
  return next(c for c in facts.COLOURS if c not in colours)


def _violations_of(root, session_id):
  return [v for v in checks.fact_consistency(root) if session_id in v]


def test_an_order_screenshot_of_another_colour_is_caught(corpus_copy):
  root, metas = corpus_copy
  meta = next(m for m in metas if _own_coloured(m))
  photo = _own_coloured(meta)[0]["facts"]
  meta["images"]["order.jpg"] = {"category": "screenshot_product_order", "degraded": False, "facts": {
      "product": photo["product"], "colour": _other_colour(photo["colour"]), "order_status": "shipped"}}
  _write_meta(root, metas)
  assert any("different colours" in v for v in _violations_of(root, meta["session_id"]))


def test_an_image_of_another_product_is_caught(corpus_copy):
  root, metas = corpus_copy
  meta = next(m for m in metas if any("product" in i["facts"] for i in m["images"].values()))
  shown = next(i["facts"]["product"] for i in meta["images"].values() if "product" in i["facts"])
  other = next(p for p in facts.PRODUCTS[facts.PRODUCT_SHOP[shown]] if p != shown)
  meta["images"]["other.jpg"] = {"category": "photo_purchase_consultation", "degraded": False,
                                 "facts": {"product": other, "colour": "red"}}
  _write_meta(root, metas)
  assert any("different products" in v for v in _violations_of(root, meta["session_id"]))


def test_a_sku_missing_from_the_knowledge_base_is_caught(corpus_copy):
  root, _ = corpus_copy
  r = release.read_release(root, check_images=False)
  session = next(s for s in r.sessions.values() if s.skus)
  path = os.path.join(root, "knowledge.tsv")
  with open(path, encoding="utf-8") as f:
    lines = [line for line in f if line.split("\t")[0] != session.skus[0]]
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(lines)
  assert any("not in knowledge.tsv" in v for v in _violations_of(root, session.session_id))


def test_an_agent_naming_another_colour_of_the_item_is_caught(corpus_copy):
  """An agent reply of an after-sales session given a colour that none of its pictures shows."""
  root, metas = corpus_copy
  meta = next(m for m in metas if _own_coloured(m) and m["replies"])
  shown = {i["facts"][f] for i in meta["images"].values() for f in ("colour", "colour_right") if f in i["facts"]}
  r = release.read_release(root, check_images=False)
  session = r.sessions[meta["session_id"]]
  index = meta["replies"][0]["message"]
  messages = list(session.messages)
  wrong = messages[index].text + f"，是{facts.COLOURS[_other_colour(*shown)][0]}的吧"
  messages[index] = dataclasses.replace(messages[index], text=wrong)
  r.sessions[session.session_id] = dataclasses.replace(session, messages=tuple(messages))
  release.write_dialogues(os.path.join(root, "dialogues", f"{session.split}.tsv"), r.split(session.split))
  assert any(wrong in v and "of the customer's item" in v for v in _violations_of(root, session.session_id))


# ---------------------------------------------------------------------------
# Language figures (jddc.data.stats)
# ---------------------------------------------------------------------------

LANGUAGE_KEYS = {"agent_messages", "agent_distinct_pct", "test_agent_seen_in_train_pct",
                 "test_agent_4grams_seen_in_train_pct", "customer_messages",
                 "customer_distinct_pct", "mean_agent_message_chars", "mean_customer_message_chars",
                 "edus_per_annotated_dialogue", "mean_summary_chars"}


def test_language_figures_of_the_tiny_corpus(tiny_release):
  language = stats.compute(tiny_release)["language"]
  assert set(language) == LANGUAGE_KEYS
  r = release.read_release(tiny_release, check_images=False)
  agent = [m for s in r.sessions.values() for m in s.messages if m.is_agent]
  assert language["agent_messages"] == len(agent) > 0
  for key in ("agent_distinct_pct", "test_agent_seen_in_train_pct", "test_agent_4grams_seen_in_train_pct",
              "customer_distinct_pct"):
    assert 0 <= language[key] <= 100, key
  assert language["agent_distinct_pct"] > 0 and language["customer_distinct_pct"] > 0
  for key in ("mean_agent_message_chars", "mean_customer_message_chars", "edus_per_annotated_dialogue",
              "mean_summary_chars"):
    assert 1 < language[key] < 200, key


def test_language_figures_of_a_hand_made_release():
  sessions = [
      _session("t1", "train", "你好", "您好", None, "好的"),
      _session("t2", "train", "在吗", "您好"),
      _session("x1", "test", "你好", "您好", "嗯", "请稍等", "嗯", "谢谢您"),  # 您好 seen in train; 谢谢您 only in valid
      _session("x2", "test", "你好", "好的好吗"),  # its 4-gram 好的好吗 is in no train message
      _session("v1", "valid", "好", "谢谢您"),
  ]
  discourse = [schema.DiscourseAnnotation("t1", tuple(schema.Edu(m, text="x") for m in (0, 1, 3)), ())]
  figures = stats.language_figures(_release(sessions, discourse, [schema.SummaryAnnotation("t1", "顾客咨询")]))
  assert figures == {
      "agent_messages": 8, "agent_distinct_pct": round(100 * 5 / 8, 2),
      "test_agent_seen_in_train_pct": 25.0, "test_agent_4grams_seen_in_train_pct": 0.0,
      "customer_messages": 7, "customer_distinct_pct": round(100 * 4 / 7, 2),
      "mean_agent_message_chars": round(21 / 8, 2), "mean_customer_message_chars": round(11 / 7, 2),
      "edus_per_annotated_dialogue": 3.0, "mean_summary_chars": 4.0}


def test_a_release_of_one_split_carves_a_tenth_as_test():
  """All sessions in train (the JDDC 2019 sample): md5(id) mod 10 == 0 marks the test part."""
  ids = [f"s{i}" for i in range(100)]
  carved = [i for i in ids if int(hashlib.md5(i.encode()).hexdigest(), 16) % stats.CARVED_TEST_MOD == 0]
  rest = [i for i in ids if i not in carved]
  assert carved and rest
  sessions = [_session(carved[0], "train", "问", "甲乙"), _session(carved[1], "train", "问", "只在这里"),
              _session(rest[0], "train", "问", "甲乙")]
  assert stats.language_figures(_release(sessions))["test_agent_seen_in_train_pct"] == 50.0


def _real_language():
  return stats.compute(shared_path("jddc2019", "chat_0.1per.txt"))["language"]


def test_language_figures_of_the_real_sample():
  language = _real_language()
  assert 80 <= language["agent_distinct_pct"] <= 82
  assert language["test_agent_seen_in_train_pct"] == pytest.approx(20, abs=1)
  assert language["test_agent_4grams_seen_in_train_pct"] == pytest.approx(65.4, abs=1)
  assert language["mean_agent_message_chars"] == pytest.approx(28.0, abs=1)
  assert language["mean_customer_message_chars"] == pytest.approx(14.8, abs=1)


def test_stats_command_prints_the_real_sample_as_json():
  shared_path("jddc2019", "chat_0.1per.txt")
  env = dict(os.environ, JDDC_SHARED_DATA=os.path.abspath(SHARED_DATA))
  out = subprocess.run([sys.executable, "-m", "jddc.data.stats", "--corpus=jddc2019", "--json"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  language = json.loads(out.stdout)["language"]
  assert set(language) == LANGUAGE_KEYS and 80 <= language["agent_distinct_pct"] <= 82
