"""BERT: parity with Hugging Face (hidden states, pooler, classifier), the embedder, dropout, axes, sizes."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc.models import bert, convert

VOCAB, LABELS = 97, 3


def _hf_config(**kw):
  transformers = pytest.importorskip("transformers")
  cfg = bert.tiny(vocab_size=VOCAB)
  return transformers.BertConfig(
      vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, num_hidden_layers=cfg.n_layer,
      num_attention_heads=cfg.n_head, intermediate_size=cfg.d_ff, max_position_embeddings=cfg.n_positions,
      type_vocab_size=cfg.type_vocab_size, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **kw)


@pytest.fixture(scope="module")
def hf_checkpoint(tmp_path_factory):
  """A tiny random `BertForSequenceClassification`, saved with `save_pretrained` (safetensors)."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  torch.manual_seed(0)
  hf = transformers.BertForSequenceClassification(_hf_config(num_labels=LABELS)).eval()
  with torch.no_grad():
    for p in hf.parameters():
      p.add_(torch.randn_like(p) * 0.2)  # away from the init, so every weight matters
  path = tmp_path_factory.mktemp("bert_cls")
  hf.save_pretrained(path)
  return hf, str(path)


def _inputs(seed=0, batch=3, length=17):
  rs = np.random.RandomState(seed)
  tokens = rs.randint(0, VOCAB, (batch, length))
  types = (np.arange(length)[None] >= rs.randint(3, length, (batch, 1))).astype(np.int64)
  mask = np.ones((batch, length), np.int64)
  mask[1, 11:] = 0  # right padding
  mask[2, 5:] = 0
  return tokens, types, mask


@jax.jit
def _outputs(state, graphdef, tokens, types, mask, padded_tokens, padded_types, padded_mask):
  """Everything the parity test compares, in one compiled function."""
  model = nnx.merge(graphdef, state)
  hidden, pooled = model.bert(tokens, attention_mask=mask, token_type_ids=types)
  logits = model(tokens, attention_mask=mask, token_type_ids=types)
  embedding = model.bert.mean_embedding(tokens, attention_mask=mask, token_type_ids=types)
  padded = model.bert.mean_embedding(padded_tokens, attention_mask=padded_mask, token_type_ids=padded_types)
  return hidden, pooled, logits, embedding, padded


