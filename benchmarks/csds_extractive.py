"""Why our CSDS LexRank scored below CSDS's LexPageRank (issue 13 §3): the figures, in one run.

    python benchmarks/csds_extractive.py            # ~1 min on one core

1. CSDS's own outputs (`../shared/data/csds/official_outputs/`) scored by our metrics as
   published (each extracted utterance followed by "。" but the last), and with those "。"
   removed (our rows' form before 2026-12-02); their length statistics.
2. Our Lead and LexRank (`jddc.extractive`) on the valid and test parts of the shared
   `val.json` (hash split, `jddc.data.corpora.csds`), in the old form (no separator, LexRank
   until it reaches N) and CSDS's form (separator "。", LexRank within N), at N = the train
   part's mean summary length and at CSDS's 83; the length statistics of each.
3. Other LexRank designs under CSDS's form: jieba words instead of characters, and the
   damped PageRank of PKUSUMSUM's LexPageRank (d = 0.85, a link for any similarity >= 0.001,
   tf / length x log((1 + n) / df)), to size how much the algorithm itself can move.
4. "roles": the turns of CSDS's other customer-side roles (商家, 物流师傅, 师傅; the reader keeps
   them as `商家:…` on the service side, so the prefixed text reads `客服:商家:…`) prefixed
   with their own role only, as CSDS's outputs write them (`商家：…`).

Scores: ROUGE-1 / ROUGE-2 / summary-level ROUGE-L F, character level, percent
(`jddc.metrics.summary_metrics`, which reproduces CSDS's published figures).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import statistics

import numpy as np

from configs import common
from jddc import extractive, metrics
from jddc.data.corpora import csds
from jddc.data.errors import ErrorPolicy

CSDS_ROOT = os.path.join(common.SHARED_DATA, "csds")
OUTPUTS = os.path.join(CSDS_ROOT, "official_outputs")
CSDS_BUDGET = 83  # the most characters (separators not counted) of any lex_preds.txt line


def _lines(name: str) -> list[str]:
  with open(os.path.join(OUTPUTS, name), encoding="utf-8") as f:
    return [line.strip() for line in f]


def _fmt(scores: dict) -> str:
  return " / ".join(f"{scores[k]:.2f}" for k in ("rouge1", "rouge2", "rougeL")) + f"  length {scores['length']:.1f}"


def _length_stats(chosen_lengths: list[list[int]]) -> str:
  totals = [sum(x) for x in chosen_lengths]
  top = collections.Counter(totals).most_common(3)
  return (f"without separators: mean {statistics.mean(totals):.2f}, sd {statistics.pstdev(totals):.2f}, "
          f"max {max(totals)}, most common {top}; utterances {statistics.mean(map(len, chosen_lengths)):.2f}")


def official_outputs() -> None:
  gold = _lines("gold_refs.txt")
  for name in ("lex_preds.txt", "longest_preds.txt"):
    preds = _lines(name)
    pieces = [[u for u in p.split("。") if u] for p in preds]
    print(f"CSDS {name:18s} as published  {_fmt(metrics.summary_metrics(preds, gold))}")
    print(f"CSDS {name:18s} without 。    {_fmt(metrics.summary_metrics([''.join(p) for p in pieces], gold))}")
    print(f"  {_length_stats([[len(u) for u in p] for p in pieces])}")


def _words_terms(text: str) -> list[str]:
  import jieba  # RUN's tokens need it too (jddc.metrics.rewrite)
  jieba.setLogLevel(logging.ERROR)
  return [w for w in jieba.lcut(text) if any(ch.isalnum() for ch in w)]


def _lexrank(terms: list[list[str]], threshold: float = 0.1, epsilon: float = 0.1) -> np.ndarray:
  """sumy's LexRank (`jddc.extractive` module docstring) over given term lists: float64[n]."""
  n = len(terms)
  tfs = []
  for t in terms:
    counts = collections.Counter(t)
    top = max(counts.values(), default=1)
    tfs.append({k: c / top for k, c in counts.items()})
  df = collections.Counter(k for tf in tfs for k in tf)
  idf = {k: math.log(n / (1 + d)) for k, d in df.items()}
  norms = [math.sqrt(sum((tf[k] * idf[k]) ** 2 for k in tf)) for tf in tfs]
  linked = np.zeros((n, n))
  for i in range(n):
    for j in range(n):
      if norms[i] > 0 and norms[j] > 0:
        sim = sum(tfs[i][k] * tfs[j][k] * idf[k] ** 2 for k in tfs[i].keys() & tfs[j].keys()) / (norms[i] * norms[j])
        linked[i, j] = sim > threshold
  transition = linked / np.maximum(linked.sum(axis=1, keepdims=True), 1.0)
  p = np.full((n,), 1.0 / max(n, 1))
  for _ in range(1000):
    nxt = transition.T @ p
    done = float(np.linalg.norm(nxt - p)) <= epsilon
    p = nxt
    if done:
      break
  return p


