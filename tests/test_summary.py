"""Summarization (Table 9): Lead, LexRank, the Pointer-Generator, and their tiny runs."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc import configuration, extractive
from jddc.models import pointer_generator as pgn


# ---------------------------------------------------------------------------
# Extractive
# ---------------------------------------------------------------------------

def test_lead_returns_exactly_n_characters():
  sentences = extractive.utterances(["你好 客服", "", "我的水壶坏了，底座漏水。", "请发一张照片"], [0, 0, 0, 1])
  assert sentences == ["你好 客服", "我的水壶坏了，底座漏水。", "请发一张照片"]
  for n in (0, 1, 7, 15):
    summary = extractive.lead(sentences, n)
    assert extractive.char_length(summary) == len(summary) == n
  assert extractive.lead(sentences, 7) == "你好客服我的水"
  assert extractive.lead(sentences, 1000) == "你好客服我的水壶坏了，底座漏水。请发一张照片"  # all there is
  prefixed = extractive.utterances(["在吗", "在的"], [0, 1], speaker_prefixes=True)
  assert extractive.lead(prefixed, 7) == "用户:在吗客服"


CENTRAL = "苹果香蕉橙子葡萄"
SATELLITES = ["苹果西瓜", "香蕉草莓", "橙子柠檬", "葡萄芒果"]


def test_lexrank_picks_the_central_sentence_deterministically():
  sentences = SATELLITES[:2] + [CENTRAL] + SATELLITES[2:]
  scores = extractive.lexrank_scores(sentences)
  assert int(np.argmax(scores)) == 2 and scores[2] > 2 * max(np.delete(scores, 2))
  assert extractive.lexrank(sentences, len(CENTRAL)) == CENTRAL
  assert extractive.lexrank(sentences[::-1], len(CENTRAL)) == CENTRAL
  # a larger budget adds satellites (ties: the earlier first), emitted in dialogue order
  assert extractive.lexrank(sentences, len(CENTRAL) + 1) == SATELLITES[0] + CENTRAL
  again = extractive.lexrank_scores(list(sentences))
  np.testing.assert_array_equal(scores, again)
  assert extractive.lexrank([], 10) == "" and extractive.lexrank(["只有一句"], 2) == "只有一句"


def test_lead_separator_is_put_between_utterances_and_not_counted():
  prefixed = extractive.utterances(["在吗", "在的", "好"], [0, 1, 0], speaker_prefixes=True)
  assert extractive.lead(prefixed, 7, separator="。") == "用户:在吗。客服"
  assert extractive.lead(prefixed, 10, separator="。") == "用户:在吗。客服:在的"  # no separator after the cut
  assert extractive.lead(prefixed, 1000, separator="。") == "用户:在吗。客服:在的。用户:好"
  for n in (0, 3, 5, 7, 11, 12):  # the same characters as without separators
    assert extractive.lead(prefixed, n, separator="。").replace("。", "") == extractive.lead(prefixed, n)


def test_lexrank_length_rules_by_hand():
  # scores: CENTRAL (8 characters) first, then the four 4-character satellites tied (the earlier first)
  sentences = SATELLITES[:2] + [CENTRAL] + SATELLITES[2:]
  lexrank = lambda n, rule: extractive.lexrank(sentences, n, length_rule=rule, separator="。")
  assert lexrank(10, "reach") == SATELLITES[0] + "。" + CENTRAL  # 12 > 10: the last one overshoots
  assert lexrank(10, "fit") == CENTRAL  # no satellite fits in the 2 characters left
  assert lexrank(12, "fit") == SATELLITES[0] + "。" + CENTRAL
  assert lexrank(7, "fit") == SATELLITES[0]  # CENTRAL does not fit; one satellite does, a second not
  assert lexrank(3, "fit") == "" and lexrank(3, "reach") == CENTRAL
  with pytest.raises(ValueError, match="length_rule"):
    lexrank(10, "truncate")


def test_select_by_rank_keeps_to_the_budget():
  rng = np.random.default_rng(0)
  for _ in range(200):
    n = int(rng.integers(1, 12))
    scores, lengths, budget = rng.random(n), [int(x) for x in rng.integers(1, 30, n)], int(rng.integers(0, 90))
    fit = extractive.select_by_rank(scores, lengths, budget, "fit")
    reach = extractive.select_by_rank(scores, lengths, budget, "reach")
    assert fit == sorted(fit) and reach == sorted(reach)
    total = sum(lengths[i] for i in fit)
    assert total <= budget
    assert all(total + lengths[i] > budget for i in set(range(n)) - set(fit)), "a sentence that fits was left out"
    ranked = [int(i) for i in np.argsort(-scores, kind="stable")]
    # reach: the shortest prefix of the ranking that reaches the budget (or everything)
    k = next((k for k in range(n + 1) if sum(lengths[i] for i in ranked[:k]) >= budget), n)
    assert reach == sorted(ranked[:k])


# ---------------------------------------------------------------------------
# Pointer-Generator
# ---------------------------------------------------------------------------

VOCAB, UNK = 20, 1


def _model(seed=0, scale=0.5, **overrides):
  """A tiny PGN with numpy-drawn weights large enough that attention and p_gen vary."""
  cfg = pgn.PGNConfig(vocab_size=VOCAB, embed_dim=8, hidden_dim=6, unk_id=UNK)
  graphdef, state = nnx.split(nnx.eval_shape(lambda: pgn.PointerGenerator(cfg, rngs=nnx.Rngs(0))))
  rs = np.random.RandomState(seed)
  state = jax.tree.map(lambda a: jnp.asarray(rs.normal(0, scale, a.shape), jnp.float32), state)
  model = nnx.merge(graphdef, state)
  for name, value in overrides.items():
    module, attr = name.split(".")
    variable = getattr(getattr(model, module), attr)
    variable[...] = jnp.full(variable.shape, value)
  return model


def _source():
  """Two rows, L = 6: row 0 has two OOVs (extended ids 20, 21), row 1 is padded after 4."""
  src_ext = np.array([[5, 20, 7, 21, 20, 3], [4, 9, 20, 2, 0, 0]], np.int32)
  mask = np.array([[1] * 6, [1, 1, 1, 1, 0, 0]], np.int32)
  src = np.where(src_ext >= VOCAB, UNK, src_ext)
  return jnp.asarray(src), jnp.asarray(src_ext), jnp.asarray(mask)


@nnx.jit
def _encode(model, src, src_ext, mask):
  return model.encode(src, src_ext, mask)


@nnx.jit
def _step(model, enc, state, token):
  return model.step(enc, state, token)


def test_final_distribution_sums_to_one_and_matches_the_loss():
  model = _model()
  src, src_ext, mask = _source()
  out, _ = _step(model, *_encode(model, src, src_ext, mask), jnp.array([2, 2]))
  extended = VOCAB + src.shape[1]
  dist = jax.jit(pgn.final_distribution, static_argnums=2)(out, src_ext, extended)
  np.testing.assert_allclose(dist.sum(-1), 1.0, rtol=1e-5)
  assert float(out.attention[1, 4:].sum()) == 0.0  # padding is never attended
  assert 0.05 < float(out.p_gen.min()) and float(out.p_gen.max()) < 0.95
  copied = (1 - out.p_gen[0]) * (out.attention[0, 1] + out.attention[0, 4])
  np.testing.assert_allclose(dist[0, VOCAB], copied, rtol=1e-5)  # OOV slot 0 of row 0: copy mass only
  targets = jnp.array([[VOCAB, 7, 21, 3], [VOCAB, 9, 4, 0]])
  stepped = jax.tree.map(lambda a: jnp.repeat(a[:, None], targets.shape[1], axis=1), out)
  gathered = jnp.take_along_axis(dist, targets, -1)
  np.testing.assert_allclose(jax.jit(pgn.target_probability)(stepped, src_ext, targets), gathered, rtol=1e-5)


def test_copies_an_oov_token_when_p_gen_is_zero():
  model = _model(**{"p_gen_proj.bias": -50.0})  # p_gen = 0: a pure pointer
  src_ext = jnp.array([[VOCAB] * 5 + [4]], jnp.int32)  # one OOV, five times, and one in-vocabulary token
  src = jnp.where(src_ext >= VOCAB, UNK, src_ext)
  for method in ("greedy", "beam"):
    tokens, lengths = pgn.generate(model, src, src_ext, jnp.ones_like(src), max_new_tokens=3, bos_id=2,
                                   eos_id=3, banned_ids=(UNK,), method=method, beam_size=2)
    assert int(lengths[0]) == 3 and set(np.asarray(tokens[0]).tolist()) <= {VOCAB, 4}, method
    assert VOCAB in np.asarray(tokens[0]).tolist()


def test_scan_decoder_equals_step_by_step_and_padding_is_invisible():
  model = _model(seed=1)
  src, src_ext, mask = _source()
  dec_inputs = jnp.array([[2, 5, VOCAB, 7], [2, 9, 4, 4]])
  forward = nnx.jit(lambda m, *args: m(*args))
  scanned = forward(model, src, src_ext, mask, dec_inputs)
  enc, state = _encode(model, src, src_ext, mask)
  for t in range(dec_inputs.shape[1]):
    out, state = _step(model, enc, state, dec_inputs[:, t])
    for a, b in zip(out, scanned):
      np.testing.assert_allclose(b[:, t], a, rtol=1e-5, atol=1e-6)
  # row 1 alone, without its padding, gives the same outputs
  alone = forward(model, src[1:, :4], src_ext[1:, :4], mask[1:, :4], dec_inputs[1:])
  np.testing.assert_allclose(alone.vocab_probs[0], scanned.vocab_probs[1], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(alone.attention[0], scanned.attention[1, :, :4], rtol=1e-5, atol=1e-6)
  nll, coverage = jax.jit(pgn.losses)(scanned, src_ext, jnp.array([[5, VOCAB, 7, 3], [9, 4, 4, 3]]), jnp.ones((2, 4)))
  assert nll.shape == coverage.shape == (2,) and bool(jnp.all(nll > 0)) and bool(jnp.all(coverage >= 0))


def test_encode_summary_extends_the_vocabulary(tiny_tokenizer):
  from jddc.data import pipeline
  tok = tiny_tokenizer
  vocab = 300  # pieces from 300 on are OOV
  example = {"texts": ["电水壶底座漏水", ""], "images": ["", "a.jpg"], "speakers": [0, 1], "summary": "电水壶漏水"}
  e = pipeline.encode_summary(example, tok, vocab, 64, 16)
  source = [tok.customer_id] + tok.encode("电水壶底座漏水") + [tok.agent_id, tok.image_id]
  assert e["oovs"] == list(dict.fromkeys(t for t in source if t >= vocab)) and e["oovs"]
  assert [e["oovs"][x - vocab] if x >= vocab else x for x in e["src_ext_ids"]] == source
  assert max(e["src_ids"]) < vocab and e["dec_inputs"][0] == tok.bos_id and e["targets"][-1] == tok.eos_id
  target = tok.encode("电水壶漏水")
  assert [e["oovs"][x - vocab] if x >= vocab else x for x in e["targets"][:-1]] == target  # all in the source
  assert len(e["dec_inputs"]) == len(e["targets"]) == len(target) + 1


# ---------------------------------------------------------------------------
# Tiny runs through the engine
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  return str(cache)


def _config(name, cache):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = cache
  return config


def _check_results(workdir, results):
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f) == results
  for key in ("rouge1", "rouge2", "rougeL"):
    assert 0.0 <= results[key] <= 100.0
  rows = [json.loads(line) for line in open(os.path.join(workdir, "predictions_test.jsonl"), encoding="utf-8")]
  assert len(rows) == results["examples"] > 0 and {"dialogue", "reference", "prediction"} <= set(rows[0])
  return rows


@pytest.mark.parametrize("name", ["summary_lead", "summary_lexrank"])
def test_extractive_rows_run_without_training(name, data_cache, tmp_path):
  from jddc import train
  config = _config(name, data_cache)
  results = train.train_and_evaluate(config, str(tmp_path))
  rows = _check_results(str(tmp_path), results)
  assert results["rouge1"] > 5.0 and results["best_step"] == 0
  if name == "summary_lead":
    assert all(len(r["prediction"]) == results["budget"] for r in rows)
  assert train.evaluate(config, str(tmp_path)) == results  # --mode=eval


def test_pgn_tiny_trains_end_to_end(data_cache, tmp_path):
  from jddc import train
  config = _config("summary_pgn", data_cache)
  results = train.train_and_evaluate(config, str(tmp_path))
  _check_results(str(tmp_path), results)
  with open(tmp_path / "metrics.jsonl") as f:
    losses = [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]
  assert len(losses) >= 3 and losses[-1] < 0.8 * losses[0]
