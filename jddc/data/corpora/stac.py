"""STAC (Asher et al. 2016), multi-party chat of The Settlers of Catan -> discourse examples.

Layout: the JSON-lines form of Shi & Huang (2019) (xKHUNx/Seq2Seq-DDP `data/stac/`), one
dialogue a line:

    {"id": ..., "edus": [{"speaker": ..., "text": ..., "speechturn": ...}, ...],
     "relations": [{"type": ..., "x": parent EDU, "y": child EDU}, ...]}

Files: `train.json` (train), `dev.json` or `valid.json` (valid), `test.json` (test). Without
`test.json` (as in `../shared/data/stac/`) the test split is the valid one again, since TFDS
cannot hold an empty split: it is not held out, so configs/discourse_stac.py reports on
valid. Relations: the 16 SDRT types of `RELATIONS`, in that id order.

Speakers are slots in order of first appearance (0 the first speaker, 1 the second, ...;
STAC has up to 6 in a game); the turn index grows whenever the speaker changes, as the
original's `load_data` computes it. Links are kept exactly as annotated, backward and
repeated ones included: the parser never predicts the former and the metric keeps a
repeated pair's first relation (`jddc.metrics.discourse_f1`), as the original does.
"""

from __future__ import annotations

import json
from typing import Iterator

from jddc.data.corpora import common
from jddc.data.errors import DataError, ErrorPolicy

RELATIONS = ("Acknowledgement", "Alternation", "Background", "Clarification_question", "Comment", "Conditional",
             "Continuation", "Contrast", "Correction", "Elaboration", "Explanation", "Narration", "Parallel",
             "Q_Elab", "Question_answer_pair", "Result")
RELATION_INDEX = {name: i for i, name in enumerate(RELATIONS)}
SPLIT_FILES = {"train": ("train.json",), "valid": ("dev.json", "valid.json"), "test": ("test.json",)}


def files(root: str) -> list[str]:
  common.require_dir(root)
  found = [p for split in common.SPLITS if (p := common.find_file(root, SPLIT_FILES[split]))]
  if not found:
    raise DataError(root, None, "no STAC files: expected train.json, dev.json or test.json", "missing_file")
  return found


def speaker_slots(names: list[str]) -> list[int]:
  """Speaker names -> slots in order of first appearance."""
  slots: dict[str, int] = {}
  return [slots.setdefault(name, len(slots)) for name in names]


def turns(speakers: list[int]) -> list[int]:
  """Turn index per EDU: +1 whenever the speaker changes."""
  out, turn = [], -1
  for k, s in enumerate(speakers):
    turn += k == 0 or s != speakers[k - 1]
    out.append(turn)
  return out


def parse_dialogue(record: object, path: str, line: int) -> dict:
  """One JSON line -> a discourse example (raises DataError naming path:line)."""
  if not isinstance(record, dict):
    raise DataError(path, line, "expected a JSON object", "bad_json")
  edus, relations = record.get("edus"), record.get("relations")
  if not isinstance(record.get("id"), str) or not isinstance(edus, list) or not isinstance(relations, list):
    raise DataError(path, line, "expected fields id (string), edus (list) and relations (list)", "bad_field")
  if not edus:
    raise DataError(path, line, f"dialogue {record['id']!r} has no EDUs", "bad_field")
  texts, names, positions = [], [], []
  for k, edu in enumerate(edus):
    if not (isinstance(edu, dict) and isinstance(edu.get("text"), str) and isinstance(edu.get("speaker"), str)):
      raise DataError(path, line, f"EDU {k} lacks a string text or speaker", "bad_field")
    texts.append(edu["text"])
    names.append(edu["speaker"])
    positions.append(edu["speechturn"] if isinstance(edu.get("speechturn"), int) else k)
  parents, children, labels = [], [], []
  for k, rel in enumerate(relations):
    if not isinstance(rel, dict) or not all(isinstance(rel.get(f), int) for f in ("x", "y")):
      raise DataError(path, line, f"relation {k} lacks integer x and y", "bad_field")
    if rel.get("type") not in RELATION_INDEX:
      raise DataError(path, line, f"relation {k}: unknown type {rel.get('type')!r}", "unknown_relation")
    if not (0 <= rel["x"] < len(edus) and 0 <= rel["y"] < len(edus)):
      raise DataError(path, line, f"relation {k} ({rel['x']} -> {rel['y']}) leaves the {len(edus)} EDUs",
                      "bad_reference")
    parents.append(rel["x"])
    children.append(rel["y"])
    labels.append(RELATION_INDEX[rel["type"]])
  speakers = speaker_slots(names)
  return {"session_id": record["id"], "shop_type": common.NO_SHOP_TYPE, "edu_texts": texts,
          "edu_images": [""] * len(texts), "edu_speakers": speakers, "edu_turns": turns(speakers),
          "edu_messages": positions, "link_parents": parents, "link_children": children, "link_relations": labels}


def read_file(path: str, policy: ErrorPolicy) -> Iterator[dict]:
  """The discourse examples of one JSON-lines file, in file order."""
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.readlines()
  except UnicodeDecodeError as e:
    raise DataError(path, None, f"not valid UTF-8 ({e.reason} at byte {e.start})", "non_utf8") from e
  for number, text in enumerate(lines, start=1):
    if not text.strip():
      continue
    try:
      try:
        record = json.loads(text)
      except json.JSONDecodeError as e:
        raise DataError(path, number, f"not valid JSON: {e.msg}", "bad_json") from e
      yield parse_dialogue(record, path, number)
    except DataError as e:
      policy.handle(e)


def examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]:
  READER.check_kind(kind)
  common.check_split(split)
  files(root)  # raises the missing-file error
  if split == common.ALL:
    paths = [p for s in common.SPLITS if (p := common.find_file(root, SPLIT_FILES[s]))]
  else:
    path = common.find_file(root, SPLIT_FILES[split])
    if split == "test" and path is None:
      path = common.find_file(root, SPLIT_FILES["valid"])  # no test file: the valid split again
    paths = [path] if path else []
  for path in paths:
    yield from read_file(path, policy)


READER = common.Reader(name="stac", kinds=("discourse",), files=files, examples=examples,
                       relation_names=RELATIONS,
                       description="STAC multi-party chat with SDRT discourse structure (16 relations)")
