"""RUN's rewriting figures (`jddc.run_metrics`): jieba tokens, EM, BLEU-1..4, ROUGE-L and
restoration F, against a case worked by hand and against NLTK's `corpus_bleu`."""

import math
import random
import sys

import pytest
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from jddc import run_metrics


def test_tokens_are_jieba_words_with_chinese_words_split_into_characters():
  assert run_metrics.run_tokens("我想买iPhone-X手机") == ["我", "想", "买", "iphone", "-", "x", "手", "机"]
  assert run_metrics.run_tokens("T恤多少钱？") == ["t恤", "多", "少", "钱", "？"]  # a mixed jieba word stays whole
  assert run_metrics.run_token_string("  苹果12Pro  max ") == "苹 果 12pro max"


# (context, query, reference, prediction): an exact rewrite, a wrong restoration, an empty
# prediction of a line that restores nothing.
ROWS = [
    ("我想看看iphone", "那它呢", "那iphone呢", "那iphone呢"),
    ("华为的手机", "多少钱", "华为多少钱", "小米多少钱"),
    ("好的", "好的", "好的", ""),
]


def test_a_case_worked_by_hand():
  scores = run_metrics.run_metrics_of_examples(ROWS)
  # tokens: A 那 iphone 呢 = reference; B 小 米 多 少 钱 vs 华 为 多 少 钱; C "hello" (empty) vs 好 的
  assert scores["run_em"] == pytest.approx(100 / 3)
  # clipped matches / n-grams over the corpus (each sentence counts at least one n-gram):
  # p1 = (3+3+0)/(3+5+1), p2 = (2+2+0)/(2+4+1), p3 = (1+1+0)/(1+3+1), p4 = 0/4; lengths 9 vs 10
  brevity = math.exp(1 - 10 / 9)
  p1, p2, p3 = 6 / 9, 4 / 7, 2 / 5
  assert scores["run_bleu1"] == pytest.approx(100 * brevity * p1)
  assert scores["run_bleu2"] == pytest.approx(100 * brevity * math.sqrt(p1 * p2))
  assert scores["run_bleu3"] == pytest.approx(100 * brevity * math.exp(0.33 * math.log(p1 * p2 * p3)))
  assert scores["run_bleu4"] < 1e-60  # no 4-gram matches and no smoothing
  # ROUGE-L F per example: 1 (equal), 0.6 (LCS 多少钱 of 5 words each side), 0; averaged
  assert scores["run_rougeL"] == pytest.approx(100 * (1 + 0.6 + 0) / 3)
  # restoration (C restores nothing: skipped). A restores iphone: 1/1/1, 2/2/2, 1/1/1 n-grams
  # (shared/predicted/reference); B restores 华为, predicts 小米: 0/2/2 at every order
  assert scores["run_restore_examples"] == 2
  for n, (shared, predicted, reference) in {1: (1, 3, 3), 2: (2, 4, 4), 3: (1, 3, 3)}.items():
    p, r = shared / predicted, shared / reference
    assert scores[f"run_restore_p{n}"] == pytest.approx(100 * p)
    assert scores[f"run_restore_r{n}"] == pytest.approx(100 * r)
    assert scores[f"run_restore_f{n}"] == pytest.approx(100 * 2 * p * r / (p + r))


def test_rouge_l_is_the_rouge_0_3_2_package_s():
  assert run_metrics.rouge_l("a b c", "a b c") == pytest.approx(1.0)
  assert run_metrics.rouge_l("a a b", "a b b") == pytest.approx(1.0)  # distinct words: LCS {a, b} of {a, b}
  assert run_metrics.rouge_l("a . b", "b . a") == pytest.approx(1.0)  # sentences at "."; union of LCSs
  # ref {a, b, c, d}, hyp {a, x, c}: LCS {a, c}; R = 1/2, P = 2/3, b = P/R; F = (1 + b^2) R P / (R + b^2 P)
  r, p = 0.5, 2 / 3
  beta = p / r
  assert run_metrics.rouge_l("a x c", "a b c d") == pytest.approx((1 + beta ** 2) * r * p / (r + beta ** 2 * p))
  assert run_metrics.rouge_l("x y", "a b") == 0.0 and run_metrics.rouge_l(".", "a") == 0.0


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts:UserWarning")
def test_bleu_equals_nltk_corpus_bleu_without_smoothing():
  rng = random.Random(0)
  for _ in range(100):
    size = rng.randint(1, 5)
    hyps = [[rng.choice("abcde") for _ in range(rng.randint(1, 9))] for _ in range(size)]
    refs = [[rng.choice("abcde") for _ in range(rng.randint(1, 9))] for _ in range(size)]
    for weights in run_metrics._BLEU_WEIGHTS.values():
      ours = run_metrics.corpus_bleu(hyps, refs, weights)
      assert ours == pytest.approx(100 * nltk_corpus_bleu([[r] for r in refs], hyps, weights=weights), rel=1e-9,
                                   abs=sys.float_info.min)


def test_bad_rows_are_refused():
  with pytest.raises(ValueError, match="2 predictions, 1 references, 1 queries"):
    run_metrics.run_metrics(["a", "b"], ["a"], ["a"])
  with pytest.raises(ValueError, match="row 0: expected \\(context, query, reference, prediction\\)"):
    run_metrics.run_metrics_of_examples([("ctx", "query", "reference")])
