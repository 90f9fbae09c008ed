"""Evaluation metrics for every task, in percent (0-100) as floats; callers round to two decimals.

Text metrics work on characters (`char_tokens`): the convention of CSDS (`list(s)` before
ROUGE and BLEU) and of the Chinese dialogue BLEU of CDial-GPT / GPT2-chitchat. All whitespace
is dropped, and every other character, ASCII included, is one token, so "[数字]" is four
tokens and "iPhone" six; word-segmented inputs therefore score the same as unsegmented ones.

- BLEU (`corpus_bleu`, `sentence_bleu`, `mean_sentence_bleu`): NLTK's formulas (clipped
  n-gram precision, closest reference length, `SmoothingFunction().method1` with epsilon
  0.1), reimplemented; they agree with `nltk.translate.bleu_score` 3.10 to 1e-12. Our main
  response figure is corpus-level BLEU-4 on characters; the mean of sentence BLEU-4 is also
  reported, since the paper does not say which it used (BASELINES §6).
- ROUGE (`rouge`): ROUGE-1/2/L F1 per sample (alpha 0.5), averaged over samples, as
  ROUGE-1.5.5 / files2rouge report "Average_F"; ROUGE-L here is the LCS of the whole texts.
  `rouge_l_summary_level` is ROUGE-1.5.5's summary-level ROUGE-L (union LCS per reference
  sentence, clipped by unigram counts), sentences ending after each "。". The summarization
  figures are `rouge(...)['rouge1']`, `['rouge2']` and `rouge_l_summary_level`: on the CSDS
  official outputs they reproduce the published ROUGE-1.5.5 numbers of all seven systems
  within 0.03 (the CSDS scorer maps characters to ids and appends a break after each "。").
  Unlike the Perl script we take the exact mean, not the mean of 1,000 bootstrap resamples,
  and do not round per-sample scores to five decimals.
- Distinct-1/2 (`distinct_n`): distinct n-grams over all n-grams of all hypotheses.
- Classification (`accuracy`, `f1_binary`, `macro_f1`).
- Discourse parsing (`discourse_f1`): the micro link and link&relation F1 of Deep Sequential
  (Shi & Huang 2019), root links included.
- Query rewriting (`rewrite_metrics`): Table 7's figures plus RUN's (Liu et al. 2020) exact
  match, BLEU-4 and rewriting F-score (`restoration_score`) on RUN's tokens (`run_tokens`).
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from typing import Callable, Hashable, Optional, Sequence, Union

import numpy as np

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


# ---------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# ROUGE
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Diversity
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------

def _check_pairs(preds: Sequence, labels: Sequence) -> None:
  if len(preds) != len(labels):
    raise ValueError(f"{len(preds)} predictions but {len(labels)} labels")


def accuracy(preds: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
  """Share of predictions equal to their label, in percent (0 for no examples)."""
  _check_pairs(preds, labels)
  return 100.0 * sum(p == y for p, y in zip(preds, labels)) / len(labels) if labels else 0.0


def _class_f1(preds: Sequence[Hashable], labels: Sequence[Hashable], positive: Hashable) -> float:
  tp = sum(p == positive and y == positive for p, y in zip(preds, labels))
  n_pred = sum(p == positive for p in preds)
  n_gold = sum(y == positive for y in labels)
  return 2.0 * tp / (n_pred + n_gold) if tp else 0.0


def f1_binary(preds: Sequence[Hashable], labels: Sequence[Hashable], positive: Hashable = 1) -> float:
  """F1 of the positive class, in percent; 0 when nothing is both predicted and gold positive."""
  _check_pairs(preds, labels)
  return 100.0 * _class_f1(preds, labels, positive)


def macro_f1(preds: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
  """Unweighted mean of per-class F1 over the classes seen in labels or predictions, in percent."""
  _check_pairs(preds, labels)
  classes = set(labels) | set(preds)
  if not classes:
    return 0.0
  return 100.0 * sum(_class_f1(preds, labels, c) for c in classes) / len(classes)


# ---------------------------------------------------------------------------
# Discourse parsing
# ---------------------------------------------------------------------------

GoldLinks = Sequence[tuple[int, int, Hashable]]
PredLinks = Sequence[tuple[int, Hashable]]


def discourse_f1(gold: Sequence[GoldLinks], pred: Sequence[PredLinks], max_distance: int = 20) -> dict[str, float]:
  """Micro link and link&relation P/R/F1 of Deep Sequential (`Model.step` of Shi & Huang 2019).

  Gold counts every relation plus one root link per EDU without a gold parent; predictions
  count one link per EDU j >= 1 plus one root link (EDU 0) per dialogue. The EDU 0 root link is
  correct for both scores when EDU 0 has no gold parent. A predicted link is correct when a gold
  relation joins the same pair (and, for link&rel, has the same type). A repeated (parent,
  child) pair keeps its first relation, as the original `load_data` does.

  Args:
    gold: per dialogue, gold links (parent, child, relation) over EDU indices from 0.
    pred: per dialogue, for EDUs 1..n-1 in order, the predicted (parent, relation); a dialogue
      with n EDUs has n - 1 entries.
    max_distance: the parser's longest link (child - parent), for the reachability figures.

  Returns:
    {'link_p', 'link_r', 'link_f1', 'link_rel_p', 'link_rel_r', 'link_rel_f1'} in percent;
    counts 'gold', 'pred', 'link_correct', 'link_rel_correct'; 'unreachable': gold relations a
    left-to-right parser within max_distance can never predict (backward, self or too long);
    'oracle_link_recall': the best link recall any such parser (one parent per EDU) can reach.
  """
  if len(gold) != len(pred):
    raise ValueError(f"{len(gold)} gold dialogues but {len(pred)} predicted")
  n_gold = n_pred = link_ok = rel_ok = unreachable = oracle = 0
  for d, (links, parents) in enumerate(zip(gold, pred)):
    num_edus = len(parents) + 1
    relation: dict[tuple[int, int], Hashable] = {}
    for x, y, r in links:
      if not (0 <= x < num_edus and 0 <= y < num_edus):
        raise ValueError(f"dialogue {d}: gold link ({x}, {y}) outside its {num_edus} EDUs")
      relation.setdefault((x, y), r)
    has_parent = [False] * num_edus
    reachable = [False] * num_edus
    for x, y in relation:
      has_parent[y] = True
      if 0 < y - x <= max_distance:
        reachable[y] = True
      else:
        unreachable += 1
    n_gold += len(relation) + has_parent.count(False)
    n_pred += len(parents) + 1
    root_ok = not has_parent[0]
    oracle += root_ok + sum(reachable[1:])
    link_ok += root_ok
    rel_ok += root_ok
    for j, (i, r) in enumerate(parents, start=1):
      if not 0 <= i < num_edus:
        raise ValueError(f"dialogue {d}: EDU {j} has predicted parent {i} outside its {num_edus} EDUs")
      if (i, j) in relation:
        link_ok += 1
        rel_ok += relation[(i, j)] == r
  out: dict[str, float] = {}
  for name, correct in (("link", link_ok), ("link_rel", rel_ok)):
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_gold if n_gold else 0.0
    out.update({f"{name}_p": 100.0 * p, f"{name}_r": 100.0 * r, f"{name}_f1": 100.0 * _f1(p, r)})
  out.update({"gold": n_gold, "pred": n_pred, "link_correct": link_ok, "link_rel_correct": rel_ok,
              "unreachable": unreachable, "oracle_link_recall": 100.0 * oracle / n_gold if n_gold else 0.0})
  return out


# ---------------------------------------------------------------------------
# Query rewriting: RUN's scorer (Liu et al. 2020, microsoft/ContextualSP)
# ---------------------------------------------------------------------------

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
