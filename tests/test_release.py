"""The release reader: generate -> read round trip, determinism, every bad-input case, real data."""

import filecmp
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from jddc.data import release, schema
from jddc.data.errors import DataError
from jddc.data.synth import catalogue, generate, scenarios
from tests import helpers
from tests.conftest import TINY_SESSIONS, shared_path


def _files(root):
  return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_generate_then_read_gives_the_same_sessions(tiny_release):
  r = release.read_release(tiny_release)
  assert len(r.sessions) == TINY_SESSIONS
  splits = generate.assign_splits(TINY_SESSIONS, 0)
  cat = catalogue.build_catalogue(0)
  for i in (0, 7, 123, TINY_SESSIONS - 1):
    expected = generate.generate_session(0, i, splits[i], cat).session
    assert r.sessions[expected.session_id] == expected
  counts = {s: len(r.split(s)) for s in schema.SPLITS}
  assert counts == {"train": 192, "valid": 24, "test": 24}
  assert {s.shop_type for s in r.sessions.values()} == set(schema.SHOP_TYPES)
  assert len(r.summaries) == len(r.discourse) == len(r.rewrites) == round(TINY_SESSIONS / 3)
  assert len(r.image_categories) == sum(s.num_images for s in r.sessions.values())
  assert r.skipped == {}


def test_generated_annotations_are_consistent(tiny_release):
  r = release.read_release(tiny_release)
  for a in r.discourse:
    # A tree: every EDU but the first has exactly one parent, earlier than itself.
    assert sorted(l.child for l in a.links) == list(range(1, len(a.edus)))
    session = r.sessions[a.session_id]
    assert {e.message for e in a.edus} == set(range(len(session.messages)))
  for a in r.rewrites:
    query = [r.sessions[a.session_id].messages[i] for i in a.messages]
    assert any(m.is_image for m in query) and not any(m.is_agent for m in query)
  categories = {a.image: a.category for a in r.image_categories}
  with open(os.path.join(tiny_release, generate.META_FILE), encoding="utf-8") as f:
    metas = [json.loads(line) for line in f]
  for meta in metas:
    for name, info in meta["images"].items():
      assert categories[name] == info["category"]


def test_after_a_vague_query_only_the_picture_tells_its_relation(tiny_release):
  """Table 8's text/multimodal gap by construction: vague words precede pictures of either relation."""
  r = release.read_release(tiny_release)
  categories = {a.image: a.category for a in r.image_categories}
  with open(os.path.join(tiny_release, generate.META_FILE), encoding="utf-8") as f:
    kinds = {m["session_id"]: m["query_kind"] for m in map(json.loads, f)}
  query_messages = {a.session_id: set(a.messages) for a in r.rewrites}
  found = set()
  for a in r.discourse:
    if kinds[a.session_id] != "vague" or a.session_id not in query_messages:
      continue
    for link in a.links:
      child, parent = a.edus[link.child], a.edus[link.parent]
      if child.image and parent.text and parent.message in query_messages[a.session_id]:
        assert link.relation == scenarios._PICTURE_RELATION[categories[child.image]]
        found.add(link.relation)
  assert found == {"background", "elaboration"}, found


def test_same_seed_gives_identical_bytes(tmp_path):
  a, b, c = (str(tmp_path / n) for n in "abc")
  generate.generate(a, 30, seed=5, workers=1)
  generate.generate(b, 30, seed=5, workers=2)
  generate.generate(c, 30, seed=6, workers=1)
  files = _files(a)
  assert files == _files(b)
  _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
  assert mismatch == [] and errors == []
  assert filecmp.cmp(os.path.join(a, "dialogues", "train.tsv"), os.path.join(c, "dialogues", "train.tsv"),
                     shallow=False) is False


# ---------------------------------------------------------------------------
# Bad input: a hand-made release, broken one way at a time
# ---------------------------------------------------------------------------

def _jpeg() -> bytes:
  buf = io.BytesIO()
  Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(buf, "JPEG")
  return buf.getvalue()


IMG = "0123456789abcdef0123456789abcdef.jpg"
ROWS = [
    "session_id\tshop_type\tsku\ttext\tis_agent",
    "s1\tfashion\t42\t在吗\t0",
    f"s1\tfashion\t42\t{IMG}\t0",
    "s1\tfashion\t42\t您好，看到了\t1",
    "s2\thome_appliances\t\t你好\t0",
    "s2\thome_appliances\t\t您好\t1",
]
DISCOURSE = {"session_id": "s1", "edus": [{"message": 0, "text": "在吗"}, {"message": 1, "image": IMG},
                                          {"message": 2, "text": "看到了"}],
             "relations": [{"x": 0, "y": 1, "type": "elaboration"}, {"x": 1, "y": 2, "type": "affirmation"}]}


