"""What a run folder was trained with: `<workdir>/config.json`, written once, checked at every start.

A run folder's numbers belong to one config. `config.json` is written (atomically) at the
first training start and never rewritten; every later start in that folder (a resumed
training, `--mode=eval`, `--mode=predict`) compares its config with it, and a difference in
a key that changes what training computes is an error naming each key with both values.
(The alternative, a default workdir named by the overrides, would not protect an explicit
`--workdir`, nor a config file edited between two runs; the check protects both.)

The keys that may differ are listed here and nowhere else; every other key, including
ones added to the schema later, must match:

  RUNTIME_KEYS  change nothing that training computes; any mode may change them:
    data.cache_dir         where caches live (each cache's key holds what its content depends on)
    train.log_every        how often progress is printed and logged
    train.keep_checkpoints how many latest checkpoints stay on disk
    eval.split             the final evaluation's split; model selection always uses "valid",
                           and every results file records the split it holds
    mesh                   the device layout and its logical-axis rules (`mesh.rules`): placement
                           only; a checkpoint restores onto any mesh and rules
  EVAL_KEYS     change how the best checkpoint is evaluated or decoded; `--mode=eval` and
                `--mode=predict` may change them, a resumed training may not, because the
                validation evaluations that pick the best checkpoint use them:
    eval.max_examples, eval.batch_size, decode

  ADDED_KEYS    keys added to the schema after runs were made, each with the value that
                computes what those runs computed: a trained config without the key reads as
                having that value (so a new option does not orphan every earlier run folder).
                A key belongs here only when its default changes nothing for earlier runs.
    retrieval.index        "scann" (before it, every retrieval run used ScaNN)
    data.knowledge_budget  0 (before it, no row read the product knowledge)

A key names a section (`mesh`, `decode`) or one field (`eval.split`). Values that differ
only in allowed keys are not written into `config.json`: it stays the training's config.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

import ml_collections

from jddc import checkpointing, fsutil

CONFIG_FILE = "config.json"
RUNTIME_KEYS = ("data.cache_dir", "train.log_every", "train.keep_checkpoints", "eval.split", "mesh")
EVAL_KEYS = ("eval.max_examples", "eval.batch_size", "decode")
ADDED_KEYS = {"retrieval.index": "scann", "data.knowledge_budget": 0}
_ABSENT = "(absent)"


class RunMismatchError(ValueError):
  """A run folder was trained with a config that differs from the one given."""


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
  """{"a": {"b": 1}} -> {"a.b": 1}; leaves are JSON values (tuples become lists)."""
  if isinstance(tree, dict):
    out = {}
    for key, value in tree.items():
      out.update(flatten(value, f"{prefix}{key}."))
    return out
  return {prefix[:-1]: tree}


def as_json(config: ml_collections.ConfigDict) -> dict:
  """The config as `config.json` holds it (a JSON round trip: tuples are lists)."""
  return json.loads(fsutil.json_text(config.to_dict()))


def _allowed(key: str, allowed: Iterable[str]) -> bool:
  return any(key == a or key.startswith(a + ".") for a in allowed)


def differences(trained: dict, current: dict, allowed: Iterable[str] = ()) -> list[tuple[str, Any, Any]]:
  """(key, trained value, current value) of every flattened key that differs and is not allowed."""
  a, b = flatten(trained), flatten(current)
  a.update({key: value for key, value in ADDED_KEYS.items() if key not in a and key in b})
  return [(key, a.get(key, _ABSENT), b.get(key, _ABSENT)) for key in sorted(set(a) | set(b))
          if a.get(key, _ABSENT) != b.get(key, _ABSENT) and not _allowed(key, allowed)]


def _format(value: Any) -> str:
  return value if value == _ABSENT else json.dumps(value, ensure_ascii=False)


def describe(diffs: list[tuple[str, Any, Any]]) -> str:
  """`differences` as "key old (trained) vs new (now); ..."."""
  return "; ".join(f"{key} {_format(old)} (trained) vs {_format(new)} (now)" for key, old, new in diffs)


def mismatch_message(workdir: str, diffs: list[tuple[str, Any, Any]], mode: str) -> str:
  keys = describe(diffs)
  may = RUNTIME_KEYS + (EVAL_KEYS if mode != "train" else ())
  return (f"{os.path.join(workdir, CONFIG_FILE)}: this run folder was trained with a different config: {keys}. "
          f"A run folder holds one run: use another --workdir for the new config, or delete {workdir} to start "
          f"over. Keys that may differ in --mode={mode}: {', '.join(may)}.")


def trained_config(workdir: str) -> dict | None:
  """The config the run in `workdir` was trained with, or None before its first training start."""
  path = os.path.join(workdir, CONFIG_FILE)
  return fsutil.read_json(path) if os.path.isfile(path) else None


def _has_checkpoints(workdir: str) -> bool:
  return any(os.path.isdir(os.path.join(workdir, d)) and os.listdir(os.path.join(workdir, d))
             for d in (checkpointing.LATEST_DIR, checkpointing.BEST_DIR))


def start_training(config: ml_collections.ConfigDict, workdir: str, write: bool = True) -> None:
  """Records the config at a run's first training start; at a later start, checks it matches.

  `write`: False on processes other than 0 (they check, process 0 writes).

  Raises:
    RunMismatchError: the folder was trained with a config that differs in a key outside
      RUNTIME_KEYS, or it holds checkpoints but no config.json.
  """
  trained = trained_config(workdir)
  if trained is None:
    if _has_checkpoints(workdir):
      raise RunMismatchError(f"{workdir}: holds checkpoints but no {CONFIG_FILE}, so the config they were trained "
                             "with is unknown; use another --workdir, or delete the folder to start over")
    if write:
      fsutil.write_json(os.path.join(workdir, CONFIG_FILE), as_json(config))
    return
  diffs = differences(trained, as_json(config), RUNTIME_KEYS)
  if diffs:
    raise RunMismatchError(mismatch_message(workdir, diffs, "train"))


def check_for_evaluation(config: ml_collections.ConfigDict, workdir: str, mode: str = "eval",
                         required: bool = True) -> dict:
  """Checks that `config` matches the run's training config outside RUNTIME_KEYS and EVAL_KEYS.

  Returns:
    {key: current value} of the EVAL_KEYS that differ from training (recorded in results).
  Raises:
    RunMismatchError: a training key differs, or (`required`) the folder holds no trained run.
  """
  trained = trained_config(workdir)
  if trained is None:
    if required:
      raise RunMismatchError(f"{workdir}: not a trained run folder (no {CONFIG_FILE}); train it first with "
                             "--mode=train, or give the run's --workdir")
    return {}
  current = as_json(config)
  diffs = differences(trained, current, RUNTIME_KEYS + EVAL_KEYS)
  if diffs:
    raise RunMismatchError(mismatch_message(workdir, diffs, mode))
  return {key: new for key, old, new in differences(trained, current, RUNTIME_KEYS) if _allowed(key, EVAL_KEYS)}
