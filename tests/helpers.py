"""Helpers shared by the tests (moved out of `jddc/`, where only tests used them)."""

import os
from typing import Any, Iterable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jddc.data import examples, pipeline, schema, tokenizers
from jddc.models import gpt2


def random_gpt2(cfg: gpt2.GPT2Config, seed: int = 0, scale: float = 0.3) -> gpt2.GPT2:
  """A GPT-2 with numpy-drawn weights (no RNG compile), larger than the init so outputs vary."""
  rs = np.random.RandomState(seed)
  graphdef, state = nnx.split(nnx.eval_shape(lambda: gpt2.GPT2(cfg, rngs=nnx.Rngs(0))))

  def draw(path, a):
    mean = 1.0 if "['scale']" in jax.tree_util.keystr(path) else 0.0
    return jnp.asarray(rs.normal(mean, scale, a.shape), a.dtype)
  return nnx.merge(graphdef, jax.tree.map_with_path(draw, state))


def build_examples(release: schema.Release, kind: str, split: str) -> list[dict]:
  """Every `kind` example of a split, as a list (`jddc.data.examples.BUILDERS`)."""
  return list(examples.BUILDERS[kind](release, split))


def image_category_dataset(source: Any, release_dir: str, config: pipeline.PipelineConfig):
  """A Grain dataset of image-category batches over a data source."""
  transform = pipeline.ImageCategoryFeatures(os.path.join(release_dir, "images"), config)
  return pipeline.make_dataset(source, transform, config)


def write_test_vocab(path: str | os.PathLike, chars: Iterable[str]) -> list[str]:
  """Writes a small vocab in the BERT layout: the 104 leading entries, then `chars`.

  Args:
    path: the `vocab.txt` to write.
    chars: characters or pieces (`"##a"` continuations included), in id order from 104;
      duplicates, leading entries and pieces holding whitespace are skipped.

  Returns:
    The entries written, in id order.
  """
  entries = list(tokenizers.BERT_LEADING_ENTRIES)
  seen = set(entries)
  for piece in chars:
    if piece and piece not in seen and not any(c.isspace() for c in piece):
      seen.add(piece)
      entries.append(piece)
  with open(path, "w", encoding="utf-8") as f:
    f.write("".join(e + "\n" for e in entries))
  return entries
