"""GPT-2 language model with a visual prefix (docs/baselines.md §3), in Flax NNX.

The parameter tree mirrors Hugging Face `GPT2LMHeadModel` (`jddc.models.convert` holds the
name mapping): `wte`, `wpe`, `h[i].{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
mlp.c_proj}`, `ln_f`; kernels are [in, out] like HF's `Conv1D`, the LM head is tied to
`wte`. A multimodal model (`image_feature_dim > 0`) adds `image_proj`, a Linear from the
ResNet-18 feature (512) to `d_model`: the token embedding of each `[IMG]` placeholder
named by `image_positions` is replaced by the projected feature (the position embedding
is still added, as HF does for `inputs_embeds`).

Two entry points share one forward pass:
  `model(tokens, ...) -> logits`                 training and scoring, no cache;
  `model.decode(tokens, cache, ...) -> (logits, cache)`  prefill and incremental decoding.

KV cache layout (`KVCache`, a pytree): per layer keys and values [B, S, H, Dh] in cache
slots 0..S-1, `segment_ids` int32[B, S] of the token in each slot (0 = empty or
padding, never attended to) and `index` int32[], the next slot to write, shared by all
rows. A call writes its T tokens to slots `index .. index+T-1`; a query attends to the
filled slots up to its own in its own segment. Rows with prompts of different lengths
therefore keep right padding in the cache (segment 0) and pass their own `positions`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jddc import sharding
from jddc.models import layers, registry

ACTIVATION_AXES = ("batch", "length", None)  # hidden states [B, L, d]: split the batch, never d


@dataclasses.dataclass(frozen=True)
class GPT2Config:
  """GPT-2 hyperparameters. `image_feature_dim` 0 is a text-only model."""
  vocab_size: int = 21128
  n_positions: int = 1024
  d_model: int = 768
  n_layer: int = 12
  n_head: int = 12
  d_ff: Optional[int] = None  # None: 4 * d_model
  resid_dropout: float = 0.1
  embd_dropout: float = 0.1
  attn_dropout: float = 0.1
  layer_norm_eps: float = 1e-5
  image_feature_dim: int = 0
  dtype: Any = "float32"
  param_dtype: Any = "float32"

  def __post_init__(self):
    if self.d_model % self.n_head:
      raise ValueError(f"d_model {self.d_model} is not a multiple of n_head {self.n_head}")

  @property
  def ff_dim(self) -> int:
    return self.d_ff or 4 * self.d_model

  @property
  def head_dim(self) -> int:
    return self.d_model // self.n_head


def config_from(model_config: Any, vocab_size: int, dtype: Any = "float32") -> GPT2Config:
  """A `GPT2Config` from a `gpt2` model section (`jddc.models.registry.gpt2`); `vocab_size` where
  the section's is 0; `dtype` of activations."""
  m = model_config
  return GPT2Config(
      vocab_size=m.vocab_size or vocab_size, n_positions=m.n_positions, d_model=m.d_model, n_layer=m.n_layer,
      n_head=m.n_head, resid_dropout=m.dropout, embd_dropout=m.dropout, attn_dropout=m.dropout,
      image_feature_dim=m.image_feature_dim, dtype=dtype)


def sized(size: str, **overrides) -> GPT2Config:
  """The registry's `size` ("tiny", "small", "base") as a `GPT2Config`, vocabulary 21128 (bert-base-chinese's,
  which uer/gpt2-chinese-cluecorpussmall shares) unless `overrides` say otherwise."""
  return dataclasses.replace(config_from(registry.schema("gpt2", size), 21128), **overrides)


def tiny(**overrides) -> GPT2Config:
  """The registry's tiny GPT-2 (2 layers x 64, 2 heads, 128 positions, no dropout): for tests."""
  return sized("tiny", **overrides)


def base(**overrides) -> GPT2Config:
  """12 layers x 768, 12 heads, 1024 positions, vocab 21128: uer/gpt2-chinese-cluecorpussmall."""
  return sized("base", **overrides)


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "GPT2":
  """`jddc.models.registry` builder: GPT-2 of `model_config` (vocabulary, image feature size and dtype from `ctx`)."""
  cfg = dataclasses.replace(config_from(model_config, registry.vocab_size(model_config, ctx),
                                        jnp.dtype(ctx.compute_dtype)), image_feature_dim=ctx.image_feature_dim)
  return GPT2(cfg, rngs=rngs)


