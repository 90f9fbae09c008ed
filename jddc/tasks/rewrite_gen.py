"""Rewritten-query generation with GPT-2 (Table 7): the response row's model and decoding.

Input: the context, then the query's messages (customer text and images, `[IMG]` places
filled by image features in the multimodal row), then the rewrite marker (the tokenizer's
bos id) that opens the target; the loss covers the rewrite and its [SEP] only:

    [CLS] [USER]|[AGENT] text-or-[IMG] [SEP] ... [USER] query ... [SEP] <bos> rewrite [SEP]

Trained and evaluated on the queries annotated as rewritable (`can_rewrite` = 1), the
setting of the paper's Table 7: the others have no reference rewrite. Scored with the
response row's figures (character BLEU-4, ROUGE-L, Distinct-1/2) and RUN's exact match,
BLEU-4 and rewriting F-score against the query's own text (`metrics.rewrite_metrics`).
"""

from __future__ import annotations

from typing import Any

from jddc import metrics as metrics_lib
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
    return metrics_lib.rewrite_metrics(hyps, refs, [query_text(ex) for ex in examples])
