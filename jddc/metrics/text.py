"""Tokens and helpers every text metric shares: characters (`char_tokens`), n-grams, F1."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Hashable, Sequence, Union

Tokenizer = Callable[[str], list]
References = Union[Sequence[str], Sequence[Sequence[str]]]

SENTENCE_MARKER = "<q>"
CSDS_SENTENCE_END = "。"


def char_tokens(text: str, strip_markers: bool = False) -> list[str]:
  """Character tokens of a text.

  Args:
    text: any string, segmented or not.
    strip_markers: also drop the "<q>" sentence markers of PreSumm-style outputs.

  Returns:
    One token per non-whitespace character, in order.
  """
  if strip_markers:
    text = text.replace(SENTENCE_MARKER, "")
  return [ch for ch in text if not ch.isspace()]


def _ngrams(tokens: Sequence[Hashable], n: int) -> Counter:
  return Counter(zip(*(tokens[i:] for i in range(n))))


def _f1(p: float, r: float) -> float:
  return 2 * p * r / (p + r) if p + r > 0 else 0.0