def test_parity_with_transformers(hf_checkpoint):
  torch = pytest.importorskip("torch")
  hf, path = hf_checkpoint
  tokens, types, mask = _inputs()
  with torch.no_grad():
    out = hf.bert(torch.tensor(tokens), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    ref_hidden, ref_pooled = out.last_hidden_state.numpy(), out.pooler_output.numpy()
    ref_logits = hf(torch.tensor(tokens), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(types)).logits.numpy()
  classifier = convert.bert_from_pretrained(path, num_labels=LABELS)
  pad = lambda a: np.pad(a, ((0, 0), (0, 6)))
  graphdef, state = nnx.split(classifier)
  hidden, pooled, logits, embedding, padded = map(np.asarray, _outputs(
      state, graphdef, tokens, types, mask, pad(tokens) + 5 * (pad(mask) == 0), pad(types), pad(mask)))
  diffs = {"hidden": np.abs(hidden - ref_hidden).max(), "pooled": np.abs(pooled - ref_pooled).max(),
           "logits": np.abs(logits - ref_logits).max()}
  print("max |ours - HF|:", {k: f"{v:.2e}" for k, v in diffs.items()})
  assert all(v <= 1e-4 for v in diffs.values())
  assert np.abs(ref_hidden).max() > 0.5 and np.abs(ref_logits).std() > 0.1  # not degenerate

  expected = (ref_hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
  assert embedding.shape == (3, 64) and np.abs(embedding - expected).max() <= 1e-4
  # More padding changes nothing: padding is excluded from attention and from the mean.
  assert np.abs(padded - embedding).max() <= 1e-5

  encoder = convert.bert_from_pretrained(path)  # the same checkpoint into a bare Bert: classifier.* ignored
  jax.tree.map(np.testing.assert_array_equal, nnx.state(encoder), nnx.state(classifier.bert))


def test_masked_mean():
  hidden = jnp.asarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
  mask = jnp.asarray([[1, 1, 0], [0, 0, 0]])
  out = np.asarray(bert.masked_mean(hidden, mask))
  np.testing.assert_array_equal(out[0], np.arange(12, dtype=np.float32).reshape(3, 4)[:2].mean(0))
  np.testing.assert_array_equal(out[1], np.zeros(4))  # no token: zeros, not NaN


def test_dropout_only_when_not_deterministic():
  cfg = bert.tiny(vocab_size=VOCAB, n_layer=1, hidden_dropout=0.3, attn_dropout=0.3)
  graphdef, state = nnx.split(nnx.eval_shape(lambda: bert.BertClassifier(cfg, LABELS, rngs=nnx.Rngs(0))))
  rs = np.random.RandomState(0)
  state = jax.tree.map(lambda a: jnp.asarray(rs.normal(0, 0.3, a.shape), a.dtype), state)
  tokens = jnp.asarray(_inputs()[0])

  @functools.partial(jax.jit, static_argnames="deterministic")
  def run(state, key, deterministic):
    return nnx.merge(graphdef, state)(tokens, deterministic=deterministic, rngs=nnx.Rngs(dropout=key))

  key = functools.partial(jax.random.key, impl="rbg")
  eval_a, eval_b = run(state, key(0), True), run(state, key(1), True)
  train_a, train_a2, train_b = run(state, key(0), False), run(state, key(0), False), run(state, key(1), False)
  np.testing.assert_array_equal(eval_a, eval_b)
  np.testing.assert_array_equal(train_a, train_a2)
  assert np.abs(np.asarray(train_a) - np.asarray(train_b)).max() > 1e-3
  assert np.abs(np.asarray(train_a) - np.asarray(eval_a)).max() > 1e-3


def test_parameter_names_and_axes():
  model = nnx.eval_shape(lambda: bert.BertClassifier(bert.tiny(vocab_size=VOCAB), LABELS, rngs=nnx.Rngs(0)))
  pure = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  assert set(pure) == {"bert", "classifier"}
  assert set(pure["bert"]) == {"embeddings", "encoder", "pooler"}
  layer = pure["bert"]["encoder"]["layer"][1]
  assert set(layer) == {"attention", "intermediate", "output"}
  assert set(layer["attention"]["self"]) == {"query", "key", "value"}
  assert layer["intermediate"]["dense"]["kernel"].shape == (64, 128)
  for path, v in jax.tree.leaves_with_path(nnx.state(model, nnx.Param), is_leaf=lambda x: isinstance(x, nnx.Variable)):
    assert len(v.get_metadata()["out_sharding"]) == v.ndim, jax.tree_util.keystr(path)
  axes = lambda v: v.get_metadata()["out_sharding"]
  b = model.bert
  assert axes(b.embeddings.word_embeddings.embedding) == ("vocab", "embed")
  assert axes(b.encoder.layer[0].attention.self.query.kernel) == ("embed", "heads")
  assert axes(b.encoder.layer[0].attention.output.dense.kernel) == ("heads", "embed")
  assert axes(b.encoder.layer[0].intermediate.dense.kernel) == ("embed", "mlp")
  assert axes(b.encoder.layer[0].output.dense.kernel) == ("mlp", "embed")
  with pytest.raises(ValueError):
    bert.BertConfig(d_model=10, n_head=3)


def test_base_parameter_count_equals_bert_base_chinese():
  """bert-base-chinese: 102,267,648 parameters with the pooler; no memory used on either side."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  cfg = bert.base()
  assert (cfg.vocab_size, cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff, cfg.n_positions, cfg.type_vocab_size,
          cfg.layer_norm_eps) == (21128, 12, 768, 12, 3072, 512, 2, 1e-12)
  ours = nnx.eval_shape(lambda: bert.Bert(cfg, rngs=nnx.Rngs(0)))
  n_ours = sum(x.size for x in jax.tree.leaves(nnx.state(ours, nnx.Param)))
  with torch.device("meta"):
    reference = transformers.BertModel(transformers.BertConfig(vocab_size=21128))
  n_reference = sum(p.numel() for p in reference.parameters())
  print(f"BERT base parameters: ours {n_ours:,}, transformers {n_reference:,}")
  assert n_ours == n_reference == 102_267_648
