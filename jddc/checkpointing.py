"""Orbax checkpoints of a run: the latest (for resuming) and the best (by a validation metric).

    <workdir>/checkpoints/<step>/   state (model + optimizer + rng counters) and the Grain iterator
    <workdir>/best/<step>/          the model state with the best validation metric, and the metrics

Restores always go into an abstract state whose leaves carry the current mesh's
shardings, so a checkpoint written under one mesh loads under another.

A kill anywhere leaves a resumable folder: Orbax writes each step into a temporary folder
renamed when complete (`latest_step` sees only complete ones; leftovers are swept when the
next manager opens), and a resumed run that re-reaches an evaluation step whose best
checkpoint was already saved does not save it again (`save_best`).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Optional

import grain
import jax
import orbax.checkpoint as ocp

from jddc import faults

LATEST_DIR = "checkpoints"  # <workdir>/checkpoints/<step>/: the latest states, for resuming
BEST_DIR = "best"  # <workdir>/best/<step>/: the best model state by the validation metric


def abstract_with_shardings(state: Any, shardings: Any) -> Any:
  """ShapeDtypeStructs of `state` (arrays or ShapeDtypeStructs) placed by `shardings`."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), state, shardings)


def saved_process_count(data_dir: str) -> Optional[int]:
  """How many processes wrote the Grain iterator files `process_<i>-of-<n>.json` in `data_dir`."""
  counts = {int(m.group(1)) for name in (os.listdir(data_dir) if os.path.isdir(data_dir) else ())
            if (m := re.fullmatch(r"process_\d+-of-(\d+)\.json", name))}
  if len(counts) > 1:
    raise ValueError(f"{data_dir}: iterator files of several process counts {sorted(counts)}")
  return counts.pop() if counts else None


def rescale_iterator_state(state: dict, saved_processes: int, processes: int) -> dict:
  """A process's iterator state written by one of `saved_processes` -> the same point for `processes`.

  Every process of a run takes every P-th example of one stream and has consumed the same
  number n of them (`jddc.data.pipeline`), so the run has consumed n * P examples in all,
  which is n * P / P' per process for P' processes. Only the plain pipeline's state
  (`{"next_index": n}`) can be moved: with Grain workers or packing, resume with the
  process count that wrote the checkpoint.
  """
  if set(state) != {"next_index"}:
    raise ValueError(f"cannot move a data iterator state {sorted(state)} from {saved_processes} to {processes} "
                     "processes (only the plain pipeline, without workers or packing); resume with "
                     f"{saved_processes} processes")
  consumed = int(state["next_index"]) * saved_processes
  if consumed % processes:
    raise ValueError(f"{consumed} examples consumed do not split over {processes} processes")
  return {"next_index": consumed // processes}


class Checkpointer:
  """The run's two checkpoint managers."""

  def __init__(self, workdir: str, keep: int = 2, best_metric: Optional[str] = None, best_mode: str = "max"):
    self.best_metric = best_metric
    path = (lambda *parts: os.path.join(*parts)) if "://" in workdir else (
        lambda *parts: os.path.abspath(os.path.join(*parts)))  # gs://... stays a URL
    # The two managers save concurrently at the same step; in a multi-process run their
    # cross-process barriers must not share names, or one manager's barrier releases the
    # other's and a process finalizes before its peers wrote their metadata.
    sync = lambda name: ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=name)  # noqa: E731
    self.latest = ocp.CheckpointManager(
        path(workdir, LATEST_DIR),
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, cleanup_tmp_directories=True,
                                             multiprocessing_options=sync("latest")))
    self.best = None
    if best_metric:
      self.best = ocp.CheckpointManager(
          path(workdir, BEST_DIR),
          options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True, best_mode=best_mode,
                                               cleanup_tmp_directories=True,
                                               best_fn=lambda metrics: metrics[best_metric],
                                               multiprocessing_options=sync("best")))

  def latest_step(self) -> Optional[int]:
    return self.latest.latest_step()

  def save(self, step: int, state: Any, data_iterator: Optional[grain.DatasetIterator] = None) -> None:
    items = {"state": ocp.args.StandardSave(state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    self.latest.save(step, args=ocp.args.Composite(**items), force=True)
    faults.point("checkpoint.during_save")  # Orbax is writing `<step>.orbax-checkpoint-tmp-*` in the background

  def restore(self, abstract_state: Any, data_iterator: Optional[grain.DatasetIterator] = None,
              step: Optional[int] = None) -> tuple[int, Any]:
    """Restores (step, state) into `abstract_state`'s shardings; the iterator in place.

    A checkpoint written by a different number of processes restores too: the state
    through Orbax onto the current mesh, the iterator by `rescale_iterator_state`.
    """
    step = self.latest.latest_step() if step is None else step
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    data_dir = os.path.join(str(self.latest.directory), str(step), "data")
    saved = saved_process_count(data_dir)
    if data_iterator is not None and saved in (None, jax.process_count()):
      items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = self.latest.restore(step, args=ocp.args.Composite(**items))
    if data_iterator is not None and "data" not in items:
      with open(os.path.join(data_dir, f"process_0-of-{saved}.json"), encoding="utf-8") as f:
        data_iterator.set_state(rescale_iterator_state(json.load(f), saved, jax.process_count()))
    return step, restored.state

  def save_best(self, step: int, model_state: Any, metrics: dict[str, float]) -> bool:
    """Offers the model at `step` to the best manager (which keeps the best by the metric); waits
    until it is on disk. Returns False, saving nothing, for a step at or before the newest best
    checkpoint.

    Evaluations reach the manager in step order, so every evaluation step up to its newest
    checkpoint has been weighed already. Only a resumed run re-reaches such a step (killed
    after a best save and before the next latest save, at any alignment of `eval_every` and
    `checkpoint_every`); its model is the one weighed then (training is deterministic), and
    saving it again would be Orbax's StepAlreadyExistsError. Waiting makes "saved" mean
    complete: a kill after `save_best` returns never loses the best checkpoint.
    """
    if self.best is None:
      return False
    steps = self.best.all_steps()
    if steps and step <= max(steps):
      return False
    self.best.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(model_state)), metrics=metrics,
                   force=True)
    self.best.wait_until_finished()
    return True

  def best_step(self) -> Optional[int]:
    return None if self.best is None else self.best.best_step()

  def restore_best(self, abstract_model_state: Any) -> Any:
    step = self.best_step()
    if step is None:
      raise FileNotFoundError("no best checkpoint: the run has not been evaluated yet")
    return self.best.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_model_state))).state

  def wait(self) -> None:
    self.latest.wait_until_finished()
    if self.best is not None:
      self.best.wait_until_finished()

  def close(self) -> None:
    self.latest.close()
    if self.best is not None:
      self.best.close()
