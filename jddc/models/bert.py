"""BERT encoder, pooler, a sequence-classification head and a masked-mean embedder, in Flax NNX.

The parameter tree mirrors Hugging Face `BertModel` name for name, so that
`jddc.models.convert` maps a checkpoint by joining paths:

  embeddings.{word_embeddings, position_embeddings, token_type_embeddings, LayerNorm}
  encoder.layer[i].attention.self.{query, key, value}
  encoder.layer[i].attention.output.{dense, LayerNorm}
  encoder.layer[i].intermediate.dense      (then exact, erf-based GELU)
  encoder.layer[i].output.{dense, LayerNorm}
  pooler.dense                             (tanh, on the first token)

and `BertClassifier` mirrors `BertForSequenceClassification` (`bert.*`, `classifier`).
Kernels are [in, out] (PyTorch's `nn.Linear` weight transposed). Post-LN blocks:
x = LN(x + attn(x)), then x = LN(x + ffn(x)).

Every parameter carries logical axis names (`jddc.sharding`), as GPT-2's do: embeddings
("vocab" | None, "embed"), q/k/v ("embed", "heads"), attention output ("heads", "embed"),
intermediate ("embed", "mlp"), output ("mlp", "embed"), norms ("embed",).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import nnx

from jddc.models import layers, registry


@dataclasses.dataclass(frozen=True)
class BertConfig:
  """BERT hyperparameters (Hugging Face names in comments)."""
  vocab_size: int = 21128
  n_positions: int = 512       # max_position_embeddings
  type_vocab_size: int = 2
  d_model: int = 768           # hidden_size
  n_layer: int = 12            # num_hidden_layers
  n_head: int = 12             # num_attention_heads
  d_ff: int = 3072             # intermediate_size
  hidden_dropout: float = 0.1  # hidden_dropout_prob
  attn_dropout: float = 0.1    # attention_probs_dropout_prob
  layer_norm_eps: float = 1e-12
  dtype: Any = "float32"
  param_dtype: Any = "float32"

  def __post_init__(self):
    if self.d_model % self.n_head:
      raise ValueError(f"d_model {self.d_model} is not a multiple of n_head {self.n_head}")

  @property
  def head_dim(self) -> int:
    return self.d_model // self.n_head


def config_from(model_config: Any, vocab_size: int, dtype: Any = "float32", **overrides) -> BertConfig:
  """A `BertConfig` from a model section with BERT's keys (`jddc.models.registry.bert`, `bertsum`);
  `vocab_size` where the section's is 0; `dtype` of activations."""
  m = model_config
  return BertConfig(vocab_size=m.vocab_size or vocab_size, n_positions=m.n_positions, d_model=m.d_model,
                    n_layer=m.n_layer, n_head=m.n_head, d_ff=m.d_ff, hidden_dropout=m.dropout,
                    attn_dropout=m.dropout, dtype=dtype, **overrides)


def sized(size: str, **overrides) -> BertConfig:
  """The registry's `size` ("tiny", "small", "base") as a `BertConfig`, vocabulary 21128 (bert-base-chinese)
  unless `overrides` say otherwise."""
  return dataclasses.replace(config_from(registry.schema("bert", size), 21128), **overrides)


def tiny(**overrides) -> BertConfig:
  """The registry's tiny BERT (2 layers x 64, 2 heads, ff 128, 128 positions, no dropout): for tests."""
  return sized("tiny", **overrides)


def base(**overrides) -> BertConfig:
  """bert-base-chinese: vocab 21128, 12 layers x 768, 12 heads, ff 3072, 512 positions."""
  return sized("base", **overrides)


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> nnx.Module:
  """`jddc.models.registry` builder: a `BertClassifier` with `ctx.num_classes` labels, or the bare `Bert`
  when the task asks for none."""
  cfg = config_from(model_config, registry.vocab_size(model_config, ctx), jnp.dtype(ctx.compute_dtype))
  return BertClassifier(cfg, ctx.num_classes, rngs=rngs) if ctx.num_classes else Bert(cfg, rngs=rngs)


def _kw(config: BertConfig) -> dict:
  return dict(dtype=config.dtype, param_dtype=config.param_dtype)


def _norm(config: BertConfig) -> layers.LayerNorm:
  return layers.LayerNorm(config.d_model, eps=config.layer_norm_eps, **_kw(config))


