"""`--mode=predict` inputs: JSON lines, one dialogue a line, checked before any model is built.

    examples = predict_inputs.read("dialogues.jsonl", task_class)   # Inputs: a list of dicts
    rows = task.predict(model, examples)                             # each input + "prediction"

A line is one JSON object. For each message group G of the task (`Task.predict_groups`:
"context_" for the response and retrieval rows, "context_" then "query_" for rewrite_gen,
"" for the summary rows), three lists of one entry per message, all of the same length:

    G + "texts"     list[str]  the message's words ("" for an image message)
    G + "images"    list[str]  the image's file name in the release ("" for a text message)
    G + "speakers"  list[int]  0 = customer, 1 = agent (JSON integers only: "0", true, 0.0 are refused)

A message is a text or an image: exactly one of its text and image is non-empty. The last
group (the messages just before what is generated) has at least one message. Optional keys,
echoed in the output: `OPTIONAL_KEYS`. Any other key is an error with a did-you-mean hint.
Blank lines are skipped (and still counted in line numbers); a file with no input at all is
an error (nothing to predict is more likely a wrong path than a wish for empty output).

Text-only tasks read an image message as its `[IMG]` place only, so its name is not
checked; multimodal tasks refuse an image without a row in their feature table.

Every problem is a `jddc.data.errors.DataError` naming `<file>:<line>` (or `inputs[k]` for
examples given in Python, e.g. by `launch/colab_restore.ipynb`). Images are checked against
the feature table the task decodes with (`check_images`) once the model is loaded.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable, Optional, Sequence

from jddc.data.errors import DataError

OPTIONAL_KEYS = ("id", "session_id", "index", "reference")
SPEAKERS = {0: "customer", 1: "agent"}
_GROUP_NAMES = {"context_": "the context", "query_": "the query", "": "the dialogue"}


class Inputs(list):
  """Examples read from a file, each remembering its line (for errors raised after reading)."""

  def __init__(self, examples: Iterable[dict], path: str, lines: Sequence[int]):
    super().__init__(examples)
    self.path, self.lines = path, list(lines)


def where(examples: Sequence[dict], k: int) -> tuple[str, Optional[int]]:
  """(path, line) of example k: its file and line, or `inputs[k]` for a plain list."""
  if isinstance(examples, Inputs) and len(examples.lines) == len(examples):
    return examples.path, examples.lines[k]
  return f"inputs[{k}]", None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
  keys = [k for k, _ in pairs]
  repeated = sorted({k for k in keys if keys.count(k) > 1})
  if repeated:
    raise ValueError(f"key {repeated[0]!r} given twice (JSON would keep only the last)")
  return dict(pairs)


def _parse_line(text: str, path: str, line: int) -> Any:
  try:
    return json.loads(text, object_pairs_hook=_no_duplicate_keys)
  except json.JSONDecodeError as e:
    hint = " (lone CR line endings? separate inputs with \\n)" if "\r" in text.rstrip("\r") else ""
    raise DataError(path, line, f"not valid JSON: {e.msg} at column {e.colno}{hint}", "bad_json") from None
  except ValueError as e:  # a repeated key
    raise DataError(path, line, str(e), "bad_json") from None


def read(path: str, task_class: type) -> Inputs:
  """The examples of a JSON-lines file, each checked against `task_class`'s input format.

  Args:
    path: the inputs file (UTF-8, one JSON object a line).
    task_class: a `jddc.tasks` Task class; its `predict_groups` name the message groups.

  Returns:
    The examples in file order, as read (already valid: `check` passes on them).

  Raises:
    DataError: naming the file (and line) of the first problem.
  """
  groups = predict_groups(task_class)
  try:
    with open(path, "rb") as f:
      data = f.read()
  except FileNotFoundError:
    raise DataError(path, None, "no such inputs file", "missing") from None
  except IsADirectoryError:
    raise DataError(path, None, "is a folder; --inputs takes a JSON-lines file", "not_a_file") from None
  except OSError as e:
    raise DataError(path, None, f"cannot read the inputs file: {e.strerror}", "unreadable") from None
  try:
    text = data.decode("utf-8").removeprefix("\ufeff")
  except UnicodeDecodeError as e:
    line = data[:e.start].count(b"\n") + 1
    raise DataError(path, line, f"not valid UTF-8 ({e.reason})", "encoding") from None
  examples, lines = [], []
  for number, raw in enumerate(text.split("\n"), start=1):
    if not raw.strip():
      continue
    example = _parse_line(raw, path, number)
    check_example(example, groups, path, number)
    examples.append(example)
    lines.append(number)
  if not examples:
    raise DataError(path, None, "no inputs: the file has no JSON line (one dialogue a line; see "
                    "jddc/predict_inputs.py for the format)", "empty")
  return Inputs(examples, path, lines)


def predict_groups(task_class: type) -> tuple[str, ...]:
  """The message groups a task's `predict` reads; a task without a predict mode is refused."""
  groups = getattr(task_class, "predict_groups", ())
  if not groups:
    raise ValueError(f"{task_class.__name__} has no predict mode; use --mode=eval")
  return tuple(groups)


