"""Training metrics to TensorBoard (tensorboardX: no TensorFlow) and to `metrics.jsonl`.

TensorBoard also gets the run's config as hparams (compared across runs in its HPARAMS tab,
against the validation metric) and a few decoded validation examples as text at each
evaluation (TEXT tab); `tensorboard --logdir runs` with the `tensorboard` extra installed.

A resumed run replays the steps after its checkpoint; the writer therefore starts by
dropping what the killed run logged after that step (`metrics.jsonl` is rewritten
atomically without those lines, TensorBoard is told to purge them), so every step is
logged once.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

from tensorboardX import SummaryWriter

from jddc import fsutil, run_identity


def _records_up_to(path: str, step: int) -> list[str]:
  """The lines of `path` whose step is at most `step`; a torn last line (a kill mid-write) is dropped."""
  if not os.path.isfile(path):
    return []
  with open(path, encoding="utf-8") as f:
    lines = f.read().splitlines()
  kept = []
  for number, line in enumerate(lines, start=1):
    try:
      record = json.loads(line)
    except json.JSONDecodeError as e:
      if number == len(lines):
        break
      raise ValueError(f"{path}:{number}: not a JSON line ({e.msg})") from e
    if record["step"] <= step:
      kept.append(line)
  return kept


class MetricWriter:
  """Writes scalars per step; a no-op on processes other than 0 (`enabled=False`).

  Args:
    workdir: the run folder (`metrics.jsonl`, `tensorboard/`).
    enabled: False on processes other than 0.
    resumed_step: the step the run starts after (0 for a new run): records of later steps,
      written by an interrupted earlier run, are dropped.
  """

  def __init__(self, workdir: str, enabled: bool = True, resumed_step: int = 0):
    self.enabled = enabled
    if enabled:
      path = os.path.join(workdir, "metrics.jsonl")
      fsutil.atomic_write_text(path, "".join(line + "\n" for line in _records_up_to(path, resumed_step)))
      self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=resumed_step + 1)
      self.jsonl = open(path, "a", encoding="utf-8")

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self.enabled:
      return
    for name, value in scalars.items():
      self.tb.add_scalar(name, value, step)
    self.jsonl.write(json.dumps({"step": step, **{k: float(v) for k, v in scalars.items()}}) + "\n")
    self.jsonl.flush()

  def hparams(self, config_values: dict[str, Any], metric_tags: Sequence[str]) -> None:
    """The run's config (`flat_config`) as TensorBoard hparams, beside the metrics `metric_tags`."""
    if not self.enabled:
      return
    from tensorboardX.summary import hparams
    for summary in hparams(config_values, {tag: 0.0 for tag in metric_tags}):
      self.tb.file_writer.add_summary(summary)

  def examples(self, step: int, tag: str, rows: Sequence[dict], width: int = 300) -> None:
    """Prediction rows (as `predictions_<split>.jsonl` holds them) as one markdown text entry:
    a table of field and value per example, values cut at `width` characters."""
    if not self.enabled or not rows:
      return
    blocks = []
    for k, row in enumerate(rows):
      lines = [f"**example {k}**", "", "| field | value |", "|---|---|"]
      for key, value in row.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = (text[:width] + "…") if len(text) > width else text
        lines.append(f"| {key} | {text.replace('|', '&#124;')} |")
      blocks.append("\n".join(lines))
    self.tb.add_text(tag, "\n\n".join(blocks), step)

  def close(self) -> None:
    if self.enabled:
      self.tb.close()
      self.jsonl.close()


def flat_config(config: dict) -> dict[str, Any]:
  """A nested config dict -> {"section.key": value} (`run_identity.flatten`) with values TensorBoard
  hparams accept (bool, int, float, str; lists and None as their JSON text)."""
  return {key: value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
          for key, value in run_identity.flatten(config).items()}
