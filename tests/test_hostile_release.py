"""Hostile release input: skipped rows keep message indices; odd files, images, annotations, splits.

Every case is a located DataError (file and line), a counted skip under on_error="skip",
or, where the input is fine after all (CRLF, a BOM, a phone JPEG's trailer, a 16-bit PNG),
read as it should be. Releases are the hand-made one of tests/test_release.py, broken one
way at a time.
"""

import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from jddc.data import examples, images, pipeline, release
from jddc.data.errors import DataError
from tests import helpers
from tests.test_release import DISCOURSE, IMG, ROWS, _jpeg, _write_release

HEADER = ROWS[0]


def _dialogues(root, split="train"):
  return os.path.join(root, "dialogues", f"{split}.tsv")


def _ann(root, name):
  return os.path.join(root, "annotations", name)


def _image(root, name=IMG):
  return os.path.join(root, "images", name)


def _write_lines(path, lines):
  with open(path, "wb") as f:
    f.write(b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines))


def _append_jsonl(path, *records):
  with open(path, "a", encoding="utf-8") as f:
    for r in records:
      f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")


def _png(width, height, bit_depth=8, color_type=2, body=b""):
  """A PNG file's bytes from its header fields and (uncompressed) scanlines."""
  def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
  ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
  return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b"")


def _saved(array, fmt="PNG"):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, fmt)
  return buf.getvalue()


def _garbage_body_jpeg():
  """A JPEG whose markers are intact (SOI, tables, SOS ... EOI) but whose entropy-coded data is noise."""
  rs = np.random.RandomState(0)
  data = _saved((rs.rand(64, 64, 3) * 255).astype(np.uint8), "JPEG")
  body = data.index(b"\xff\xda") + 14
  return data[:body] + rs.bytes(len(data) - body - 2) + b"\xff\xd9"


# ---------------------------------------------------------------------------
# Item 6: a skipped row never renumbers the messages after it
# ---------------------------------------------------------------------------

S1_ROWS = [
    "s1\tfashion\t42\t在吗\t0",  # message 0
    None,  # message 1: the bad row of the case
    "s1\tfashion\t42\t鞋子\t0",  # 2
    "s1\tfashion\t42\t坏了\t0",  # 3
    "s1\tfashion\t42\t怎么办\t0",  # 4
    "s1\tfashion\t42\t您好，请稍等\t1",  # 5
]
S2_ROWS = ["s2\thome_appliances\t\t你好\t0", "s2\thome_appliances\t\t您好\t1"]
BAD_ROWS = {
    # name: (the bad row, reason it is skipped for)
    "bad is_agent": ("s1\tfashion\t42\t嗯\tx", "bad_field"),
    "wrong field count": ("s1\tfashion\t42\t嗯", "wrong_field_count"),
    "non-UTF-8": ("s1\tfashion\t42\t".encode() + b"\xff\xfe\t0", "non_utf8"),
    "carriage return inside": ("s1\tfashion\t42\t嗯\r嗯\t0", "bad_line_ending"),
    "empty text": ("s1\tfashion\t42\t \t0", "empty_message"),
    "missing image": (f"s1\tfashion\t42\t{'e' * 32}.jpg\t0", "image_missing"),
    "unknown shop type": ("s1\tgrocery\t42\t嗯\t0", "bad_field"),
    "changed shop type": ("s1\thome_appliances\t42\t嗯\t0", "inconsistent_session"),
    "no session id": ("\tfashion\t42\t嗯\t0", "bad_field"),
}


