"""BERTSUMABS summarization (Table 9, "Text-only / Multimodal BERTSUMABS"; docs/baselines.md §5).

Source: every message as `[CLS] {[USER]|[AGENT]} text-or-[IMG] [SEP]` (PreSumm's sentences),
interval segment ids alternating per message, cut after `data.max_len` tokens (the start of
the dialogue is kept, as PreSumm keeps the first 512). Target: `[BOS] summary` as decoder
input, `summary [EOS]` as labels (`data.max_response_len`), BOS/EOS the tokenizer's
`bos_id`/`eos_id` ([CLS]/[SEP] with a BERT vocab; CSDS's port uses [unused1]/[unused2]).
Loss: label-smoothed KL (`model.label_smoothing`, 0.1) over target tokens. Optimizers: two
Adams with Noam schedules (`model.lr_encoder`/`warmup_encoder` for BERT,
`model.lr_decoder`/`warmup_decoder` for the rest), no clipping, as PreSumm. Decoding: beam
search with length penalty and n-gram blocking (`config.decode`). Evaluation as every
summary row (`jddc.tasks.summary.score`: ROUGE-1/2/L, percent).

Batch features (S = data.max_len, T = data.max_response_len, I = data.max_images):
  src, src_mask, segments int32[S]; dec_inputs, targets, target_mask int32[T];
  image_positions int32[I], image_features float32[I, 512] (multimodal).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import grain
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jddc import decoding, evaluation, predict_inputs
from jddc.data import pipeline
from jddc.models import bertsum, registry
from jddc.tasks import base
from jddc.tasks import summary as summary_lib

text = pipeline.as_text


def encode_source(example: dict, tok, max_len: int, max_images: int) -> tuple[list[int], list[int], list]:
  """A summary example -> (source ids, segment ids, kept images as (position, name)), at most `max_len` ids."""
  src, segments, kept = [], [], []
  for n, (message, image, speaker) in enumerate(zip(example["texts"], example["images"], example["speakers"])):
    image = text(image)
    ids = [tok.cls_id, tok.speaker_id(bool(speaker))]
    if image:
      kept.append((len(src) + len(ids), image))
      ids.append(tok.image_id)
    else:
      ids.extend(tok.encode(text(message)))
    ids.append(tok.sep_id)
    src.extend(ids)
    segments.extend([n % 2] * len(ids))
  kept = [(p, name) for p, name in kept if p < max_len][:max_images]
  return src[:max_len], segments[:max_len], kept


class BertSumFeatures(grain.transforms.Map):
  """A summary example -> the batch features of the module docstring."""

  def __init__(self, tokenizer, config: pipeline.PipelineConfig, feature_table=None):
    self.tokenizer, self.config, self.feature_table = tokenizer, config, feature_table

  def map(self, example: dict) -> dict:
    cfg, tok = self.config, self.tokenizer
    src, segments, kept = encode_source(example, tok, cfg.max_len, cfg.max_images)
    target = tok.encode(text(example.get("summary", "")))[:cfg.max_response_len - 1]
    pad = pipeline._pad  # noqa: SLF001  (the pipeline's own padding)
    out = {"src": pad(np.asarray(src, np.int32), cfg.max_len),
           "src_mask": pad(np.ones(len(src), np.int32), cfg.max_len),
           "segments": pad(np.asarray(segments, np.int32), cfg.max_len),
           "dec_inputs": pad(np.asarray([tok.bos_id] + target, np.int32), cfg.max_response_len),
           "targets": pad(np.asarray(target + [tok.eos_id], np.int32), cfg.max_response_len),
           "target_mask": pad(np.ones(len(target) + 1, np.int32), cfg.max_response_len)}
    if self.feature_table is not None:
      out.update(pipeline.image_inputs(kept, cfg, "", self.feature_table))
    return out


class BertSumTask(base.Task):
  metric = "rougeL"
  predict_groups = ("",)  # a `--mode=predict` input: texts, images, speakers (`jddc.predict_inputs`)
  metric_mode = "max"
  throughput_unit = "tokens"

  def prepare(self) -> None:
    self.prepare_data("summary", image_features=self.multimodal)

  def pipeline_config(self, **kw) -> pipeline.PipelineConfig:
    d = self.config.data
    kw.setdefault("batch_size", self.config.train.batch_size)
    return pipeline.PipelineConfig(max_len=d.max_len, max_response_len=d.max_response_len, max_images=d.max_images,
                                   image_size=0, seed=self.config.seed, worker_count=d.worker_count, **kw)

  def model_context(self) -> registry.ModelContext:
    """Decoder positions for [BOS] + the longest target (`data.max_response_len`)."""
    return dataclasses.replace(super().model_context(), max_target_len=self.config.data.max_response_len + 1)

  def optimizer(self) -> optax.GradientTransformation:
    m = self.config.model
    return bertsum.two_adams(m.lr_encoder, m.warmup_encoder, m.lr_decoder, m.warmup_decoder, self.config.optim.clip)

  def learning_rates(self, step: int) -> dict[str, float]:
    m = self.config.model
    return {"lr_encoder": float(bertsum.noam(m.lr_encoder, m.warmup_encoder)(step - 1)),
            "lr_decoder": float(bertsum.noam(m.lr_decoder, m.warmup_decoder)(step - 1))}

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    config = self.pipeline_config(process_index=process_index, process_count=process_count)
    return pipeline.make_dataset(self.sources["train"], BertSumFeatures(self.tokenizer, config, self.feature_table),
                                 config)

  def _image_args(self, batch) -> tuple:
    return (batch["image_features"], batch["image_positions"]) if self.multimodal else ()

  def loss(self, model, batch, rng):
    logits = model(batch["src"], batch["src_mask"], batch["segments"], batch["dec_inputs"], batch["target_mask"],
                   *self._image_args(batch), deterministic=False, rngs=nnx.Rngs(dropout=rng))
    kl, nll, count = bertsum.label_smoothed_loss(logits, batch["targets"], batch["target_mask"],
                                                 self.config.model.label_smoothing, self.tokenizer.pad_id)
    return (kl, count), {"token_nll": (nll, count)}

  def count_tokens(self, batch) -> int:
    return int(batch["src_mask"].sum() + batch["target_mask"].sum())

  # -- evaluation ------------------------------------------------------------

  def generate(self, model, examples: list[dict]) -> list[str]:
    """Summaries of at most `eval.batch_size` examples (decoded in one compiled shape)."""
    tok = self.tokenizer
    transform = BertSumFeatures(tok, self.pipeline_config(), self.feature_table)
    batch = evaluation.stack([transform.map({**e, "summary": ""}) for e in examples], self.config.eval.batch_size)
    batch = {k: jnp.asarray(v) for k, v in batch.items()}
    options = decoding.DecodeOptions.from_config(self.config.decode, tok, seq2seq=True)
    out, lengths = bertsum.generate(model, batch["src"], batch["src_mask"], batch["segments"],
                                    *self._image_args(batch), options=options)
    return [tok.decode([int(t) for t in row[:n] if t != tok.eos_id])
            for row, n in zip(np.asarray(out)[:len(examples)], np.asarray(lengths))]

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    hyps = evaluation.in_batches(lambda chunk: self.generate(model, chunk), examples, self.config.eval.batch_size)
    return summary_lib.score(examples, hyps, split, out_dir)

  def predict(self, model, examples: list[dict]) -> list[dict]:
    """Examples with `texts`, `images` and `speakers` (`jddc.predict_inputs`) -> with `prediction`."""
    predict_inputs.check_task_inputs(self, examples)
    if not examples:
      return []
    return [{**e, "prediction": p} for e, p in zip(examples, self.generate(model, examples))]
