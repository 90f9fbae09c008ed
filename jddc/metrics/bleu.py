"""BLEU: NLTK's formulas (clipped n-gram precision, closest reference length, method1 smoothing), reimplemented."""

from __future__ import annotations

import math
import sys
from typing import Optional, Sequence, Union

import numpy as np

from jddc.metrics.text import Tokenizer, References, char_tokens, _ngrams


def _as_reference_lists(refs: References, n: int) -> list[list[str]]:
  if len(refs) != n:
    raise ValueError(f"{n} hypotheses but {len(refs)} references")
  ref_lists = [[r] if isinstance(r, str) else list(r) for r in refs]
  if not all(ref_lists):
    raise ValueError("every hypothesis needs at least one reference")
  return ref_lists


def _bleu_stats(hyp: Sequence[str], refs: Sequence[Sequence[str]], max_n: int) -> tuple[list[int], list[int], int]:
  """NLTK's per-sentence statistics: clipped matches and max(1, count) per order, closest ref length."""
  numerators, denominators = [], []
  for n in range(1, max_n + 1):
    counts = _ngrams(hyp, n)
    max_ref = _ngrams(refs[0], n)
    for ref in refs[1:]:
      max_ref |= _ngrams(ref, n)
    numerators.append(sum(min(c, max_ref[g]) for g, c in counts.items() if g in max_ref))
    denominators.append(max(1, sum(counts.values())))
  ref_len = min((len(r) for r in refs), key=lambda length: (abs(length - len(hyp)), length))
  return numerators, denominators, ref_len


def _bleu_from_stats(numerators: Sequence[int], denominators: Sequence[int], hyp_len: int, ref_len: int,
                     smoothing: Optional[str]) -> float:
  if numerators[0] == 0:
    return 0.0
  if smoothing == "method1":
    precisions = [(num if num else 0.1) / den for num, den in zip(numerators, denominators)]
  elif smoothing in (None, "none"):
    precisions = [num / den if num else sys.float_info.min for num, den in zip(numerators, denominators)]
  else:
    raise ValueError(f"unknown smoothing {smoothing!r}: 'method1' or 'none'")
  if hyp_len > ref_len:
    bp = 1.0
  elif hyp_len == 0:
    bp = 0.0
  else:
    bp = math.exp(1 - ref_len / hyp_len)
  weight = 1.0 / len(precisions)
  return 100.0 * bp * math.exp(math.fsum(weight * math.log(p) for p in precisions))


def corpus_bleu(hyps: Sequence[str], refs: References, max_n: int = 4, smoothing: Optional[str] = "method1",
                tokenize: Tokenizer = char_tokens) -> float:
  """Corpus BLEU-`max_n` with uniform weights, as `nltk.translate.bleu_score.corpus_bleu`.

  Args:
    hyps: hypothesis texts.
    refs: one reference text per hypothesis, or a list of reference texts per hypothesis.
    max_n: highest n-gram order (1-4 give BLEU-1..BLEU-4).
    smoothing: "method1" (NLTK `SmoothingFunction().method1`, epsilon 0.1) or "none".
    tokenize: text to tokens; characters by default.

  Returns:
    BLEU in percent: matches and n-gram counts summed over the corpus, brevity penalty on the
    summed lengths.
  """
  ref_lists = _as_reference_lists(refs, len(hyps))
  numerators, denominators = [0] * max_n, [0] * max_n
  hyp_len = ref_len = 0
  for hyp, refs_i in zip(hyps, ref_lists):
    h = tokenize(hyp)
    nums, dens, r_len = _bleu_stats(h, [tokenize(r) for r in refs_i], max_n)
    numerators = [a + b for a, b in zip(numerators, nums)]
    denominators = [a + b for a, b in zip(denominators, dens)]
    hyp_len += len(h)
    ref_len += r_len
  return _bleu_from_stats(numerators, denominators, hyp_len, ref_len, smoothing)


def sentence_bleu(hyp: str, refs: Union[str, Sequence[str]], max_n: int = 4, smoothing: Optional[str] = "method1",
                  tokenize: Tokenizer = char_tokens) -> float:
  """BLEU-`max_n` of one hypothesis, as `nltk.translate.bleu_score.sentence_bleu`, in percent.

  Args:
    hyp: the hypothesis text.
    refs: a reference text or a list of them.
    max_n, smoothing, tokenize: as in `corpus_bleu`.
  """
  return corpus_bleu([hyp], [refs], max_n, smoothing, tokenize)


def mean_sentence_bleu(hyps: Sequence[str], refs: References, max_n: int = 4, smoothing: Optional[str] = "method1",
                       tokenize: Tokenizer = char_tokens) -> float:
  """The mean over hypotheses of `sentence_bleu`, in percent (arguments as in `corpus_bleu`)."""
  ref_lists = _as_reference_lists(refs, len(hyps))
  if not hyps:
    return 0.0
  return float(np.mean([sentence_bleu(h, r, max_n, smoothing, tokenize) for h, r in zip(hyps, ref_lists)]))
