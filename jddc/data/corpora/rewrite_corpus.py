"""REWRITE (Su et al. 2019), Chinese incomplete-utterance rewriting -> rewrite examples.

Layout (chin-gyou/dialogue-utterance-rewriter), one example a line, four fields separated
by two tabs:

    <root>/train.txt (or corpus.txt)    ctx1 \\t\\t ctx2 \\t\\t current \\t\\t rewrite
    <root>/valid.txt or dev.txt         optional, same format
    <root>/test.txt                     optional, same format

An example's context is [ctx1, ctx2] (speakers customer, agent; an empty context utterance
is left out), its query the incomplete utterance `current` (customer), its target `rewrite`,
`can_rewrite` 1 (every line has a rewrite; 5 of the 18,000 public lines keep the query as
it is). Session ids are `rewrite-<file stem>-<line>`.

Splits: a split with its own file reads it. Otherwise it is carved from the end of the
training file, by position among its non-blank lines, n of them: test = the last
round(0.1 n), valid = the round(0.05 n) before those, train = the rest. On the original
20,000-line `corpus.txt` the test part is exactly RUN's held-out last 2,000 lines; on the
public 18,000-line `train.txt` (RUN's training part) it is lines 16,201-18,000, valid
15,301-16,200, train 1-15,300.
"""

from __future__ import annotations

import os
from typing import Iterator

from jddc.data import release
from jddc.data.corpora import common
from jddc.data.errors import DataError, ErrorPolicy

TRAIN_FILES = ("train.txt", "corpus.txt")
SPLIT_FILES = {"valid": ("valid.txt", "dev.txt"), "test": ("test.txt",)}
FIELD_SEPARATOR = "\t\t"
FIELDS = ("ctx1", "ctx2", "current", "rewrite")
TEST_FRACTION, VALID_FRACTION = 0.1, 0.05


def files(root: str) -> list[str]:
  common.require_dir(root)
  train = common.find_file(root, TRAIN_FILES)
  if train is None:
    raise DataError(root, None, f"no REWRITE training file: expected one of {TRAIN_FILES}", "missing_file")
  return [train] + [p for split in ("valid", "test") if (p := common.find_file(root, SPLIT_FILES[split]))]


def _carved_splits(n: int, own_files: set[str]) -> list[str]:
  """Per non-blank line of the training file, its split."""
  n_test = round(TEST_FRACTION * n) if "test" not in own_files else 0
  n_valid = round(VALID_FRACTION * n) if "valid" not in own_files else 0
  n_train = n - n_test - n_valid
  return ["train"] * n_train + ["valid"] * n_valid + ["test"] * n_test


def _parse(path: str, lineno: int, line: str) -> tuple[list[str], str, str]:
  cols = line.split(FIELD_SEPARATOR)
  if len(cols) != len(FIELDS):
    raise DataError(path, lineno, f"expected {len(FIELDS)} fields ({', '.join(FIELDS)}) separated by two tabs, "
                    f"got {len(cols)}", "wrong_field_count")
  ctx1, ctx2, current, rewrite = (c.strip() for c in cols)
  if not current:
    raise DataError(path, lineno, "empty current utterance", "empty_message")
  if not rewrite:
    raise DataError(path, lineno, "empty rewrite", "bad_field")
  return [ctx1, ctx2], current, rewrite


def _example(path: str, lineno: int, line: str) -> dict:
  context, current, rewrite = _parse(path, lineno, line)
  kept = [(t, s) for t, s in zip(context, (common.CUSTOMER, common.AGENT)) if t]
  stem = os.path.splitext(os.path.basename(path))[0]
  return {"session_id": f"rewrite-{stem}-{lineno}", "index": len(kept), "shop_type": common.NO_SHOP_TYPE,
          **common.dialogue([t for t, _ in kept], [s for _, s in kept], "context_"),
          **common.dialogue([current], [common.CUSTOMER], "query_"),
          "can_rewrite": 1, "rewrite": rewrite, "knowledge": []}


def examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]:
  """Rewrite examples of `split` (context, incomplete utterance -> rewrite)."""
  READER.check_kind(kind)
  common.check_split(split)
  train_path, *_ = files(root)
  own = {s: p for s in SPLIT_FILES if (p := common.find_file(root, SPLIT_FILES[s]))}
  lines = list(release.iter_lines(train_path, policy))
  for (lineno, line), line_split in zip(lines, _carved_splits(len(lines), set(own))):
    if common.in_split(line_split, split):
      try:
        yield _example(train_path, lineno, line)
      except DataError as e:
        policy.handle(e)
  for file_split, path in own.items():
    if common.in_split(file_split, split):
      for lineno, line in release.iter_lines(path, policy):
        try:
          yield _example(path, lineno, line)
        except DataError as e:
          policy.handle(e)


READER = common.Reader(name="rewrite", kinds=("rewrite",), files=files, examples=examples,
                       description="REWRITE incomplete-utterance rewriting (context, utterance -> rewrite)")
