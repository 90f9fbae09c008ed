"""The one evaluation path of every row: fixed-size batches, a jitted model function, predictions.

A task's `evaluate(model, split, out_dir)` reads a split's examples (`base.first_examples`
up to `eval.max_examples`), runs its model over them in batches of `eval.batch_size`
(`map_batches` for arrays, `in_batches` for a decoder that takes examples), scores them and
writes `predictions_<split>.jsonl` (`write_predictions`, through `jddc.predictions`).

Model functions are jitted as training and decoding are (`jddc.train.make_train_step`,
`jddc.decoding`): one `jax.jit` of a pure function of the split NNX state, the graph
definition static and the state an argument (`jit_model`), so a new checkpoint's weights
reuse the compiled function.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

import jax
import numpy as np
from flax import nnx

from jddc import predictions

T = TypeVar("T")
Batch = dict[str, np.ndarray]


def batches(items: Sequence[T], batch_size: int) -> Iterator[list[T]]:
  """`items` in consecutive chunks of `batch_size` (the last one shorter), in order."""
  if batch_size < 1:
    raise ValueError(f"eval.batch_size must be >= 1, got {batch_size}")
  for start in range(0, len(items), batch_size):
    yield list(items[start:start + batch_size])


def stack(rows: Sequence[Batch], pad_to: int = 0) -> Batch:
  """Feature dicts of one example each -> a batch dict of [max(len(rows), pad_to), ...] arrays.

  Rows past `len(rows)` repeat the last row (real inputs, so no special case in the model):
  a last, shorter batch keeps the compiled shape of the others. Their outputs are to be dropped.
  """
  if not rows:
    raise ValueError("stack: no rows to batch")
  rows = list(rows) + [rows[-1]] * max(0, pad_to - len(rows))
  return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def in_batches(fn: Callable[[list[T]], list[Any]], items: Sequence[T], batch_size: int) -> list[Any]:
  """`fn` (a list of items -> one output per item) over `items` in chunks of `batch_size`,
  outputs concatenated in order; `fn` pads a chunk itself where its model needs one shape."""
  out: list[Any] = []
  for chunk in batches(items, batch_size):
    got = fn(chunk)
    if len(got) != len(chunk):
      raise ValueError(f"in_batches: {len(got)} outputs for a batch of {len(chunk)} inputs")
    out.extend(got)
  return out


def map_batches(fn: Callable[[Batch], dict[str, Any]], encode: Callable[[Any], Batch], items: Sequence[Any],
                batch_size: int, pad: bool = True) -> dict[str, np.ndarray]:
  """Runs `fn(batch) -> {name: [B, ...]}` over `items` encoded one by one (`encode`) in
  batches of `batch_size`; returns each name's outputs for every item, [len(items), ...].

  With `pad`, the last batch is padded to `batch_size` rows (`stack`): one compiled shape.
  """
  outputs: dict[str, list[np.ndarray]] = {}
  for chunk in batches(items, batch_size):
    batch = stack([encode(item) for item in chunk], batch_size if pad else 0)
    for name, value in fn(batch).items():
      outputs.setdefault(name, []).append(np.asarray(value)[:len(chunk)])
  return {k: np.concatenate(v) for k, v in outputs.items()}


def jit_model(fn: Callable[..., Any]) -> Callable[..., Any]:
  """`fn(model, *args)` -> the same function, compiled as one `jax.jit` over the model's split state.

  The graph definition is static (hashable: one compilation per model structure and argument
  shapes); the state is a traced argument, so evaluating another checkpoint of the model
  reuses the compiled function. `fn` must not change the model (evaluation mode: no dropout,
  BatchNorm reading its statistics).
  """
  def pure(graphdef, state, *args):
    return fn(nnx.merge(graphdef, state), *args)

  compiled = jax.jit(pure, static_argnums=0)

  def call(model: nnx.Module, *args):
    graphdef, state = nnx.split(model)
    return compiled(graphdef, state, *args)

  return call


def write_predictions(out_dir: Optional[str], split: str, rows: Iterable[dict]) -> None:
  """`<out_dir>/predictions_<split>.jsonl` from one JSON object per example; nothing without
  `out_dir` (validation during training, processes other than 0)."""
  if out_dir:
    predictions.write(predictions.path(out_dir, split), rows)
