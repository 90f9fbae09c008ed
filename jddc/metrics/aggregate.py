"""The figures a task reports: `response_metrics` (response generation), `summary_metrics` (Table 9)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from jddc.metrics.bleu import corpus_bleu, mean_sentence_bleu
from jddc.metrics.distinct import distinct_n
from jddc.metrics.rouge import rouge, rouge_l_summary_level
from jddc.metrics.text import char_tokens


def response_metrics(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
  """The response-generation figures, in percent, all on characters.

  Args:
    hyps: generated responses.
    refs: one reference response per hypothesis.

  Returns:
    {'bleu': corpus BLEU-4 (the main figure), 'bleu1', 'bleu2': corpus BLEU-1/2,
     'sentence_bleu4': mean sentence BLEU-4, 'rougeL': mean LCS F1,
     'distinct1', 'distinct2'}; BLEU with NLTK method1 smoothing.
  """
  return {
      "bleu": corpus_bleu(hyps, refs, 4),
      "bleu1": corpus_bleu(hyps, refs, 1),
      "bleu2": corpus_bleu(hyps, refs, 2),
      "sentence_bleu4": mean_sentence_bleu(hyps, refs, 4),
      "rougeL": rouge(hyps, refs)["rougeL"],
      "distinct1": distinct_n(hyps, 1),
      "distinct2": distinct_n(hyps, 2),
  }


def summary_metrics(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
  """The summarization figures (Table 9), in percent, on characters.

  Returns:
    {'rouge1', 'rouge2': mean ROUGE-1/2 F1, 'rougeL': summary-level ROUGE-L F1 with a sentence
     break after each "。" (the CSDS / ROUGE-1.5.5 convention), 'rougeL_lcs': ROUGE-L F1 of the
     whole texts' LCS, 'length': mean hypothesis length in characters}.
  """
  scores = rouge(hyps, refs)
  return {"rouge1": scores["rouge1"], "rouge2": scores["rouge2"], "rougeL": rouge_l_summary_level(hyps, refs),
          "rougeL_lcs": scores["rougeL"],
          "length": float(np.mean([len(char_tokens(h)) for h in hyps])) if hyps else 0.0}
