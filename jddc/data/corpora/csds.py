"""CSDS (Lin et al. 2021), real JD customer-service dialogues with summaries -> summary examples.

Layout: the TODS topic layout (xiaolinAndy/TODS `data/CSDS/topic/`), one JSON list per split:

    <root>/train.json, val.json, test.json   [{Dialogue, Topic, QASumm, AllTopic}, ...]

A record is one topic segment of a dialogue: `Dialogue` is the whole dialogue as
`用户:…[SEP][CLS]客服:…[SEP][CLS]…`, `QASumm` the segment's question-answer summary. Records
of one dialogue (same `Dialogue` text) are grouped back together, in first-appearance order;
the dialogue's overall summary is its records' `QASumm`s joined in file order, the form of
CSDS's overall summaries ("用户询问…。客服回答…。").

Speakers: `用户` is the customer; every other role (`客服`, and the `商家`, `物流师傅`, `师傅`
that also appear) is the service side, with its role kept as a "role:" prefix unless it is
`客服`.

Splits: with `train.json` present, each split is its own file (`val.json` or `valid.json` is
"valid"; a missing file is an empty split). With only `val.json` (what `../shared/data/csds/`
holds), every split is carved from it by a hash of the dialogue text
(`common.hashed_split`: 80 / 10 / 10).
"""

from __future__ import annotations

import json
import os
from typing import Iterator

from jddc.data.corpora import common
from jddc.data.errors import DataError, ErrorPolicy

SPLIT_FILES = {"train": ("train.json",), "valid": ("val.json", "valid.json", "dev.json"), "test": ("test.json",)}
CUSTOMER_ROLE, AGENT_ROLE = "用户", "客服"
TURN_SEPARATOR = "[SEP][CLS]"
FIELDS = ("Dialogue", "QASumm")


def files(root: str) -> list[str]:
  common.require_dir(root)
  found = [p for split in common.SPLITS if (p := common.find_file(root, SPLIT_FILES[split]))]
  if not found:
    raise DataError(root, None, "no CSDS files: expected train.json, val.json or test.json", "missing_file")
  return found


def iter_json_list(path: str, policy: ErrorPolicy) -> Iterator[tuple[int, object]]:
  """Yields (1-based line where it starts, value) for each element of a JSON list file.

  Invalid JSON inside the list is reported through `policy`; reading stops there.
  """
  try:
    with open(path, encoding="utf-8") as f:
      text = f.read()
  except UnicodeDecodeError as e:
    raise DataError(path, None, f"not valid UTF-8 ({e.reason} at byte {e.start})", "non_utf8") from e
  decoder = json.JSONDecoder()
  pos = len(text) - len(text.lstrip())
  if not text.startswith("[", pos):
    raise DataError(path, text.count("\n", 0, pos) + 1, "expected a JSON list", "bad_json")
  pos += 1
  line, counted = 1, 0
  while True:
    while pos < len(text) and text[pos] in " \t\r\n,":
      pos += 1
    line, counted = line + text.count("\n", counted, pos), pos
    if pos >= len(text):
      raise DataError(path, line, "unterminated JSON list", "bad_json")
    if text[pos] == "]":
      return
    try:
      value, pos = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as e:  # the rest of the file cannot be resynchronised
      policy.handle(DataError(path, e.lineno, f"not valid JSON: {e.msg} (the rest of the file is unread)",
                              "bad_json"))
      return
    yield line, value


def parse_dialogue(text: str, path: str, line: int) -> tuple[list[str], list[int]]:
  """`用户:…[SEP][CLS]客服:…` -> (message texts, speakers 0 customer / 1 service side)."""
  texts, speakers = [], []
  for k, turn in enumerate(text.split(TURN_SEPARATOR)):
    turn = turn.replace("[SEP]", "").replace("[CLS]", "").strip()
    role, colon, message = turn.partition(":")
    role, message = role.strip(), message.strip()
    if not colon or not role:
      raise DataError(path, line, f"turn {k} {turn[:30]!r} lacks a 'role:' prefix", "bad_field")
    if not message:
      raise DataError(path, line, f"turn {k} ({role}) is empty", "empty_message")
    texts.append(message if role in (CUSTOMER_ROLE, AGENT_ROLE) else f"{role}:{message}")
    speakers.append(common.CUSTOMER if role == CUSTOMER_ROLE else common.AGENT)
  return texts, speakers


def _dialogues(path: str, policy: ErrorPolicy) -> Iterator[dict]:
  """Each dialogue of a file once: {text, line, messages, speakers, summaries}."""
  grouped: dict[str, dict] = {}
  for line, record in iter_json_list(path, policy):
    try:
      if not isinstance(record, dict):
        raise DataError(path, line, "expected a JSON object", "bad_json")
      for field in FIELDS:
        if not isinstance(record.get(field), str):
          raise DataError(path, line, f"missing or non-string field {field!r}", "bad_field")
      summary = record["QASumm"].strip()
      if not summary:
        raise DataError(path, line, "empty QASumm", "bad_field")
      text = record["Dialogue"]
      if text not in grouped:
        messages, speakers = parse_dialogue(text, path, line)
        grouped[text] = {"line": line, "messages": messages, "speakers": speakers, "summaries": []}
      grouped[text]["summaries"].append(summary)
    except DataError as e:
      policy.handle(e)
  yield from grouped.values()


def _split_files(root: str) -> dict[str, str]:
  return {split: p for split in common.SPLITS if (p := common.find_file(root, SPLIT_FILES[split]))}


def examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]:
  """Summary examples: the whole dialogue and its overall summary."""
  READER.check_kind(kind)
  common.check_split(split)
  by_split = _split_files(root)
  if not by_split:
    files(root)  # raises the missing-file error
  carve = "train" not in by_split
  for file_split, path in by_split.items():
    if not carve and not common.in_split(file_split, split):
      continue
    stem = os.path.splitext(os.path.basename(path))[0]
    for k, d in enumerate(_dialogues(path, policy)):
      item_split = common.hashed_split("\n".join(d["messages"])) if carve else file_split
      if common.in_split(item_split, split):
        yield {"session_id": f"csds-{stem}-{k:05d}", "shop_type": common.NO_SHOP_TYPE,
               **common.dialogue(d["messages"], d["speakers"]), "summary": "".join(d["summaries"])}


READER = common.Reader(name="csds", kinds=("summary",), files=files, examples=examples,
                       description="CSDS customer-service dialogues with overall summaries")
