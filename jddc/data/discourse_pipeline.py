"""Grain pipeline for discourse parsing: dialogues of EDUs -> padded arrays for Deep Sequential.

Features of one dialogue (N = `max_edus`, T = `max_edu_len`, L = `max_links`, F = feature size):
  edu_tokens     int32[N, T]   each EDU's token ids and an end marker (`[SEP]`); an image EDU is
                               the end marker alone (its content, if any, is its image feature)
  edu_lengths    int32[N]      tokens per EDU; 0 marks a padding EDU (padding only at the end)
  speakers       int32[N]      speaker slot (0 customer / first speaker, 1 agent / second, ...)
  turns          int32[N]      turn index: it grows whenever the speaker changes
  is_image       int32[N]      1 for an image EDU
  image_features float32[N, F] its frozen ResNet-18 feature, zero for text EDUs (multimodal only)
  gold_parent    int32[N]      the earliest gold parent i of EDU j with 0 < j - i <= max_edu_dist
                               (the link the original trains on), -1 when there is none: a root
  gold_relation  int32[N]      that link's relation id, `num_relations` for a root
  rel_parents, rel_children, rel_labels  int32[L]   every gold link with parent < child (any
                               distance; a repeated pair keeps its first relation), for the
                               relation loss; -1 padding

Training dialogues longer than `max_edus` are cut to their first `max_edus` EDUs (links
leaving the kept part are dropped); `truncation_report` counts what that loses. With
`max_edus = 0` training reads whole dialogues instead, as the original does
(`length_bucketed_dataset`): dialogues sorted by length, cut into batches of neighbours, each
batch padded to its longest dialogue rounded up to a bucket (`bucket_edus`), so padding and
the number of compiled shapes stay small. Evaluation pads each batch to its own longest
dialogue (`pad_examples`), so nothing is cut.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import grain
import numpy as np

from jddc.data import pipeline
from jddc.data.errors import DataError
from jddc.data.tokenizers import Tokenizer


@dataclasses.dataclass(frozen=True)
class DiscourseConfig:
  batch_size: int = 8
  max_edus: int = 32
  max_edu_len: int = 32
  max_links: int = 64
  max_speakers: int = 2
  max_edu_dist: int = 20
  num_relations: int = 33
  shuffle: bool = True
  seed: int = 0
  num_epochs: Optional[int] = None
  drop_remainder: bool = True
  worker_count: int = 0
  process_index: int = 0
  process_count: int = 1

  def grain_config(self) -> pipeline.PipelineConfig:
    return pipeline.PipelineConfig(batch_size=self.batch_size, shuffle=self.shuffle, seed=self.seed,
                                   num_epochs=self.num_epochs, drop_remainder=self.drop_remainder,
                                   worker_count=self.worker_count, process_index=self.process_index,
                                   process_count=self.process_count)


def gold_links(example: dict) -> list[tuple[int, int, int]]:
  """(parent, child, relation) of every gold link, in the example's order."""
  return [(int(p), int(c), int(r)) for p, c, r in
          zip(example["link_parents"], example["link_children"], example["link_relations"])]


def encode_dialogue(example: dict, tokenizer: Tokenizer, config: DiscourseConfig, max_edus: int,
                    feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None) -> dict[str, np.ndarray]:
  """One discourse example -> the features of the module docstring, padded to `max_edus` EDUs."""
  texts = [pipeline.as_text(t) for t in example["edu_texts"]][:max_edus]
  images = [pipeline.as_text(i) for i in example["edu_images"]][:max_edus]
  n, t = len(texts), config.max_edu_len
  session = pipeline.as_text(example["session_id"])
  tokens = np.zeros((max_edus, t), np.int32)
  lengths = np.zeros((max_edus,), np.int32)
  for k, (text, image) in enumerate(zip(texts, images)):
    ids = ([] if image else tokenizer.encode(text)[:t - 1]) + [tokenizer.sep_id]
    tokens[k, :len(ids)] = ids
    lengths[k] = len(ids)
  speakers = _padded(example["edu_speakers"], max_edus, 0)
  if n and speakers[:n].max() >= config.max_speakers:
    raise ValueError(f"dialogue {session!r} has speaker slot {int(speakers[:n].max())}: raise model.max_speakers "
                     f"above {config.max_speakers}")
  out = {"edu_tokens": tokens, "edu_lengths": lengths, "speakers": speakers,
         "turns": _padded(example["edu_turns"], max_edus, 0),
         "is_image": np.asarray([1 if i else 0 for i in images] + [0] * (max_edus - n), np.int32)}
  if feature_table is not None:
    index, table = feature_table
    features = np.zeros((max_edus, table.shape[1]), np.float32)
    for k, name in enumerate(images):
      if name:
        if name not in index:
          raise DataError(session, None, f"no cached feature for image {name!r}", "image_missing")
        features[k] = table[index[name]]
    out["image_features"] = features
  out.update(link_targets(gold_links(example), n, max_edus, config))
  return out