class KVCache(NamedTuple):
  """Decoding state of `GPT2.decode` (module docstring)."""
  keys: tuple[jax.Array, ...]    # n_layer x dtype[B, S, H, Dh]
  values: tuple[jax.Array, ...]  # n_layer x dtype[B, S, H, Dh]
  segment_ids: jax.Array         # int32[B, S]
  index: jax.Array               # int32[]

  def logical_axes(self) -> KVCache:
    """The logical axis names of each leaf (for `jddc.sharding.logical_to_sharding`)."""
    kv = ("batch", "length", "heads", "kv")
    return KVCache(tuple(kv for _ in self.keys), tuple(kv for _ in self.values),
                   ("batch", "length"), ())


class Attention(nnx.Module):
  """Causal self-attention with fused `c_attn` (kernel [d, 3d]: q | k | v) and `c_proj`."""

  def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs):
    d, kw = config.d_model, dict(dtype=config.dtype, param_dtype=config.param_dtype)
    self.n_head = config.n_head
    self.c_attn = layers.Linear(d, 3 * d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.c_proj = layers.Linear(d, d, axes=("heads", "embed"), rngs=rngs,
                                stddev=0.02 / np.sqrt(2 * config.n_layer), **kw)
    self.attn_dropout = nnx.Dropout(config.attn_dropout)
    self.resid_dropout = nnx.Dropout(config.resid_dropout)

  def __call__(self, x, mask, kv=None, index=None, *, deterministic=True, rngs=None):
    """x: [B, T, d]; mask: bool[B, 1, T, S]; kv: cached (keys, values) [B, S, H, Dh] or None.

    Returns [B, T, d] and the updated (keys, values), or None without a cache.
    """
    b, t, d = x.shape
    qkv = self.c_attn(x).reshape(b, t, 3, self.n_head, d // self.n_head)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if kv is not None:
      start = (0, index, 0, 0)
      k = jax.lax.dynamic_update_slice(kv[0], k.astype(kv[0].dtype), start)
      v = jax.lax.dynamic_update_slice(kv[1], v.astype(kv[1].dtype), start)
      kv = (k, v)
    drop = lambda p: self.attn_dropout(p, deterministic=deterministic, rngs=rngs)
    y = layers.dot_product_attention(q, k.astype(q.dtype), v.astype(q.dtype), mask, drop)
    y = self.c_proj(y.reshape(b, t, d))
    return self.resid_dropout(y, deterministic=deterministic, rngs=rngs), kv


class MLP(nnx.Module):
  """c_fc (d -> d_ff), gelu_new, c_proj (d_ff -> d), dropout."""

  def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs):
    d, f, kw = config.d_model, config.ff_dim, dict(dtype=config.dtype, param_dtype=config.param_dtype)
    self.c_fc = layers.Linear(d, f, axes=("embed", "mlp"), rngs=rngs, **kw)
    self.c_proj = layers.Linear(f, d, axes=("mlp", "embed"), rngs=rngs,
                                stddev=0.02 / np.sqrt(2 * config.n_layer), **kw)
    self.dropout = nnx.Dropout(config.resid_dropout)

  def __call__(self, x, *, deterministic=True, rngs=None):
    y = self.c_proj(layers.gelu_new(self.c_fc(x)))
    return self.dropout(y, deterministic=deterministic, rngs=rngs)


class Block(nnx.Module):
  """Pre-LN Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

  def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs):
    kw = dict(eps=config.layer_norm_eps, dtype=config.dtype, param_dtype=config.param_dtype)
    self.ln_1 = layers.LayerNorm(config.d_model, **kw)
    self.attn = Attention(config, rngs=rngs)
    self.ln_2 = layers.LayerNorm(config.d_model, **kw)
    self.mlp = MLP(config, rngs=rngs)

  def __call__(self, x, mask, kv=None, index=None, *, deterministic=True, rngs=None):
    y, kv = self.attn(self.ln_1(x), mask, kv, index, deterministic=deterministic, rngs=rngs)
    x = x + y
    return x + self.mlp(self.ln_2(x), deterministic=deterministic, rngs=rngs), kv


class GPT2(nnx.Module):
  """GPT-2 LM head model with an optional visual prefix (module docstring)."""

  def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs):
    self.config = config
    kw = dict(dtype=config.dtype, param_dtype=config.param_dtype)
    self.wte = layers.Embed(config.vocab_size, config.d_model, axes=("vocab", "embed"), rngs=rngs, **kw)
    self.wpe = layers.Embed(config.n_positions, config.d_model, axes=(None, "embed"), rngs=rngs,
                            stddev=0.01, **kw)
    self.drop = nnx.Dropout(config.embd_dropout)
    self.h = nnx.List([Block(config, rngs=rngs) for _ in range(config.n_layer)])
    self.ln_f = layers.LayerNorm(config.d_model, eps=config.layer_norm_eps, **kw)
    self.image_proj = layers.Linear(config.image_feature_dim, config.d_model, axes=(None, "embed"),
                                    rngs=rngs, **kw) if config.image_feature_dim else None

  def __call__(self, tokens: jax.Array, *, image_features: Optional[jax.Array] = None,
               image_positions: Optional[jax.Array] = None, segment_ids: Optional[jax.Array] = None,
               positions: Optional[jax.Array] = None, deterministic: bool = True,
               rngs: Optional[nnx.Rngs] = None, output: str = "logits") -> jax.Array:
    """Next-token logits of every position, without a cache.

    Args:
      tokens: int32[B, L].
      image_features: float[B, I, F] (multimodal models only).
      image_positions: int32[B, I], the index in `tokens` of the `[IMG]` placeholder that
        each feature replaces; -1 for padding.
      segment_ids: int32[B, L] for packed rows (attention stays within a segment); 0 is
        padding. None: one segment per row.
      positions: int32[B, L] position ids (restarting per packed segment). None: 0..L-1.
      deterministic: no dropout. With False, `rngs` must have a `dropout` stream.
      rngs: `nnx.Rngs` for dropout.
      output: "logits", or "hidden" for the final layer-normed hidden states instead (the
        input of the LM head, for heads built on top: `jddc.models.copy_gpt2`).

    Returns:
      float32[B, L, V] logits, or hidden states [B, L, d] in `config.dtype`.
    """
    b, l = tokens.shape
    if positions is None and l > self.config.n_positions:
      raise ValueError(f"sequence length {l} exceeds n_positions {self.config.n_positions}")
    slots = jnp.broadcast_to(jnp.arange(l, dtype=jnp.int32), (b, l))
    segment_ids = jnp.ones((b, l), jnp.int32) if segment_ids is None else segment_ids
    mask = layers.attention_mask(slots, slots, segment_ids, segment_ids)
    logits, _ = self._forward(tokens, slots if positions is None else positions, mask,
                              image_features, image_positions, None, None, deterministic, rngs, output=output)
    return logits

  def init_cache(self, batch: int, max_len: int, dtype: Any = None) -> KVCache:
    """An empty cache of `max_len` slots (prompt plus generated tokens); dtype: `config.dtype`."""
    cfg = self.config
    dtype = dtype or cfg.dtype
    zeros = lambda: jnp.zeros((batch, max_len, cfg.n_head, cfg.head_dim), dtype)
    return KVCache(tuple(zeros() for _ in range(cfg.n_layer)), tuple(zeros() for _ in range(cfg.n_layer)),
                   jnp.zeros((batch, max_len), jnp.int32), jnp.zeros((), jnp.int32))

  def decode(self, tokens: jax.Array, cache: KVCache, *, image_features: Optional[jax.Array] = None,
             image_positions: Optional[jax.Array] = None, segment_ids: Optional[jax.Array] = None,
             positions: Optional[jax.Array] = None, logits_at: Optional[jax.Array] = None,
             output: str = "logits") -> tuple[jax.Array, KVCache]:
    """Runs T new tokens against the cache (a prompt prefill or one decoding step), no dropout.

    Args:
      tokens: int32[B, T], written to cache slots `cache.index .. cache.index + T - 1`.
      cache: from `init_cache` or a previous call; `cache.index + T` must not exceed its
        length (not checked under jit: the write would be clamped).
      image_features, image_positions: as in `__call__`; positions index into `tokens`.
      segment_ids: int32[B, T]; 0 marks padding that no later token attends to. None: 1.
      positions: int32[B, T]. None: `cache.index + 0..T-1`.
      logits_at: int32[B], the one token of each row whose logits are wanted (a prefill
        needs only each prompt's last: the LM head over every prompt token is most of a
        prefill's cost). None: all T.
      output: "logits", or "hidden" for the final layer-normed hidden states [B, T, d] (as `__call__`).

    Returns:
      float32[B, T, V] logits (float32[B, 1, V] with `logits_at`) and the updated cache.
    """
    b, t = tokens.shape
    s = cache.segment_ids.shape[1]
    if t > s:
      raise ValueError(f"{t} tokens do not fit a cache of {s} slots")
    index = cache.index
    q_slots = index + jnp.broadcast_to(jnp.arange(t, dtype=jnp.int32), (b, t))
    segment_ids = jnp.ones((b, t), jnp.int32) if segment_ids is None else segment_ids.astype(jnp.int32)
    cache_segments = jax.lax.dynamic_update_slice(cache.segment_ids, segment_ids, (0, index))
    k_slots = jnp.broadcast_to(jnp.arange(s, dtype=jnp.int32), (b, s))
    mask = layers.attention_mask(q_slots, k_slots, segment_ids, cache_segments)
    logits, kvs = self._forward(tokens, q_slots if positions is None else positions, mask,
                                image_features, image_positions, list(zip(cache.keys, cache.values)),
                                index, True, None, logits_at, output)
    keys, values = zip(*kvs)
    return logits, KVCache(tuple(keys), tuple(values), cache_segments, index + t)

  def _forward(self, tokens, positions, mask, image_features, image_positions, kvs, index,
               deterministic, rngs, logits_at=None, output="logits"):
    x = self._embed_images(self.wte(tokens), image_features, image_positions)
    x = self.drop(x + self.wpe(positions), deterministic=deterministic, rngs=rngs)
    new_kvs = []
    for i, block in enumerate(self.h):
      x = sharding.constrain(x, ACTIVATION_AXES)
      x, kv = block(x, mask, None if kvs is None else kvs[i], index, deterministic=deterministic, rngs=rngs)
      new_kvs.append(kv)
    x = sharding.constrain(x, ACTIVATION_AXES)
    if logits_at is not None:
      x = x[jnp.arange(x.shape[0]), logits_at][:, None]
    if output not in ("logits", "hidden"):
      raise ValueError(f"GPT-2 output {output!r}: expected 'logits' or 'hidden'")
    hidden = self.ln_f(x)
    return (self.wte.attend(hidden) if output == "logits" else hidden), new_kvs

  def _embed_images(self, x, image_features, image_positions):
    """x: [B, L, d]; replaces x[b, image_positions[b, k]] by image_proj(image_features[b, k])."""
    if image_features is None:
      return x
    if self.image_proj is None:
      raise ValueError("image_features given to a text-only model (image_feature_dim=0)")
    if image_positions is None:
      raise ValueError("image_features need image_positions")
    return layers.place_at(x, self.image_proj(image_features), image_positions)


def lm_loss(logits: jax.Array, tokens: jax.Array, loss_mask: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Next-token cross-entropy, as a (sum, count) pair.

  Args:
    logits: float[B, L, V] from `GPT2.__call__`.
    tokens: int32[B, L].
    loss_mask: int[B, L]; 1 where token t is a target, predicted from logits[:, t - 1]
      (`loss_mask[:, 0]` is ignored: nothing predicts the first token).

  Returns:
    float32[] summed loss over the targets and float32[] number of targets.
  """
  # Position t predicts tokens[:, t + 1]; the last position gets a dummy target and weight
  # 0. Slicing `logits[:, :-1]` instead would copy the [B, L - 1, V] logits and pad their
  # gradient back to [B, L, V] (two extra passes over the largest tensor of a train step).
  targets = jnp.concatenate([tokens[:, 1:], tokens[:, :1]], axis=1)
  mask = jnp.concatenate([loss_mask[:, 1:], jnp.zeros_like(loss_mask[:, :1])], axis=1).astype(jnp.float32)
  nll = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
  return (nll * mask).sum(), mask.sum()
