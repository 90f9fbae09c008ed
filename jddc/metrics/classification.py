"""Classification: accuracy, F1 of the positive class, macro F1."""

from __future__ import annotations

from typing import Hashable, Sequence


def _check_pairs(preds: Sequence, labels: Sequence) -> None:
  if len(preds) != len(labels):
    raise ValueError(f"{len(preds)} predictions but {len(labels)} labels")


def accuracy(preds: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
  """Share of predictions equal to their label, in percent (0 for no examples)."""
  _check_pairs(preds, labels)
  return 100.0 * sum(p == y for p, y in zip(preds, labels)) / len(labels) if labels else 0.0


def _class_f1(preds: Sequence[Hashable], labels: Sequence[Hashable], positive: Hashable) -> float:
  tp = sum(p == positive and y == positive for p, y in zip(preds, labels))
  n_pred = sum(p == positive for p in preds)
  n_gold = sum(y == positive for y in labels)
  return 2.0 * tp / (n_pred + n_gold) if tp else 0.0


def f1_binary(preds: Sequence[Hashable], labels: Sequence[Hashable], positive: Hashable = 1) -> float:
  """F1 of the positive class, in percent; 0 when nothing is both predicted and gold positive."""
  _check_pairs(preds, labels)
  return 100.0 * _class_f1(preds, labels, positive)


def macro_f1(preds: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
  """Unweighted mean of per-class F1 over the classes seen in labels or predictions, in percent."""
  _check_pairs(preds, labels)
  classes = set(labels) | set(preds)
  if not classes:
    return 0.0
  return 100.0 * sum(_class_f1(preds, labels, c) for c in classes) / len(classes)
