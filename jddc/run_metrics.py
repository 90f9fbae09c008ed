"""Query-rewriting figures computed as RUN computes them (Liu et al. 2020, microsoft/ContextualSP).

RUN (`incomplete_utterance_rewriting/`) scores token strings:

  - tokens (`run_token_string`): `preprocess.cut_mixed_sentence` cuts the text with jieba and
    splits every word made only of characters U+4E00..U+9FA5 into its characters, other
    words kept whole; `data_reader` then lower-cases and folds whitespace. Here each text is
    also stripped (RUN strips whole lines, so only the first context and the rewrite);
  - an empty prediction is scored as "hello" (RUN's `forward` puts it in before scoring);
  - EM: the token strings are equal (`Scorer.em_score`, averaged over examples);
  - BLEU-1..4: NLTK `corpus_bleu` without smoothing on the strings split at spaces,
    cumulative, with RUN's weights (BLEU-3 weighs each order 0.33, not 1/3);
  - ROUGE-L: the F of the `rouge` package 0.3.2 (RUN's pin) per example, averaged: its
    summary-level LCS over sentences split at ".", counted on distinct words, with
    F = (1 + b^2) R P / (R + b^2 P), b = P / R;
  - restoration P/R/F at n = 1, 2, 3 (`Scorer.restored_count`): restored tokens are those
    of a rewrite not in the query; the distinct n-grams holding one are matched; counts
    are summed over the examples whose reference restores a token (the others are
    skipped), F = 2PR / (P + R).

All figures are percentages. `jddc.metrics.rewrite_metrics` computes EM, BLEU-4 and
rewriting F on its own regex tokens (`jddc.metrics.run_tokens`: CJK characters and ASCII
runs): the same rules, but those tokens differ from jieba's on mixed ASCII ("iphone-x" is
one token there, three here) and its BLEU-3 would weigh 1/3; these figures are the ones to
compare with RUN's tables.
"""

from __future__ import annotations

import collections
import logging
import math
import re
import sys
from typing import Iterable, Sequence, Union

from jddc.metrics.rewrite import restoration_counts  # RUN's restored n-grams, the same rule on any tokens

_SPACES = re.compile(r"\s+")
_BLEU_WEIGHTS = {1: (1.0, 0.0, 0.0, 0.0), 2: (0.5, 0.5, 0.0, 0.0), 3: (0.33, 0.33, 0.33, 0.0),
                 4: (0.25, 0.25, 0.25, 0.25)}
_EMPTY_PREDICTION = "hello"


def _is_all_chinese(word: str) -> bool:
  return all("\u4e00" <= c <= "\u9fa5" for c in word)


def _jieba():
  import jieba  # pylint: disable=g-import-not-at-top  (its dictionary loads on first use)
  jieba.setLogLevel(logging.WARNING)
  return jieba


def run_token_string(text: str) -> str:
  """RUN's tokens of one utterance, joined by single spaces (module docstring)."""
  pieces = []
  for word in _jieba().cut(text.strip()):
    pieces.extend(word if _is_all_chinese(word) else [word])
  return _SPACES.sub(" ", " ".join(pieces).lower()).strip()


def run_tokens(text: str) -> list[str]:
  """RUN's tokens of one utterance (`run_token_string` split at its spaces)."""
  return run_token_string(text).split(" ")


# ------------------------------------------------------------------------------------
# BLEU (NLTK corpus_bleu, no smoothing)
# ------------------------------------------------------------------------------------


def _ngram_counts(tokens: Sequence[str], n: int) -> collections.Counter:
  return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]],
                weights: Sequence[float]) -> float:
  """NLTK's `corpus_bleu(refs as single references, hyps, weights)` without smoothing, in percent.

  Clipped matches and n-gram counts (each sentence's count at least 1, as NLTK) are summed
  over the corpus; no unigram match gives 0; an order with no match counts as the
  smallest float (NLTK's method0), which only a zero weight cancels.
  """
  if len(hyps) != len(refs):
    raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
  orders = len(weights)
  matches, totals = [0] * orders, [0] * orders
  hyp_len = ref_len = 0
  for hyp, ref in zip(hyps, refs):
    for n in range(1, orders + 1):
      hyp_grams, ref_grams = _ngram_counts(hyp, n), _ngram_counts(ref, n)
      matches[n - 1] += sum(min(c, ref_grams[g]) for g, c in hyp_grams.items())
      totals[n - 1] += max(1, sum(hyp_grams.values()))
    hyp_len += len(hyp)
    ref_len += len(ref)
  if not hyps or matches[0] == 0:
    return 0.0
  brevity = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
  log_sum = math.fsum(w * math.log(m / t if m else sys.float_info.min) for w, m, t in zip(weights, matches, totals))
  return 100.0 * brevity * math.exp(log_sum)


# ------------------------------------------------------------------------------------
# ROUGE-L (the `rouge` package 0.3.2)
# ------------------------------------------------------------------------------------