def _damped_pagerank(terms: list[list[str]], damping: float = 0.85, link: float = 0.001) -> np.ndarray:
  """PKUSUMSUM-style LexPageRank scores over given term lists: float64[n]."""
  n = len(terms)
  df = collections.Counter(k for t in terms for k in set(t))
  idf = {k: math.log((1 + n) / d) for k, d in df.items()}
  vectors = [{k: c / max(len(t), 1) * idf[k] for k, c in collections.Counter(t).items()} for t in terms]
  norms = [math.sqrt(sum(x * x for x in v.values())) for v in vectors]
  sim = np.zeros((n, n))
  for i in range(n):
    for j in range(i + 1, n):
      if norms[i] > 0 and norms[j] > 0:
        sim[i, j] = sim[j, i] = sum(vectors[i][k] * vectors[j][k] for k in vectors[i].keys() & vectors[j].keys()) / (
            norms[i] * norms[j])
  adjacency = (sim >= link).astype(np.float64)
  np.fill_diagonal(adjacency, 0.0)
  out_degree = np.maximum(adjacency.sum(axis=1), 1.0)
  u = np.ones((n,))
  for _ in range(10000):
    nxt = (1 - damping) + damping * (adjacency @ (u / out_degree))
    done = float(np.abs(nxt - u).sum()) <= 1e-5
    u = nxt
    if done:
      break
  return u


def _strip_prefix(utterance: str) -> str:
  return utterance.split(":", 1)[1] if utterance.startswith(extractive.SPEAKER_PREFIXES) else utterance


OTHER_ROLES = ("商家:", "物流师傅:", "师傅:")  # kept in the message text by `jddc.data.corpora.csds`


def _utterances(example: dict, own_roles: bool) -> list[str]:
  us = extractive.utterances(list(example["texts"]), list(example["speakers"]), speaker_prefixes=True)
  if own_roles:
    us = [u.split(":", 1)[1] if _strip_prefix(u).startswith(OTHER_ROLES) else u for u in us]
  return us


def our_rows() -> None:
  policy = ErrorPolicy()
  splits = {s: list(csds.examples(CSDS_ROOT, "summary", s, policy)) for s in ("train", "valid", "test")}
  mean = float(np.mean([extractive.char_length(e["summary"]) for e in splits["train"]]))
  n_train = int(round(mean))
  print(f"train part: {len(splits['train'])} dialogues, mean summary {mean:.2f} characters -> N = {n_train}")
  chars = lambda u: [c for c in extractive.char_tokens(_strip_prefix(u)) if c.isalnum()]
  scorers = {
      "lexrank": extractive.lexrank_scores,
      "lexrank, jieba words": lambda us: _lexrank([_words_terms(_strip_prefix(u)) for u in us]),
      "pagerank 0.85, characters": lambda us: _damped_pagerank([chars(u) for u in us]),
      "pagerank 0.85, jieba words": lambda us: _damped_pagerank([_words_terms(_strip_prefix(u)) for u in us]),
  }
  settings = [("lead", "", None, n_train), ("lead", "。", None, n_train),
              ("lexrank", "", "reach", n_train), ("lexrank", "。", "fit", n_train),
              ("lexrank", "。", "fit", CSDS_BUDGET)]
  settings += [(name, "。", "fit", n_train) for name in scorers if name != "lexrank"]
  settings += [("lexrank, roles", "。", "fit", n_train)]
  scorers["lexrank, roles"] = extractive.lexrank_scores
  for split in ("valid", "test"):
    examples = splits[split]
    refs = [e["summary"] for e in examples]
    for name, separator, rule, budget in settings:
      hyps, chosen_lengths = [], []
      for e in examples:
        us = _utterances(e, own_roles=name.endswith("roles"))
        if name == "lead":
          hyps.append(extractive.lead(us, budget, separator))
          continue
        lengths = [extractive.char_length(u) for u in us]
        chosen = extractive.select_by_rank(scorers[name](us), lengths, budget, rule)
        hyps.append(separator.join(us[i] for i in chosen))
        chosen_lengths.append([lengths[i] for i in chosen])
      label = f"{split} ({len(examples)}) {name}, separator {separator!r}, {rule or 'cut'}, N={budget}"
      print(f"{label:62s} {_fmt(metrics.summary_metrics(hyps, refs))}")
      if chosen_lengths and separator:
        print(f"  {_length_stats(chosen_lengths)}")


if __name__ == "__main__":
  official_outputs()
  our_rows()
