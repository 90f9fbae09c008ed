"""Metrics: hand-computed values, NLTK BLEU parity on real text, and the CSDS published ROUGE."""

import math

import pytest

from jddc import metrics as m
from tests.conftest import shared_path


# CSDS README (overall summary): system, predictions, own references, published R-1/R-2/R-L.
CSDS_SYSTEMS = [
    ("Longest", "longest_preds.txt", None, (30.02, 15.52, 28.00)),
    ("LexPageRank", "lex_preds.txt", None, (36.32, 19.43, 34.67)),
    ("SummaRuNNer", "summarunner_preds.txt", None, (44.91, 27.99, 42.97)),
    ("BERTExt", "bert_ext_preds.txt", "bert_ext_refs.txt", (43.55, 27.51, 41.75)),
    ("PGN", "PGN_preds.txt", None, (55.58, 39.19, 53.46)),
    ("Fast-RL", "fast_rl_preds.txt", None, (57.95, 41.39, 55.99)),
    ("BERTAbs", "bert_abs_block5_preds.txt", "bert_abs_block5_refs.txt", (55.41, 39.42, 53.41)),
]


def _lines(path):
  with open(path, encoding="utf-8") as f:
    return [line.strip() for line in f]


def _csds(name):
  return _lines(shared_path("csds", "official_outputs", name))


def _agent_replies(n):
  replies = [line.split("\t")[6] for line in _lines(shared_path("jddc2019", "chat_0.1per.txt"))
             if line.split("\t")[2] == "1"]
  return replies[:n]


def _strip(text):
  return m.char_tokens(text, strip_markers=True)


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------

def test_char_tokens_drop_whitespace_and_optionally_markers():
  assert m.char_tokens(" 用户 询问 [ 数字 ] 。\t") == list("用户询问[数字]。")
  assert m.char_tokens("好 。<q>客服") == list("好。<q>客服")
  assert m.char_tokens("好 。<q>客服", strip_markers=True) == list("好。客服")
  assert m.char_tokens("iPhone 12") == list("iPhone12")


# ---------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------

def test_sentence_bleu_by_hand():
  # 1-grams 4/4, 2-grams 2/3 (天天, 向上), 3- and 4-grams none: method1 gives 0.1/2 and 0.1/1;
  # brevity penalty exp(1 - 6/4).
  hyp, ref = "天天向上", "天天学习向上"
  bp = math.exp(1 - 6 / 4)
  assert m.sentence_bleu(hyp, ref) == pytest.approx(100 * bp * (1 * 2 / 3 * 0.05 * 0.1) ** 0.25, abs=1e-9)
  assert m.sentence_bleu(hyp, ref, max_n=2) == pytest.approx(100 * bp * (2 / 3) ** 0.5, abs=1e-9)
  assert m.sentence_bleu(hyp, ref, max_n=1) == pytest.approx(100 * bp, abs=1e-9)
  # With a second reference every n-gram matches; the closest reference length is now 5.
  assert m.sentence_bleu(hyp, [ref, "天天向上好"]) == pytest.approx(100 * math.exp(1 - 5 / 4), abs=1e-9)
  assert m.sentence_bleu("你好", "再见") == 0.0
  assert m.sentence_bleu("", "再见") == 0.0


def test_corpus_bleu_sums_statistics_with_nltk_denominators():
  # A 2-token hypothesis has no 3- or 4-grams but still adds 1 to those denominators (NLTK's max(1, count)).
  hyps, refs = ["天天向上", "你好"], ["天天学习向上", "你好"]
  expected = 100 * math.exp(1 - 8 / 6) * (1 * (3 / 4) * (0.1 / 3) * (0.1 / 2)) ** 0.25
  assert m.corpus_bleu(hyps, refs) == pytest.approx(expected, abs=1e-9)
  mean = (m.sentence_bleu(hyps[0], refs[0]) + m.sentence_bleu(hyps[1], refs[1])) / 2
  assert m.mean_sentence_bleu(hyps, refs) == pytest.approx(mean)
  with pytest.raises(ValueError):
    m.corpus_bleu(hyps, refs[:1])


def _nltk_pairs():
  gold = _csds("gold_refs.txt")
  pairs = [(_csds(pred), _csds(ref) if ref else gold) for _, pred, ref, _ in CSDS_SYSTEMS]
  replies = _agent_replies(501)
  pairs.append((replies[:-1], replies[1:]))
  return pairs


