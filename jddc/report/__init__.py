"""Results a person can look at: `python -m jddc.report RUN [RUN ...] --out=report.html`.

One static HTML page (no server; inline CSS/JS, images embedded as thumbnails, so the page can
be moved): one row per example with its dialogue (images inline), reference and each run's
prediction with per-example metrics; two or more runs of one task and split side by side,
sorted by the largest difference of the task's main per-example metric between the first two;
filters by image presence and image category (also set by the URL hash, `#has_image=1`,
`#category=NAME`); discourse links drawn as SVG arcs; summaries beside their dialogues; and
each run's curves (`metrics.jsonl`: train/loss and every valid/* metric) as SVG polylines.

Modules: `runs` (a run folder read: config, predictions, curves, images), `rows` (every task's
rows as one shape, per-example metrics, alignment), `page` (the HTML).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

DEFAULT_MAX_EXAMPLES = 200


def build(run_dirs: Sequence[str], split: Optional[str] = None, max_examples: int = DEFAULT_MAX_EXAMPLES) -> str:
  """The report page of `run_dirs` (one task, one split) as HTML text.

  Args:
    run_dirs: run folders (`jddc.main`'s workdirs), at least one.
    split: whose predictions; None = each run's `config.eval.split` (they must agree).
    max_examples: show at most this many examples (after sorting); 0 = all.

  Raises:
    FileNotFoundError: a run without config.json or without predictions of the split.
    ValueError: runs of different tasks or splits, or a malformed predictions file (file:line).
  """
  from jddc.report import page, rows, runs as runs_lib
  if not run_dirs:
    raise ValueError("no run folders given")
  runs = [runs_lib.read_run(d, split) for d in run_dirs]
  tasks, splits = {r.task for r in runs}, {r.split for r in runs}
  if len(tasks) > 1:
    raise ValueError("runs of different tasks cannot share a report: "
                     + ", ".join(f"{r.path} is {r.task!r}" for r in runs))
  if len(splits) > 1:
    raise ValueError("runs of different splits cannot share a report (pass --split): "
                     + ", ".join(f"{r.path} has {r.split!r}" for r in runs))
  task = runs[0].task
  aligned = rows.order(task, rows.align(task, [r.rows for r in runs], [r.predictions_path for r in runs]))
  shown = aligned[:max_examples] if max_examples else aligned
  categories: dict[str, str] = {}
  for r in reversed(runs):  # the first run's release wins where two name one image differently
    categories.update(r.images.categories)
  thumbnails = runs_lib.Thumbnails(next((r.images for r in runs if r.images.image_dir), runs[0].images))
  return page.page(runs, shown, len(aligned), thumbnails, categories)


def write(run_dirs: Sequence[str], out: str, split: Optional[str] = None,
          max_examples: int = DEFAULT_MAX_EXAMPLES) -> str:
  """Writes `build(...)` to `out` (atomically); returns `out`."""
  from jddc import fsutil
  text = build(run_dirs, split, max_examples)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  fsutil.atomic_write_text(out, text)
  return out
