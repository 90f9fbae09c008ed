"""Named kill points for fault-injection tests: `JDDC_KILL_AT=<point>[:<n>]` SIGKILLs the
process the n-th time (default 1st) it reaches `faults.point("<point>")`.

    faults.point("checkpoint.after_best_save")   # no-op unless JDDC_KILL_AT names it

Points are listed in `POINTS` so a test can assert that each one is reached; a name not in
`POINTS` is a programming error (a typo would make a fault test pass without killing).
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Iterator

ENV = "JDDC_KILL_AT"

POINTS = (
    "corpus.during_generation",       # the embedded corpus is half written
    "shards.during_build",            # TFDS shards of one example type are half written
    "tokenizer.during_training",      # sentencepiece trained, not yet saved
    "extractor.before_first_eval",    # the feature extractor trained a few steps, nothing evaluated
    "extractor.after_first_eval",     # the extractor has a best checkpoint but has not finished
    "features.during_extraction",     # some image features computed, the table not written
    "train.after_best_save",          # a best checkpoint saved, the next latest checkpoint not yet
    "checkpoint.during_save",         # a latest checkpoint is being written
    "eval.during_final",              # the final evaluation has written some predictions
    "results.during_write",           # results.json is being written
)

_hits: dict[str, int] = {}
_skipped: set[str] = set()


@contextlib.contextmanager
def skipping(name: str) -> Iterator[None]:
  """`point(name)` is a no-op inside: code shared by another phase (validation writes its
  predictions as the final evaluation does) does not count as the phase the point names."""
  if name not in POINTS:
    raise ValueError(f"unknown fault point {name!r}; known: {', '.join(POINTS)}")
  _skipped.add(name)
  try:
    yield
  finally:
    _skipped.discard(name)


def point(name: str) -> None:
  """SIGKILLs this process if `JDDC_KILL_AT` names `name` and this is its n-th hit."""
  if name not in POINTS:
    raise ValueError(f"unknown fault point {name!r}; known: {', '.join(POINTS)}")
  spec = os.environ.get(ENV)
  if not spec or name in _skipped:
    return
  target, _, nth = spec.partition(":")
  if target != name:
    return
  _hits[name] = _hits.get(name, 0) + 1
  if _hits[name] == (int(nth) if nth else 1):
    os.kill(os.getpid(), signal.SIGKILL)