def _write_release(root, rows=ROWS, discourse=DISCOURSE, category="photo_damaged_appearance", image=None,
                   extra_files=None):
  os.makedirs(os.path.join(root, "dialogues"))
  os.makedirs(os.path.join(root, "images"))
  os.makedirs(os.path.join(root, "annotations"))
  with open(os.path.join(root, "dialogues", "train.tsv"), "wb") as f:
    f.write(b"\n".join(r.encode() if isinstance(r, str) else r for r in rows) + b"\n")
  with open(os.path.join(root, "images", IMG), "wb") as f:
    f.write(_jpeg() if image is None else image)
  release.write_jsonl(os.path.join(root, "annotations", "discourse.jsonl"), [discourse])
  release.write_jsonl(os.path.join(root, "annotations", "image_categories.jsonl"),
                      [{"session_id": "s1", "message": 1, "image": IMG, "category": category}])
  release.write_jsonl(os.path.join(root, "annotations", "summaries.jsonl"), [{"session_id": "s1", "summary": "顾客咨询"}])
  release.write_jsonl(os.path.join(root, "annotations", "rewrites.jsonl"),
                      [{"session_id": "s1", "messages": [0, 1], "can_rewrite": True, "rewrite": "鞋子坏了"}])
  for name, lines in (extra_files or {}).items():
    with open(os.path.join(root, name), "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")
  return str(root)


def test_hand_made_release_reads(tmp_path):
  r = release.read_release(_write_release(tmp_path / "r"))
  assert [len(s.messages) for s in r.sessions.values()] == [3, 2]
  assert r.sessions["s1"].messages[1].image == IMG and r.sessions["s1"].skus == ("42",)
  assert r.discourse[0].links[1] == schema.DiscourseLink(1, 2, "affirmation")


def _dialogue_file(root):
  return os.path.join(root, "dialogues", "train.tsv")


def _ann(root, name):
  return os.path.join(root, "annotations", name)


