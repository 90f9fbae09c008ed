"""Response generation with GPT-2 (Table 5): text-only, or with image features at `[IMG]` places.

Training: next-token loss on the response only. Evaluation: decode a response for each
example of a split from its context (cached decoding, jitted), score with character-level
BLEU, ROUGE-L and Distinct (`jddc.metrics.response_metrics`), write predictions.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import grain
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jddc import decoding, evaluation, metrics as metrics_lib, predict_inputs, sharding
from jddc.data import examples as examples_lib
from jddc.data import knowledge as knowledge_lib
from jddc.data import pipeline, tokenizers
from jddc.models import gpt2
from jddc.tasks import base



RUN_TOKENIZER = base.RUN_TOKENIZER  # <workdir>/tokenizer: the tokenizer the run trained with (`base.run_tokenizer`)


class ResponseTask(base.Task):
  metric = "bleu"
  metric_mode = "max"
  throughput_unit = "tokens"

  #: what the row generates: the example type read, the message groups that form the
  #: dialogue, the target field and the token that opens it (`pipeline.PipelineConfig`)
  example_type = "response"
  dialogue_fields: tuple[str, ...] = ("context_",)
  predict_groups = dialogue_fields  # the message groups of a `--mode=predict` input (`jddc.predict_inputs`)
  target_field = "response"
  target_marker = "agent"

  def prepare(self) -> None:
    self.prepare_data(self.example_type, image_features=self.multimodal)
    self.sources = self.select_sources(self.sources)

  def prepare_inference(self, run_dir: str) -> None:
    """The run's own tokenizer; image features come with the inputs (`jddc.inference`)."""
    self.tokenizer = tokenizers.load_tokenizer(os.path.join(run_dir, RUN_TOKENIZER))
    self.feature_table = None
    self.release = ""

  def pipeline_config(self, **kw) -> pipeline.PipelineConfig:
    d = self.config.data
    kw.setdefault("batch_size", self.config.train.batch_size)
    return pipeline.PipelineConfig(max_len=d.max_len, max_response_len=d.max_response_len, max_images=d.max_images,
                                   image_size=0, seed=self.config.seed, worker_count=d.worker_count,
                                   dialogue_fields=self.dialogue_fields, target_field=self.target_field,
                                   target_marker=self.target_marker, knowledge_budget=d.knowledge_budget, **kw)

  def select_sources(self, sources: dict) -> dict:
    """The examples the row trains and evaluates on (all of them here)."""
    return sources

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    config = self.pipeline_config(process_index=process_index, process_count=process_count)
    return pipeline.response_dataset(self.sources["train"], self.tokenizer, self.release, config, self.feature_table)

  static_batch_shapes = True

  def abstract_batch(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """The batch of `pipeline.ResponseFeatures` (no data needed)."""
    d, b = self.config.data, batch_size
    out = {"tokens": jax.ShapeDtypeStruct((b, d.max_len), jnp.int32),
           "loss_mask": jax.ShapeDtypeStruct((b, d.max_len), jnp.int32),
           "image_positions": jax.ShapeDtypeStruct((b, d.max_images), jnp.int32)}
    if self.multimodal:
      out["image_features"] = jax.ShapeDtypeStruct((b, d.max_images, self.config.model.image_feature_dim),
                                                   jnp.float32)
    return out

  def _image_kwargs(self, batch) -> dict:
    if not self.multimodal:
      return {}
    return {"image_features": batch["image_features"], "image_positions": batch["image_positions"]}

  def loss(self, model, batch, rng):
    logits = model(batch["tokens"], deterministic=False, rngs=nnx.Rngs(dropout=rng), **self._image_kwargs(batch))
    total, count = gpt2.lm_loss(logits, batch["tokens"], batch["loss_mask"])
    return (total, count), {"token_loss": (total, count)}

  def count_tokens(self, batch) -> int:
    return int(batch["tokens"].size)

  # -- evaluation ------------------------------------------------------------

  def _prompts(self, examples: list[dict]) -> dict[str, np.ndarray]:
    """Right-padded prompts int32[B, P] ending with [AGENT], their lengths, and image inputs."""
    config = dataclasses.replace(self.pipeline_config(), prompt_reserve=self.config.decode.prompt_reserve)
    encoded = [pipeline.encode_dialogue(ex, self.tokenizer, config, with_response=False) for ex in examples]
    length = max(len(tokens) for tokens, _, _ in encoded)
    tokens = np.full((len(examples), length), self.tokenizer.pad_id, np.int32)
    out = {"prompt_lengths": np.asarray([len(t) for t, _, _ in encoded], np.int32)}
    images = []
    for row, (toks, _, kept) in enumerate(encoded):
      tokens[row, :len(toks)] = toks
      images.append(pipeline.image_inputs(kept, config, "", self.feature_table))
    out["tokens"] = tokens
    for key in images[0]:
      out[key] = np.stack([im[key] for im in images])
    return out

  def decode_options(self) -> decoding.DecodeOptions:
    return decoding.DecodeOptions.from_config(self.config.decode, self.tokenizer, seq2seq=False)

  def generate(self, model, examples: list[dict]) -> list[str]:
    """Decoded targets of a batch of examples (prompts padded to the batch's longest)."""
    batch = self._prompts(examples)
    kwargs = self._image_kwargs(batch)
    out, lengths = decoding.gpt2_generate(
        model, jnp.asarray(batch["tokens"]), jnp.asarray(batch["prompt_lengths"]), self.decode_options(),
        rng=jax.random.key(self.config.seed), **{k: jnp.asarray(v) for k, v in kwargs.items()})
    out, lengths = sharding.fetch(out), sharding.fetch(lengths)  # decoded over every process's devices
    eos = self.tokenizer.sep_id  # a row that ended includes its eos: not part of the text
    return [self.tokenizer.decode([int(t) for t in row[:n] if t != eos]) for row, n in zip(out, lengths)]

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    hyps = evaluation.in_batches(lambda chunk: self.generate(model, chunk), examples, self.config.eval.batch_size)
    refs = [pipeline.as_text(ex[self.target_field]) for ex in examples]
    scores = self.score(hyps, refs, examples)
    scores["examples"] = float(len(examples))
    evaluation.write_predictions(out_dir, split, ({**self.prediction_inputs(ex), "reference": ref, "prediction": hyp}
                                                  for ex, hyp, ref in zip(examples, hyps, refs)))
    return scores

  def score(self, hyps: list[str], refs: list[str], examples: list[dict]) -> dict[str, float]:
    """The response figures, and on the replies that state a product attribute of the session's
    knowledge: their BLEU and attribute accuracy (`jddc.data.knowledge.attribute_figures`)."""
    scores = metrics_lib.response_metrics(hyps, refs)
    if examples and "knowledge" in examples[0]:
      scores.update(knowledge_lib.attribute_figures(hyps, refs, [ex["knowledge"] for ex in examples],
                                                    lambda h, r: metrics_lib.response_metrics(h, r)["bleu"]))
    return scores

  def prediction_inputs(self, example: dict) -> dict:
    """The inputs written beside each prediction: ids and the dialogue, images as `<image NAME>`."""
    text = pipeline.as_text
    out = {"session_id": text(example["session_id"]), "index": int(example["index"])}
    for prefix in self.dialogue_fields:
      name, keys = prefix.rstrip("_"), examples_lib.group_keys(prefix)
      out[name] = [text(t) or f"<image {text(i)}>" for t, i in zip(example[keys.texts], example[keys.images])]
      out["speakers" if name == "context" else f"{name}_speakers"] = [int(s) for s in example[keys.speakers]]
    out["images"] = [text(i) for prefix in self.dialogue_fields
                     for i in example[examples_lib.group_keys(prefix).images] if text(i)]
    return out

  def predict(self, model, examples: list[dict]) -> list[dict]:
    """Examples in `jddc.predict_inputs`'s format (groups `dialogue_fields`) -> each with `prediction`."""
    predict_inputs.check_task_inputs(self, examples)
    if not examples:
      return []
    preds = self.generate(model, [{**e, self.target_field: ""} for e in examples])
    return [{**e, "prediction": p} for e, p in zip(examples, preds)]

