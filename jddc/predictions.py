"""`predictions_<split>.jsonl`: one JSON object per example, written atomically.

A reader finds the complete file of the last finished evaluation or none: rows go to a
temporary file beside it, renamed when the last row is written (`fsutil.atomic_file`).
"""

from __future__ import annotations

import json
import os
from typing import Iterable

from jddc import faults, fsutil


def write(path: str, rows: Iterable[dict]) -> None:
  """Writes `rows` as JSON lines (UTF-8, not ASCII-escaped) to `path`, atomically."""
  with fsutil.atomic_file(path, "w", encoding="utf-8") as f:
    for i, row in enumerate(rows):
      f.write(json.dumps(row, ensure_ascii=False) + "\n")
      if i == 0:
        f.flush()
        faults.point("eval.during_final")


def path(out_dir: str, split: str) -> str:
  """Where an evaluation of `split` writes its predictions: `<out_dir>/predictions_<split>.jsonl`."""
  return os.path.join(out_dir, f"predictions_{split}.jsonl")
