"""GPT-2: parity with Hugging Face, KV cache vs full forward, packing, the visual prefix, loss."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc.models import convert, gpt2
from tests.helpers import random_gpt2

VOCAB = 96


def _tiny(**overrides) -> gpt2.GPT2Config:
  return gpt2.tiny(vocab_size=VOCAB, **overrides)


_random_model = random_gpt2


@functools.lru_cache(maxsize=None)
def _jitted_forward(graphdef):
  return jax.jit(lambda state, tokens, **kw: nnx.merge(graphdef, state)(tokens, **kw))


def _forward(model, tokens, **kw):
  graphdef, state = nnx.split(model)
  return _jitted_forward(graphdef)(state, tokens, **kw)


def test_parity_with_transformers():
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  cfg = _tiny(image_feature_dim=8)
  hf_config = transformers.GPT2Config(
      vocab_size=cfg.vocab_size, n_positions=cfg.n_positions, n_embd=cfg.d_model, n_layer=cfg.n_layer,
      n_head=cfg.n_head, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
      attn_pdrop=0.0, layer_norm_epsilon=cfg.layer_norm_eps, bos_token_id=0, eos_token_id=0)
  torch.manual_seed(0)
  hf = transformers.GPT2LMHeadModel(hf_config).eval()
  with torch.no_grad():
    for name, p in hf.named_parameters():
      p.add_(torch.randn_like(p) * 0.2)
  model = _random_model(cfg)
  report = convert.load_state_dict(model, {k: v.detach().numpy() for k, v in hf.state_dict().items()})
  assert sorted(report.kept) == ["image_proj.bias", "image_proj.kernel"]  # ours, not HF's: kept
  rs = np.random.RandomState(0)
  tokens = rs.randint(0, VOCAB, (3, 40))
  with torch.no_grad():
    ref = hf(torch.tensor(tokens)).logits.numpy()
  ours = np.asarray(_forward(model, jnp.asarray(tokens)))
  assert np.abs(ours - ref).max() <= 1e-4

  features = rs.randn(3, 2, 8).astype(np.float32)
  positions = np.array([[2, 7], [0, -1], [-1, -1]])
  ours = np.asarray(_forward(model, jnp.asarray(tokens), image_features=jnp.asarray(features),
                          image_positions=jnp.asarray(positions)))
  embeds = np.asarray(model.wte.embedding[...])[tokens]
  proj = features @ np.asarray(model.image_proj.kernel[...]) + np.asarray(model.image_proj.bias[...])
  for b, k in zip(*np.nonzero(positions >= 0)):
    embeds[b, positions[b, k]] = proj[b, k]
  with torch.no_grad():
    ref = hf(inputs_embeds=torch.tensor(embeds)).logits.numpy()
  assert np.abs(ours - ref).max() <= 1e-4


def test_parameter_names_and_axes():
  model = nnx.eval_shape(lambda: gpt2.GPT2(_tiny(image_feature_dim=8), rngs=nnx.Rngs(0)))
  pure = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  assert set(pure) == {"wte", "wpe", "h", "ln_f", "image_proj"}
  assert set(pure["h"][0]) == {"ln_1", "attn", "ln_2", "mlp"}
  assert pure["h"][1]["attn"]["c_attn"]["kernel"].shape == (64, 192)
  assert pure["h"][1]["mlp"]["c_fc"]["kernel"].shape == (64, 256)
  for path, v in jax.tree.leaves_with_path(nnx.state(model, nnx.Param), is_leaf=lambda x: isinstance(x, nnx.Variable)):
    names = v.get_metadata()["out_sharding"]
    assert len(names) == v.ndim, jax.tree_util.keystr(path)
  assert model.h[0].attn.c_attn.kernel.get_metadata()["out_sharding"] == ("embed", "heads")
  assert model.wte.embedding.get_metadata()["out_sharding"] == ("vocab", "embed")


def test_presets_and_base_shapes():
  assert (gpt2.tiny().n_layer, gpt2.tiny().d_model, gpt2.tiny().n_head, gpt2.tiny().n_positions) == (2, 64, 2, 128)
  from configs import common  # the sizes are the registry's, as the configs read them
  for size in ("tiny", "small", "base"):
    m, cfg = common.gpt2(size, 0), gpt2.sized(size)
    assert (cfg.n_layer, cfg.d_model, cfg.n_head, cfg.n_positions) == (m.n_layer, m.d_model, m.n_head, m.n_positions)
  assert (gpt2.sized("small").n_layer, gpt2.sized("small").d_model) == (3, 192)
  assert gpt2.sized("small", vocab_size=1000).vocab_size == 1000
  cfg = gpt2.base()
  abstract = nnx.eval_shape(lambda: gpt2.GPT2(cfg, rngs=nnx.Rngs(0)))
  n = sum(x.size for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))
  d, v, p = 768, 21128, 1024
  assert n == v * d + p * d + 12 * (12 * d * d + 13 * d) + 2 * d
  with pytest.raises(ValueError):
    gpt2.GPT2Config(d_model=10, n_head=3)


def test_cache_matches_full_forward():
  cfg = _tiny(image_feature_dim=8)
  model = _random_model(cfg, scale=0.2)
  rs = np.random.RandomState(1)
  tokens = jnp.asarray(rs.randint(0, VOCAB, (2, 24)))
  features = jnp.asarray(rs.randn(2, 2, 8), jnp.float32)
  image_positions = jnp.asarray([[1, 4], [3, -1]])
  full = _forward(model, tokens, image_features=features, image_positions=image_positions)
  graphdef, state = nnx.split(model)
  step = jax.jit(lambda state, tok, cache, **kw: nnx.merge(graphdef, state).decode(tok, cache, **kw))
  cache = model.init_cache(2, 32)
  logits, cache = step(state, tokens[:, :8], cache, image_features=features, image_positions=image_positions)
  pieces = [logits]
  logits, cache = step(state, tokens[:, 8:11], cache)
  pieces.append(logits)
  for t in range(11, 24):
    logits, cache = step(state, tokens[:, t:t + 1], cache)
    pieces.append(logits)
  assert int(cache.index) == 24
  assert np.abs(np.concatenate(pieces, axis=1) - np.asarray(full)).max() <= 1e-5


def test_packed_segments_equal_separate_rows():
  model = _random_model(_tiny(), scale=0.2)
  rs = np.random.RandomState(2)
  a, b = rs.randint(0, VOCAB, 7), rs.randint(0, VOCAB, 5)
  packed = np.zeros((1, 16), np.int32)
  packed[0, :7], packed[0, 7:12] = a, b
  segment_ids = np.array([[1] * 7 + [2] * 5 + [0] * 4])
  positions = np.array([list(range(7)) + list(range(5)) + [0] * 4])
  logits = np.asarray(_forward(model, jnp.asarray(packed), segment_ids=jnp.asarray(segment_ids),
                            positions=jnp.asarray(positions)))
  alone_a = np.asarray(_forward(model, jnp.asarray(a[None])))
  alone_b = np.asarray(_forward(model, jnp.asarray(b[None])))
  assert np.abs(logits[0, :7] - alone_a[0]).max() <= 1e-5
  assert np.abs(logits[0, 7:12] - alone_b[0]).max() <= 1e-5


def test_image_replaces_placeholder_embedding():
  model = _random_model(_tiny(image_feature_dim=8))
  rs = np.random.RandomState(3)
  tokens = rs.randint(0, VOCAB, (1, 10))
  other = tokens.copy()
  other[0, 4] = (tokens[0, 4] + 1) % VOCAB
  kw = dict(image_features=jnp.asarray(rs.randn(1, 2, 8), jnp.float32), image_positions=jnp.asarray([[4, -1]]))
  with_image = np.asarray(_forward(model, jnp.asarray(tokens), **kw))
  assert np.abs(with_image - np.asarray(_forward(model, jnp.asarray(other), **kw))).max() == 0
  text_only = np.asarray(_forward(model, jnp.asarray(tokens)))
  assert np.abs(with_image[0, :4] - text_only[0, :4]).max() <= 1e-6
  assert np.abs(with_image[0, 4:] - text_only[0, 4:]).max() > 1e-2
  with pytest.raises(ValueError, match="text-only"):
    _forward(_random_model(_tiny()), jnp.asarray(tokens), **kw)


def test_lm_loss_counts_marked_targets():
  rs = np.random.RandomState(4)
  logits = rs.randn(2, 5, 7).astype(np.float32)
  tokens = rs.randint(0, 7, (2, 5))
  mask = np.array([[0, 0, 1, 1, 0], [1, 0, 0, 1, 1]])
  total, count = gpt2.lm_loss(jnp.asarray(logits), jnp.asarray(tokens), jnp.asarray(mask))
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  expected = -sum(logp[b, t - 1, tokens[b, t]] for b in range(2) for t in range(1, 5) if mask[b, t])
  assert float(count) == 4
  assert abs(float(total) - expected) <= 1e-4


def test_jitted_train_step_with_dropout():
  model = _random_model(_tiny(resid_dropout=0.1, embd_dropout=0.1, attn_dropout=0.1), scale=0.05)
  graphdef, state = nnx.split(model)
  tokens = jnp.asarray(np.random.RandomState(5).randint(0, VOCAB, (2, 12)))
  mask = jnp.ones_like(tokens)

  def loss_fn(state, key):
    logits = nnx.merge(graphdef, state)(tokens, deterministic=False, rngs=nnx.Rngs(dropout=key))
    total, count = gpt2.lm_loss(logits, tokens, mask)
    return total / count

  step = jax.jit(jax.value_and_grad(loss_fn))
  key = functools.partial(jax.random.key, impl="rbg")  # compiles in half the time of threefry on CPU
  value, grads = step(state, key(0))
  again, _ = step(state, key(0))
  other, _ = step(state, key(1))
  assert np.isfinite(float(value)) and float(value) == float(again) and float(value) != float(other)
  assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))
  assert float(jnp.abs(grads["h"][0]["mlp"]["c_fc"]["kernel"][...]).sum()) > 0