def expected_keys(groups: Sequence[str]) -> list[str]:
  return [f"{g}{part}" for g in groups for part in ("texts", "images", "speakers")]


def check(examples: Sequence[Any], groups: Sequence[str]) -> None:
  """Checks every example (a `read` result or a plain list); raises DataError naming the first bad one."""
  if not isinstance(examples, (list, tuple)):
    raise DataError("inputs", None, f"expected a list of examples (dicts), got {type(examples).__name__}",
                    "bad_type")
  for k, example in enumerate(examples):
    check_example(example, groups, *where(examples, k))


def check_example(example: Any, groups: Sequence[str], path: str, line: Optional[int]) -> None:
  """Raises DataError(path, line) unless `example` follows the module docstring's format."""
  def fail(message: str, reason: str = "bad_input"):
    raise DataError(path, line, message, reason)

  if not isinstance(example, dict):
    fail(f"expected a JSON object (a dialogue), got {_json_type(example)}", "bad_type")
  needed = expected_keys(groups)
  allowed = needed + list(OPTIONAL_KEYS)
  for key in example:
    if key not in allowed:
      close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
      hint = f" (did you mean {close[0]!r}?)" if close else f"; expected {', '.join(needed)}"
      fail(f"unknown key {key!r}{hint}", "unknown_key")
  missing = [k for k in needed if k not in example]
  if missing:
    fail(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}", "missing_key")
  for group in groups:
    lists = {part: example[f"{group}{part}"] for part in ("texts", "images", "speakers")}
    for part, value in lists.items():
      if not isinstance(value, list):
        fail(f"{group}{part} must be a list (one entry per message), got {_json_type(value)}", "bad_type")
    lengths = {f"{group}{part}": len(v) for part, v in lists.items()}
    if len(set(lengths.values())) > 1:
      fail("one entry per message in each list, but the lengths differ: "
           + ", ".join(f"{k} has {n}" for k, n in lengths.items()), "length_mismatch")
    for m, (text, image, speaker) in enumerate(zip(lists["texts"], lists["images"], lists["speakers"])):
      at = f"message {m} of {_GROUP_NAMES.get(group, group)}"
      if not isinstance(text, str):
        fail(f"{group}texts[{m}] must be a string, got {_json_type(text)}", "bad_type")
      if not isinstance(image, str):
        fail(f"{group}images[{m}] must be a string (a file name, or \"\"), got {_json_type(image)}", "bad_type")
      if type(speaker) is not int or speaker not in SPEAKERS:  # bool is an int subclass: refused too
        fail(f"{group}speakers[{m}] must be the integer 0 (customer) or 1 (agent), got {json.dumps(speaker)}",
             "bad_speaker")
      if bool(text) == bool(image):
        fail(f"{at}: a message is a text or an image, but {group}texts[{m}] and {group}images[{m}] are "
             f"{'both empty' if not text else 'both given'}", "bad_message")
  if not example[f"{groups[-1]}texts"]:
    fail(f"{groups[-1]}texts is empty: the dialogue needs at least one message there", "empty_dialogue")


def check_images(examples: Sequence[dict], groups: Sequence[str], feature_index: Optional[dict]) -> None:
  """Every image of every example has a row in the feature table (image name -> row) the task reads.

  `feature_index` None: a multimodal task without image features (the caller refuses it first);
  text-only tasks do not call this (their images are `[IMG]` places only).
  """
  for k, example in enumerate(examples):
    for group in groups:
      for m, name in enumerate(example[f"{group}images"]):
        if name and name not in feature_index:
          path, line = where(examples, k)
          raise DataError(path, line, f"{group}images[{m}]: image {name!r} has no image feature: it is not one "
                          f"of the {len(feature_index)} images this run reads (the release's images/, or those "
                          "given to jddc.inference.image_features)", "image_missing")


def check_task_inputs(task, examples: Sequence[dict]) -> None:
  """`check`, then, for a task that reads image features, `check_images` against its table.

  Raises:
    DataError: a bad input, located; ValueError: a multimodal task given no feature table.
  """
  groups = predict_groups(type(task))
  check(examples, groups)
  if getattr(task, "multimodal", False):
    if task.feature_table is None:
      raise ValueError(f"{type(task).__name__} is multimodal but has no image features: set task.feature_table "
                       "= jddc.inference.image_features(extractor_dir, image_paths) first")
    check_images(examples, groups, task.feature_table[0])


def _json_type(value: Any) -> str:
  names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list",
           dict: "an object", type(None): "null"}
  return names.get(type(value), type(value).__name__)
