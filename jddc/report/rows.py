"""Prediction rows of every task as one shape, with per-example metrics, aligned across runs.

Each task writes its own fields (`jddc/tasks/*.py`, through `jddc.evaluation.write_predictions`);
`example_view` maps a row to an `Example`: the key it is aligned by, the dialogue shown, the
reference and prediction, and its metrics (the project's own metric functions, `jddc.metrics`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional, Sequence

from jddc import metrics as metrics_lib

IMAGE_MESSAGE = re.compile(r"^<image (.+)>$")  # how prediction files write an image message

#: task -> how its rows are shown: "dialogue" (response, rewrite, retrieval), "summary",
#: "discourse" or "label" (classifiers)
KINDS = {"response": "dialogue", "rewrite_gen": "dialogue", "retrieval": "dialogue", "summary_extractive": "summary",
         "summary_pgn": "summary", "summary_bertsum": "summary", "discourse": "discourse", "rewrite_cls": "label",
         "image_category": "label"}

#: task -> the per-example metric rows are sorted by (the first of its metrics)
PRIMARY = {"response": "bleu", "rewrite_gen": "bleu", "retrieval": "bleu", "summary_extractive": "rougeL",
           "summary_pgn": "rougeL", "summary_bertsum": "rougeL", "discourse": "link_f1", "rewrite_cls": "correct",
           "image_category": "correct"}


@dataclasses.dataclass
class Message:
  """One dialogue message or EDU: text, or an image file name (`image` set, `text` "")."""
  text: str
  speaker: Optional[int]
  image: Optional[str] = None


@dataclasses.dataclass
class Example:
  """One row of one run.

  Attributes:
    key: what rows of several runs are aligned by (session id and index, or position).
    messages: the dialogue (context + query, the summarized dialogue, or the EDUs).
    reference: the gold text, label or links ([(parent, child, relation)] for discourse).
    prediction: the run's text, label or links.
    metrics: name -> percent (the first is the task's `PRIMARY`).
  """
  key: tuple
  messages: list[Message]
  reference: Any
  prediction: Any
  metrics: dict[str, float]

  @property
  def images(self) -> list[str]:
    return [m.image for m in self.messages if m.image]


def _messages(texts: Sequence[str], speakers: Sequence[int]) -> list[Message]:
  out = []
  for k, text in enumerate(texts):
    speaker = int(speakers[k]) if k < len(speakers) else None
    match = IMAGE_MESSAGE.match(text)
    out.append(Message("", speaker, match.group(1)) if match else Message(text, speaker))
  return out


def _text_metrics(hyp: str, ref: str, task: str) -> dict[str, float]:
  if KINDS[task] == "summary":
    scores = metrics_lib.rouge([hyp], [ref])
    return {"rougeL": scores["rougeL"], "rouge1": scores["rouge1"]}
  out = {"bleu": metrics_lib.sentence_bleu(hyp, ref), "rougeL": metrics_lib.rouge([hyp], [ref])["rougeL"]}
  if task == "rewrite_gen":
    out["exact_match"] = metrics_lib.exact_match([hyp], [ref])
  return out


def _require(row: dict, keys: Sequence[str], where: str) -> None:
  missing = [k for k in keys if k not in row]
  if missing:
    raise ValueError(f"{where}: a prediction row without {missing} (has {sorted(row)})")


def example_view(task: str, row: dict, position: int, where: str) -> Example:
  """Row `position` (from 0) of a `task` run's predictions file as an `Example`; `where` names it in errors."""
  where = f"{where}:{position + 1}"
  kind = KINDS.get(task)
  if kind is None:
    raise ValueError(f"{where}: no report view for task {task!r}; known: {sorted(KINDS)}")
  if kind == "discourse":
    _require(row, ("session_id", "edus", "gold", "prediction"), where)
    gold = [tuple(link) for link in row["gold"]]
    pred = [tuple(link) for link in row["prediction"]]
    scores = metrics_lib.discourse_f1([[(p, c, r) for p, c, r in gold]], [[(p, r) for p, _, r in pred]])
    return Example((row["session_id"],), _messages(row["edus"], row.get("speakers", [])), gold, pred,
                   {"link_f1": scores["link_f1"], "link_rel_f1": scores["link_rel_f1"]})
  if kind == "label":
    _require(row, ("label", "prediction"), where)
    key = (row["session_id"], row.get("index", 0)) if "session_id" in row else (position,)
    return Example(key, [], row["label"], row["prediction"],
                   {"correct": 100.0 * float(row["label"] == row["prediction"])})
  _require(row, ("reference", "prediction"), where)
  if kind == "summary":
    _require(row, ("session_id", "dialogue"), where)
    messages = _messages(row["dialogue"], row.get("speakers", []))
    key = (row["session_id"],)
  else:
    _require(row, ("session_id", "index"), where)
    messages = _messages(row.get("context", []), row.get("speakers", []))
    messages += _messages(row.get("query", []), row.get("query_speakers", []))
    key = (row["session_id"], row["index"])
  return Example(key, messages, row["reference"], row["prediction"],
                 _text_metrics(str(row["prediction"]), str(row["reference"]), task))


def align(task: str, runs_rows: Sequence[Sequence[dict]], wheres: Sequence[str]) -> list[list[Optional[Example]]]:
  """Rows of several runs of one task side by side: [example][run] (None where a run lacks the key).

  Order: the first run's rows, then keys only later runs have. A key repeated within one run is
  refused (the file is not one task's predictions of one split).
  """
  by_key: dict[tuple, list[Optional[Example]]] = {}
  for r, (rows, where) in enumerate(zip(runs_rows, wheres)):
    for position, row in enumerate(rows):
      example = example_view(task, row, position, where)
      slots = by_key.setdefault(example.key, [None] * len(runs_rows))
      if slots[r] is not None:
        raise ValueError(f"{where}:{position + 1}: example {example.key} appears twice")
      slots[r] = example
  return list(by_key.values())


def difference(task: str, slots: Sequence[Optional[Example]]) -> float:
  """|primary metric of run 0 - run 1| of one aligned example; -1 where either run lacks it."""
  if len(slots) < 2 or slots[0] is None or slots[1] is None:
    return -1.0
  name = PRIMARY[task]
  return abs(slots[0].metrics[name] - slots[1].metrics[name])


def order(task: str, aligned: list[list[Optional[Example]]]) -> list[list[Optional[Example]]]:
  """With two or more runs: the examples where runs 0 and 1 differ most first (stable); else as given."""
  if aligned and len(aligned[0]) >= 2:
    return sorted(aligned, key=lambda slots: -difference(task, slots))
  return list(aligned)
