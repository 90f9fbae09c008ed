"""Layers shared by the project's Transformer models (GPT-2, BERT, BERTSUMABS).

Every parameter carries the logical axis names of `jddc.sharding` in its `out_sharding`
metadata, created with `eager_sharding=False`: the names are metadata only, so models
build with no mesh set (tests, CPU users), and `jddc.sharding.state_shardings` turns
them into `NamedSharding`s for `jax.jit(..., out_shardings=...)`.

Compute happens in `dtype` (parameters are cast on use); layer norm statistics and the
attention softmax are always float32.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

Axes = tuple[Optional[str], ...]
Initializer = Callable[[jax.Array, Sequence[int], Any], jax.Array]

NEG_INF = -1e30


def param(init: Initializer, key: jax.Array, shape: Sequence[int], dtype: Any, axes: Axes) -> nnx.Param:
  """An `nnx.Param` annotated with logical axis names (metadata only, no mesh needed)."""
  if len(axes) != len(shape):
    raise ValueError(f"axes {axes} do not match shape {tuple(shape)}")
  return nnx.Param(init(key, shape, dtype), out_sharding=tuple(axes), eager_sharding=False)


class Linear(nnx.Module):
  """y = x @ kernel + bias, kernel [in, out] (the layout of Hugging Face's GPT-2 `Conv1D`)."""

  def __init__(self, in_features: int, out_features: int, *, axes: Axes, rngs: nnx.Rngs,
               use_bias: bool = True, stddev: float = 0.02, dtype: Any = jnp.float32,
               param_dtype: Any = jnp.float32):
    self.dtype = dtype
    init = jax.nn.initializers.normal(stddev)
    self.kernel = param(init, rngs.params(), (in_features, out_features), param_dtype, axes)
    self.bias = param(jax.nn.initializers.zeros, rngs.params(), (out_features,), param_dtype,
                      axes[1:]) if use_bias else None

  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [..., in] -> [..., out] in `dtype`."""
    y = jnp.dot(x.astype(self.dtype), self.kernel[...].astype(self.dtype))
    if self.bias is not None:
      y = y + self.bias[...].astype(self.dtype)
    return y


class LayerNorm(nnx.Module):
  """Layer norm over the last axis with `scale` and `bias` [features], computed in float32."""

  def __init__(self, features: int, *, eps: float = 1e-5, axes: Axes = ("embed",),
               dtype: Any = jnp.float32, param_dtype: Any = jnp.float32):
    self.eps, self.dtype = eps, dtype
    self.scale = nnx.Param(jnp.ones((features,), param_dtype), out_sharding=axes, eager_sharding=False)
    self.bias = nnx.Param(jnp.zeros((features,), param_dtype), out_sharding=axes, eager_sharding=False)

  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [..., features] -> [..., features] in `dtype`."""
    x = x.astype(jnp.float32)
    mean = x.mean(-1, keepdims=True)
    var = jnp.square(x - mean).mean(-1, keepdims=True)
    y = (x - mean) * jax.lax.rsqrt(var + self.eps)
    y = y * self.scale[...].astype(jnp.float32) + self.bias[...].astype(jnp.float32)
    return y.astype(self.dtype)


class Embed(nnx.Module):
  """A lookup table `embedding` [num_embeddings, features]; `attend` is the tied output layer."""

  def __init__(self, num_embeddings: int, features: int, *, axes: Axes, rngs: nnx.Rngs,
               stddev: float = 0.02, dtype: Any = jnp.float32, param_dtype: Any = jnp.float32):
    self.dtype = dtype
    self.embedding = param(jax.nn.initializers.normal(stddev), rngs.params(),
                           (num_embeddings, features), param_dtype, axes)

  def __call__(self, ids: jax.Array) -> jax.Array:
    """ids: int32[...] -> [..., features] in `dtype`."""
    return jnp.take(self.embedding[...], ids, axis=0).astype(self.dtype)

  def attend(self, x: jax.Array) -> jax.Array:
    """x: [..., features] -> float32[..., num_embeddings] (dot product with every row)."""
    emb = self.embedding[...].astype(self.dtype)
    return jnp.einsum("...d,vd->...v", x.astype(self.dtype), emb, preferred_element_type=jnp.float32)


def place_at(x: jax.Array, values: jax.Array, positions: jax.Array) -> jax.Array:
  """x [B, L, d] with x[b, positions[b, k]] replaced by values[b, k] ([B, K, d]); -1 positions are skipped."""
  onehot = (positions[:, :, None] == jnp.arange(x.shape[1])[None, None, :]).astype(x.dtype)
  keep = 1 - onehot.max(axis=1)[:, :, None]
  return x * keep + jnp.einsum("bkl,bkd->bld", onehot, values.astype(x.dtype))


def gelu_new(x: jax.Array) -> jax.Array:
  """GPT-2's GELU, the tanh approximation."""
  return jax.nn.gelu(x, approximate=True)


def attention_mask(q_slots: jax.Array, k_slots: jax.Array, q_segments: jax.Array,
                   k_segments: jax.Array) -> jax.Array:
  """Causal, block-diagonal attention mask.

  Args:
    q_slots: int32[B, T] sequence index of each query.
    k_slots: int32[B, S] sequence index of each key.
    q_segments: int32[B, T] segment of each query (0 = padding).
    k_segments: int32[B, S] segment of each key (0 = padding or empty cache slot).

  Returns:
    bool[B, 1, T, S]: query t may attend to key s iff s is not later than t, both lie in
    the same segment, and that segment is not 0.
  """
  causal = k_slots[:, None, :] <= q_slots[:, :, None]
  same = (q_segments[:, :, None] == k_segments[:, None, :]) & (k_segments[:, None, :] != 0)
  return (causal & same)[:, None]


def dot_product_attention(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array,
                          dropout: Optional[Callable[[jax.Array], jax.Array]] = None) -> jax.Array:
  """Multi-head scaled dot-product attention.

  Args:
    q: [B, T, H, Dh] queries.
    k: [B, S, H, Dh] keys.
    v: [B, S, H, Dh] values.
    mask: bool[B, 1, T, S] (or broadcastable), True where attention is allowed.
    dropout: applied to the attention probabilities float32[B, H, T, S].

  Returns:
    [B, T, H, Dh] in the dtype of `v`. A query with no allowed key (padding) gets the
    mean of all values; its output is meaningless but finite.
  """
  scale = q.shape[-1] ** -0.5
  scores = jnp.einsum("bthd,bshd->bhts", q, k, preferred_element_type=jnp.float32) * scale
  scores = jnp.where(mask, scores, NEG_INF)
  probs = jax.nn.softmax(scores, axis=-1)
  if dropout is not None:
    probs = dropout(probs)
  return jnp.einsum("bhts,bshd->bthd", probs.astype(v.dtype), v)