class Embeddings(nnx.Module):
  """Word + position + token-type embeddings, LayerNorm, dropout."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    kw = _kw(config)
    d = config.d_model
    self.word_embeddings = layers.Embed(config.vocab_size, d, axes=("vocab", "embed"), rngs=rngs, **kw)
    self.position_embeddings = layers.Embed(config.n_positions, d, axes=(None, "embed"), rngs=rngs, **kw)
    self.token_type_embeddings = layers.Embed(config.type_vocab_size, d, axes=(None, "embed"), rngs=rngs, **kw)
    self.LayerNorm = _norm(config)  # pylint: disable=invalid-name  (the checkpoint's name)
    self.dropout = nnx.Dropout(config.hidden_dropout)

  def __call__(self, tokens, token_type_ids, positions, *, word_vectors=None, deterministic=True, rngs=None):
    """int32[B, L] x3 -> [B, L, d]; `word_vectors` [B, L, d] replace the word embeddings of `tokens`."""
    words = self.word_embeddings(tokens) if word_vectors is None else word_vectors
    x = words + self.token_type_embeddings(token_type_ids) + self.position_embeddings(positions)
    return self.dropout(self.LayerNorm(x), deterministic=deterministic, rngs=rngs)


class SelfAttention(nnx.Module):
  """Bidirectional multi-head attention: `query`, `key`, `value` projections."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    d, kw = config.d_model, _kw(config)
    self.n_head = config.n_head
    self.query = layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.key = layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.value = layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.dropout = nnx.Dropout(config.attn_dropout)

  def __call__(self, x, mask, *, deterministic=True, rngs=None):
    """x: [B, L, d]; mask: bool[B, 1, 1, L] (True: a key that may be attended) -> [B, L, d]."""
    b, l, d = x.shape
    split = lambda y: y.reshape(b, l, self.n_head, d // self.n_head)
    drop = lambda p: self.dropout(p, deterministic=deterministic, rngs=rngs)
    y = layers.dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)), mask, drop)
    return y.reshape(b, l, d)


class DenseResidualNorm(nnx.Module):
  """LayerNorm(residual + dropout(dense(x))): HF's `BertSelfOutput` and `BertOutput`."""

  def __init__(self, config: BertConfig, in_features: int, in_axis: str, *, rngs: nnx.Rngs):
    self.dense = layers.Linear(in_features, config.d_model, axes=(in_axis, "embed"), rngs=rngs, **_kw(config))
    self.LayerNorm = _norm(config)  # pylint: disable=invalid-name
    self.dropout = nnx.Dropout(config.hidden_dropout)

  def __call__(self, x, residual, *, deterministic=True, rngs=None):
    """x: [B, L, in]; residual: [B, L, d] -> [B, L, d]."""
    y = self.dropout(self.dense(x), deterministic=deterministic, rngs=rngs)
    return self.LayerNorm(y + residual)


