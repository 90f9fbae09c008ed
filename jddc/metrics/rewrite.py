"""Query rewriting: Table 7's figures plus RUN's scorer (Liu et al. 2020, microsoft/ContextualSP)."""

from __future__ import annotations

import re
from typing import Hashable, Optional, Sequence

from jddc.metrics.aggregate import response_metrics
from jddc.metrics.bleu import corpus_bleu
from jddc.metrics.classification import _check_pairs
from jddc.metrics.text import Tokenizer, _ngrams, _f1


# jieba keeps a run of these as one word; RUN (`preprocess.cut_mixed_sentence`) then splits
# all-Chinese words into characters and keeps the others whole.
_RUN_TOKEN = re.compile(r"[a-z0-9+#&._%\-]+|\S")


def run_tokens(text: str) -> list[str]:
  """RUN's tokens of an utterance: lowercased; each CJK character, each run of ASCII
  letters/digits (with `+#&._%-`), and every other non-space character is one token.

  RUN segments with jieba and splits all-Chinese words into characters; a dictionary
  word mixing Chinese and ASCII ("t恤") stays whole there and is split here. jieba is
  not a dependency of ours; on Chinese text with ASCII words the two agree.
  """
  return _RUN_TOKEN.findall(text.lower())


def restoration_counts(hyp: Sequence[Hashable], ref: Sequence[Hashable], current: Sequence[Hashable],
                       n: int) -> Optional[tuple[int, int, int]]:
  """RUN's restoration counts of one rewrite at order n (`data_utils.Scorer.restored_count`).

  Restored tokens are the tokens of a rewrite that are not in the incomplete utterance
  `current`; the n-grams scored are the distinct n-grams of the rewrite holding at least
  one restored token.

  Returns:
    (shared, predicted, reference) n-gram counts, or None when the reference restores
    nothing (RUN leaves such examples out of the score).
  """
  cur = set(current)
  ref_restored = {t for t in ref if t not in cur}
  if not ref_restored:
    return None
  hyp_restored = {t for t in hyp if t not in cur}
  ref_grams = {g for g in _ngrams(ref, n) if ref_restored.intersection(g)}
  hyp_grams = {g for g in _ngrams(hyp, n) if hyp_restored.intersection(g)}
  return len(ref_grams & hyp_grams), len(hyp_grams), len(ref_grams)


def restoration_score(hyps: Sequence[str], refs: Sequence[str], currents: Sequence[str], max_n: int = 3,
                      tokenize: Tokenizer = run_tokens) -> dict[str, float]:
  """RUN's "rewriting F-score" P_n / R_n / F_n (n = 1..max_n), in percent.

  Counts are summed over the examples whose reference restores a token (micro average);
  P = shared / predicted, R = shared / reference, F their harmonic mean (0 when either
  is 0). "Rewriting F1" in RUN's tables is F_1.

  Args:
    hyps: predicted rewrites.
    refs: reference rewrites.
    currents: the incomplete utterances (the query's text).
    max_n: highest n-gram order.
    tokenize: text to tokens (RUN's by default).

  Returns:
    {'rewrite_p1', 'rewrite_r1', 'rewrite_f1', ..., 'rewrite_f{max_n}'}.
  """
  if not len(hyps) == len(refs) == len(currents):
    raise ValueError(f"{len(hyps)} hypotheses, {len(refs)} references, {len(currents)} current utterances")
  out: dict[str, float] = {}
  tokens = [(tokenize(h), tokenize(r), tokenize(c)) for h, r, c in zip(hyps, refs, currents)]
  for n in range(1, max_n + 1):
    shared = predicted = reference = 0
    for hyp, ref, cur in tokens:
      counts = restoration_counts(hyp, ref, cur, n)
      if counts is not None:
        shared, predicted, reference = shared + counts[0], predicted + counts[1], reference + counts[2]
    p = shared / predicted if predicted else 0.0
    r = shared / reference if reference else 0.0
    out.update({f"rewrite_p{n}": 100.0 * p, f"rewrite_r{n}": 100.0 * r,
                f"rewrite_f{n}": 100.0 * (_f1(p, r) if p > 0 and r > 0 else 0.0)})
  return out


def exact_match(hyps: Sequence[str], refs: Sequence[str], tokenize: Tokenizer = run_tokens) -> float:
  """Share of hypotheses whose tokens equal the reference's, in percent (RUN's EM)."""
  _check_pairs(hyps, refs)
  return 100.0 * sum(tokenize(h) == tokenize(r) for h, r in zip(hyps, refs)) / len(refs) if refs else 0.0


def rewrite_metrics(hyps: Sequence[str], refs: Sequence[str], currents: Sequence[str]) -> dict[str, float]:
  """The query-rewriting figures, in percent.

  Args:
    hyps: generated rewrites.
    refs: one reference rewrite per hypothesis.
    currents: the query's own text (its text messages joined; images contribute nothing).

  Returns:
    `response_metrics` (Table 7's BLEU (character BLEU-4, method1), ROUGE-L, Distinct-1/2),
    and RUN's figures on RUN tokens: 'exact_match', 'run_bleu4' (NLTK corpus BLEU-4 with no
    smoothing, as RUN's `CorpusBLEUMetric`) and `restoration_score` ('rewrite_f1' is RUN's
    "rewriting F1").
  """
  return {**response_metrics(hyps, refs), "exact_match": exact_match(hyps, refs),
          "run_bleu4": corpus_bleu(hyps, refs, 4, smoothing="none", tokenize=run_tokens),
          **restoration_score(hyps, refs, currents)}