def test_bleu_matches_nltk_on_real_text():
  from nltk.translate import bleu_score as bleu
  smooth = bleu.SmoothingFunction().method1
  all_orders = [(1.0,), (0.5, 0.5), (1 / 3,) * 3, (0.25,) * 4]
  worst = 0.0
  pairs = _nltk_pairs()
  for k, (hyps, refs) in enumerate(pairs):
    hyp_toks = [_strip(h) for h in hyps]
    ref_toks = [[_strip(r)] for r in refs]
    theirs = bleu.corpus_bleu(ref_toks, hyp_toks, weights=all_orders, smoothing_function=smooth)
    orders = (1, 2, 3, 4) if k in (0, 3, len(pairs) - 1) else (4,)
    for n in orders:
      worst = max(worst, abs(m.corpus_bleu(hyps, refs, n, tokenize=_strip) - 100 * theirs[n - 1]))
    if k in (4, len(pairs) - 1):
      for h, r, ht, rt in zip(hyps, refs, hyp_toks, ref_toks):
        theirs = bleu.sentence_bleu(rt, ht, smoothing_function=smooth)
        worst = max(worst, abs(m.sentence_bleu(h, r, tokenize=_strip) - 100 * theirs))
  replies = _agent_replies(120)
  multi = [[replies[i + 1], replies[i + 2], replies[i + 3]] for i in range(100)]
  theirs = bleu.corpus_bleu([[m.char_tokens(r) for r in rs] for rs in multi],
                            [m.char_tokens(h) for h in replies[:100]], smoothing_function=smooth)
  worst = max(worst, abs(m.corpus_bleu(replies[:100], multi) - 100 * theirs))
  assert worst < 1e-6


# ---------------------------------------------------------------------------
# ROUGE
# ---------------------------------------------------------------------------

def test_lcs_length_by_hand():
  assert m.lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
  assert m.lcs_length(list("天天学习向上"), list("天天向上")) == 4
  assert m.lcs_length([], list("abc")) == 0
  assert m.lcs_length(list("abc"), list("xyz")) == 0


def test_rouge_by_hand():
  # 天天向上 vs 天天学习向上: R-1 P 4/4 R 4/6 -> 0.8; R-2 P 2/3 R 2/5 -> 0.5; LCS 4 -> 0.8.
  # 你好 vs 再见: nothing in common. Scores are averaged over the two samples.
  scores = m.rouge(["天天向上", "你好"], ["天天学习向上", "再见"])
  assert scores["rouge1"] == pytest.approx(40.0)
  assert scores["rouge2"] == pytest.approx(25.0)
  assert scores["rougeL"] == pytest.approx(40.0)
  assert m.rouge([""], ["再见"]) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_summary_level_rouge_l_by_hand():
  # Swapped sentences: the whole-text LCS is 5 of 10, the union LCS per reference sentence is 10.
  hyp, ref = "快递到了。我要退货。", "我要退货。快递到了。"
  assert m.rouge([hyp], [ref])["rougeL"] == pytest.approx(50.0)
  assert m.rouge_l_summary_level([hyp], [ref]) == pytest.approx(100.0)
  # Clipping: both reference sentences match the one hypothesis sentence, but its tokens count
  # once, so hits are 2 (not 4): R 2/4, P 2/2.
  assert m.rouge_l_summary_level(["好。"], ["好。好。"]) == pytest.approx(200 / 3)
  # ROUGE-1.5.5 tie-breaking: for 甲乙 against 乙甲。 the backtrack goes up on ties and marks 甲,
  # so the second sentence 甲 adds nothing: one hit, R 1/2, P 1/4.
  assert m.rouge_l_summary_level(["乙甲。甲"], ["甲乙"]) == pytest.approx(100 / 3)
  assert m.split_sentences(list("ab。c。d")) == [list("ab。"), list("c。"), ["d"]]


def test_csds_published_rouge_is_reproduced():
  gold = _csds("gold_refs.txt")
  for name, pred, ref, (r1, r2, rl) in CSDS_SYSTEMS:
    hyps, refs = _csds(pred), _csds(ref) if ref else gold
    assert len(hyps) == len(refs) == 800
    scores = m.rouge(hyps, refs, tokenize=_strip)
    summary_l = m.rouge_l_summary_level(hyps, refs, tokenize=_strip)
    assert scores["rouge1"] == pytest.approx(r1, abs=0.05), name
    assert scores["rouge2"] == pytest.approx(r2, abs=0.05), name
    assert summary_l == pytest.approx(rl, abs=0.1), name


def test_csds_extractive_outputs_end_each_utterance_with_a_sentence_end():
  """CSDS's LexPageRank outputs are `用户：…。客服：…` within 83 characters without the "。"s; those
  sentence ends alone are worth 2.9 ROUGE-1 and 5.9 summary-level ROUGE-L (the gap of our
  separator-less LexRank of before 2026-12-02, `configs/summary_lexrank_csds.py`)."""
  gold, lex = _csds("gold_refs.txt"), _csds("lex_preds.txt")
  roles = ("用户：", "客服：", "商家：", "物流师傅：")  # CSDS's QRole (用户, 商家, 物流师傅) and the agent
  assert all(line.startswith(roles) for line in lex)
  assert sum(any("。" + r in line for r in roles) for line in lex) > 0.98 * len(lex)  # "。" before each next turn
  utterances = [[u for u in line.split("。") if u] for line in lex]
  assert max(sum(len(u) for u in line) for line in utterances) == 83
  assert sum(line.endswith("。") for line in lex) < 20  # none after the last utterance (bar those ending in one)
  bare = ["".join(line) for line in utterances]
  with_ends, without = m.summary_metrics(lex, gold), m.summary_metrics(bare, gold)
  assert with_ends["rouge1"] == pytest.approx(36.32, abs=0.05) and with_ends["rougeL"] == pytest.approx(34.67, abs=0.1)
  assert without["rouge1"] == pytest.approx(33.47, abs=0.05)
  assert without["rouge2"] == pytest.approx(16.73, abs=0.05)
  assert without["rougeL"] == pytest.approx(28.81, abs=0.05)