def link_targets(links: Sequence[tuple[int, int, int]], num_edus: int, max_edus: int,
                 config: DiscourseConfig) -> dict[str, np.ndarray]:
  """gold_parent, gold_relation int32[max_edus] and rel_parents/children/labels int32[max_links]."""
  first: dict[tuple[int, int], int] = {}
  for p, c, r in links:
    if not 0 <= r < config.num_relations:
      raise ValueError(f"relation id {r} outside the corpus's {config.num_relations} relations")
    if 0 <= p < c < num_edus:
      first.setdefault((p, c), r)
  parent = np.full((max_edus,), -1, np.int32)
  relation = np.full((max_edus,), config.num_relations, np.int32)
  for (p, c), r in sorted(first.items()):  # ascending parent: the earliest reachable one wins
    if c - p <= config.max_edu_dist and parent[c] < 0:
      parent[c], relation[c] = p, r
  pairs = sorted(first.items(), key=lambda item: (item[0][1], item[0][0]))[:config.max_links]
  rel = np.full((3, config.max_links), -1, np.int32)
  for k, ((p, c), r) in enumerate(pairs):
    rel[:, k] = (p, c, r)
  return {"gold_parent": parent, "gold_relation": relation,
          "rel_parents": rel[0], "rel_children": rel[1], "rel_labels": rel[2]}


def _padded(values, length: int, fill: int) -> np.ndarray:
  out = np.full((length,), fill, np.int32)
  values = np.asarray(list(values)[:length], np.int32)
  out[:len(values)] = values
  return out


class DiscourseFeatures(grain.transforms.Map):
  """A discourse example -> the fixed-size features of the module docstring."""

  def __init__(self, tokenizer: Tokenizer, config: DiscourseConfig,
               feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None):
    self.tokenizer, self.config, self.feature_table = tokenizer, config, feature_table

  def map(self, example: dict) -> dict:
    return encode_dialogue(example, self.tokenizer, self.config, self.config.max_edus, self.feature_table)


def discourse_dataset(source: Any, tokenizer: Tokenizer, config: DiscourseConfig,
                      feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None) -> grain.IterDataset:
  """Batches of `DiscourseFeatures` over a random-access source (TFDS data source)."""
  return pipeline.make_dataset(source, DiscourseFeatures(tokenizer, config, feature_table), config.grain_config())


