"""BERTSUMABS: cached decoding = teacher forcing, label smoothing vs a numpy reference, the two Adams, images."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jddc import decoding
from jddc.models import bert, bertsum


def _model(image_dim=0, seed=0):
  enc = bert.BertConfig(vocab_size=40, n_positions=32, d_model=32, n_layer=1, n_head=2, d_ff=64,
                        hidden_dropout=0.0, attn_dropout=0.0)
  config = bertsum.BertSumConfig(encoder=enc, dec_layers=2, dec_heads=4, dec_ff=48, dec_dropout=0.0,
                                 max_target_len=12, image_feature_dim=image_dim)
  return bertsum.BertSumAbs(config, rngs=nnx.Rngs(seed))


def _sources():
  src = jnp.asarray([[2, 5, 6, 7, 3, 2, 8, 3], [2, 9, 10, 3, 0, 0, 0, 0]], jnp.int32)
  mask = (src != 0).astype(jnp.int32)
  segments = jnp.asarray([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]], jnp.int32)
  return src, mask, segments


def test_cached_decoding_equals_teacher_forcing():
  model = _model()
  src, mask, segments = _sources()
  dec = jnp.asarray([[2, 11, 12, 13, 14], [2, 15, 16, 17, 18]], jnp.int32)
  full = model(src, mask, segments, dec, jnp.ones_like(dec))
  cache = model.start_decoding(src, mask, segments, slots=8)
  for t in range(dec.shape[1]):
    logits, cache = model.decode_step(dec[:, t], cache)
    np.testing.assert_allclose(logits, full[:, t], atol=2e-5, err_msg=f"step {t}")
  # A padded source position never changes the result.
  longer = [jnp.pad(x, ((0, 0), (0, 3))) for x in (src, mask, segments)]
  np.testing.assert_allclose(model(*longer, dec, jnp.ones_like(dec)), full, atol=2e-5)


def test_label_smoothing_is_presumm_kl():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 3, 7)).astype(np.float32)
  targets = np.asarray([[1, 4, 6], [2, 3, 0]], np.int32)
  mask = np.asarray([[1, 1, 1], [1, 1, 0]], np.int32)
  kl, nll, count = bertsum.label_smoothed_loss(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(mask), 0.1, 0)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  q = np.full(logits.shape, 0.1 / 5)
  q[..., 0] = 0.0
  np.put_along_axis(q, targets[..., None], 0.9, axis=-1)
  ref = (np.where(q > 0, q * (np.log(np.where(q > 0, q, 1)) - logp), 0).sum(-1) * mask).sum()
  np.testing.assert_allclose(float(kl), ref, rtol=1e-5)
  np.testing.assert_allclose(float(nll), -(np.take_along_axis(logp, targets[..., None], -1)[..., 0] * mask).sum(),
                             rtol=1e-5)
  assert float(count) == 5.0


def test_two_adams_give_each_part_its_noam_rate():
  tx = bertsum.two_adams(0.02, 100, 0.3, 10)
  params = {"bert": {"w": jnp.zeros(3)}, "layers": {"w": jnp.zeros(3)}}
  state = tx.init(params)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, state, params)
  # Adam's first step moves every weight by the learning rate (bias-corrected m / sqrt(v) = 1).
  np.testing.assert_allclose(-updates["bert"]["w"], 0.02 * 1 * 100 ** -1.5, rtol=1e-4)
  np.testing.assert_allclose(-updates["layers"]["w"], 0.3 * 1 * 10 ** -1.5, rtol=1e-4)
  schedule = bertsum.noam(0.2, 10000)
  assert float(schedule(9999)) == pytest.approx(0.2 * 10000 ** -0.5) and float(schedule(39999)) < float(schedule(9999))


def test_image_features_enter_at_img_tokens():
  model = _model(image_dim=6)
  src, mask, segments = _sources()
  positions = jnp.asarray([[6], [-1]], jnp.int32)
  feats = jax.random.normal(jax.random.key(0), (2, 1, 6))
  a = model.encode(src, mask, segments, feats, positions)
  b = model.encode(src, mask, segments, feats * 2.0, positions)
  assert not np.allclose(a[0], b[0])  # row 0 has an image at position 6
  np.testing.assert_allclose(a[1], b[1], atol=1e-6)  # row 1 has none: unchanged
  with pytest.raises(ValueError, match="text-only"):
    _model().encode(src, mask, segments, feats, positions)


def test_beam_search_returns_well_formed_summaries():
  model = _model()
  src, mask, segments = _sources()
  options = decoding.DecodeOptions(max_new_tokens=6, bos_id=2, eos_id=3, pad_id=0, banned_ids=(0, 2), method="beam",
                                   min_new_tokens=2, beam_size=3, length_penalty=0.95, no_repeat_ngram=2)
  tokens, lengths = bertsum.generate(model, src, mask, segments, options=options)
  tokens, lengths = np.asarray(tokens), np.asarray(lengths)
  assert tokens.shape == (2, 6) and ((lengths >= 2) & (lengths <= 6)).all()
  for row, n in zip(tokens, lengths):
    assert not set(row[:n].tolist()) & {0, 2} and (row[n:] == 0).all()
    pairs = [tuple(row[i:i + 2]) for i in range(n - 1)]
    assert len(pairs) == len(set(pairs))  # no repeated bigram