# ---------------------------------------------------------------------------
# Distinct, response bundle, classification
# ---------------------------------------------------------------------------

def test_distinct_by_hand():
  # Unigrams 好的好的 + 好的: 6 in all, 2 distinct; bigrams 好的 的好 好的 + 好的: 4, 2 distinct.
  hyps = ["好的 好的", "好的"]
  assert m.distinct_n(hyps, 1) == pytest.approx(100 / 3)
  assert m.distinct_n(hyps, 2) == pytest.approx(50.0)
  assert m.distinct_n(["好"], 2) == 0.0


def test_response_metrics_bundle():
  replies = _agent_replies(41)
  hyps, refs = replies[:-1], replies[1:]
  out = m.response_metrics(hyps, refs)
  assert set(out) == {"bleu", "bleu1", "bleu2", "sentence_bleu4", "rougeL", "distinct1", "distinct2"}
  assert out["bleu"] == m.corpus_bleu(hyps, refs, 4)
  assert out["bleu1"] >= out["bleu2"] >= out["bleu"] > 0
  assert all(0 <= v <= 100 for v in out.values())
  same = m.response_metrics(refs, refs)
  assert same["bleu1"] == pytest.approx(100.0) and same["rougeL"] == pytest.approx(100.0)


def test_classification_by_hand():
  preds, labels = [1, 0, 1, 1, 0], [1, 0, 0, 1, 1]
  assert m.accuracy(preds, labels) == pytest.approx(60.0)
  assert m.f1_binary(preds, labels) == pytest.approx(200 / 3)  # tp 2, 3 predicted, 3 gold
  assert m.f1_binary(preds, labels, positive=0) == pytest.approx(50.0)
  assert m.macro_f1(preds, labels) == pytest.approx((50.0 + 200 / 3) / 2)
  assert m.f1_binary([0, 0], [0, 0]) == 0.0
  with pytest.raises(ValueError):
    m.accuracy([1], [1, 0])


# ---------------------------------------------------------------------------
# Discourse
# ---------------------------------------------------------------------------

def _discourse_case():
  gold = [
      # 4 EDUs, EDU 0 the only root: 4 relations (a repeated pair keeps its first) + 1 root = 5 gold.
      [(0, 1, "QAP"), (1, 2, "Ack"), (0, 3, "Contrast"), (2, 3, "Elab"), (0, 1, "Comment")],
      # 3 EDUs: EDU 0 has a backward parent (no root credit), EDU 1 none (a root that cannot be predicted).
      [(1, 0, "QAP"), (0, 2, "Result")],
      # 1 EDU: its root link only.
      [],
  ]
  pred = [
      [(0, "QAP"), (1, "Comment"), (1, "Elab")],  # right, right link with wrong relation, wrong
      [(0, "QAP"), (0, "Result")],                 # wrong, right
      [],
  ]
  return gold, pred


def test_discourse_f1_by_hand():
  gold, pred = _discourse_case()
  out = m.discourse_f1(gold, pred)
  # gold 5 + 3 + 1 = 9; pred (3 + 1) + (2 + 1) + (0 + 1) = 8; link right: root + 2, 1, root = 5;
  # link&rel: root + 1, 1, root = 4.
  assert (out["gold"], out["pred"], out["link_correct"], out["link_rel_correct"]) == (9, 8, 5, 4)
  assert out["link_p"] == pytest.approx(100 * 5 / 8)
  assert out["link_r"] == pytest.approx(100 * 5 / 9)
  assert out["link_f1"] == pytest.approx(100 * 10 / 17)
  assert out["link_rel_f1"] == pytest.approx(100 * 8 / 17)
  # Never predictable: the backward link; best recall: roots of dialogues 1 and 3, EDUs 1-3 of
  # the first, EDU 2 of the second = 6 of 9.
  assert out["unreachable"] == 1
  assert out["oracle_link_recall"] == pytest.approx(100 * 6 / 9)
  short = m.discourse_f1(gold, pred, max_distance=2)
  assert short["unreachable"] == 2 and short["link_f1"] == out["link_f1"]


def test_discourse_f1_perfect_and_invalid():
  gold = [[(0, 1, "QAP"), (1, 2, "Ack")]]
  out = m.discourse_f1(gold, [[(0, "QAP"), (1, "Ack")]])
  assert out["link_f1"] == out["link_rel_f1"] == pytest.approx(100.0)
  with pytest.raises(ValueError):
    m.discourse_f1(gold, [[(0, "QAP"), (5, "Ack")]])
  with pytest.raises(ValueError):
    m.discourse_f1(gold, [])
