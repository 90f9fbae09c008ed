"""Dialogue summarization (Table 9): Lead and LexRank (no training), the Pointer-Generator.

Every row scores its summaries of a split with `jddc.metrics.summary_metrics`: character
ROUGE-1/2 F1 and summary-level ROUGE-L F1 (sentences split after "。", the CSDS convention),
averaged over examples, in percent; predictions go to `predictions_<split>.jsonl`.

- `ExtractiveSummaryTask` (`model.name` "lead" or "lexrank", `jddc.extractive`): utterances
  are the text messages without speaker prefixes (`model.speaker_prefixes` adds
  `用户:` / `客服:`); the length budget N is the mean character length of the train split's
  summaries unless `model.length` sets it. `model.separator` goes between the extracted
  utterances ("" by default; "。" on CSDS, as CSDS's own outputs) and is not counted in N;
  LexRank's `model.length_rule` says whether the selection may overshoot N ("reach", the
  default) or stays within it ("fit", CSDS's LexPageRank outputs).
- `PointerGeneratorTask`: `jddc.models.pointer_generator` trained with teacher forcing on
  `pipeline.summary_dataset` batches, loss = NLL + `coverage_loss_weight` x coverage loss
  from the first step; greedy or beam decoding (`config.decode`); the checkpoint with the best
  validation ROUGE-L is kept.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional

import grain
import jax.numpy as jnp
import numpy as np
import optax

from jddc import decoding, evaluation, extractive, metrics as metrics_lib, predict_inputs
from jddc.data import pipeline
from jddc.models import pointer_generator as pgn
from jddc.models import registry
from jddc.tasks import base

text = pipeline.as_text


def prediction_rows(examples: list[dict], hyps: list[str], refs: list[str]) -> Iterator[dict]:
  """What `predictions_<split>.jsonl` holds for each summarized dialogue."""
  for ex, hyp, ref in zip(examples, hyps, refs):
    yield {"session_id": text(ex["session_id"]),
           "dialogue": [text(t) or f"<image {text(i)}>" for t, i in zip(ex["texts"], ex["images"])],
           "speakers": [int(s) for s in ex["speakers"]], "reference": ref, "prediction": hyp}


def score(examples: list[dict], hyps: list[str], split: str, out_dir: Optional[str]) -> dict[str, float]:
  """Every summary row's metrics of `hyps` against the examples' summaries; writes the predictions."""
  refs = [text(ex["summary"]) for ex in examples]
  scores = metrics_lib.summary_metrics(hyps, refs)
  scores["examples"] = float(len(examples))
  evaluation.write_predictions(out_dir, split, prediction_rows(examples, hyps, refs))
  return scores


class ExtractiveSummaryTask(base.Evaluator):
  """Lead or LexRank over a dialogue's utterances; nothing to train (an `Evaluator`)."""

  metric = "rougeL"
  predict_groups = ("",)  # a `--mode=predict` input: texts, images, speakers (`jddc.predict_inputs`)
  metric_mode = "max"

  def prepare(self) -> None:
    with base.stage("corpus"):
      self.release = base.release_dir(self.config)
    with base.stage("tfds shards"):
      self.sources = base.data_sources(self.config, "summary")
    train = base.first_examples(self.sources["train"], 0)
    if not train:
      raise ValueError(f"no summary examples in the train split of {self.release}")
    self.mean_summary_length = float(np.mean([extractive.char_length(text(ex["summary"])) for ex in train]))
    self.length = self.config.model.length or int(round(self.mean_summary_length))

  def summarize(self, example: dict) -> str:
    m = self.config.model
    sentences = extractive.utterances([text(t) for t in example["texts"]], [int(s) for s in example["speakers"]],
                                      m.speaker_prefixes)
    if m.name == "lead":
      return extractive.lead(sentences, self.length, m.separator)
    if m.name == "lexrank":
      return extractive.lexrank(sentences, self.length, m.threshold, m.epsilon, m.ngram, m.length_rule, m.separator)
    raise ValueError(f"model.name: {m.name!r} is not an extractive summarizer (lead, lexrank)")

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    del model  # None: nothing trained
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    scores = score(examples, [self.summarize(ex) for ex in examples], split, out_dir)
    scores["budget"] = float(self.length)
    return scores

  def predict(self, model, examples: list[dict]) -> list[dict]:
    """Examples with `texts`, `images` and `speakers` (`jddc.predict_inputs`) -> with `prediction`."""
    predict_inputs.check_task_inputs(self, examples)
    return [{**e, "prediction": self.summarize(e)} for e in examples]


