"""A run folder read for the report: its config, predictions, curves and the images its rows name.

Nothing here trains or generates: a release that is not on disk is reported (each image then
shows a placeholder naming it), never rebuilt.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import sys
from typing import Optional

import ml_collections

from jddc import predictions as predictions_lib

THUMBNAIL_SIDE = 160  # pixels: the longer side of an embedded image
#: valid/* values that are counts (of examples, links), not scores: not drawn as curves
COUNT_METRICS = ("examples", "dialogues", "gold", "pred", "link_correct", "link_rel_correct", "unreachable")


@dataclasses.dataclass
class ImageSource:
  """Where a run's images come from, and what is known about each.

  Attributes:
    image_dir: the release's `images/` folder, or None when the release was not found.
    categories: image file name -> its category (`annotations/image_categories.jsonl`).
    note: why `image_dir` is None, or "" when it is set.
  """
  image_dir: Optional[str]
  categories: dict[str, str]
  note: str = ""


@dataclasses.dataclass
class Run:
  """One run folder, as the report shows it.

  Attributes:
    path: the run folder.
    name: its folder name (the column header).
    config: its `config.json`.
    task: `config.task`.
    split: the split whose predictions are shown.
    predictions_path: the file the rows come from.
    rows: one dict per example, as the task wrote it (`jddc.evaluation.write_predictions`).
    curves: metric name -> [(step, value)], from `metrics.jsonl` (train/loss and valid/*).
    images: where its images are.
  """
  path: str
  name: str
  config: ml_collections.ConfigDict
  task: str
  split: str
  predictions_path: str
  rows: list[dict]
  curves: dict[str, list[tuple[int, float]]]
  images: ImageSource


def predictions_file(run_dir: str, split: str) -> str:
  """The newest predictions of `split`: training's final evaluation or `--mode=eval`'s.

  Raises FileNotFoundError naming both places when neither exists.
  """
  found = [p for p in (predictions_lib.path(run_dir, split), predictions_lib.path(os.path.join(run_dir, "eval"), split))
           if os.path.isfile(p)]
  if not found:
    raise FileNotFoundError(
        f"{predictions_lib.path(run_dir, split)}: no predictions of split {split!r} (nor in eval/): train the run "
        f"(python -m jddc.main --config=...) or evaluate it (--mode=eval --config.eval.split={split}) first")
  return max(found, key=os.path.getmtime)


def read_jsonl(path: str) -> list[dict]:
  """One JSON object per line; a bad line raises ValueError naming `path:line`."""
  rows = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, start=1):
      if not line.strip():
        continue
      try:
        row = json.loads(line)
      except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{number}: not a JSON line ({e.msg})") from None
      if not isinstance(row, dict):
        raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
      rows.append(row)
  return rows


def read_curves(run_dir: str) -> dict[str, list[tuple[int, float]]]:
  """`metrics.jsonl` as name -> [(step, value)] for train/loss and every valid/* metric (not the
  example counts); {} without the file."""
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.isfile(path):
    return {}
  curves: dict[str, list[tuple[int, float]]] = {}
  for record in read_jsonl(path):
    if "step" not in record:
      raise ValueError(f"{path}: a record without 'step': {record}")
    for name, value in record.items():
      drawn = name == "train/loss" or (name.startswith("valid/") and name.split("/", 1)[1] not in COUNT_METRICS)
      if drawn and isinstance(value, (int, float)):
        curves.setdefault(name, []).append((int(record["step"]), float(value)))
  return curves


def _release_candidates(config: ml_collections.ConfigDict, run_dir: str) -> list[str]:
  """Where the run's release may be: its path as given, from here and from the run's repository.

  A relative `data.release` / `data.cache_dir` is relative to the directory the run was started
  in: this one, or the folder above `runs/` (the default `runs/<config>_<size>_seed<seed>`).
  """
  data = config.data
  if data.get("corpus", "jddc") != "jddc":
    relative = data.get("corpus_path", "")
  elif data.get("release", ""):
    relative = data.release
  else:
    relative = os.path.join(data.cache_dir, f"jddc_{data.corpus_size}_seed{data.corpus_seed}")
  if not relative:
    return []
  if os.path.isabs(relative):
    return [relative]
  bases = [os.getcwd(), os.path.dirname(os.path.dirname(os.path.abspath(run_dir)))]
  return list(dict.fromkeys(os.path.normpath(os.path.join(b, relative)) for b in bases))


def image_source(config: ml_collections.ConfigDict, run_dir: str) -> ImageSource:
  """The run's release images and their categories (`annotations/image_categories.jsonl`, read by
  `jddc.data.release.read_release` under the run's `data.on_error`); a release not found gives
  `image_dir` None and a note."""
  from jddc.data import release as release_lib  # the release reader, only when a report is made
  candidates = _release_candidates(config, run_dir)
  root = next((c for c in candidates if os.path.isdir(c)), None)
  if root is None:
    where = " or ".join(candidates) or "(no release path in config.json)"
    return ImageSource(None, {}, f"release folder not found at {where}")
  if config.data.get("corpus", "jddc") != "jddc":  # a public corpus: its images/, if any, no categories
    return ImageSource(os.path.join(root, "images"), {})
  # the release's own reader (all format parsing is there); images are decoded later, one by one
  release = release_lib.read_release(root, on_error=config.data.get("on_error", "raise"), check_images=False)
  categories = {a.image: a.category for a in release.image_categories}
  return ImageSource(os.path.join(root, "images"), categories)


def read_run(run_dir: str, split: Optional[str] = None) -> Run:
  """Reads a run folder; `split` None = the run's `config.eval.split`."""
  from jddc import inference  # config.json reader (errors name the file)
  config = inference.read_config(run_dir)
  split = split or config.eval.split
  path = predictions_file(run_dir, split)
  return Run(path=run_dir, name=os.path.basename(os.path.normpath(run_dir)), config=config, task=config.task,
             split=split, predictions_path=path, rows=read_jsonl(path), curves=read_curves(run_dir),
             images=image_source(config, run_dir))


class Thumbnails:
  """Image file name -> an embeddable thumbnail (a data URI), or why there is none; each file decoded once."""

  def __init__(self, source: ImageSource, side: int = THUMBNAIL_SIDE):
    self.source, self.side = source, side
    self._cache: dict[str, tuple[Optional[str], str]] = {}
    self.missing: list[str] = []

  def get(self, name: str) -> tuple[Optional[str], str]:
    """(data URI or None, the reason it is None: names the image and where it was looked for)."""
    if name not in self._cache:
      self._cache[name] = self._make(name)
      if self._cache[name][0] is None:
        self.missing.append(name)
        print(f"jddc.report: {self._cache[name][1]}", file=sys.stderr)
    return self._cache[name]

  def _make(self, name: str) -> tuple[Optional[str], str]:
    from jddc.data import images as images_lib
    from jddc.data.errors import DataError
    if self.source.image_dir is None:
      return None, f"image {name}: {self.source.note}"
    try:
      path = images_lib.resolve_image(self.source.image_dir, name, self.source.image_dir, None)
    except DataError as e:
      return None, f"image {name}: {e}"
    if not os.path.isfile(path):
      return None, f"image {name} not found at {path}"
    try:
      image = images_lib.load_image(path)
    except DataError as e:
      return None, f"image {name} unreadable: {e}"
    image.thumbnail((self.side, self.side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), ""