def _skip_release(root, bad_row, rewrites=({"messages": [2, 3], "can_rewrite": True, "rewrite": "鞋子坏了"},)):
  rows = [HEADER] + [bad_row if r is None else r for r in S1_ROWS] + S2_ROWS
  root = _write_release(root, rows=rows, discourse={**DISCOURSE, "session_id": "s2",
                                                    "edus": [{"message": 0, "text": "你好"}], "relations": []})
  _write_lines(_ann(root, "rewrites.jsonl"), [json.dumps({"session_id": "s1", **r}, ensure_ascii=False)
                                              for r in rewrites])
  _write_lines(_ann(root, "image_categories.jsonl"), [])
  return root


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_skipped_row_keeps_the_indices_of_the_messages_after_it(tmp_path, case):
  bad_row, reason = BAD_ROWS[case]
  r = release.read_release(_skip_release(tmp_path / "r", bad_row), on_error="skip")
  assert r.skipped[reason] == 1
  s1 = r.sessions["s1"]
  assert s1.indices == (0, 2, 3, 4, 5) and s1.message(2).text == "鞋子"
  (rewrite,) = helpers.build_examples(r, "rewrite", "train")
  assert rewrite["index"] == 2 and rewrite["query_texts"] == ["鞋子", "坏了"]
  assert rewrite["context_texts"] == ["在吗"]
  reply = next(e for e in helpers.build_examples(r, "response", "train") if e["session_id"] == "s1")
  assert reply["index"] == 5 and reply["response"] == "您好，请稍等"
  assert reply["context_texts"] == ["在吗", "鞋子", "坏了", "怎么办"]


def test_an_annotation_of_a_skipped_message_is_skipped_and_counted(tmp_path):
  root = _skip_release(tmp_path / "r", BAD_ROWS["bad is_agent"][0],
                       rewrites=[{"messages": [1, 2], "can_rewrite": True, "rewrite": "嗯鞋子"},
                                 {"messages": [2, 3], "can_rewrite": True, "rewrite": "鞋子坏了"}])
  r = release.read_release(root, on_error="skip")
  assert r.skipped == {"bad_field": 1, "skipped_reference": 1}
  assert [a.messages for a in r.rewrites] == [(2, 3)]
  with pytest.raises(DataError, match=r"train.tsv:3: is_agent"):
    release.read_release(root)


def test_a_row_without_a_session_between_sessions_makes_the_next_one_unnumberable(tmp_path):
  rows = [HEADER] + [r for r in S1_ROWS if r] + ["\tfashion\t42\t嗯\t0"] + S2_ROWS
  root = _write_release(tmp_path / "r", rows=rows, discourse={**DISCOURSE, "session_id": "s2",
                                                              "edus": [{"message": 0, "text": "你好"}],
                                                              "relations": []})
  _write_lines(_ann(root, "image_categories.jsonl"), [])
  _write_lines(_ann(root, "rewrites.jsonl"), [])
  r = release.read_release(root, on_error="skip")
  assert r.skipped == {"bad_field": 1, "skipped_reference": 1} and r.discourse == []
  assert r.sessions["s1"].indices == (0, 1, 2, 3, 4)  # the row after s1 is not s1's message 5


def test_an_annotation_of_a_skipped_session_names_it(tmp_path):
  rows = [HEADER, "s1\tfashion\t42\t在吗\t7"] + S2_ROWS
  root = _write_release(tmp_path / "r", rows=rows)
  r = release.read_release(root, on_error="skip")
  assert "s1" not in r.sessions and r.skipped["skipped_reference"] == 4  # one per annotation file
  assert r.skipped["empty_session"] == 1 and r.summaries == []


# ---------------------------------------------------------------------------
# Odd files: line endings, headers, annotations, images; each a located error or a counted skip
# ---------------------------------------------------------------------------

def _lone_cr(root):
  with open(_dialogues(root), "wb") as f:
    f.write("\r".join(ROWS).encode() + b"\r")


def _swapped_header(root):
  _write_lines(_dialogues(root), ["session_id\tshop_type\ttext\tsku\tis_agent"] + ROWS[1:])


def _symlink_outside(root):
  outside = os.path.join(os.path.dirname(root), "outside.jpg")
  with open(outside, "wb") as f:
    f.write(_jpeg())
  os.remove(_image(root))
  os.symlink(outside, _image(root))


