"""Rewritten-query generation with GPT-2 (Table 7): the response row's model and decoding.

Input: the context, then the query's messages (customer text and images, `[IMG]` places
filled by image features in the multimodal row), then the rewrite marker (the tokenizer's
bos id) that opens the target; the loss covers the rewrite and its [SEP] only:

    [CLS] [USER]|[AGENT] text-or-[IMG] [SEP] ... [USER] query ... [SEP] <bos> rewrite [SEP]

Trained and evaluated on the queries annotated as rewritable (`can_rewrite` = 1), the
setting of the paper's Table 7: the others have no reference rewrite. Scored with the
response row's figures (character BLEU-4, ROUGE-L, Distinct-1/2), exact match and
rewriting F-score on regex tokens (`metrics.rewrite_metrics`; its BLEU-4 on those tokens is
`regex_run_bleu4`), and RUN's figures computed as RUN does (`jddc.run_metrics`: `run_em`,
`run_bleu1`..`run_bleu4`, `run_rougeL`, `run_restore_{p,r,f}{1,2,3}` on jieba tokens).

`model.name = "copy_gpt2"` (`jddc.models.copy_gpt2`): the same inputs, and a next-token
distribution that mixes in copies of the dialogue's text tokens (`copy_source_mask`: no
special token, image position or padding is a source); the loss is computed only at the
positions that predict the rewrite, and decoding runs on the mixture's log-probabilities.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jddc import metrics as metrics_lib, run_metrics, sharding
from jddc.data import pipeline
from jddc.tasks.response import ResponseTask


class Subset:
  """The records of a random-access source at `indices`, itself random-access (for Grain)."""

  def __init__(self, source: Any, indices: list[int]):
    self.source, self.indices = source, indices

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, i: int) -> Any:
    return self.source[self.indices[i]]


def rewritable(source: Any) -> Subset:
  """The examples of a rewrite source with `can_rewrite` = 1, in the source's order."""
  return Subset(source, [i for i in range(len(source)) if int(source[i]["can_rewrite"]) == 1])


def query_text(example: dict) -> str:
  """The query's own words: its text messages joined (the incomplete utterance RUN scores against)."""
  return "".join(pipeline.as_text(t) for t in example["query_texts"])


class RewriteGenTask(ResponseTask):
  example_type = "rewrite"
  dialogue_fields = ("context_", "query_")
  predict_groups = dialogue_fields
  target_field = "rewrite"
  target_marker = "bos"

  def select_sources(self, sources: dict) -> dict:
    return {split: rewritable(source) for split, source in sources.items()}

  def score(self, hyps: list[str], refs: list[str], examples: list[dict]) -> dict[str, float]:
    queries = [query_text(ex) for ex in examples]
    scores = metrics_lib.rewrite_metrics(hyps, refs, queries)
    scores["regex_run_bleu4"] = scores.pop("run_bleu4")  # the name is RUN's own figure's, below
    scores.update(run_metrics.run_metrics(hyps, refs, queries))
    return scores

  # -- the copying rewriter (model.name "copy_gpt2") -----------------------------

  @property
  def copying(self) -> bool:
    return self.config.model.name == "copy_gpt2"

  def never_copied(self) -> tuple[int, ...]:
    """The token ids that are no copy source: the tokenizer's special tokens."""
    t = self.tokenizer
    return tuple(sorted({t.pad_id, t.unk_id, t.cls_id, t.sep_id, t.bos_id, t.eos_id, t.image_id,
                         t.customer_id, t.agent_id}))

  def loss(self, model, batch, rng):
    if not self.copying:
      return super().loss(model, batch, rng)
    from jddc.models import copy_gpt2  # pylint: disable=g-import-not-at-top  (the model is built by the registry)
    tokens, loss_mask = batch["tokens"], batch["loss_mask"]
    prompt_end = jnp.argmax(loss_mask > 0, axis=1) - 1  # the target marker's position
    copy_mask = copy_gpt2.copy_source_mask(tokens, prompt_end, self.never_copied(),
                                           batch["image_positions"] if self.multimodal else None)
    positions = copy_gpt2.target_positions(loss_mask, self.config.data.max_response_len + 1)
    log_probs = model(tokens, copy_mask=copy_mask, query_positions=positions, deterministic=False,
                      rngs=nnx.Rngs(dropout=rng), **self._image_kwargs(batch))
    total, count = copy_gpt2.target_nll(log_probs, tokens, loss_mask, positions)
    return (total, count), {"token_loss": (total, count)}

  def generate(self, model, examples: list[dict]) -> list[str]:
    if not self.copying:
      return super().generate(model, examples)
    from jddc.models import copy_gpt2  # pylint: disable=g-import-not-at-top
    batch = self._prompts(examples)
    kwargs = {k: jnp.asarray(v) for k, v in self._image_kwargs(batch).items()}
    tokens, lengths = jnp.asarray(batch["tokens"]), jnp.asarray(batch["prompt_lengths"])
    copy_mask = copy_gpt2.copy_source_mask(tokens, lengths - 1, self.never_copied(), kwargs.get("image_positions"))
    out, out_lengths = copy_gpt2.generate(model, tokens, lengths, copy_mask, self.decode_options(),
                                          rng=jax.random.key(self.config.seed), **kwargs)
    out, out_lengths = sharding.fetch(out), sharding.fetch(out_lengths)
    eos = self.tokenizer.sep_id  # a row that ended includes its eos: not part of the text
    return [self.tokenizer.decode([int(t) for t in row[:n] if t != eos]) for row, n in zip(out, out_lengths)]