class Attention(nnx.Module):
  """`self` (the attention proper) and `output` (projection, residual, LayerNorm)."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.self = SelfAttention(config, rngs=rngs)
    self.output = DenseResidualNorm(config, config.d_model, "heads", rngs=rngs)

  def __call__(self, x, mask, *, deterministic=True, rngs=None):
    y = self.self(x, mask, deterministic=deterministic, rngs=rngs)
    return self.output(y, x, deterministic=deterministic, rngs=rngs)


class Intermediate(nnx.Module):
  """dense (d -> d_ff) and exact GELU (HF's "gelu", erf-based)."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.dense = layers.Linear(config.d_model, config.d_ff, axes=("embed", "mlp"), rngs=rngs, **_kw(config))

  def __call__(self, x):
    return jax.nn.gelu(self.dense(x), approximate=False)


class Layer(nnx.Module):
  """One post-LN encoder block."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.attention = Attention(config, rngs=rngs)
    self.intermediate = Intermediate(config, rngs=rngs)
    self.output = DenseResidualNorm(config, config.d_ff, "mlp", rngs=rngs)

  def __call__(self, x, mask, *, deterministic=True, rngs=None):
    """x: [B, L, d]; mask: bool[B, 1, 1, L] -> [B, L, d]."""
    x = self.attention(x, mask, deterministic=deterministic, rngs=rngs)
    return self.output(self.intermediate(x), x, deterministic=deterministic, rngs=rngs)


class Encoder(nnx.Module):
  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.layer = nnx.List([Layer(config, rngs=rngs) for _ in range(config.n_layer)])

  def __call__(self, x, mask, *, deterministic=True, rngs=None):
    for layer in self.layer:
      x = layer(x, mask, deterministic=deterministic, rngs=rngs)
    return x


class Pooler(nnx.Module):
  """tanh(dense(hidden state of the first token))."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.dense = layers.Linear(config.d_model, config.d_model, axes=(None, "embed"), rngs=rngs, **_kw(config))

  def __call__(self, hidden):
    """[B, L, d] -> [B, d]."""
    return jnp.tanh(self.dense(hidden[:, 0]))


def masked_mean(hidden: jax.Array, attention_mask: jax.Array) -> jax.Array:
  """Mean of `hidden` over the positions where `attention_mask` is nonzero.

  Args:
    hidden: float[B, L, D].
    attention_mask: int[B, L] or bool[B, L]; 1 for a token, 0 for padding.

  Returns:
    float32[B, D]; a row with no token gives zeros.
  """
  weights = attention_mask.astype(jnp.float32)[:, :, None]
  total = (hidden.astype(jnp.float32) * weights).sum(axis=1)
  return total / jnp.maximum(weights.sum(axis=1), 1.0)


class Bert(nnx.Module):
  """BERT (HF `BertModel`): embeddings, encoder and pooler (module docstring)."""

  def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.embeddings = Embeddings(config, rngs=rngs)
    self.encoder = Encoder(config, rngs=rngs)
    self.pooler = Pooler(config, rngs=rngs)

  def encode(self, tokens: jax.Array, *, attention_mask: Optional[jax.Array] = None,
             token_type_ids: Optional[jax.Array] = None, positions: Optional[jax.Array] = None,
             word_vectors: Optional[jax.Array] = None, deterministic: bool = True,
             rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """The last hidden states.

    Args:
      tokens: int32[B, L].
      attention_mask: int[B, L], 1 for a token and 0 for padding (never attended to).
        None: all tokens.
      token_type_ids: int32[B, L] segment A (0) / B (1). None: 0.
      positions: int32[B, L]. None: 0..L-1.
      word_vectors: [B, L, d] used instead of the word embeddings of `tokens` (e.g. with
        image features placed at `[IMG]` tokens). None: `word_embeddings(tokens)`.
      deterministic: no dropout. With False, `rngs` must have a `dropout` stream.
      rngs: `nnx.Rngs` for dropout.

    Returns:
      [B, L, d] in `config.dtype` (the outputs at padding positions are not meaningful).
    """
    b, l = tokens.shape
    if positions is None:
      if l > self.config.n_positions:
        raise ValueError(f"sequence length {l} exceeds n_positions {self.config.n_positions}")
      positions = jnp.broadcast_to(jnp.arange(l, dtype=jnp.int32), (b, l))
    if token_type_ids is None:
      token_type_ids = jnp.zeros((b, l), jnp.int32)
    if attention_mask is None:
      attention_mask = jnp.ones((b, l), jnp.int32)
    mask = (attention_mask != 0)[:, None, None, :]
    x = self.embeddings(tokens, token_type_ids, positions, word_vectors=word_vectors, deterministic=deterministic,
                        rngs=rngs)
    return self.encoder(x, mask, deterministic=deterministic, rngs=rngs)

  def __call__(self, tokens: jax.Array, **kwargs) -> tuple[jax.Array, jax.Array]:
    """(last hidden states [B, L, d], pooled output [B, d]); arguments as `encode`."""
    hidden = self.encode(tokens, **kwargs)
    return hidden, self.pooler(hidden)

  def mean_embedding(self, tokens: jax.Array, *, attention_mask: Optional[jax.Array] = None,
                     **kwargs) -> jax.Array:
    """Masked mean of the last hidden states over the tokens (retrieval embeddings).

    Args:
      tokens: int32[B, L].
      attention_mask: int[B, L], 1 for a token, 0 for padding (excluded from the mean).
      **kwargs: as `encode`.

    Returns:
      float32[B, d].
    """
    if attention_mask is None:
      attention_mask = jnp.ones(tokens.shape, jnp.int32)
    hidden = self.encode(tokens, attention_mask=attention_mask, **kwargs)
    return masked_mean(hidden, attention_mask)


class BertClassifier(nnx.Module):
  """HF `BertForSequenceClassification`: dropout and a Linear over the pooled output."""

  def __init__(self, config: BertConfig, num_labels: int, *, classifier_dropout: Optional[float] = None,
               rngs: nnx.Rngs):
    """`classifier_dropout` None: `config.hidden_dropout`, as HF."""
    self.bert = Bert(config, rngs=rngs)
    rate = config.hidden_dropout if classifier_dropout is None else classifier_dropout
    self.dropout = nnx.Dropout(rate)
    self.classifier = layers.Linear(config.d_model, num_labels, axes=("embed", None), rngs=rngs, **_kw(config))

  def __call__(self, tokens: jax.Array, *, deterministic: bool = True, rngs: Optional[nnx.Rngs] = None,
               **kwargs) -> jax.Array:
    """Logits float32[B, num_labels]; arguments as `Bert.encode`."""
    _, pooled = self.bert(tokens, deterministic=deterministic, rngs=rngs, **kwargs)
    pooled = self.dropout(pooled, deterministic=deterministic, rngs=rngs)
    return self.classifier(pooled).astype(jnp.float32)

  def classify(self, tokens: jax.Array, mask: jax.Array, image_features: Optional[jax.Array] = None,
               image_mask: Optional[jax.Array] = None, *, token_type_ids: Optional[jax.Array] = None,
               deterministic: bool = True, rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """Logits float32[B, num_labels]: the classifier interface `TransResNet.classify` shares.

    tokens, mask, token_type_ids int32[B, L]; a text-only model, so `image_features` and `image_mask`
    must be None.
    """
    if image_features is not None or image_mask is not None:
      raise ValueError("BertClassifier reads no image features (a text-only model)")
    return self(tokens, attention_mask=mask, token_type_ids=token_type_ids, deterministic=deterministic, rngs=rngs)