def pad_examples(examples: Sequence[dict], tokenizer: Tokenizer, config: DiscourseConfig,
                 feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None,
                 rows: int = 0, multiple: int = 16) -> dict[str, np.ndarray]:
  """An evaluation batch in which every EDU is kept.

  N is `config.max_edus`, or the longest dialogue rounded up to `multiple` when it is longer;
  with `rows`, empty dialogues (every EDU padding, no gold parent, link rows -1) fill the
  batch to that many rows. Few distinct shapes: few compilations.
  """
  longest = max(len(e["edu_texts"]) for e in examples)
  max_edus = max(config.max_edus, -(-longest // multiple) * multiple)
  config = dataclasses.replace(config, max_links=max(config.max_links, max(len(e["link_parents"]) for e in examples)))
  encoded = [encode_dialogue(e, tokenizer, config, max_edus, feature_table) for e in examples]
  batch = {k: np.stack([row[k] for row in encoded]) for k in encoded[0]}
  extra = max(0, rows - len(examples))
  fill = {"gold_parent": -1, "gold_relation": config.num_relations, "rel_parents": -1, "rel_children": -1,
          "rel_labels": -1}
  return {k: np.pad(v, [(0, extra)] + [(0, 0)] * (v.ndim - 1), constant_values=fill.get(k, 0))
          for k, v in batch.items()}


def bucket_edus(longest: int) -> int:
  """The EDU count a batch whose longest dialogue has `longest` EDUs is padded to: a multiple
  of 8 up to 32, of 16 up to 128, then of 32 (STAC train: 9 shapes, 8 ... 112)."""
  step = 8 if longest <= 32 else 16 if longest <= 128 else 32
  return max(step, -(-longest // step) * step)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
  """Indices sorted by (length, index), cut into consecutive batches of `batch_size` (the
  last one may be shorter): the original's `get_batches`. Every index is in exactly one batch."""
  order = sorted(range(len(lengths)), key=lambda k: (lengths[k], k))
  return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


class PaddedBatch(grain.transforms.Map):
  """A list of example indices -> one whole-dialogue batch: `pad_examples` to `bucket_edus` of its
  longest dialogue, `batch_size` rows (empty rows fill a short last batch), this process's rows."""

  def __init__(self, source: Any, tokenizer: Tokenizer, config: DiscourseConfig,
               feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None):
    self.source, self.tokenizer, self.config, self.feature_table = source, tokenizer, config, feature_table

  def map(self, indices) -> dict:
    c = self.config
    examples = [self.source[int(k)] for k in indices]
    edus = bucket_edus(max(len(e["edu_texts"]) for e in examples))
    most_links = max(len(e["link_parents"]) for e in examples)
    links = max(c.max_links, -(-most_links // edus) * edus)  # a multiple of N: one L per bucket, mostly
    batch = pad_examples(examples, self.tokenizer, dataclasses.replace(c, max_edus=edus, max_links=links),
                         self.feature_table, rows=c.batch_size, multiple=edus)
    rows = c.batch_size // c.process_count
    return {k: v[c.process_index * rows:(c.process_index + 1) * rows] for k, v in batch.items()}


def length_bucketed_dataset(source: Any, tokenizer: Tokenizer, config: DiscourseConfig,
                            feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None) -> grain.IterDataset:
  """Whole training dialogues in length-sorted batches (`length_sorted_batches`), the batches in a
  new random order every epoch (Grain's shuffle, then repeat), each padded by `PaddedBatch`.

  A batch holds `config.batch_size` rows (the global batch; this process gets its slice) of
  N = `bucket_edus(longest)` EDUs and L = the batch's most links (at least `max_links`):
  every EDU and every link of every dialogue is kept. One epoch = `len(batches)` steps.
  """
  if config.batch_size % config.process_count:
    raise ValueError(f"batch size {config.batch_size} is not a multiple of {config.process_count} processes")
  lengths = [len(source[k]["edu_texts"]) for k in range(len(source))]
  batches = length_sorted_batches(lengths, config.batch_size)
  ds = grain.MapDataset.source(batches)
  if config.shuffle:
    ds = ds.shuffle(seed=config.seed)
  if config.num_epochs != 1:
    ds = ds.repeat(config.num_epochs)
  return ds.map(PaddedBatch(source, tokenizer, config, feature_table)).to_iter_dataset()


def truncation_report(source: Any, max_edus: int, max_links: int) -> dict[str, int]:
  """What cutting training dialogues to `max_edus` EDUs (and `max_links` links) loses."""
  dialogues = edus = links = 0
  for k in range(len(source)):
    example = source[k]
    n = len(example["edu_texts"])
    kept = [(p, c) for p, c in zip(example["link_parents"], example["link_children"]) if p < max_edus and c < max_edus]
    if n > max_edus:
      dialogues += 1
      edus += n - max_edus
    links += len(example["link_parents"]) - min(len(kept), max_links)
  return {"dialogues_cut": dialogues, "edus_dropped": edus, "links_dropped": links}