def _image_bytes(data):
  def write(root):
    with open(_image(root), "wb") as f:
      f.write(data)
  return write


def _dialogue_rows(*rows, at=2):
  def write(root):
    _write_lines(_dialogues(root), ROWS[:at] + list(rows) + ROWS[at:])
  return write


def _annotation(name, *records):
  def write(root):
    _append_jsonl(_ann(root, name), *records)
  return write


def _replace_annotation(name, *records):
  def write(root):
    _write_lines(_ann(root, name), [])
    _append_jsonl(_ann(root, name), *records)
  return write


def _split_across_files(root):
  _write_lines(_dialogues(root, "test"), [HEADER, "s2\thome_appliances\t\t还在吗\t0"])


def _edus(*edus):
  return {**DISCOURSE, "edus": list(edus), "relations": []}


E0, E1, E2 = ({"message": 0, "text": "在吗"}, {"message": 1, "image": IMG}, {"message": 2, "text": "看到了"})
DIALOGUES, DISCOURSE_FILE = (lambda r: _dialogues(r)), (lambda r: _ann(r, "discourse.jsonl"))
SUMMARIES, REWRITES = (lambda r: _ann(r, "summaries.jsonl")), (lambda r: _ann(r, "rewrites.jsonl"))
CATEGORIES = lambda r: _ann(r, "image_categories.jsonl")  # noqa: E731
REWRITE = {"session_id": "s1", "messages": [0, 1], "can_rewrite": True, "rewrite": "鞋子坏了"}

