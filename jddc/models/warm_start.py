"""Warm start from a run of this codebase: the engine's `model.init_from` (`load_pretrained`).

`model.init_from` may be a run folder of this codebase (`config.json`, `results.json` of a
finished training, the best checkpoint under `best/<best_step>/`). Its best model state is
read from Orbax as numpy arrays, from the checkpoint's own tree (the source task is never
built), and matched to our variables by path (dotted, e.g. `h.0.attn.c_attn.kernel`). Two
keys say what is taken:

  model.init_from_prefix  "" (default): every variable, onto the same path. Otherwise
                          comma-separated `SRC` or `SRC=DST`: the source variables under
                          path prefix `SRC` load onto ours under `DST` (default `SRC`; an
                          empty side is the model's root), e.g. `bert` (an encoder only) or
                          `bert=encoder` (the source's `bert.*` into our `encoder.*`). Our
                          variables under no `DST` keep their initial values; source
                          variables under no `SRC` are ignored.
  model.init_from_fresh   comma-separated prefixes of OUR paths that keep their initial
                          values whatever the source holds, e.g. `image_proj` when a
                          multimodal GPT-2 starts from a text-only one.

Prefixes match whole path components (`h.1` is not a prefix of `h.10`). Inside the selected
paths every one of our variables must exist in the source with its shape, and every
selected source variable must be one of ours: otherwise one `CheckpointError` lists every
missing, mis-shaped and unexpected variable. A mis-shaped variable is an error, not a
silent fresh start (a vocabulary of another size would otherwise leave the model looking
warm-started with an untrained embedding): name it in `init_from_fresh` to start it fresh.
The report lists the variables kept fresh and the source variables ignored.

A path that is not a run folder goes to `jddc.models.convert` (Hugging Face / PyTorch).
"""

from __future__ import annotations

import json
import os
from typing import Optional

import jax
import numpy as np
from flax import nnx

from jddc.models import convert
from jddc.models.convert import CONFIG_FILE, CheckpointError, ImportReport

RUN_RESULTS_FILE = "results.json"  # `jddc.train.RESULTS_FILE`
RUN_BEST_DIR = "best"              # `jddc.checkpointing.Checkpointer.best`
RUN_TOKENIZER_DIR = "tokenizer"    # `jddc.tasks.base.RUN_TOKENIZER`
ParsedPath = tuple[str, ...]


def load_pretrained(model: nnx.Module, path: str | os.PathLike, *, prefix: str = "",
                    fresh: str = "", tokenizer_dir: Optional[str] = None) -> ImportReport:
  """`model.init_from`: `load_run` for a run folder of ours, else `convert.load_pretrained`
  from a Hugging Face / PyTorch checkpoint folder or file.

  Args:
    model: the model to overwrite in place.
    path: the checkpoint.
    prefix, fresh: `model.init_from_prefix` and `model.init_from_fresh` (module docstring);
      a run folder only.
    tokenizer_dir: the new run's tokenizer, compared with a run folder's (`load_run`).
  """
  path = os.fspath(path)
  if is_run_folder(path):
    return load_run(model, path, prefix=prefix, fresh=fresh, tokenizer_dir=tokenizer_dir)
  if prefix or fresh:
    raise CheckpointError(
        f"{path}: model.init_from_prefix / model.init_from_fresh apply to a run folder of this codebase only "
        "(config.json, results.json and best/); this is a Hugging Face / PyTorch checkpoint, loaded by architecture")
  return convert.load_pretrained(model, path)



def _dotted(path: ParsedPath) -> str:
  return ".".join(path)


def _shape(shape) -> str:
  return "[" + ", ".join(str(s) for s in shape) + "]"


def _is_our_config(file: str) -> bool:
  try:
    with open(file, encoding="utf-8") as f:
      config = json.load(f)
  except (OSError, ValueError):
    return False
  return isinstance(config, dict) and "task" in config and isinstance(config.get("model"), dict)


def is_run_folder(path: str | os.PathLike) -> bool:
  """A folder of this codebase's runs: it has `best/`, or a `config.json` of ours (a `task` and a
  `model` section; a Hugging Face `config.json` has neither)."""
  path = os.fspath(path)
  return os.path.isdir(path) and (os.path.isdir(os.path.join(path, RUN_BEST_DIR)) or
                                  _is_our_config(os.path.join(path, CONFIG_FILE)))


