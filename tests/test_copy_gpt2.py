"""The copying GPT-2 rewriter (jddc/models/copy_gpt2.py), its character vocabulary and its tiny runs.

Mixture by hand, copy sources (never special tokens, image positions or padding), cached
decoding = teacher-forced scores, and the two copy configs trained end to end at `tiny`.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc.data import char_vocab, tokenizers
from jddc.models import copy_gpt2, gpt2

#: the configs whose tiny runs are here (tests/test_engine.py counts them)
COPY_CONFIGS = ("rewrite_copy_restoration", "rewrite_copy_mm")

VOCAB, SPECIAL = 12, (0, 1, 2)  # ids 0..2 play pad / [SEP] / [IMG]


def _model(image_feature_dim=0, seed=0):
  config = gpt2.tiny(vocab_size=VOCAB, n_positions=32, image_feature_dim=image_feature_dim)
  return copy_gpt2.CopyGPT2(config, rngs=nnx.Rngs(seed))


def test_copy_source_mask_by_hand():
  tokens = jnp.asarray([[5, 1, 2, 7, 7, 9, 0, 0], [3, 4, 2, 8, 1, 6, 6, 0]])
  mask = copy_gpt2.copy_source_mask(tokens, jnp.asarray([5, 7]), SPECIAL, jnp.asarray([[2, -1], [-1, -1]]))
  expected = [[1, 0, 0, 1, 1, 0, 0, 0],   # position 5 is past the prompt's end
              [1, 1, 0, 1, 0, 1, 1, 0]]   # [IMG] (2) and [SEP] (1) are never sources
  np.testing.assert_array_equal(mask, np.asarray(expected, bool))
  # an image position is masked even if its token id were an ordinary one
  mask = copy_gpt2.copy_source_mask(tokens, jnp.asarray([5, 7]), (), jnp.asarray([[3, -1], [0, 5]]))
  assert not mask[0, 3] and mask[0, 4] and not mask[1, 0] and not mask[1, 5]


def test_mixture_sums_to_one_and_equals_the_hand_built_mixture():
  model = _model()
  tokens = jnp.asarray([[3, 4, 5, 4, 1, 2, 6, 7], [8, 9, 1, 10, 10, 11, 0, 0]])
  mask = copy_gpt2.copy_source_mask(tokens, jnp.asarray([4, 5]), SPECIAL)
  log_probs = model(tokens, copy_mask=mask)
  probs = np.exp(np.asarray(log_probs, np.float64))
  np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
  h = gpt2.GPT2.__call__(model, tokens, output="hidden")
  parts = model.copy_parts(h, model.copy_key(h), h, mask)
  vocab, attention, p_gen = (np.asarray(x, np.float64) for x in parts)
  assert log_probs.shape == (2, 8, VOCAB) and 0 < p_gen.min() and p_gen.max() < 1
  expected = p_gen[..., None] * vocab
  for b in range(2):
    for t in range(8):
      for i in range(8):  # copy mass of source i goes to the word it holds
        expected[b, t, int(tokens[b, i])] += (1 - p_gen[b, t]) * attention[b, t, i]
  np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-7)
  # a query set picks the same rows
  picked = model(tokens, copy_mask=mask, query_positions=jnp.asarray([[3, 6], [4, 5]]))
  np.testing.assert_allclose(picked, np.asarray(log_probs)[[[0], [1]], [[3, 6], [4, 5]]], atol=1e-6)


def test_copy_mass_goes_only_to_prompt_text_tokens():
  """Special tokens, image positions, padding and the target part get no attention; words only there no copy mass."""
  model = _model(image_feature_dim=4)
  # row: [7, IMG, 5, SEP | marker 3 | target 9 8 | pad]: 9 and 8 occur only in the target part
  tokens = jnp.asarray([[7, 2, 5, 1, 3, 9, 8, 0]])
  image_positions = jnp.asarray([[1]])
  features = jax.random.normal(jax.random.key(1), (1, 1, 4))
  mask = copy_gpt2.copy_source_mask(tokens, jnp.asarray([4]), SPECIAL, image_positions)
  h = gpt2.GPT2.__call__(model, tokens, image_features=features, image_positions=image_positions, output="hidden")
  parts = model.copy_parts(h, model.copy_key(h), h, mask)
  attention = np.asarray(parts.attention)
  np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-6)
  assert np.all(attention[0][:, [1, 3, 4, 5, 6, 7]] == 0.0)
  probs = np.asarray(model.mixture(parts, tokens))
  generated = np.asarray(parts.p_gen)[..., None] * np.asarray(parts.vocab_probs)
  for word in (0, 1, 2, 3, 8, 9):  # not copyable: exactly the generator's share
    np.testing.assert_allclose(probs[0, :, word], generated[0, :, word], rtol=1e-6, atol=1e-9)
  assert np.all(probs[0, :, 7] > generated[0, :, 7])
  # no copyable position at all: the generator's distribution alone
  none = jnp.zeros_like(mask)
  parts = model.copy_parts(h, model.copy_key(h), h, none)
  np.testing.assert_allclose(model.mixture(parts, tokens), parts.vocab_probs, atol=1e-7)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_cached_decoding_equals_teacher_forced_scores(method):
  model = _model(seed=3)
  prompts = [[3, 4, 5, 6, 1, 7], [8, 9, 10, 7]]  # each ends with the marker 7
  width, new = 6, 5
  tokens = np.zeros((2, width), np.int32)
  for b, p in enumerate(prompts):
    tokens[b, :len(p)] = p
  lengths = jnp.asarray([len(p) for p in prompts])
  mask = copy_gpt2.copy_source_mask(jnp.asarray(tokens), lengths - 1, SPECIAL)
  out, out_lengths, scores = copy_gpt2.generate(model, jnp.asarray(tokens), lengths, mask, max_new_tokens=new,
                                                eos_id=1, method=method, beam_size=3, return_scores=True)
  for b, p in enumerate(prompts):
    gen = [int(t) for t in out[b, :int(out_lengths[b])]]
    assert gen, "something was generated"
    seq = jnp.asarray([p + gen])
    row_mask = jnp.concatenate([mask[b:b + 1, :len(p)], jnp.zeros((1, len(gen)), bool)], axis=1)
    log_probs = np.asarray(model(seq, copy_mask=row_mask))[0]
    steps = [log_probs[len(p) - 1 + k, g] for k, g in enumerate(gen)]
    np.testing.assert_allclose(float(scores[b]), sum(steps), rtol=1e-4, atol=1e-4)
    if method == "greedy":  # each generated token is the teacher-forced argmax
      assert gen == [int(np.argmax(log_probs[len(p) - 1 + k])) for k in range(len(gen))]


def test_target_nll_equals_the_full_sequence_loss():
  model = _model()
  tokens = jnp.asarray([[3, 4, 5, 7, 9, 8, 1, 0], [4, 7, 6, 1, 0, 0, 0, 0]])
  loss_mask = jnp.asarray([[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0, 0, 0]])
  mask = copy_gpt2.copy_source_mask(tokens, jnp.argmax(loss_mask, 1) - 1, SPECIAL)
  full = model(tokens, copy_mask=mask)
  expected = gpt2.lm_loss(full, tokens, loss_mask)  # softmax of log-probabilities = the probabilities
  positions = copy_gpt2.target_positions(loss_mask, 4)
  got = copy_gpt2.target_nll(model(tokens, copy_mask=mask, query_positions=positions), tokens, loss_mask, positions)
  np.testing.assert_allclose(got[0], expected[0], rtol=1e-5)
  assert float(got[1]) == float(expected[1]) == 5.0


def test_char_vocabulary_spells_every_training_character(tmp_path):
  texts = ["北京明天下雨吗", "iPhone X 好用吗？", "北京好吗"]
  tok = char_vocab.build_char_tokenizer(texts, 100, str(tmp_path))
  again = tokenizers.load_tokenizer(str(tmp_path))
  for text in texts:
    ids = again.encode(text)
    assert tok.unk_id not in ids and ids == tok.encode(text)
  assert again.decode(again.encode("北京明天")) == "北京明天"
  assert again.encode("北") == [again.encode("北京")[0]]  # one id per character, in context or not
  assert again.decode(again.encode("iphone")) == "iphone"
  assert again.unk_id in again.encode("上海")  # unseen characters
  entries = char_vocab.vocabulary(texts, len(char_vocab.SPECIAL) + 1)
  assert entries[-1] == "吗"  # the most frequent character first (3 times; 北, 京 and 好 twice)
  with pytest.raises(ValueError, match="no room"):
    char_vocab.vocabulary(texts, 3)


@pytest.mark.parametrize("name", COPY_CONFIGS)
def test_copy_config_trains_end_to_end(name, tiny_release, copy_tiny_features, tmp_path_factory, tmp_path):
  from jddc import configuration, features, train
  config = configuration.load_config(f"configs/{name}.py:tiny")
  cache = tmp_path_factory.mktemp("copy_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.eval.max_examples = 16
    config.train.steps, config.train.eval_every, config.train.checkpoint_every, config.train.log_every = 40, 40, 40, 10
  if features.reads_image_features(config):
    copy_tiny_features(str(cache))
  results = train.train_and_evaluate(config, str(tmp_path))
  with open(tmp_path / "metrics.jsonl") as f:
    losses = [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]
  assert len(losses) >= 4 and losses[-1] < 0.85 * losses[0]
  assert {"run_em", "run_bleu1", "run_bleu4", "run_rougeL", "run_restore_f1", "run_restore_f3"} <= set(results)
  assert all(0.0 <= results[k] <= 100.0 for k in results if k.startswith("run_") and k != "run_restore_examples")
  assert results["split"] == "test"
