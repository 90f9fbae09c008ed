"""Loading config files outside absl flags, and validating configs before anything is built.

Validation compares a config with the reference built by `configs/common.py` for its task
family: every key must be known and every value of the reference's type, so a typo
(`--config.optim.lrr`) or a wrong type (`--config.train.steps=ten`) fails at start-up with
the dotted key named, not deep inside training. The same schema holds each key's allowed
values and range (`common.CONSTRAINTS`), what each task accepts (`common.TASKS`: models,
validation metrics, decoding methods) and the rules between keys (`common.RULES`); all are
checked here, without importing JAX, so a bad value costs a second, not a training run.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import importlib.util
import math
import os
import sys
from typing import Any, Iterable, Optional, Sequence

import ml_collections

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)  # config files import `configs.common`


class ConfigError(ValueError):
  pass


# -- allowed values and ranges (the schema's vocabulary; the table is configs/common.py) -----------

@dataclasses.dataclass(frozen=True)
class OneOf:
  """The value is one of `values`; `hints`: what a wrong value that spelling cannot explain means ("dev" -> "valid")."""
  values: tuple
  hints: tuple[tuple[str, str], ...] = ()

  def error(self, value) -> Optional[str]:
    return not_allowed(value, self.values, hints=dict(self.hints))


def not_allowed(value, allowed: Sequence, what: str = "allowed", hints: Optional[dict] = None) -> Optional[str]:
  """None if `value` is in `allowed`, else "'x' is not <what> (did you mean ...?); expected one of ..."."""
  if value in allowed:
    return None
  hint = [hints[value]] if hints and value in hints else suggest(str(value), [str(v) for v in allowed])
  return (f"{value!r} is not {what}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
          + f"; expected one of {', '.join(map(repr, allowed))}")


@dataclasses.dataclass(frozen=True)
class Range:
  """lo <= value <= hi (strict where `lo_open` / `hi_open`); `also`: values allowed outside it (-1: "the rest")."""
  lo: Optional[float] = None
  hi: Optional[float] = None
  lo_open: bool = False
  hi_open: bool = False
  also: tuple = ()

  def error(self, value) -> Optional[str]:
    if value in self.also:
      return None
    if isinstance(value, float) and not math.isfinite(value):
      return f"{value!r} is not a finite number"
    low_ok = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
    high_ok = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
    return None if low_ok and high_ok else f"{value!r} is out of range: expected {self.describe()}"

  def describe(self) -> str:
    parts = []
    if self.lo is not None:
      parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
    if self.hi is not None:
      parts.append(f"{'<' if self.hi_open else '<='} {self.hi:g}")
    text = " and ".join(parts)
    return text + "".join(f" (or {a})" for a in self.also)


def suggest(word: str, candidates: Iterable[str]) -> list[str]:
  """Close candidates for a mistyped name: similar spelling, or one the other's initials
  (`learning_rate` -> `lr`)."""
  candidates = list(dict.fromkeys(candidates))
  close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)

  def initials(name: str) -> str:
    return "".join(part[0] for part in name.split("_") if part)
  short = [c for c in candidates if "_" in word and c == initials(word) or "_" in c and word == initials(c)]
  return list(dict.fromkeys(short + close))


# -- loading ---------------------------------------------------------------------------------------

def available_configs() -> list[str]:
  """configs/<name>.py files a run can use (relative to the repository root)."""
  names = sorted(glob.glob(os.path.join(REPO_ROOT, "configs", "*.py")))
  return [os.path.relpath(p, REPO_ROOT) for p in names
          if os.path.basename(p) not in ("__init__.py", "common.py")]


def resolve_config_path(path: str) -> str:
  """A config file's path (as given, or relative to the repository root); ConfigError listing
  the configs if there is none."""
  if os.path.isfile(path):
    return path
  in_repo = os.path.join(REPO_ROOT, path)
  if not os.path.isabs(path) and os.path.isfile(in_repo):
    return in_repo
  known = available_configs()
  hint = suggest(os.path.normpath(path), known)
  raise ConfigError(f"config file not found: {path}" + (f" (did you mean {hint[0]}?)" if hint else "")
                    + "\n  available configs: " + " ".join(known))


def load_config(spec: str) -> ml_collections.ConfigDict:
  """`path/to/config.py[:arg]` -> get_config(arg), as `--config=` does."""
  path, _, arg = spec.partition(":")
  path = resolve_config_path(path)
  module_spec = importlib.util.spec_from_file_location(f"_jddc_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  try:
    return module.get_config(arg) if arg else module.get_config()
  except ValueError as e:  # e.g. an unknown size
    raise ConfigError(f"{spec}: {e}") from None


# -- types -----------------------------------------------------------------------------------------

_NUMBER = (int, float)


def _check(value, reference, key: str, errors: list[str]) -> None:
  if isinstance(reference, (ml_collections.ConfigDict, dict)):
    if not isinstance(value, (ml_collections.ConfigDict, dict)):
      errors.append(f"{key}: expected a section, got {type(value).__name__}")
      return
    for k in value.keys():
      sub = f"{key}.{k}" if key else k
      if k not in reference:
        close = suggest(k, list(reference.keys()))
        errors.append(f"{sub}: unknown key" + (f" (did you mean {', '.join(close)}?)" if close else ""))
      else:
        _check(value[k], reference[k], sub, errors)
    for k in reference.keys():
      if k not in value:
        errors.append(f"{key}.{k}: missing" if key else f"{k}: missing")
    return
  if isinstance(reference, bool) or isinstance(value, bool):
    ok = isinstance(value, bool) and isinstance(reference, bool)
  elif isinstance(reference, _NUMBER):
    ok = isinstance(value, _NUMBER) and (isinstance(reference, float) or isinstance(value, int))
  else:
    ok = isinstance(value, type(reference))
  if not ok:
    errors.append(f"{key}: expected {type(reference).__name__}, got {type(value).__name__} ({value!r})")


# -- values, tasks and rules -----------------------------------------------------------------------

def lookup(config, key: str, default: Any = None) -> Any:
  """config["a.b.c"], or `default` where a part is missing."""
  node = config
  for part in key.split("."):
    if not isinstance(node, (ml_collections.ConfigDict, dict)) or part not in node:
      return default
    node = node[part]
  return node


def _check_values(config, constraints: dict, errors: list[str]) -> None:
  for key, constraint in constraints.items():
    value = lookup(config, key)
    if value is None or isinstance(value, (ml_collections.ConfigDict, dict)):
      continue  # a key of another model or an absent section
    message = constraint.error(value)
    if message:
      errors.append(f"{key}: {message}")


def _check_task(config, tasks: dict, errors: list[str]) -> None:
  name = config.get("task", "")
  if name not in tasks:
    hint = suggest(name, tasks)
    errors.append(f"task: unknown task {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                  + f"; known tasks: {', '.join(sorted(tasks))}")
    return
  spec = tasks[name]
  model = lookup(config, "model.name")
  if model not in spec.models:
    errors.append(f"model.name: task {name!r} runs model {' or '.join(map(repr, spec.models))}, "
                  f"not {model!r}")
  metric = lookup(config, "eval.metric")
  if metric:  # "" = the task's default
    message = not_allowed(metric, spec.metrics, f"a validation metric of task {name!r}")
    if message:
      errors.append(f"eval.metric: {message}")
  steps = lookup(config, "train.steps")
  if isinstance(steps, int) and steps < (1 if spec.trainable else 0):
    errors.append(f"train.steps: {steps} is out of range: expected >= {1 if spec.trainable else 0}"
                  + ("" if spec.trainable else f" (task {name!r} has nothing to train)"))
  for section in spec.sections:
    if section not in config:
      errors.append(f"{section}: task {name!r} needs a {section!r} section (configs/common.py)")
  for section in spec.unused_sections:
    if section in config:
      errors.append(f"{section}: task {name!r} does not read a {section!r} section; remove it")
  method = lookup(config, "decode.method")
  if method is not None and spec.decode_methods:
    message = not_allowed(method, spec.decode_methods, f"a decoding method of task {name!r}")
    if message:
      errors.append(f"decode.method: {message}")


def validate(config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict,
             schema: Any = None) -> None:
  """Raises ConfigError listing every unknown key, missing key, wrong type, value out of its
  allowed set or range, model or metric the task does not have, and broken rule between keys.

  Args:
    config: the config to check.
    reference: `common.reference(config)`: every allowed key with a value of its type.
    schema: the module holding `CONSTRAINTS`, `TASKS` and `RULES` (default `configs.common`).
  """
  if schema is None:
    from configs import common as schema
  errors: list[str] = []
  _check(config, reference, "", errors)
  if not errors:  # values are only compared once their types are right
    _check_values(config, schema.CONSTRAINTS, errors)
    _check_task(config, schema.TASKS, errors)
    if not errors:
      for rule in schema.RULES:
        message = rule(config)
        if message:
          errors.append(message)
  if errors:
    raise ConfigError("invalid config:\n  " + "\n  ".join(errors))


# -- the command line ------------------------------------------------------------------------------

def flat_keys(config, prefix: str = "") -> list[str]:
  """Every dotted key of a config, sections included ("optim", "optim.lr", ...)."""
  keys = []
  for k, v in config.items():
    key = f"{prefix}{k}"
    keys.append(key)
    if isinstance(v, (ml_collections.ConfigDict, dict)):
      keys += flat_keys(v, key + ".")
  return keys


def config_overrides(argv: Sequence[str], flag: str = "config") -> tuple[Optional[str], list[str]]:
  """(the `--config=` spec, the dotted keys of `--config.KEY=V` / `--config.KEY V`) in argv."""
  spec, keys = None, []
  for i, arg in enumerate(argv):
    if arg == "--":
      break
    name, eq, value = arg.lstrip("-").partition("=")
    if not arg.startswith("-"):
      continue
    if name == flag:
      spec = value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
    elif name.startswith(flag + "."):
      keys.append(name[len(flag) + 1:])
  return spec, keys


def check_command_line(argv: Sequence[str], flag: str = "config") -> None:
  """ConfigError for what absl's config flags would only report with a traceback: a config file
  that does not exist (listing the configs), a size its `get_config` rejects, and an override
  of a key the config does not have (with the did-you-mean)."""
  spec, keys = config_overrides(argv, flag)
  if not spec:
    return  # absl reports the missing flag
  config = load_config(spec)
  known = flat_keys(config)
  errors = []
  for key in keys:
    if key in known:
      continue
    parent, _, leaf = key.rpartition(".")
    if parent and parent not in known:
      close = suggest(key, known)
    else:
      siblings = [k for k in known if k.rpartition(".")[0] == parent]
      close = [f"{parent}.{c}" if parent else c for c in suggest(leaf, [s.rpartition(".")[2] for s in siblings])]
      close = close or suggest(key, known)
    errors.append(f"--{flag}.{key}: unknown key" + (f" (did you mean {', '.join(close)}?)" if close else
                                                   f"; the keys{' of ' + parent if parent else ''} are: "
                                                   + ", ".join(k for k in known if k.rpartition('.')[0] == parent)))
  if errors:
    raise ConfigError("\n".join(errors))
