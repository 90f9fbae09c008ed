"""Query rewriting: RUN's scorer on hand-made cases, and the rewrite-generation inputs.

The tiny rewrite_gen configs train end to end in tests/test_engine.py (RUN_CONFIGS).
"""

import numpy as np
import pytest

from jddc import metrics
from jddc.data import pipeline, tfds_builder
from jddc.tasks import rewrite_gen


def test_run_tokens_split_chinese_into_characters_and_keep_ascii_words():
  assert metrics.run_tokens("iPhoneX 为什么不好用？") == ["iphonex", "为", "什", "么", "不", "好", "用", "？"]
  assert metrics.run_tokens("西安25度 a-b") == ["西", "安", "25", "度", "a-b"]
  assert metrics.run_tokens("  ") == []


# (hypothesis, reference, incomplete utterance); the comments give the n-gram counts
# (shared, predicted, reference) for n = 1, 2, 3.
CASES = [
    ("西安明天有雨吗", "西安明天有雨吗", "明天有雨吗"),  # restored 西 安: (2,2,2) (2,2,2) (2,2,2)
    ("iphone为什么不好用", "iphonex为什么不好用", "为什么不好用"),  # a wrong word: (0,1,1) (0,1,1) (0,1,1)
    ("我买的水壶水壶坏了", "我买的水壶坏了", "这个坏了"),  # a repeat: (5,5,5) (5,6,5) (5,7,5)
]


def test_restoration_score_hand_computed():
  hyps, refs, curs = zip(*CASES)
  got = metrics.restoration_score(hyps, refs, curs)
  assert got["rewrite_p1"] == pytest.approx(100 * 7 / 8) and got["rewrite_r1"] == pytest.approx(100 * 7 / 8)
  assert got["rewrite_f1"] == pytest.approx(87.5)
  assert got["rewrite_p2"] == pytest.approx(100 * 7 / 9) and got["rewrite_r2"] == pytest.approx(87.5)
  assert got["rewrite_f2"] == pytest.approx(100 * 98 / 119)
  assert got["rewrite_p3"] == pytest.approx(70.0) and got["rewrite_r3"] == pytest.approx(87.5)
  assert got["rewrite_f3"] == pytest.approx(100 * 2 * 0.7 * 0.875 / 1.575)
  # A reference that restores nothing is left out, whatever the hypothesis restores (RUN).
  more = metrics.restoration_score(hyps + ("他现在就要",), refs + ("我现在就要",), curs + ("我现在就要",))
  assert more == got


def test_restoration_score_edge_cases():
  nothing_restored = metrics.restoration_score(["明天有雨吗"], ["西安明天有雨吗"], ["明天有雨吗"])
  assert nothing_restored == {f"rewrite_{m}{n}": 0.0 for n in (1, 2, 3) for m in ("p", "r", "f")}
  assert metrics.restoration_score([], [], [])["rewrite_f1"] == 0.0
  with pytest.raises(ValueError, match="current utterances"):
    metrics.restoration_score(["a"], ["a"], [])


def test_exact_match_and_run_bleu_follow_run():
  nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
  hyps = ["iPhoneX 为什么不好用", "西安明天有雨吗", "我买的水壶坏了，怎么办"]
  refs = ["iphonex为什么不好用", "西安明天会下雨吗", "我买的水壶坏了，怎么办？"]
  assert metrics.exact_match(hyps, refs) == pytest.approx(100 / 3)
  expected = nltk_bleu.corpus_bleu([[metrics.run_tokens(r)] for r in refs], [metrics.run_tokens(h) for h in hyps])
  assert metrics.corpus_bleu(hyps, refs, 4, smoothing="none", tokenize=metrics.run_tokens) == pytest.approx(
      100 * expected, abs=1e-9)
  scores = metrics.rewrite_metrics(hyps, refs, ["为什么不好用", "明天有雨吗", "坏了"])
  assert {"bleu", "rougeL", "distinct1", "distinct2", "exact_match", "run_bleu4", "rewrite_f1"} <= set(scores)
  assert all(0.0 <= v <= 100.0 for v in scores.values())


@pytest.fixture(scope="module")
def rewrite_sources(tiny_release, tmp_path_factory):
  return tfds_builder.data_sources(tiny_release, "rewrite", str(tmp_path_factory.mktemp("tfds")))