def _split_path(text: str, key: str) -> ParsedPath:
  parts = tuple(p.strip() for p in text.strip().split(".")) if text.strip() else ()
  if any(not p for p in parts):
    raise CheckpointError(f"{key}: {text!r} is not a dotted variable path (e.g. h.0.attn or image_proj)")
  return parts


def parse_prefix_rule(prefix: str, key: str = "model.init_from_prefix") -> tuple[tuple[ParsedPath, ParsedPath], ...]:
  """`model.init_from_prefix` -> ((source prefix, our prefix), ...); "" = ((), ()), everything.

  Raises:
    CheckpointError: an entry is not `SRC` or `SRC=DST`, or two entries load onto the same path.
  """
  if not prefix.strip():
    return (((), ()),)
  rules = []
  for entry in prefix.split(","):
    if entry.count("=") > 1:
      raise CheckpointError(f"{key}: {entry!r} has more than one '='; expected SRC or SRC=DST")
    source, _, ours = entry.partition("=")
    source_path = _split_path(source, key)
    rules.append((source_path, _split_path(ours, key) if "=" in entry else source_path))
  targets = [ours for _, ours in rules]
  for i, a in enumerate(targets):
    for b in targets[i + 1:]:
      if a[:len(b)] == b or b[:len(a)] == a:
        raise CheckpointError(f"{key}: {'.'.join(a) or '(root)'} and {'.'.join(b) or '(root)'} overlap: "
                              "each of our variables may load from one source path only")
  return tuple(rules)


def _under(path: ParsedPath, prefix: ParsedPath) -> bool:
  return path[:len(prefix)] == prefix


def finished_run(run_dir: str) -> tuple[dict, int, str]:
  """(its config.json, the best step, the best model state's folder) of a finished run.

  Raises:
    FileNotFoundError: naming the folder and what it lacks (a config.json, a results.json of a
      finished training, the best checkpoint it names).
  """
  config_file, results_file = os.path.join(run_dir, CONFIG_FILE), os.path.join(run_dir, RUN_RESULTS_FILE)
  if not _is_our_config(config_file):
    raise FileNotFoundError(f"model.init_from: {run_dir} is not a run folder of this codebase (no {CONFIG_FILE} "
                            "with a task and a model section)")
  if not os.path.isfile(results_file):
    raise FileNotFoundError(f"model.init_from: {run_dir} has no {RUN_RESULTS_FILE}: its training has not "
                            "finished; finish it (the same command resumes it) or give a finished run")
  with open(config_file, encoding="utf-8") as f:
    config = json.load(f)
  with open(results_file, encoding="utf-8") as f:
    best_step = json.load(f).get("best_step")
  state_dir = os.path.join(run_dir, RUN_BEST_DIR, str(best_step), "state")
  if not isinstance(best_step, int) or not os.path.isdir(state_dir):
    raise FileNotFoundError(f"model.init_from: {run_dir}: no best checkpoint {state_dir} (results.json "
                            f"best_step {best_step!r})")
  return config, best_step, state_dir


def read_run_state(state_dir: str) -> dict[ParsedPath, np.ndarray]:
  """Every array of a best checkpoint's model state, by variable path, as numpy (no model built)."""
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  checkpointer = ocp.PyTreeCheckpointer()
  tree = checkpointer.metadata(state_dir).item_metadata
  restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
  restored = checkpointer.restore(state_dir, args=ocp.args.PyTreeRestore(restore_args=restore_args))
  out = {}
  for key_path, value in jax.tree_util.tree_flatten_with_path(restored)[0]:
    path = tuple(str(getattr(k, "key", getattr(k, "idx", k))) for k in key_path)
    out[path[:-1] if path[-1] == "value" else path] = np.asarray(value)  # an nnx.Variable's value
  return out


def _same_files(a: str, b: str) -> bool:
  names = sorted(os.listdir(a))
  if names != sorted(os.listdir(b)):
    return False
  for name in names:
    with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
      if fa.read() != fb.read():
        return False
  return True


