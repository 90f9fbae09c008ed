"""Distinct-n (Li et al. 2016) over a corpus."""

from __future__ import annotations

from typing import Sequence

from jddc.metrics.text import Tokenizer, char_tokens


def distinct_n(hyps: Sequence[str], n: int, tokenize: Tokenizer = char_tokens) -> float:
  """Distinct-n (Li et al. 2016) over a corpus, in percent.

  Args:
    hyps: generated texts.
    n: n-gram order.
    tokenize: text to tokens; characters by default.

  Returns:
    The number of distinct n-grams over the number of n-grams, both over all hypotheses
    (n-grams do not cross hypotheses); 0 when there are none.
  """
  distinct, total = set(), 0
  for hyp in hyps:
    tokens = tokenize(hyp)
    grams = list(zip(*(tokens[i:] for i in range(n))))
    distinct.update(grams)
    total += len(grams)
  return 100.0 * len(distinct) / total if total else 0.0
