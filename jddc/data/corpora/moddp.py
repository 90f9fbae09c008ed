"""MODDP (Suda-iaiNLP/MODDP), Chinese two-party dialogues with discourse structure -> discourse examples.

Layout (`Suda-iaiNLP/MODDP dataset/`): tab-separated rows, one EDU a row, no header, a
dialogue's rows consecutive:

    dlg  idx  clip  speaker  text  turn  head,idx  relation

`turn` is the EDU's 1-based position in its dialogue, `head,idx` its parent's position (0:
the root) and its own, `relation` one of the 16 names of `relation_database.json` or
`<root>` (exactly when the head is 0). The relation ids are those of the folder's
`relation_database.json`, which must be the 16 of `RELATIONS` in that order (`<root>` 16).

Files: `train.csv` (train and, unless the folder has `valid.csv` / `dev.csv`, valid: 10% of
its dialogues chosen by a hash of the dialogue id, `common.hashed_split`), `eval.csv` or
`test.csv` (test). Speakers are slots in order of first appearance; the turn index grows
whenever the speaker changes. Positions are 0-based in the examples; a root EDU has no link.
"""

from __future__ import annotations

import json
import os
from typing import Iterator

from jddc.data.corpora import common
from jddc.data.errors import DataError, ErrorPolicy
from jddc.data.corpora.stac import speaker_slots, turns

RELATIONS = ("Commentary", "Parallel", "Result", "Contrast", "Elaboration", "Alternation", "Conditional",
             "Q-elab / Follow-up question", "Answer / Question answer pair", "Continuation", "Acknowledgement",
             "Explanation", "Background", "Clarification Q", "Narration", "Correction")
ROOT = "<root>"
DATABASE = "relation_database.json"
SPLIT_FILES = {"train": ("train.csv",), "valid": ("valid.csv", "dev.csv"), "test": ("eval.csv", "test.csv")}
NUM_FIELDS = 8
VALID_FRACTION = 0.1


def files(root: str) -> list[str]:
  common.require_dir(root)
  database = os.path.join(root, DATABASE)
  if not os.path.isfile(database):
    raise DataError(database, None, "MODDP relation database not found", "missing_file")
  found = [p for split in common.SPLITS if (p := common.find_file(root, SPLIT_FILES[split]))]
  if not found:
    raise DataError(root, None, "no MODDP files: expected train.csv or eval.csv", "missing_file")
  return [database] + found


def relation_ids(root: str) -> dict[str, int]:
  """The folder's relation database, checked against `RELATIONS`; name -> id, `<root>` included."""
  path = os.path.join(root, DATABASE)
  try:
    with open(path, encoding="utf-8") as f:
      table = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise DataError(path, getattr(e, "lineno", None), f"not valid JSON: {e}", "bad_json") from e
  expected = {**{name: i for i, name in enumerate(RELATIONS)}, ROOT: len(RELATIONS)}
  if table != expected:
    raise DataError(path, None, f"relation database differs from the 16 MODDP relations {expected}", "bad_field")
  return table


def _int(value: str, path: str, line: int, field: str) -> int:
  try:
    return int(value)
  except ValueError:
    raise DataError(path, line, f"field {field!r} is not an integer: {value!r}", "bad_field") from None


def read_file(path: str, relations: dict[str, int], policy: ErrorPolicy) -> Iterator[tuple[int, dict]]:
  """(first line, discourse example) of each dialogue of one file, in file order."""
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().split("\n")
  except UnicodeDecodeError as e:
    raise DataError(path, None, f"not valid UTF-8 ({e.reason} at byte {e.start})", "non_utf8") from e
  groups: list[tuple[str, list[tuple[int, list[str]]]]] = []
  seen: set[str] = set()
  for number, text in enumerate(lines, start=1):
    if not text.strip():
      continue
    fields = text.rstrip("\r").split("\t")
    if len(fields) != NUM_FIELDS:
      policy.handle(DataError(path, number, f"expected {NUM_FIELDS} tab-separated fields, got {len(fields)}",
                              "bad_field"))
      continue
    if not groups or groups[-1][0] != fields[0]:
      if fields[0] in seen:
        policy.handle(DataError(path, number, f"dialogue {fields[0]!r} resumes after other dialogues", "bad_field"))
        continue
      seen.add(fields[0])
      groups.append((fields[0], []))
    groups[-1][1].append((number, fields))
  for dialogue_id, rows in groups:
    try:
      yield rows[0][0], parse_dialogue(dialogue_id, rows, relations, path)
    except DataError as e:
      policy.handle(e)


def parse_dialogue(dialogue_id: str, rows: list[tuple[int, list[str]]], relations: dict[str, int],
                   path: str) -> dict:
  """One dialogue's rows -> a discourse example (raises DataError naming path:line)."""
  texts, names, parents, children, labels = [], [], [], [], []
  for position, (line, fields) in enumerate(rows, start=1):
    _, _, _, speaker, text, turn, head_idx, relation = fields
    if _int(turn, path, line, "turn") != position:
      raise DataError(path, line, f"EDU position {turn} where {position} was expected", "bad_field")
    head, _, own = head_idx.partition(",")
    head, own = _int(head, path, line, "head"), _int(own, path, line, "idx")
    if own != position:
      raise DataError(path, line, f"'head,idx' names EDU {own}, not this EDU ({position})", "bad_field")
    if not 0 <= head <= len(rows):
      raise DataError(path, line, f"head {head} outside the dialogue's {len(rows)} EDUs", "bad_reference")
    if relation not in relations:
      raise DataError(path, line, f"unknown relation {relation!r}", "unknown_relation")
    if (head == 0) != (relation == ROOT):
      raise DataError(path, line, f"head {head} with relation {relation!r}: <root> goes with head 0 only",
                      "bad_field")
    texts.append(text)
    names.append(speaker)
    if head:
      parents.append(head - 1)
      children.append(position - 1)
      labels.append(relations[relation])
  speakers = speaker_slots(names)
  return {"session_id": dialogue_id, "shop_type": common.NO_SHOP_TYPE, "edu_texts": texts,
          "edu_images": [""] * len(texts), "edu_speakers": speakers, "edu_turns": turns(speakers),
          "edu_messages": list(range(len(texts))), "link_parents": parents, "link_children": children,
          "link_relations": labels}


def examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]:
  READER.check_kind(kind)
  common.check_split(split)
  files(root)  # raises the missing-file error
  relations = relation_ids(root)
  carve_valid = common.find_file(root, SPLIT_FILES["valid"]) is None
  for file_split in common.SPLITS:
    path = common.find_file(root, SPLIT_FILES[file_split])
    if not path:
      continue
    for _, example in read_file(path, relations, policy):
      item_split = file_split
      if carve_valid and file_split == "train":
        item_split = common.hashed_split(example["session_id"], VALID_FRACTION, 0.0)
      if common.in_split(item_split, split):
        yield example


READER = common.Reader(name="moddp", kinds=("discourse",), files=files, examples=examples,
                       relation_names=RELATIONS,
                       description="MODDP Chinese two-party dialogues with discourse structure (16 relations)")
