"""Grain input pipelines: examples -> tokens, pixels and masks -> batches, per process.

    source (TFDS data source) -> shuffle -> repeat -> this process's slice -> map(features)
    -> [worker processes run the map] -> [pack] -> batch (batch_size / process_count rows)

`batch_size` is the global batch. Process p of P takes every P-th example of the one
shuffled stream, starting at p, and batches batch_size / P of them, so global batch t is
always stream examples [t * batch_size, (t + 1) * batch_size) whatever P is (rows in
another order): a run on two hosts sees the same batches as a run on one.

The iterator's state (`get_state`/`set_state`) round-trips through an Orbax checkpoint
with `grain.checkpoint.CheckpointSave` / `CheckpointRestore`.

Response features (one example, before batching; L = `max_len`, I = `max_images`,
S = `image_size`):
  tokens      int32[L]   [CLS] [knowledge [SEP]] {[USER]|[AGENT]} text-or-[IMG] [SEP] ... [AGENT] response [SEP],
                         padded (knowledge: `PipelineConfig.knowledge_budget` > 0, `jddc.data.knowledge`)
  loss_mask   int32[L]   1 where the token is a target (the response and its [SEP])
  image_positions int32[I]  index in `tokens` of each [IMG] kept, -1 for padding
  images      uint8[I, S, S, 3]  the images at those positions (absent when S == 0)
  image_features float32[I, F]   their precomputed features (when a feature table is given)
Context is truncated from the left; images whose [IMG] falls outside the window are dropped.
Rewrite generation uses the same features over the context then the query's messages, with
the rewrite as the target, opened by the tokenizer's bos id instead of [AGENT]
(`PipelineConfig.dialogue_fields`, `target_field`, `target_marker`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Optional

import grain
import numpy as np

from jddc.data import examples as examples_lib
from jddc.data import images as images_lib
from jddc.data import knowledge as knowledge_lib
from jddc.data import release as release_lib
from jddc.data.tokenizers import Tokenizer


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  batch_size: int = 8
  max_len: int = 256
  max_response_len: int = 64
  max_images: int = 4
  image_size: int = 64  # 0: no pixels (text-only models, or precomputed features)
  shuffle: bool = True
  seed: int = 0
  num_epochs: Optional[int] = None  # None: repeat forever
  drop_remainder: bool = True
  pack: bool = False  # text-only: pack several examples into one row
  worker_count: int = 0
  process_index: int = 0
  process_count: int = 1
  # What a generation example reads (`encode_dialogue`): the message groups, in order, that
  # form the dialogue; the target text field; and the token that opens the target ("agent":
  # [AGENT] for a response, "bos": the tokenizer's bos id, the rewrite marker).
  dialogue_fields: tuple[str, ...] = ("context_",)
  target_field: str = "response"
  target_marker: str = "agent"
  # Tokens an evaluation prompt leaves free in the window for the generated target besides its
  # opening token (`encode_dialogue(with_response=False)`); the configs' `decode.prompt_reserve`.
  prompt_reserve: int = 1
  # Token ids of the session's product knowledge placed after [CLS], closed by [SEP]
  # (`knowledge.linearise`; 0: none). The context's budget shrinks by as much.
  knowledge_budget: int = 0


def as_text(value) -> str:
  """A TFDS text field (bytes) or a plain string -> str."""
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


resize_center_crop = images_lib.resize_center_crop  # uint8[S, S, 3], memory O(S^2) whatever the aspect ratio


def load_pixels(image_dir: str, name: str, size: int) -> np.ndarray:
  """Reads, decodes (once, fully) and resizes one release image; a bad name or file raises DataError."""
  path = release_lib.resolve_image(image_dir, name, image_dir, None)
  return resize_center_crop(images_lib.decode_image(path, name, image_dir, None), size)


def target_marker_id(tok: Tokenizer, marker: str) -> int:
  """The id that opens a generation target: "agent" -> [AGENT], "bos" -> bos (the rewrite marker)."""
  if marker not in ("agent", "bos"):
    raise ValueError(f"target_marker must be 'agent' or 'bos', not {marker!r}")
  return tok.agent_id if marker == "agent" else tok.bos_id


def _messages(example: dict, prefixes: tuple[str, ...]):
  for prefix in prefixes:
    yield from examples_lib.group_messages(example, prefix)


def encode_dialogue(example: dict, tok: Tokenizer, config: PipelineConfig,
                    with_response: bool = True) -> tuple[list[int], int, list[tuple[int, str]]]:
  """A generation example -> (tokens, index of the first target, kept images as (position, name)).

  The dialogue is the messages of `config.dialogue_fields` in order, the target
  `example[config.target_field]` opened by the `config.target_marker` token. Without the
  target, the tokens end with that opening token: a prompt, whose context keeps at most
  `max_len` - 2 - `config.prompt_reserve` tokens ([CLS] and the opening token share the
  window). A reserve of 1 keeps as much as the longest training example (one with a
  one-token target). The response rows reserve `decode.max_new_tokens` (the configs'
  `decode.prompt_reserve`): a GPT-2 trained on windows that long dialogues fill to the end
  learns to close its reply where the window ends, so a prompt that starts the reply at
  position `max_len` - 2 gets it closed at once (the embedded corpus v2 at small: 203 of
  600 test replies empty with a reserve of 1). Generation needs prompt + new tokens <= the
  model's positions (`decoding.gpt2_generate`; the configs' rule `_generation_fits_model`).
  """
  response = [target_marker_id(tok, config.target_marker)]
  if with_response:
    response += tok.encode(as_text(example[config.target_field]))[:config.max_response_len] + [tok.sep_id]
  context: list[int] = []
  image_at: list[tuple[int, str]] = []  # (offset in context, image name)
  for text, image, speaker in _messages(example, config.dialogue_fields):
    context.append(tok.speaker_id(bool(speaker)))
    image = as_text(image)
    if image:
      image_at.append((len(context), image))
      context.append(tok.image_id)
    else:
      context.extend(tok.encode(as_text(text)))
    context.append(tok.sep_id)
  knowledge = knowledge_lib.linearise(example.get("knowledge", ()), tok, config.knowledge_budget)
  knowledge += [tok.sep_id] if knowledge else []
  budget = config.max_len - 1 - len(knowledge) - len(response) - (0 if with_response else config.prompt_reserve)
  if not with_response and config.prompt_reserve < 1:
    raise ValueError(f"prompt_reserve {config.prompt_reserve}: a prompt must leave at least the first generated token")
  if budget < 0:
    raise ValueError(f"max_len {config.max_len} leaves no room for a response of {config.max_response_len} tokens"
                     if with_response else f"max_len {config.max_len} leaves no room for a prompt")
  cut = max(0, len(context) - budget)
  tokens = [tok.cls_id] + knowledge + context[cut:] + response
  kept = [(1 + len(knowledge) + offset - cut, name) for offset, name in image_at if offset >= cut]
  kept = kept[len(kept) - config.max_images:] if config.max_images else []
  return tokens, len(tokens) - len(response) + 1, kept


class ResponseFeatures(grain.transforms.Map):
  """A response example -> tokens, loss mask, image positions and pixels or features (module docstring)."""

  def __init__(self, tokenizer: Tokenizer, image_dir: str, config: PipelineConfig,
               feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None):
    self.tokenizer, self.image_dir, self.config = tokenizer, image_dir, config
    self.feature_table = feature_table

  def map(self, example: dict) -> dict:
    cfg = self.config
    tokens, first_target, kept = encode_dialogue(example, self.tokenizer, cfg)
    loss_mask = np.zeros(len(tokens), np.int32)
    loss_mask[first_target:] = 1
    out = {"tokens": np.asarray(tokens, np.int32), "loss_mask": loss_mask}
    if not cfg.pack:
      out = {k: _pad(v, cfg.max_len) for k, v in out.items()}
      out.update(image_inputs(kept, cfg, self.image_dir, self.feature_table))
    return out


def image_inputs(kept: list[tuple[int, str]], config: PipelineConfig, image_dir: str,
                 feature_table: Optional[tuple[dict[str, int], np.ndarray]]) -> dict[str, np.ndarray]:
  """image_positions int32[I] (-1 padding), and images uint8[I, S, S, 3] and/or image_features float32[I, F]."""
  positions = np.full((config.max_images,), -1, np.int32)
  positions[:len(kept)] = [p for p, _ in kept]
  out = {"image_positions": positions}
  if config.image_size:
    pixels = np.zeros((config.max_images, config.image_size, config.image_size, 3), np.uint8)
    for k, (_, name) in enumerate(kept):
      pixels[k] = load_pixels(image_dir, name, config.image_size)
    out["images"] = pixels
  if feature_table is not None:
    index, table = feature_table
    features = np.zeros((config.max_images, table.shape[1]), np.float32)
    for k, (_, name) in enumerate(kept):
      if name not in index:
        raise release_lib.DataError(image_dir, None, f"no cached feature for image {name!r}", "image_missing")
      features[k] = table[index[name]]
    out["image_features"] = features
  return out


class ImageCategoryFeatures(grain.transforms.Map):
  """An image_category example -> image uint8[S, S, 3] and label int32[]."""

  def __init__(self, image_dir: str, config: PipelineConfig):
    self.image_dir, self.config = image_dir, config

  def map(self, example: dict) -> dict:
    return {"image": load_pixels(self.image_dir, as_text(example["image"]), self.config.image_size),
            "label": np.int32(example["label"])}


def _pad(array: np.ndarray, length: int, value: int = 0) -> np.ndarray:
  out = np.full((length,), value, array.dtype)
  out[:len(array)] = array
  return out


def make_dataset(source: Any, transform: Callable | grain.transforms.Map, config: PipelineConfig) -> grain.IterDataset:
  """The pipeline of the module docstring over a random-access `source`."""
  if config.batch_size % config.process_count:
    raise ValueError(f"batch size {config.batch_size} is not a multiple of {config.process_count} processes")
  ds = grain.MapDataset.source(source)
  if config.shuffle:
    ds = ds.shuffle(seed=config.seed)
  if config.num_epochs != 1:
    ds = ds.repeat(config.num_epochs)
  if config.process_count > 1:
    ds = ds[config.process_index::config.process_count]
  ds = ds.map(transform)
  it = ds.to_iter_dataset()
  if config.worker_count > 0:
    # Workers run the per-example map; packing and batching stay in this process, so the
    # batches do not depend on the number of workers.
    it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=config.worker_count))
  if config.pack:
    it = grain.experimental.FirstFitPackIterDataset(
        it, length_struct={"tokens": config.max_len, "loss_mask": config.max_len},
        num_packing_bins=config.batch_size // config.process_count, seed=config.seed)
  return it.batch(config.batch_size // config.process_count, drop_remainder=config.drop_remainder)


def response_dataset(source: Any, tokenizer: Tokenizer, release_dir: str, config: PipelineConfig,
                     feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None) -> grain.IterDataset:
  if config.pack and (config.image_size or feature_table is not None):
    raise ValueError("packing is for text-only pipelines: set image_size=0 and pass no feature table")
  transform = ResponseFeatures(tokenizer, os.path.join(release_dir, "images"), config, feature_table)
  return make_dataset(source, transform, config)


# ---------------------------------------------------------------------------
# Summaries (Pointer-Generator)
# ---------------------------------------------------------------------------

def encode_summary(example: dict, tok: Tokenizer, vocab_size: int, max_source_len: int,
                   max_target_len: int) -> dict[str, list[int]]:
  """A summary example -> source and target ids over a vocabulary extended by the source's OOVs.

  The source is every message as its speaker token ([USER] / [AGENT]) followed by its text
  pieces or [IMG], cut after `max_source_len` tokens. Tokenizer ids >= `vocab_size` are
  out of the generator's vocabulary: in `src_ids` and `dec_inputs` they read `unk_id`; in
  `src_ext_ids` and `targets` the k-th distinct one of the source is `vocab_size + k`
  (`oovs[k]` is its tokenizer id); a target OOV absent from the source is `unk_id`.

  Returns:
    Lists: src_ids, src_ext_ids (length <= max_source_len), oovs, dec_inputs ([BOS] +
    target) and targets (target + [EOS]), both <= max_target_len (the target is cut to
    `max_target_len - 1` pieces).
  """
  source: list[int] = []
  for text, image, speaker in zip(example["texts"], example["images"], example["speakers"]):
    source.append(tok.speaker_id(bool(speaker)))
    source.extend([tok.image_id] if as_text(image) else tok.encode(as_text(text)))
  source = source[:max_source_len]
  oovs: list[int] = []
  for t in source:
    if t >= vocab_size and t not in oovs:
      oovs.append(t)
  ext = {t: vocab_size + k for k, t in enumerate(oovs)}
  in_vocab = lambda t: t if t < vocab_size else tok.unk_id  # noqa: E731
  target = tok.encode(as_text(example["summary"]))[:max_target_len - 1]
  return {"src_ids": [in_vocab(t) for t in source], "src_ext_ids": [ext.get(t, in_vocab(t)) for t in source],
          "oovs": oovs, "dec_inputs": [tok.bos_id] + [in_vocab(t) for t in target],
          "targets": [ext.get(t, in_vocab(t)) for t in target] + [tok.eos_id]}


class SummaryFeatures(grain.transforms.Map):
  """A summary example -> padded arrays (L = `max_len`, T = `max_response_len` of the config):
  src_ids, src_ext_ids, src_mask int32[L]; dec_inputs, targets, target_mask int32[T]."""

  def __init__(self, tokenizer: Tokenizer, vocab_size: int, config: PipelineConfig):
    self.tokenizer, self.vocab_size, self.config = tokenizer, vocab_size, config

  def map(self, example: dict) -> dict:
    cfg = self.config
    e = encode_summary(example, self.tokenizer, self.vocab_size, cfg.max_len, cfg.max_response_len)
    arrays = {k: np.asarray(v, np.int32) for k, v in e.items() if k != "oovs"}
    arrays["src_mask"] = np.ones(len(e["src_ids"]), np.int32)
    arrays["target_mask"] = np.ones(len(e["targets"]), np.int32)
    return {k: _pad(v, cfg.max_len if k.startswith("src") else cfg.max_response_len) for k, v in arrays.items()}


def summary_dataset(source: Any, tokenizer: Tokenizer, vocab_size: int, config: PipelineConfig) -> grain.IterDataset:
  if config.pack or config.image_size:
    raise ValueError("summary batches are text-only and unpacked: set pack=False and image_size=0")
  return make_dataset(source, SummaryFeatures(tokenizer, vocab_size, config), config)