CASES = {
    # name: (change to the hand-made release, (file of the error, line), reason, text in the message)
    "carriage return inside a field": (_dialogue_rows("s1\tfashion\t42\t在\r吗\t0"), (DIALOGUES, 3),
                                       "bad_line_ending", "carriage return"),
    "truncated last line": (_dialogue_rows("s2\thome_appliances\t\t谢", at=len(ROWS)), (DIALOGUES, 7),
                            "wrong_field_count", "expected 5"),
    "truncated inside a character": (_dialogue_rows("s2\thome_appliances\t\t谢".encode()[:-1], at=len(ROWS)),
                                     (DIALOGUES, 7), "non_utf8", "not valid UTF-8"),
    "unknown shop type": (_dialogue_rows("s1\tgrocery\t42\t嗯\t0"), (DIALOGUES, 3), "bad_field", "unknown shop"),
    "empty session id": (_dialogue_rows("\tfashion\t42\t嗯\t0"), (DIALOGUES, 3), "bad_field", "empty session_id"),
    "shop type changes in a session": (_dialogue_rows("s1\thome_appliances\t42\t嗯\t0"), (DIALOGUES, 3),
                                       "inconsistent_session", "changes shop type"),
    "session split across two files": (_split_across_files, (lambda r: _dialogues(r, "test"), 2),
                                       "session_not_contiguous", "appears again"),
    "image name with text after it": (_dialogue_rows(f"s1\tfashion\t42\t{IMG} 看看\t0"), (DIALOGUES, 3),
                                      "image_with_text", "has text after it"),
    "symlink out of the release": (_symlink_outside, (DIALOGUES, 3), "image_escape", "outside the release"),
    "JPEG with a garbage body": (_image_bytes(_garbage_body_jpeg()), (DIALOGUES, 3), "image_corrupt",
                                 "cannot be decoded"),
    "empty image file": (_image_bytes(b""), (DIALOGUES, 3), "image_corrupt", "corrupt"),
    "GIF named .jpg": (_image_bytes(_saved(np.zeros((4, 4), np.uint8), "GIF")), (DIALOGUES, 3), "image_corrupt",
                       "GIF file"),
    "PNG claiming 20000 x 20000": (_image_bytes(_png(20000, 20000)), (DIALOGUES, 3), "image_too_large",
                                   "too large"),
    "PNG of 10000 x 10000": (_image_bytes(_png(10000, 10000)), (DIALOGUES, 3), "image_too_large",
                             "10000 x 10000 pixels"),
    "EDUs out of message order": (_replace_annotation("discourse.jsonl", _edus(E0, E2, E1)), (DISCOURSE_FILE, 1),
                                  "bad_order", "message order"),
    "text EDUs out of text order": (_replace_annotation("discourse.jsonl", _edus(
        E0, E1, {"message": 2, "text": "了"}, {"message": 2, "text": "看到"})), (DISCOURSE_FILE, 1),
        "bad_order", "text order"),
    "image EDU repeated": (_replace_annotation("discourse.jsonl", _edus(E0, E1, E1)), (DISCOURSE_FILE, 1),
                           "bad_order", "repeats image"),
    "EDU text not in its message": (_replace_annotation("discourse.jsonl", _edus(E0, {"message": 2, "text": "坏"})),
                                    (DISCOURSE_FILE, 1), "unknown_reference", "not a span"),
    "two summaries of a session": (_annotation("summaries.jsonl", {"session_id": "s1", "summary": "又一个"}),
                                   (SUMMARIES, 2), "duplicate_annotation", "summaries.jsonl:1"),
    "two discourse annotations of a session": (_annotation("discourse.jsonl", DISCOURSE), (DISCOURSE_FILE, 2),
                                               "duplicate_annotation", "discourse.jsonl:1"),
    "two categories of an image": (_annotation("image_categories.jsonl", {
        "session_id": "s1", "message": 1, "image": IMG, "category": "photo_malfunction"}), (CATEGORIES, 2),
        "duplicate_annotation", "image_categories.jsonl:1"),
    "two rewrites of a query": (_annotation("rewrites.jsonl", {**REWRITE, "messages": [0]}), (REWRITES, 2),
                                "duplicate_annotation", "rewrites.jsonl:1"),
    "rewrite of messages not consecutive": (_replace_annotation("rewrites.jsonl", {**REWRITE, "messages": [0, 2]}),
                                            (REWRITES, 1), "bad_field", "not consecutive"),
    "rewrite of messages not increasing": (_replace_annotation("rewrites.jsonl", {**REWRITE, "messages": [1, 0]}),
                                           (REWRITES, 1), "bad_field", "increasing"),
    "rewrite of an agent message": (_replace_annotation("rewrites.jsonl", {**REWRITE, "messages": [1, 2]}),
                                    (REWRITES, 1), "unknown_reference", "the agent's"),
    "rewrite of messages not integers": (_replace_annotation("rewrites.jsonl", {**REWRITE, "messages": ["0", 1]}),
                                         (REWRITES, 1), "bad_field", "not all message indices"),
    "rewritable without a rewrite": (_replace_annotation("rewrites.jsonl", {**REWRITE, "rewrite": " "}),
                                     (REWRITES, 1), "bad_field", "non-empty exactly when"),
    "category of a text message": (_replace_annotation("image_categories.jsonl", {
        "session_id": "s1", "message": 0, "image": IMG, "category": "photo_malfunction"}), (CATEGORIES, 1),
        "unknown_reference", "is not image"),
    "empty summary": (_replace_annotation("summaries.jsonl", {"session_id": "s1", "summary": " "}), (SUMMARIES, 1),
                      "bad_field", "empty summary"),
    "annotation line not JSON": (_annotation("summaries.jsonl", '{"session_id": "s1", "summary": "x"'),
                                 (SUMMARIES, 2), "bad_json", "not valid JSON"),
    "annotation line a JSON list": (_annotation("summaries.jsonl", '["s1", "x"]'), (SUMMARIES, 2), "bad_json",
                                    "expected a JSON object"),
    "annotation field of the wrong type": (_replace_annotation("summaries.jsonl", {"session_id": 1, "summary": "x"}),
                                           (SUMMARIES, 1), "bad_field", "wrong type"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_an_error_naming_file_and_line(tmp_path, case):
  change, (file_of, line), reason, text = CASES[case]
  root = _write_release(tmp_path / "r")
  change(root)
  with pytest.raises(DataError) as info:
    release.read_release(root)
  assert (info.value.reason, info.value.path, info.value.line) == (reason, file_of(root), line)
  assert str(info.value).startswith(f"{file_of(root)}:{line}: ") and text in str(info.value), str(info.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_can_be_skipped_and_is_counted(tmp_path, case):
  change, _, reason, _ = CASES[case]
  root = _write_release(tmp_path / "r")
  change(root)
  r = release.read_release(root, on_error="skip")
  assert r.skipped[reason] >= 1
  assert "s2" in r.sessions or case == "session split across two files"


@pytest.mark.parametrize("change, reason, text", [
    (_swapped_header, "bad_header", "is not the expected 'session_id\\tshop_type\\tsku\\ttext\\tis_agent'"),
    (_lone_cr, "bad_line_ending", "lone-CR line endings")], ids=["columns swapped", "lone-CR line endings"])
def test_an_unreadable_file_is_refused_even_when_skipping(tmp_path, change, reason, text):
  root = _write_release(tmp_path / "r")
  change(root)
  for on_error in ("raise", "skip"):
    with pytest.raises(DataError) as info:
      release.read_release(root, on_error=on_error)
    assert (info.value.path, info.value.line, info.value.reason) == (_dialogues(root), 1, reason)
    assert str(info.value).startswith(f"{_dialogues(root)}:1: ") and text in str(info.value), str(info.value)


def test_a_headerless_file_and_crlf_and_a_bom_read_the_same(tmp_path):
  expected = release.read_release(_write_release(tmp_path / "plain")).sessions
  for name, data in (("headerless", "\n".join(ROWS[1:]).encode()), ("crlf", "\r\n".join(ROWS).encode() + b"\r\n"),
                     ("bom", b"\xef\xbb\xbf" + "\n".join(ROWS).encode())):
    root = _write_release(tmp_path / name)
    with open(_dialogues(root), "wb") as f:
      f.write(data)
    assert release.read_release(root).sessions == expected, name


# ---------------------------------------------------------------------------
# Images that are fine after all, and pixels
# ---------------------------------------------------------------------------

def test_a_jpeg_with_a_phone_trailer_after_its_end_marker_is_accepted(tmp_path):
  root = _write_release(tmp_path / "r", image=_jpeg() + b"\x00" * 100 + b"SEFH" + b"\x01" * 200)
  r = release.read_release(root)
  assert r.sessions["s1"].messages[1].image == IMG
  np.testing.assert_array_equal(pipeline.load_pixels(r.image_dir, IMG, 8), np.full((8, 8, 3), 128, np.uint8))


def test_a_link_to_an_image_inside_the_release_is_followed(tmp_path):
  root = _write_release(tmp_path / "r")
  os.rename(_image(root), _image(root, "original.jpg"))
  os.symlink("original.jpg", _image(root))
  assert release.read_release(root).sessions["s1"].messages[1].image == IMG


def test_a_16_bit_png_is_scaled_to_8_bits_not_saturated(tmp_path):
  grey = np.array([[0, 32768], [65535, 12850]], np.uint16)  # 12850 = 50 * 257
  root = _write_release(tmp_path / "r", image=_saved(grey))
  assert Image.open(_image(root)).mode == "I;16"
  r = release.read_release(root)
  pixels = np.asarray(release.load_image(_image(r.root)))
  np.testing.assert_array_equal(pixels[..., 0], [[0, 128], [255, 50]])
  assert (pixels == pixels[..., :1]).all()
  rgb16 = _png(1, 1, bit_depth=16, color_type=2, body=b"\x00" + struct.pack(">HHH", 0x8000, 0x1000, 0xFFFF))
  with open(_image(root), "wb") as f:
    f.write(rgb16)
  np.testing.assert_array_equal(np.asarray(release.load_image(_image(root))), [[[128, 16, 255]]])


def test_a_1_by_20000_png_is_cropped_before_it_is_resized(tmp_path, monkeypatch):
  tall = np.repeat((np.arange(20000) % 256).astype(np.uint8)[:, None, None], 3, axis=2)[:, :1]  # 20000 x 1
  root = _write_release(tmp_path / "r", image=_saved(np.ascontiguousarray(tall)))
  release.read_release(root)
  sizes = []
  resize = Image.Image.resize
  monkeypatch.setattr(Image.Image, "resize", lambda im, size, *a, **k: sizes.append(size) or resize(im, size, *a, **k))
  pixels = pipeline.load_pixels(os.path.join(root, "images"), IMG, 224)
  assert pixels.shape == (224, 224, 3)
  assert sizes and max(w * h for w, h in sizes) <= 224 * 224  # the whole-image resize was 256 x 5,120,000


def test_crop_then_resize_gives_the_pixels_of_resize_then_crop():
  rs = np.random.RandomState(0)
  for h, w in ((64, 64), (96, 128), (300, 200), (50, 500)):
    image = Image.fromarray((rs.rand(h, w, 3) * 255).astype(np.uint8))
    for size in (32, 112):
      scale = size * 256 / 224 / min(image.size)
      sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
      left, top = (sw - size) // 2, (sh - size) // 2
      whole = np.asarray(image.resize((sw, sh), Image.BILINEAR).crop((left, top, left + size, top + size)))
      diff = np.abs(whole.astype(int) - images.resize_center_crop(image, size).astype(int))
      assert diff.max() <= 1 and diff.mean() < 0.5, (h, w, size)  # the same sampling, rounded differently


def test_a_bad_image_found_late_names_the_image(tmp_path):
  root = _write_release(tmp_path / "r", image=_garbage_body_jpeg())
  with pytest.raises(DataError, match=f"{IMG}.*cannot be decoded") as info:
    pipeline.load_pixels(os.path.join(root, "images"), IMG, 32)
  assert info.value.reason == "image_corrupt"


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------

def test_an_empty_split_is_named_before_tfds_sees_it(tmp_path):
  from jddc.data import tfds_builder
  root = _write_release(tmp_path / "r")
  with pytest.raises(DataError, match=r"split 'valid' of the release has no response examples \(0 session") as info:
    tfds_builder.build(root, "response", data_dir=str(tmp_path / "tfds"))
  assert info.value.path == root and info.value.reason == "empty_split"
  for split in ("valid", "test"):
    _write_lines(_dialogues(root, split), [HEADER, f"{split}1\tfashion\t\t在吗\t0", f"{split}1\tfashion\t\t在\t1"])
  r = release.read_release(root)
  examples.require_every_split(r, "response")
  _write_lines(_dialogues(root, "valid"), [])  # an empty file: an empty split, too
  with pytest.raises(DataError, match=r"split 'valid' of the release has no response examples \(0 session"):
    examples.require_every_split(release.read_release(root), "response")
  with pytest.raises(DataError, match=r"split 'valid' .* no summary examples \(1 session\(s\) in it, none with a "
                     r"summary annotation\)"):
    examples.require_every_split(r, "summary")


def test_feature_extraction_reads_the_images_the_shards_kept(tmp_path):
  from jddc import features
  rows = ROWS[:2] + [f"s1\tfashion\t42\t{'e' * 32}.jpg\t0"] + ROWS[2:]
  root = _write_release(tmp_path / "r", rows=rows)
  with open(_image(root, f"{'e' * 32}.jpg"), "wb") as f:
    f.write(_garbage_body_jpeg())
  assert features.release_image_names(root, on_error="skip") == [IMG]  # not the corrupt one, which fails later
  with pytest.raises(DataError, match=r"train.tsv:3: .*cannot be decoded"):
    features.release_image_names(root)
