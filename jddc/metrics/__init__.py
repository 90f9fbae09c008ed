"""Evaluation metrics for every task, in percent (0-100) as floats; callers round to two decimals.

One module per family, every public name re-exported here (`from jddc import metrics`;
`metrics.response_metrics(...)`): `text` (tokens, shared helpers), `bleu`, `rouge`,
`distinct`, `aggregate` (`response_metrics`, `summary_metrics`), `classification`,
`discourse`, `rewrite` (RUN's scorer).

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

from jddc.metrics.aggregate import response_metrics, summary_metrics
from jddc.metrics.bleu import corpus_bleu, mean_sentence_bleu, sentence_bleu
from jddc.metrics.classification import accuracy, f1_binary, macro_f1
from jddc.metrics.discourse import GoldLinks, PredLinks, discourse_f1
from jddc.metrics.distinct import distinct_n
from jddc.metrics.rewrite import exact_match, restoration_counts, restoration_score, rewrite_metrics, run_tokens
from jddc.metrics.rouge import lcs_length, rouge, rouge_l_summary_level, split_sentences, summary_lcs_hits
from jddc.metrics.text import CSDS_SENTENCE_END, SENTENCE_MARKER, References, Tokenizer, char_tokens

__all__ = [
    "CSDS_SENTENCE_END", "GoldLinks", "PredLinks", "References", "SENTENCE_MARKER", "Tokenizer", "accuracy",
    "char_tokens", "corpus_bleu", "discourse_f1", "distinct_n", "exact_match", "f1_binary", "lcs_length",
    "macro_f1", "mean_sentence_bleu", "response_metrics", "restoration_counts", "restoration_score", "rewrite_metrics",
    "rouge", "rouge_l_summary_level", "run_tokens", "sentence_bleu", "split_sentences", "summary_lcs_hits",
    "summary_metrics",
]