def _lcs_words(reference: Sequence[str], hypothesis: Sequence[str]) -> set[str]:
  """The distinct words of the LCS `rouge` 0.3.2 reconstructs (its tie-breaking kept)."""
  rows, cols = len(reference), len(hypothesis)
  table = [[0] * (cols + 1) for _ in range(rows + 1)]
  for i in range(1, rows + 1):
    for j in range(1, cols + 1):
      if reference[i - 1] == hypothesis[j - 1]:
        table[i][j] = table[i - 1][j - 1] + 1
      else:
        table[i][j] = max(table[i - 1][j], table[i][j - 1])
  words, i, j = set(), rows, cols
  while i and j:
    if reference[i - 1] == hypothesis[j - 1]:
      words.add(reference[i - 1])
      i, j = i - 1, j - 1
    elif table[i - 1][j] > table[i][j - 1]:
      i -= 1
    else:
      j -= 1
  return words


def _sentences(text: str) -> list[list[str]]:
  """`rouge` 0.3.2's sentences (split at ".") as word lists (a blank sentence is one empty word)."""
  return [" ".join(s.split()).split(" ") for s in text.split(".") if len(s) > 0]


def rouge_l(hypothesis: str, reference: str) -> float:
  """`Rouge().get_scores(hypothesis, reference)[0]["rouge-l"]["f"]` of `rouge` 0.3.2 (a fraction).

  Returns 0.0 where that package raises (a text with no sentence, such as ".").
  """
  hyp, ref = _sentences(hypothesis), _sentences(reference)
  if not hyp or not ref:
    return 0.0
  m = len({w for s in ref for w in s})
  n = len({w for s in hyp for w in s})
  union: set[str] = set()
  lcs = 0
  for ref_sentence in ref:
    before = len(union)
    for hyp_sentence in hyp:
      union |= _lcs_words(ref_sentence, hyp_sentence)
    lcs += len(union) - before
  recall, precision = lcs / m, lcs / n
  beta = precision / (recall + 1e-12)
  return (1 + beta ** 2) * recall * precision / (recall + beta ** 2 * precision + 1e-12)


# ------------------------------------------------------------------------------------
# Restoration scores
# ------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------
# All of RUN's figures
# ------------------------------------------------------------------------------------


def run_metrics(predictions: Sequence[str], references: Sequence[str], queries: Sequence[str]) -> dict[str, float]:
  """RUN's figures of predicted rewrites (module docstring), in percent.

  Args:
    predictions: the predicted rewrites, plain text.
    references: the reference rewrites.
    queries: the incomplete utterances being rewritten.

  Returns:
    {"run_em", "run_bleu1".."run_bleu4", "run_rougeL", "run_restore_p{n}", "run_restore_r{n}",
     "run_restore_f{n}" for n = 1, 2, 3, "run_restore_examples" (the examples that restore a token)}.
  """
  if not len(predictions) == len(references) == len(queries):
    raise ValueError(f"{len(predictions)} predictions, {len(references)} references, {len(queries)} queries")
  preds = [run_token_string(p) or _EMPTY_PREDICTION for p in predictions]
  refs = [run_token_string(r) for r in references]
  curs = [run_token_string(q) for q in queries]
  count = max(1, len(refs))
  out = {"run_em": 100.0 * sum(p == r for p, r in zip(preds, refs)) / count}
  pred_tokens, ref_tokens = [p.split(" ") for p in preds], [r.split(" ") for r in refs]
  for order, weights in _BLEU_WEIGHTS.items():
    out[f"run_bleu{order}"] = corpus_bleu(pred_tokens, ref_tokens, weights)
  out["run_rougeL"] = 100.0 * sum(rouge_l(p, r) for p, r in zip(preds, refs)) / count
  cur_tokens = [c.split(" ") for c in curs]
  for n in (1, 2, 3):
    shared = predicted = reference = examples = 0
    for hyp, ref, cur in zip(pred_tokens, ref_tokens, cur_tokens):
      counts = restoration_counts(hyp, ref, cur, n)
      if counts is not None:
        shared, predicted, reference, examples = (shared + counts[0], predicted + counts[1],
                                                  reference + counts[2], examples + 1)
    p = shared / predicted if predicted else 0.0
    r = shared / reference if reference else 0.0
    out.update({f"run_restore_p{n}": 100.0 * p, f"run_restore_r{n}": 100.0 * r,
                f"run_restore_f{n}": 100.0 * (2 * p * r / (p + r) if p > 0 and r > 0 else 0.0)})
  out["run_restore_examples"] = float(examples)
  return out


def run_metrics_of_examples(rows: Iterable[tuple[Union[str, Sequence[str]], str, str, str]]) -> dict[str, float]:
  """`run_metrics` of (context, query, reference, prediction) rows.

  The context (a string or its utterances) is read by none of RUN's figures: a restored
  token is one not in the query, wherever it came from. It is accepted so that rows as
  the rewriting tasks hold them can be passed whole.
  """
  rows = list(rows)
  for k, row in enumerate(rows):
    if len(row) != 4 or not all(isinstance(x, str) for x in row[1:]):
      raise ValueError(f"row {k}: expected (context, query, reference, prediction) with string texts, got {row!r}")
  return run_metrics([r[3] for r in rows], [r[2] for r in rows], [r[1] for r in rows])