class PointerGeneratorTask(base.Task):
  """The Pointer-Generator with coverage (See et al. 2017) on dialogues."""

  metric = "rougeL"
  predict_groups = ("",)  # a `--mode=predict` input: texts, images, speakers (`jddc.predict_inputs`)
  metric_mode = "max"
  throughput_unit = "tokens"

  def prepare(self) -> None:
    self.prepare_data("summary")
    full = self.tokenizer.vocab_size
    self.vocab_size = self.config.model.vocab_size or full
    if self.vocab_size > full:
      raise ValueError(f"model.vocab_size {self.vocab_size} exceeds the tokenizer's {full} entries")

  def pipeline_config(self, **kw) -> pipeline.PipelineConfig:
    d = self.config.data
    kw.setdefault("batch_size", self.config.train.batch_size)
    return pipeline.PipelineConfig(max_len=d.max_len, max_response_len=d.max_response_len, image_size=0,
                                   seed=self.config.seed, worker_count=d.worker_count, **kw)

  def model_context(self) -> registry.ModelContext:
    """The tokenizer's unknown id, what out-of-vocabulary source tokens are embedded as."""
    return dataclasses.replace(super().model_context(), unk_id=self.tokenizer.unk_id)

  def optimizer(self) -> optax.GradientTransformation:
    """Adagrad (lr `optim.lr`, initial accumulator, clip `optim.clip`) as the original, or the default AdamW."""
    m, o = self.config.model, self.config.optim
    if m.optimizer == "adamw":
      return super().optimizer()
    if m.optimizer != "adagrad":
      raise ValueError(f"model.optimizer: {m.optimizer!r}; expected 'adagrad' or 'adamw'")
    parts = [optax.clip_by_global_norm(o.clip)] if o.clip > 0 else []
    parts.append(optax.adagrad(o.lr, initial_accumulator_value=m.adagrad_initial_accumulator, eps=1e-10))
    return optax.chain(*parts)

  def learning_rates(self, step: int) -> dict[str, float]:
    return super().learning_rates(step) if self.config.model.optimizer == "adamw" else {"lr": self.config.optim.lr}

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    config = self.pipeline_config(process_index=process_index, process_count=process_count)
    return pipeline.summary_dataset(self.sources["train"], self.tokenizer, self.vocab_size, config)

  def loss(self, model, batch, rng):
    del rng  # no dropout, as the original
    out = model(batch["src_ids"], batch["src_ext_ids"], batch["src_mask"], batch["dec_inputs"])
    nll, coverage = pgn.losses(out, batch["src_ext_ids"], batch["targets"], batch["target_mask"])
    weight = self.config.model.coverage_loss_weight
    count = jnp.float32(nll.shape[0])
    return ((nll + weight * coverage).sum(), count), {"nll": (nll.sum(), count),
                                                      "coverage_loss": (coverage.sum(), count)}

  def count_tokens(self, batch) -> int:
    return int(batch["src_mask"].sum() + batch["target_mask"].sum())

  # -- evaluation ------------------------------------------------------------

  def _sources(self, examples: list[dict]) -> tuple[dict[str, np.ndarray], list[list[int]]]:
    """Source arrays int32[B, L], B padded up to `eval.batch_size` (one compiled decoder), and
    each example's OOV list."""
    d = self.config.data
    encoded = [pipeline.encode_summary({**ex, "summary": ""}, self.tokenizer, self.vocab_size, d.max_len,
                                       d.max_response_len) for ex in examples]
    rows = max(len(examples), self.config.eval.batch_size)
    batch = {k: np.zeros((rows, d.max_len), np.int32) for k in ("src_ids", "src_ext_ids", "src_mask")}
    for row, e in enumerate(encoded):
      n = len(e["src_ids"])
      batch["src_ids"][row, :n], batch["src_ext_ids"][row, :n], batch["src_mask"][row, :n] = (
          e["src_ids"], e["src_ext_ids"], 1)
    return batch, [e["oovs"] for e in encoded]

  def generate(self, model, examples: list[dict]) -> list[str]:
    """Summaries of at most `eval.batch_size` examples (decoded in one compiled shape)."""
    tok = self.tokenizer
    batch, oovs = self._sources(examples)
    options = decoding.DecodeOptions.from_config(self.config.decode, tok, seq2seq=True)
    out, lengths = pgn.generate(model, batch["src_ids"], batch["src_ext_ids"], batch["src_mask"], options)
    summaries = []
    for row, n, row_oovs in zip(np.asarray(out), np.asarray(lengths), oovs):
      ids = [int(t) for t in row[:n] if t != tok.eos_id]
      summaries.append(tok.decode([t if t < self.vocab_size else row_oovs[t - self.vocab_size] for t in ids]))
    return summaries

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    hyps = evaluation.in_batches(lambda chunk: self.generate(model, chunk), examples, self.config.eval.batch_size)
    return score(examples, hyps, split, out_dir)

  def predict(self, model, examples: list[dict]) -> list[dict]:
    """Examples with `texts`, `images` and `speakers` (`jddc.predict_inputs`) -> with `prediction`."""
    predict_inputs.check_task_inputs(self, examples)
    if not examples:
      return []
    return [{**e, "prediction": p} for e, p in zip(examples, self.generate(model, examples))]