BAD_CASES = {
    # name: (release writer kwargs, (file of the error, line or None), reason, text in the message)
    "wrong field count": (dict(rows=ROWS[:2] + ["s1\tfashion\t42\t0"] + ROWS[2:]), (_dialogue_file, 3),
                          "wrong_field_count", "expected 5 tab-separated fields"),
    "non-UTF-8 line": (dict(rows=ROWS[:2] + ["s1\tfashion\t42\t".encode() + b"\xff\xfe\t0"] + ROWS[2:]),
                       (_dialogue_file, 3), "non_utf8", "not valid UTF-8"),
    "missing image": (dict(rows=ROWS[:3] + [f"s1\tfashion\t42\t{'f' * 32}.jpg\t0"] + ROWS[3:]), (_dialogue_file, 4),
                      "image_missing", "not found"),
    "corrupt image": (dict(image=b"\xff\xd8\xff" + b"garbage" * 10), (_dialogue_file, 3), "image_corrupt", "corrupt"),
    "truncated image": (dict(image=_jpeg()[:-40]), (_dialogue_file, 3), "image_corrupt", "corrupt"),
    "image escaping the folder": (dict(rows=ROWS[:3] + ["s1\tfashion\t42\t../x.jpg\t0"] + ROWS[3:]),
                                  (_dialogue_file, 4), "image_escape", "escapes"),
    "absolute image path": (dict(rows=ROWS[:3] + ["s1\tfashion\t42\t/etc/x.jpg\t0"] + ROWS[3:]),
                            (_dialogue_file, 4), "image_escape", "escapes"),
    "unknown session": (dict(discourse={**DISCOURSE, "session_id": "nope"}), (lambda r: _ann(r, "discourse.jsonl"), 1),
                        "unknown_reference", "unknown session 'nope'"),
    "unknown message": (dict(discourse={**DISCOURSE, "edus": DISCOURSE["edus"] + [{"message": 9, "text": "x"}]}),
                        (lambda r: _ann(r, "discourse.jsonl"), 1), "unknown_reference", "has no message 9"),
    "unknown EDU": (dict(discourse={**DISCOURSE, "relations": [{"x": 0, "y": 5, "type": "elaboration"}]}),
                    (lambda r: _ann(r, "discourse.jsonl"), 1), "unknown_reference", "does not link"),
    "unknown relation": (dict(discourse={**DISCOURSE, "relations": [{"x": 0, "y": 1, "type": "Acceptance"}]}),
                         (lambda r: _ann(r, "discourse.jsonl"), 1), "unknown_label", "unknown relation 'Acceptance'"),
    "unknown category": (dict(category="photo_of_cat"), (lambda r: _ann(r, "image_categories.jsonl"), 1),
                         "unknown_label", "unknown image category"),
    "empty message": (dict(rows=ROWS[:2] + ["s1\tfashion\t42\t \t0"] + ROWS[2:]), (_dialogue_file, 3),
                      "empty_message", "empty message text"),
    "bad is_agent": (dict(rows=ROWS[:2] + ["s1\tfashion\t42\thi\t2"] + ROWS[2:]), (_dialogue_file, 3),
                     "bad_field", "is_agent must be 0 or 1"),
    "session not contiguous": (dict(rows=ROWS + ["s1\tfashion\t42\t还在吗\t0"]), (_dialogue_file, 7),
                               "session_not_contiguous", "appears again"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_an_error_naming_file_and_line(tmp_path, case):
  kwargs, (file_of, line), reason, text = BAD_CASES[case]
  root = _write_release(tmp_path / "r", **kwargs)
  with pytest.raises(DataError) as info:
    release.read_release(root)
  assert info.value.reason == reason
  assert info.value.path == file_of(root) and info.value.line == line
  assert f"{file_of(root)}:{line}: " in str(info.value) and text in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_can_be_skipped_and_is_counted(tmp_path, case):
  kwargs, _, reason, _ = BAD_CASES[case]
  r = release.read_release(_write_release(tmp_path / "r", **kwargs), on_error="skip")
  assert r.skipped[reason] >= 1
  assert "s2" in r.sessions  # the rest is still read


def test_unreadable_image(tmp_path):
  root = _write_release(tmp_path / "r")
  os.remove(os.path.join(root, "images", IMG))
  os.mkdir(os.path.join(root, "images", IMG))  # exists, but cannot be read as a file
  with pytest.raises(DataError, match="unreadable") as info:
    release.read_release(root)
  assert info.value.line == 3


def test_empty_session_is_reported(tmp_path):
  rows = ROWS + ["s3\tfashion\t\t \t0"]
  r = release.read_release(_write_release(tmp_path / "r", rows=rows), on_error="skip")
  assert r.skipped == {"empty_message": 1, "empty_session": 1}
  assert "s3" not in r.sessions
  with pytest.raises(DataError, match="empty"):
    release.read_release(_write_release(tmp_path / "q", rows=rows))


def test_knowledge_file_errors(tmp_path):
  root = _write_release(tmp_path / "r", extra_files={"knowledge.tsv": ["sku\tentity_type\trelation\tvalue",
                                                                        "42\t运动鞋\t鞋底材质\t橡胶", "42\t运动鞋\t颜色"]})
  with pytest.raises(DataError, match=r"knowledge.tsv:3: expected 4"):
    release.read_release(root)


# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------

def test_real_jddc2019_sample_reads_with_expected_counts():
  sessions, policy = release.read_jddc2019(shared_path("jddc2019", "chat_0.1per.txt"))
  assert len(sessions) == 994
  assert sum(len(s.messages) for s in sessions.values()) == 12136
  assert policy.counts == {}
  assert all(not m.is_image for s in sessions.values() for m in s.messages)
  r = schema.Release(root="jddc2019", sessions=sessions, knowledge={}, image_dir="", image_categories=[],
                     rewrites=[], discourse=[], summaries=[])
  responses = helpers.build_examples(r, "response", "train")
  agent_after_customer = sum(1 for s in sessions.values() for n, m in enumerate(s.messages)
                             if m.is_agent and any(not p.is_agent for p in s.messages[:n]))
  assert len(responses) == agent_after_customer > 5000
  assert any("[订单x]" in t for ex in responses for t in ex["context_texts"])


def test_real_jddc2020_image_is_checked_and_decoded():
  path = shared_path("jddc2020", "6e53e543e7b5a24e5d82dde54767e5f4.jpg")
  release.check_image_file(path, os.path.basename(path), path, None)
  assert release.is_image_reference(os.path.basename(path))
  image = release.load_image(path)
  assert image.mode == "RGB" and min(image.size) > 32