def load_run(model: nnx.Module, run_dir: str, *, prefix: str = "", fresh: str = "",
             tokenizer_dir: Optional[str] = None) -> ImportReport:
  """Overwrites, in place, the variables of `model` that a finished run's best checkpoint provides.

  Args:
    model: a concrete module, or an abstract one holding `jax.ShapeDtypeStruct`s.
    run_dir: a run folder of this codebase (module docstring).
    prefix: `model.init_from_prefix`: which source paths load onto which of ours.
    fresh: `model.init_from_fresh`: prefixes of our paths that keep their initial values.
    tokenizer_dir: the new run's tokenizer folder; when it and the source run's both exist
      and differ, the report notes it (token ids then name other pieces: an embedding
      loaded by shape alone would be wrong; start it fresh).

  Returns:
    An `ImportReport` whose `kept` lists our variables left at their initial values and
    `ignored` the source variables not used.

  Raises:
    FileNotFoundError: not a finished run (`finished_run`).
    CheckpointError: inside the selected paths a variable is missing, mis-shaped or unexpected.
  """
  config, best_step, state_dir = finished_run(run_dir)
  rules = parse_prefix_rule(prefix)
  fresh_paths = [_split_path(p, "model.init_from_fresh") for p in fresh.split(",") if p.strip()]
  source = read_run_state(state_dir)
  ours = {tuple(str(p) for p in path): var for path, var in nnx.iter_graph(model) if isinstance(var, nnx.Variable)}
  for source_prefix, our_prefix in rules:
    if not any(_under(p, source_prefix) for p in source):
      raise CheckpointError(f"model.init_from_prefix: no variable of {run_dir} is under "
                            f"{_dotted(source_prefix)!r}; its top-level names: {sorted({p[0] for p in source})}")
    if not any(_under(p, our_prefix) for p in ours):
      raise CheckpointError(f"model.init_from_prefix: the model has no variable under {_dotted(our_prefix)!r}; "
                            f"its top-level names: {sorted({p[0] for p in ours})}")
  for fresh_path in fresh_paths:
    if not any(_under(p, fresh_path) for p in ours):
      raise CheckpointError(f"model.init_from_fresh: the model has no variable under {_dotted(fresh_path)!r}; "
                            f"its top-level names: {sorted({p[0] for p in ours})}")
  report = ImportReport(source=f"{run_dir} (best step {best_step})", architecture=config["model"].get("name", "?"),
                        target=prefix.strip(), kept_because="model.init_from_fresh, or outside model.init_from_prefix")
  missing, misshaped, updates, used = [], [], [], set()
  for path, var in ours.items():
    if not isinstance(var, (nnx.Param, nnx.BatchStat)):
      continue  # RNG counters and keys: the new run's own
    rule = next(((s, o) for s, o in rules if _under(path, o)), None)
    if rule is None or any(_under(path, f) for f in fresh_paths):
      report.kept.append(_dotted(path))
      continue
    source_path = rule[0] + path[len(rule[1]):]
    if source_path not in source:
      missing.append(f"{_dotted(source_path)} {_shape(var.shape)}")
      continue
    used.add(source_path)
    value = source[source_path]
    if value.shape != tuple(var.shape):
      misshaped.append(f"{_dotted(source_path)}: checkpoint {_shape(value.shape)}, model needs {_shape(var.shape)}")
      continue
    updates.append((var, value))
  # A selected source variable is unexpected when no rule maps it onto a variable of ours (loaded or not).
  unexpected = [f"{_dotted(p)} {_shape(source[p].shape)}" for p in sorted(source)
                if any(_under(p, s) for s, _ in rules)
                and not any(_under(p, s) and o + p[len(s):] in ours for s, o in rules)]
  hint = ("\n  (model.init_from_fresh=<our prefixes> starts variables fresh; model.init_from_prefix=SRC[=DST] "
          "loads part of the source)")
  error = convert.mismatch_error(run_dir, model, missing, misshaped, unexpected, hint)
  if error is not None:
    raise error
  for var, value in updates:
    var.set_value(convert.place_like(value, var.get_value(), var.dtype))
    report.imported += 1
    report.values += int(value.size)
  report.ignored = sorted(_dotted(p) for p in source if p not in used)
  source_tokenizer = os.path.join(run_dir, RUN_TOKENIZER_DIR)
  if tokenizer_dir and os.path.isdir(tokenizer_dir) and os.path.isdir(source_tokenizer) and not _same_files(
      tokenizer_dir, source_tokenizer):
    report.notes.append(f"{source_tokenizer} differs from this run's tokenizer {tokenizer_dir}: token ids name "
                        "other pieces, so loaded embeddings are wrong unless started fresh (model.init_from_fresh)")
  return report
