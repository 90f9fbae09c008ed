"""ROUGE-1/2/L per sample, and ROUGE-1.5.5's summary-level ROUGE-L (`rouge_l_summary_level`)."""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Sequence

import numpy as np

from jddc.metrics.text import Tokenizer, CSDS_SENTENCE_END, char_tokens, _ngrams, _f1


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
  """Length of the longest common subsequence of two token sequences (bit-parallel, Hyyrö 2004)."""
  if not a or not b:
    return 0
  masks: dict = {}
  for i, tok in enumerate(a):
    masks[tok] = masks.get(tok, 0) | (1 << i)
  full = (1 << len(a)) - 1
  v = full
  for tok in b:
    u = v & masks.get(tok, 0)
    v = ((v + u) | (v - u)) & full
  return len(a) - bin(v).count("1")


def _rouge_f(hit: int, hyp_count: int, ref_count: int) -> float:
  """ROUGE-1.5.5's F with alpha 0.5 from a hit count, in [0, 1]."""
  p = hit / hyp_count if hyp_count else 0.0
  r = hit / ref_count if ref_count else 0.0
  return _f1(p, r)


def _ngram_f(hyp: Sequence[Hashable], ref: Sequence[Hashable], n: int) -> float:
  h, r = _ngrams(hyp, n), _ngrams(ref, n)
  hit = sum(min(c, r[g]) for g, c in h.items())
  return _rouge_f(hit, sum(h.values()), sum(r.values()))


def rouge(hyps: Sequence[str], refs: Sequence[str], tokenize: Tokenizer = char_tokens) -> dict[str, float]:
  """ROUGE-1, ROUGE-2 and ROUGE-L F1, per sample then averaged.

  Args:
    hyps: hypothesis texts.
    refs: one reference text per hypothesis.
    tokenize: text to tokens; characters by default (for PreSumm outputs,
      `lambda t: char_tokens(t, strip_markers=True)`).

  Returns:
    {'rouge1', 'rouge2', 'rougeL'} in percent. ROUGE-L is the LCS of the whole token
    sequences (no sentence split); an empty side scores 0.
  """
  if len(hyps) != len(refs):
    raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
  scores = np.zeros((max(len(hyps), 1), 3))
  for k, (hyp, ref) in enumerate(zip(hyps, refs)):
    h, r = tokenize(hyp), tokenize(ref)
    scores[k] = (_ngram_f(h, r, 1), _ngram_f(h, r, 2), _rouge_f(lcs_length(h, r), len(h), len(r)))
  mean = 100.0 * scores.mean(axis=0) if hyps else np.zeros(3)
  return {"rouge1": float(mean[0]), "rouge2": float(mean[1]), "rougeL": float(mean[2])}


def split_sentences(tokens: Sequence[Hashable], sentence_end: Hashable = CSDS_SENTENCE_END) -> list[list[Hashable]]:
  """Splits tokens into sentences, each ending after a `sentence_end` token; drops empty ones."""
  sentences, current = [], []
  for tok in tokens:
    current.append(tok)
    if tok == sentence_end:
      sentences.append(current)
      current = []
  if current:
    sentences.append(current)
  return sentences


