"""Extractive summarizers of dialogues: Lead and LexRank (Table 9's extractive rows).

A dialogue is a list of utterances (the text messages, in order; image messages carry no
text and are skipped). Lengths are counted in characters as ROUGE counts them
(`jddc.metrics.char_tokens`: whitespace dropped, every other character one token).

- `lead`: the first `length` characters of the utterances joined without separators (the
  paper's "first N characters", N being the average summary length of the train split).
- `lexrank`: LexRank with a threshold (Erkan & Radev 2004) as in sumy's `LexRankSummarizer`
  (BASELINES.md §5): per utterance, term frequencies normalised by the utterance's largest
  count; idf = log(n / (1 + n_j)) over the dialogue's own n utterances; idf-modified cosine;
  an edge where the similarity exceeds `threshold` (self-loops included); each row divided
  by its degree; power iteration from the uniform vector until the L2 change is at most
  `epsilon`, without damping. Terms are character n-grams (`ngram`; Chinese has no spaces
  and the paper does not say how it tokenised). Utterances are taken by descending score
  (ties: the earlier first) until the selection reaches `length` characters, then emitted
  in dialogue order.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from jddc.metrics import char_tokens

SPEAKER_PREFIXES = ("用户:", "客服:")  # customer, agent: the CSDS dialogue convention


def utterances(texts: Sequence[str], speakers: Sequence[int] = (), speaker_prefixes: bool = False) -> list[str]:
  """The non-empty text messages of a dialogue, optionally prefixed with `用户:` / `客服:`."""
  out = []
  for k, text in enumerate(texts):
    if text and char_tokens(text):
      out.append(SPEAKER_PREFIXES[int(speakers[k])] + text if speaker_prefixes else text)
  return out


def char_length(text: str) -> int:
  return len(char_tokens(text))


def lead(sentences: Sequence[str], length: int) -> str:
  """The first `length` characters (whitespace dropped) of the sentences joined in order."""
  if length < 0:
    raise ValueError(f"lead length must be >= 0, got {length}")
  return "".join(char_tokens("".join(sentences))[:length])


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


def lexrank(sentences: Sequence[str], length: int, threshold: float = 0.1, epsilon: float = 0.1,
            ngram: int = 1) -> str:
  """The most central sentences, in dialogue order, until they reach `length` characters."""
  scores = lexrank_scores(sentences, threshold, epsilon, ngram)
  chosen, total = [], 0
  for i in np.argsort(-scores, kind="stable"):
    if total >= length:
      break
    chosen.append(int(i))
    total += char_length(sentences[i])
  return "".join(sentences[i] for i in sorted(chosen))
