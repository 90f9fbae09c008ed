"""Extractive summarizers of dialogues: Lead and LexRank (Table 9's extractive rows).

A dialogue is a list of utterances (the text messages, in order; image messages carry no
text and are skipped). Lengths are counted in characters as ROUGE counts them
(`jddc.metrics.char_tokens`: whitespace dropped, every other character one token).

- `lead`: the first `length` characters of the utterances in order (the paper's "first N
  characters", N being the average summary length of the train split).
- `lexrank`: LexRank with a threshold (Erkan & Radev 2004) as in sumy's `LexRankSummarizer`
  (docs/baselines.md §5): per utterance, term frequencies normalised by the utterance's largest
  count; idf = log(n / (1 + n_j)) over the dialogue's own n utterances; idf-modified cosine;
  an edge where the similarity exceeds `threshold` (self-loops included); each row divided
  by its degree; power iteration from the uniform vector until the L2 change is at most
  `epsilon`, without damping. Terms are character n-grams (`ngram`; Chinese has no spaces
  and the paper does not say how it tokenised). Utterances are taken by descending score
  (ties: the earlier first) under a `length_rule` (`select_by_rank`), then emitted in
  dialogue order:
    "reach": until the selection reaches `length` characters (the last one may overshoot);
    "fit":   every utterance that still fits, so the selection never exceeds `length`.

Both join the chosen utterances with `separator` ("" by default). CSDS's published
extractive outputs (`../shared/data/csds/official_outputs/lex_preds.txt`, `longest_preds.txt`)
end each extracted utterance with "。" but the last, and their lengths count the utterances
without those separators: LexPageRank's never exceed 83 characters, as the "fit" rule gives.
The separator matters to ROUGE: the references end every sentence with "。", and summary-level
ROUGE-L (`jddc.metrics.rouge_l_summary_level`) splits sentences after it.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from jddc.metrics import char_tokens

SPEAKER_PREFIXES = ("用户:", "客服:")  # customer, agent: the CSDS dialogue convention
LENGTH_RULES = ("reach", "fit")  # `select_by_rank`; configs/common.py lists them for `model.length_rule`


def utterances(texts: Sequence[str], speakers: Sequence[int] = (), speaker_prefixes: bool = False) -> list[str]:
  """The non-empty text messages of a dialogue, optionally prefixed with `用户:` / `客服:`."""
  out = []
  for k, text in enumerate(texts):
    if text and char_tokens(text):
      out.append(SPEAKER_PREFIXES[int(speakers[k])] + text if speaker_prefixes else text)
  return out


def char_length(text: str) -> int:
  return len(char_tokens(text))


def lead(sentences: Sequence[str], length: int, separator: str = "") -> str:
  """The first `length` characters (whitespace dropped) of the sentences in order.

  Args:
    sentences: the utterances, in dialogue order.
    length: characters to keep; `separator`s are not counted.
    separator: put between consecutive (possibly cut) sentences of the result.

  Returns:
    With separator "": exactly min(length, total) characters.
  """
  if length < 0:
    raise ValueError(f"lead length must be >= 0, got {length}")
  pieces, left = [], length
  for sentence in sentences:
    if left <= 0:
      break
    chars = char_tokens(sentence)[:left]
    if chars:
      pieces.append("".join(chars))
      left -= len(chars)
  return separator.join(pieces)


def _terms(sentence: str, ngram: int) -> list[str]:
  chars = [c for c in char_tokens(sentence) if c.isalnum()]
  return ["".join(chars[i:i + ngram]) for i in range(len(chars) - ngram + 1)]


def lexrank_scores(sentences: Sequence[str], threshold: float = 0.1, epsilon: float = 0.1, ngram: int = 1,
                   max_iterations: int = 1000) -> np.ndarray:
  """LexRank centrality of each sentence (module docstring).

  Args:
    sentences: n sentences.
    threshold: similarity above which two sentences are linked.
    epsilon: power iteration stops once the L2 change of the score vector is at most this.
    ngram: terms are character n-grams of the sentence's letters and digits.
    max_iterations: a bound for graphs where the iteration oscillates.

  Returns:
    float64[n] scores (the stationary vector, summing to at most 1).
  """
  n = len(sentences)
  if n == 0:
    return np.zeros((0,))
  terms = [_terms(s, ngram) for s in sentences]
  tfs = []
  for t in terms:
    counts = Counter(t)
    top = max(counts.values(), default=1)
    tfs.append({term: c / top for term, c in counts.items()})
  doc_freq = Counter(term for tf in tfs for term in tf)
  idf = {term: math.log(n / (1 + df)) for term, df in doc_freq.items()}
  weights = [{term: tf[term] * idf[term] for term in tf} for tf in tfs]
  norms = [math.sqrt(sum(w * w for w in ws.values())) for ws in weights]
  linked = np.zeros((n, n))
  for i in range(n):
    for j in range(n):
      if norms[i] > 0 and norms[j] > 0:
        common = tfs[i].keys() & tfs[j].keys()
        similarity = sum(tfs[i][t] * tfs[j][t] * idf[t] ** 2 for t in common) / (norms[i] * norms[j])
        linked[i, j] = similarity > threshold
  degrees = np.maximum(linked.sum(axis=1, keepdims=True), 1.0)
  transition = linked / degrees
  p = np.full((n,), 1.0 / n)
  for _ in range(max_iterations):
    nxt = transition.T @ p
    change = float(np.linalg.norm(nxt - p))
    p = nxt
    if change <= epsilon:
      break
  return p


def select_by_rank(scores: np.ndarray, lengths: Sequence[int], length: int, length_rule: str = "reach") -> list[int]:
  """Indices of the sentences a summary of `length` characters keeps, in dialogue order.

  Args:
    scores: float[n] sentence scores; higher first, ties the earlier first.
    lengths: n sentence lengths in characters.
    length: the budget in characters.
    length_rule: "reach": take sentences by rank until their total reaches `length` (the last
      one may overshoot it); "fit": take, by rank, every sentence whose length still fits, so
      the total never exceeds `length` (empty when no sentence is that short).

  Returns:
    Sorted indices into the n sentences.
  """
  if length_rule not in LENGTH_RULES:
    raise ValueError(f"length_rule must be one of {LENGTH_RULES}, got {length_rule!r}")
  chosen, total = [], 0
  for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
    if length_rule == "reach":
      if total >= length:
        break
    elif total + lengths[i] > length:
      continue
    chosen.append(int(i))
    total += lengths[i]
  return sorted(chosen)


def lexrank(sentences: Sequence[str], length: int, threshold: float = 0.1, epsilon: float = 0.1,
            ngram: int = 1, length_rule: str = "reach", separator: str = "") -> str:
  """The most central sentences (`select_by_rank` under `length_rule`), in dialogue order, joined with `separator`."""
  scores = lexrank_scores(sentences, threshold, epsilon, ngram)
  chosen = select_by_rank(scores, [char_length(s) for s in sentences], length, length_rule)
  return separator.join(sentences[i] for i in chosen)