def _union_lcs_mask(model: np.ndarray, peer_ext: np.ndarray, offsets: np.ndarray,
                    segments: Sequence[tuple[int, int]]) -> list[bool]:
  """ROUGE-1.5.5's hit mask of one model sentence against every peer sentence (`lcs_inner` + `markLCS`).

  Args:
    model: the model sentence's token ids, shape [m].
    peer_ext: the peer sentences' ids concatenated, each preceded by a -1 boundary column.
    offsets: per column, the segment index times a bound on the LCS (so a cumulative max restarts
      at each peer sentence).
    segments: per peer sentence, (boundary column, last column).

  Returns:
    Per model token, whether some peer sentence's LCS path (ROUGE-1.5.5 tie-breaking: diagonal on
    a match, else up when c[i-1][j] >= c[i][j-1], else left) goes through it.
  """
  m = len(model)
  eq = model[:, None] == peer_ext[None, :]
  table = np.zeros((m + 1, len(peer_ext)), dtype=np.int64)
  prev = table[0]
  diag = np.zeros(len(peer_ext), dtype=np.int64)
  for i in range(m):
    diag[1:] = prev[:-1] + 1
    cur = np.where(eq[i], diag, prev) + offsets
    np.maximum.accumulate(cur, out=cur)
    cur -= offsets
    table[i + 1] = cur
    prev = cur
  c, e = table.tolist(), eq.tolist()
  mask = [False] * m
  for start, end in segments:
    i, j = m, end
    while i and j != start and c[i][j]:
      if e[i - 1][j]:
        i -= 1
        j -= 1
        mask[i] = True
      elif c[i - 1][j] >= c[i][j - 1]:
        i -= 1
      else:
        j -= 1
  return mask


def summary_lcs_hits(model_sents: Sequence[Sequence[Hashable]], peer_sents: Sequence[Sequence[Hashable]]) -> int:
  """ROUGE-1.5.5's summary-level LCS hit count (`lcs`), model = reference, peer = hypothesis.

  Args:
    model_sents: reference sentences, each a token list.
    peer_sents: hypothesis sentences, each a token list.

  Returns:
    Sum over model sentences of their union-LCS tokens, each hit consuming one count of its
    token from both texts' unigram counts (so ROUGE-L never exceeds ROUGE-1).
  """
  vocab: dict = {}
  model_ids = [np.array([vocab.setdefault(t, len(vocab)) for t in s], dtype=np.int64) for s in model_sents]
  peer_ids = [[vocab.setdefault(t, len(vocab)) for t in s] for s in peer_sents if s]
  if not peer_ids:
    return 0
  ext, offs, segments = [], [], []
  bound = max(len(s) for s in model_ids) + 1 if model_ids else 1
  for k, s in enumerate(peer_ids):
    segments.append((len(ext), len(ext) + len(s)))
    ext.extend([-1] + s)
    offs.extend([k * bound] * (len(s) + 1))
  peer_ext, offsets = np.array(ext, dtype=np.int64), np.array(offs, dtype=np.int64)
  peer_vocab = set(ext)
  model_left = Counter(t for s in model_ids for t in s.tolist())
  peer_left = Counter(t for s in peer_ids for t in s)
  hit = 0
  for s in model_ids:
    if not len(s) or peer_vocab.isdisjoint(s.tolist()):
      continue
    for tok, on in zip(s.tolist(), _union_lcs_mask(s, peer_ext, offsets, segments)):
      if on and model_left[tok] > 0 and peer_left[tok] > 0:
        hit += 1
        model_left[tok] -= 1
        peer_left[tok] -= 1
  return hit


def rouge_l_summary_level(hyps: Sequence[str], refs: Sequence[str], sentence_end: str = CSDS_SENTENCE_END,
                          tokenize: Tokenizer = char_tokens) -> float:
  """Summary-level ROUGE-L F1 of ROUGE-1.5.5, per sample then averaged, in percent.

  Args:
    hyps: hypothesis texts.
    refs: one reference text per hypothesis.
    sentence_end: the token after which a sentence ends ("。", the CSDS convention).
    tokenize: text to tokens; characters by default.

  Returns:
    Mean F (alpha 0.5) of hits from `summary_lcs_hits` over the hypothesis and reference lengths.
  """
  if len(hyps) != len(refs):
    raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
  scores = []
  for hyp, ref in zip(hyps, refs):
    h, r = tokenize(hyp), tokenize(ref)
    hit = summary_lcs_hits(split_sentences(r, sentence_end), split_sentences(h, sentence_end))
    scores.append(_rouge_f(hit, len(h), len(r)))
  return 100.0 * float(np.mean(scores)) if scores else 0.0