def test_rewrite_inputs_hold_the_query_and_target_the_rewrite(rewrite_sources, tiny_tokenizer, tiny_release):
  train = rewrite_sources["train"]
  subset = rewrite_gen.rewritable(train)
  assert 0 < len(subset) < len(train)  # the tiny corpus has queries that cannot be rewritten
  assert len(subset) == sum(int(train[i]["can_rewrite"]) for i in range(len(train)))
  assert all(int(subset[i]["can_rewrite"]) == 1 and subset[i]["rewrite"] for i in range(len(subset)))
  tok = tiny_tokenizer
  config = pipeline.PipelineConfig(max_len=96, max_response_len=40, max_images=4, image_size=0,
                                   dialogue_fields=("context_", "query_"), target_field="rewrite", target_marker="bos")
  checked_image = False
  for i in range(len(subset)):
    ex = subset[i]
    tokens, first, kept = pipeline.encode_dialogue(ex, tok, config)
    assert tokens[0] == tok.cls_id and tokens[first - 1] == tok.bos_id and tokens[-1] == tok.sep_id
    assert tok.decode(tokens[first:-1]) == pipeline.as_text(ex["rewrite"])
    query_ids = [t for text in ex["query_texts"] for t in tok.encode(pipeline.as_text(text))]
    prompt = tokens[:first - 1]
    assert any(prompt[j:j + len(query_ids)] == query_ids for j in range(len(prompt)))  # the query precedes it
    assert all(tokens[p] == tok.image_id for p, _ in kept)
    query_images = [pipeline.as_text(n) for n in ex["query_images"] if pipeline.as_text(n)]
    assert set(query_images) <= {name for _, name in kept}  # the query's images reach the model
    checked_image |= bool(query_images)
    features = pipeline.ResponseFeatures(tok, tiny_release, config).map(ex)
    mask = features["loss_mask"]
    assert mask.sum() == len(tokens) - first and np.all(mask[first:len(tokens)] == 1)  # rewrite + [SEP] only
  assert checked_image
  prompt, first, _ = pipeline.encode_dialogue(subset[0], tok, config, with_response=False)
  assert prompt[-1] == tok.bos_id and first == len(prompt)


def test_classifier_inputs_are_context_then_query(rewrite_sources, tiny_tokenizer):
  from jddc.tasks import rewrite_cls
  tok, source = tiny_tokenizer, rewrite_sources["train"]
  labels = {int(source[i]["can_rewrite"]) for i in range(len(source))}
  assert labels == {0, 1}  # both classes reach the classifier
  ex = next(source[i] for i in range(len(source)) if len(source[i]["context_texts"]))
  tokens, types, images = rewrite_cls.encode_pair(ex, tok, 512)
  assert tokens[0] == tok.cls_id and tokens[-1] == tok.sep_id and tokens.count(tok.sep_id) == 2
  boundary = tokens.index(tok.sep_id)
  assert types == [0] * (boundary + 1) + [1] * (len(tokens) - boundary - 1)
  assert tokens[boundary + 1] == tok.customer_id  # the query starts with its speaker
  assert images == [pipeline.as_text(n) for n in ex["query_images"] if pipeline.as_text(n)]
  short, short_types, _ = rewrite_cls.encode_pair(ex, tok, 6)  # the query keeps its end, the context goes first
  assert len(short) == len(short_types) == 6 and short[-1] == tok.sep_id and short[1] == tok.sep_id


def test_transresnet_sums_text_and_the_images_present():
  import jax
  import jax.numpy as jnp
  from flax import nnx
  from jddc.models import transresnet
  config = transresnet.TransResNetConfig(vocab_size=50, n_positions=16, d_model=16, n_layer=1, n_head=2, d_ff=32,
                                         hidden_dim=8, image_feature_dim=6, dropout=0.0, num_classes=2)
  model = transresnet.TransResNet(config, rngs=nnx.Rngs(0))
  tokens = jnp.array([[1, 5, 7, 2, 0, 0]] * 2, jnp.int32)
  attention = (tokens != 0).astype(jnp.int32)
  feats = jax.random.normal(jax.random.key(1), (2, 3, 6))
  mask = jnp.array([[1, 0, 0], [1, 0, 0]], jnp.int32)
  other = feats.at[:, 1:].set(100.0)  # absent images change nothing
  a = model.classify(tokens, attention, feats, mask)
  assert a.shape == (2, 2) and jnp.allclose(a, model.classify(tokens, attention, other, mask), atol=1e-5)
  no_image = model.classify(tokens, attention, feats, jnp.zeros_like(mask))
  text_only = model.classifier(model.context_encoder(tokens, attention))
  assert jnp.allclose(no_image, text_only, atol=1e-5)
  assert not jnp.allclose(a, no_image, atol=1e-3)
  before = model.image_encoder.norm.mean[...]
  model.classify(tokens, attention, feats, mask, deterministic=False, rngs=nnx.Rngs(dropout=0))  # BatchNorm updates
  assert not jnp.allclose(before, model.image_encoder.norm.mean[...])
