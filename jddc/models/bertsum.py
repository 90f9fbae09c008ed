"""BERTSUMABS (Liu & Lapata 2019, PreSumm): a BERT encoder and a pre-LN Transformer decoder, in Flax NNX.

docs/baselines.md §5, after PreSumm's `model_builder.py` / `decoder.py` / `neural.py`:
  encoder  `bert.Bert` over the dialogue (`self.bert`, so `init_from` a bert-base-chinese
           folder fills it), interval segment ids (0/1 alternating per message); in the
           multimodal model each `[IMG]` token's word embedding is replaced by
           Linear(image feature) (`image_proj`), the paper's "image features as extra
           encoder inputs" in the same form as our multimodal GPT-2;
  decoder  N pre-LN layers: x += Drop(SelfAttn(LN(x))) (causal); y = x + Drop(CtxAttn(LN(x), memory));
           y += Drop(W2(Drop(GELU(W1(LN(y)))))); a final LN (eps 1e-6); token embeddings x sqrt(d)
           plus sinusoidal positions;
  generator logits = h @ E^T + b, E the decoder's token embeddings.
The decoder's token embeddings are BERT's word embeddings, shared (PreSumm's `share_emb`;
its default copies them once at initialisation, which would leave them random when BERT
is imported after initialisation, as `init_from` does).

Decoding (`decode_step`) runs on a cache: self-attention keys/values per layer
[B, T, H, Dh] written at slot `index`, and the cross-attention keys/values of the memory
computed once (`start_decoding`). Every non-scalar leaf of the cache has the batch on
axis 0, so `jddc.decoding.beam_search` can tile and reorder it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jddc import decoding
from jddc.models import bert, layers, registry

LN_EPS = 1e-6


@dataclasses.dataclass(frozen=True)
class BertSumConfig:
  encoder: bert.BertConfig
  dec_layers: int = 6
  dec_heads: int = 8
  dec_ff: int = 2048
  dec_dropout: float = 0.2
  max_target_len: int = 512
  image_feature_dim: int = 0  # 0: text-only

  def __post_init__(self):
    if self.encoder.d_model % self.dec_heads:
      raise ValueError(f"d_model {self.encoder.d_model} is not a multiple of dec_heads {self.dec_heads}")


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "BertSumAbs":
  """`jddc.models.registry` builder: BERTSUMABS of `model_config` with `ctx.max_target_len` decoder positions."""
  m = model_config
  encoder = bert.config_from(m, registry.vocab_size(m, ctx), jnp.dtype(ctx.compute_dtype))
  return BertSumAbs(BertSumConfig(encoder=encoder, dec_layers=m.dec_layers, dec_heads=m.dec_heads, dec_ff=m.dec_ff,
                                  dec_dropout=m.dec_dropout, max_target_len=ctx.max_target_len,
                                  image_feature_dim=ctx.image_feature_dim), rngs=rngs)


def sinusoid_positions(length: int, dim: int) -> np.ndarray:
  """float32[length, dim]: sin on even, cos on odd features (PreSumm's PositionalEncoding)."""
  position = np.arange(length, dtype=np.float64)[:, None]
  div = np.exp(np.arange(0, dim, 2, dtype=np.float64) * -(np.log(10000.0) / dim))
  table = np.zeros((length, dim), np.float64)
  table[:, 0::2] = np.sin(position * div)
  table[:, 1::2] = np.cos(position * div)
  return table.astype(np.float32)


class MultiHeadAttention(nnx.Module):
  """Attention with separate query / key / value / output projections ([in, out] kernels)."""

  def __init__(self, d: int, heads: int, dropout: float, *, rngs: nnx.Rngs, dtype: Any = jnp.float32):
    self.heads = heads
    self.query, self.key, self.value = (layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, dtype=dtype)
                                        for _ in range(3))
    self.output = layers.Linear(d, d, axes=("heads", "embed"), rngs=rngs, dtype=dtype)
    self.dropout = nnx.Dropout(dropout)

  def split(self, x: jax.Array) -> jax.Array:
    return x.reshape(*x.shape[:2], self.heads, x.shape[-1] // self.heads)

  def project_kv(self, memory: jax.Array) -> tuple[jax.Array, jax.Array]:
    """[B, S, d] -> keys, values [B, S, H, Dh]."""
    return self.split(self.key(memory)), self.split(self.value(memory))

  def attend(self, x: jax.Array, keys: jax.Array, values: jax.Array, mask: jax.Array, *, deterministic: bool,
             rngs: Optional[nnx.Rngs]) -> jax.Array:
    """x [B, T, d] queries over keys/values [B, S, H, Dh], mask bool[B, 1, T, S] -> [B, T, d]."""
    drop = lambda p: self.dropout(p, deterministic=deterministic, rngs=rngs)  # noqa: E731
    y = layers.dot_product_attention(self.split(self.query(x)), keys, values, mask, drop)
    return self.output(y.reshape(x.shape))


class FeedForward(nnx.Module):
  """x + Drop(W2(Drop(GELU(W1(LN(x))))))."""

  def __init__(self, d: int, ff: int, dropout: float, *, rngs: nnx.Rngs, dtype: Any = jnp.float32):
    self.layer_norm = layers.LayerNorm(d, eps=LN_EPS, dtype=dtype)
    self.w_1 = layers.Linear(d, ff, axes=("embed", "mlp"), rngs=rngs, dtype=dtype)
    self.w_2 = layers.Linear(ff, d, axes=("mlp", "embed"), rngs=rngs, dtype=dtype)
    self.dropout_1, self.dropout_2 = nnx.Dropout(dropout), nnx.Dropout(dropout)

  def __call__(self, x, *, deterministic, rngs):
    inner = self.dropout_1(jax.nn.gelu(self.w_1(self.layer_norm(x)), approximate=False),
                           deterministic=deterministic, rngs=rngs)
    return x + self.dropout_2(self.w_2(inner), deterministic=deterministic, rngs=rngs)


class DecoderLayer(nnx.Module):
  def __init__(self, config: BertSumConfig, *, rngs: nnx.Rngs):
    d, dtype = config.encoder.d_model, config.encoder.dtype
    self.layer_norm_1 = layers.LayerNorm(d, eps=LN_EPS, dtype=dtype)
    self.layer_norm_2 = layers.LayerNorm(d, eps=LN_EPS, dtype=dtype)
    self.self_attn = MultiHeadAttention(d, config.dec_heads, config.dec_dropout, rngs=rngs, dtype=dtype)
    self.context_attn = MultiHeadAttention(d, config.dec_heads, config.dec_dropout, rngs=rngs, dtype=dtype)
    self.feed_forward = FeedForward(d, config.dec_ff, config.dec_dropout, rngs=rngs, dtype=dtype)
    self.drop = nnx.Dropout(config.dec_dropout)

  def __call__(self, x, self_kv, self_mask, memory_kv, memory_mask, *, deterministic, rngs):
    """x [B, T, d]; self_kv: keys/values [B, S, H, Dh] of the positions x may attend to
    (x's own, or the cache's); masks bool[B, 1, T, S]. -> [B, T, d]."""
    kw = dict(deterministic=deterministic, rngs=rngs)
    query = self.drop(self.self_attn.attend(self.layer_norm_1(x), *self_kv, self_mask, **kw), **kw) + x
    mid = self.context_attn.attend(self.layer_norm_2(query), *memory_kv, memory_mask, **kw)
    return self.feed_forward(self.drop(mid, **kw) + query, **kw)


class DecodeCache(NamedTuple):
  """Decoding state: per layer self-attention keys/values [B, T, H, Dh] and memory keys/values
  [B, S, H, Dh]; memory_mask bool[B, S]; index int32[] (the next slot)."""
  keys: list
  values: list
  memory_keys: list
  memory_values: list
  memory_mask: jax.Array
  index: jax.Array


class BertSumAbs(nnx.Module):
  """Encoder, decoder and generator (module docstring)."""

  def __init__(self, config: BertSumConfig, *, rngs: nnx.Rngs):
    self.config = config
    d, dtype = config.encoder.d_model, config.encoder.dtype
    self.bert = bert.Bert(config.encoder, rngs=rngs)
    self.image_proj = (layers.Linear(config.image_feature_dim, d, axes=(None, "embed"), rngs=rngs, dtype=dtype)
                       if config.image_feature_dim else None)
    self.layers = nnx.List([DecoderLayer(config, rngs=rngs) for _ in range(config.dec_layers)])
    self.layer_norm = layers.LayerNorm(d, eps=LN_EPS, dtype=dtype)
    self.embed_dropout = nnx.Dropout(config.dec_dropout)
    self.generator_bias = nnx.Param(jnp.zeros((config.encoder.vocab_size,)), out_sharding=("vocab",),
                                    eager_sharding=False)
    self.positions = nnx.Variable(jnp.asarray(sinusoid_positions(config.max_target_len, d)))

  @property
  def word_embeddings(self) -> layers.Embed:
    return self.bert.embeddings.word_embeddings

  def encode(self, src: jax.Array, src_mask: jax.Array, segments: jax.Array,
             image_features: Optional[jax.Array] = None, image_positions: Optional[jax.Array] = None, *,
             deterministic: bool = True, rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """src, src_mask, segments int32[B, S]; image_features float32[B, I, F], image_positions int32[B, I] -> [B, S, d]."""
    words = None
    if image_features is not None:
      if self.image_proj is None:
        raise ValueError("image_features given to a text-only model (image_feature_dim=0)")
      words = layers.place_at(self.word_embeddings(src), self.image_proj(image_features), image_positions)
    return self.bert.encode(src, attention_mask=src_mask, token_type_ids=segments, word_vectors=words,
                            deterministic=deterministic, rngs=rngs)

  def _embed_targets(self, tokens, start, *, deterministic, rngs):
    """tokens int32[B, T] at positions start.. -> [B, T, d]."""
    d = self.config.encoder.d_model
    pos = jax.lax.dynamic_slice_in_dim(self.positions[...], start, tokens.shape[1], axis=0)
    x = self.word_embeddings(tokens) * jnp.sqrt(jnp.float32(d)) + pos[None]  # float32 sum, then the compute dtype
    return self.embed_dropout(x.astype(self.config.encoder.dtype), deterministic=deterministic, rngs=rngs)

  def _logits(self, h: jax.Array) -> jax.Array:
    return self.word_embeddings.attend(self.layer_norm(h)) + self.generator_bias[...]

  def __call__(self, src, src_mask, segments, dec_inputs, dec_mask, image_features=None, image_positions=None, *,
               deterministic: bool = True, rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """Teacher-forced logits float32[B, T, V]; dec_inputs/dec_mask int32[B, T] ([BOS] + target)."""
    kw = dict(deterministic=deterministic, rngs=rngs)
    memory = self.encode(src, src_mask, segments, image_features, image_positions, **kw)
    t = dec_inputs.shape[1]
    causal = jnp.tril(jnp.ones((t, t), bool))[None, None] & (dec_mask != 0)[:, None, None, :]
    memory_mask = (src_mask != 0)[:, None, None, :]
    x = self._embed_targets(dec_inputs, 0, **kw)
    for layer in self.layers:
      self_kv = layer.self_attn.project_kv(layer.layer_norm_1(x))
      x = layer(x, self_kv, causal, layer.context_attn.project_kv(memory), memory_mask, **kw)
    return self._logits(x)

  def start_decoding(self, src, src_mask, segments, image_features=None, image_positions=None,
                     slots: Optional[int] = None) -> DecodeCache:
    """Encodes the sources and returns an empty cache of `slots` (<= max_target_len) target positions."""
    memory = self.encode(src, src_mask, segments, image_features, image_positions)
    b, d, h = src.shape[0], self.config.encoder.d_model, self.config.dec_heads
    slots = slots or self.config.max_target_len
    if slots > self.config.max_target_len:
      raise ValueError(f"{slots} decoding slots exceed max_target_len {self.config.max_target_len}")
    empty = jnp.zeros((b, slots, h, d // h), memory.dtype)
    kvs = [layer.context_attn.project_kv(memory) for layer in self.layers]
    return DecodeCache(keys=[empty] * len(self.layers), values=[empty] * len(self.layers),
                       memory_keys=[k for k, _ in kvs], memory_values=[v for _, v in kvs],
                       memory_mask=src_mask != 0, index=jnp.int32(0))

  def decode_step(self, tokens: jax.Array, cache: DecodeCache) -> tuple[jax.Array, DecodeCache]:
    """tokens int32[B] at slot `cache.index` -> (next-token logits float32[B, V], cache)."""
    x = self._embed_targets(tokens[:, None], cache.index, deterministic=True, rngs=None)
    self_mask = (jnp.arange(cache.keys[0].shape[1]) <= cache.index)[None, None, None, :]
    memory_mask = cache.memory_mask[:, None, None, :]
    keys, values = [], []
    for i, layer in enumerate(self.layers):
      k, v = layer.self_attn.project_kv(layer.layer_norm_1(x))
      keys.append(jax.lax.dynamic_update_slice_in_dim(cache.keys[i], k, cache.index, axis=1))
      values.append(jax.lax.dynamic_update_slice_in_dim(cache.values[i], v, cache.index, axis=1))
      x = layer(x, (keys[i], values[i]), self_mask, (cache.memory_keys[i], cache.memory_values[i]), memory_mask,
                deterministic=True, rngs=None)
    return self._logits(x)[:, 0], cache._replace(keys=keys, values=values, index=cache.index + 1)


def label_smoothed_loss(logits: jax.Array, targets: jax.Array, mask: jax.Array, smoothing: float,
                        pad_id: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """PreSumm's label smoothing: KL(q || softmax(logits)), q = 1 - smoothing on the target and
  smoothing / (V - 2) on every other id but `pad_id`.

  Args:
    logits: float32[B, T, V]; targets, mask: int32[B, T].

  Returns:
    (KL summed over target tokens, NLL summed over target tokens, number of target tokens).
  """
  vocab = logits.shape[-1]
  logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
  weight = mask.astype(jnp.float32)
  if smoothing:
    off = smoothing / (vocab - 2)
    on = 1.0 - smoothing
    others = -logp.sum(-1) + logp[..., pad_id] - nll  # -log p summed over ids that are neither pad nor the target
    entropy = -(on * np.log(on) + (vocab - 2) * off * np.log(off))  # H(q), a constant
    kl = on * nll + off * others - entropy
  else:
    kl = nll
  return (kl * weight).sum(), (nll * weight).sum(), weight.sum()


@functools.partial(jax.jit, static_argnames=("graphdef", "options"))
def _generate(graphdef, state, src, src_mask, segments, image_features, image_positions,
              options: decoding.DecodeOptions):
  model = nnx.merge(graphdef, state)
  cache = model.start_decoding(src, src_mask, segments, image_features, image_positions,
                               slots=options.max_new_tokens + 1)
  bos = jnp.full((src.shape[0],), options.bos_id, jnp.int32)
  first_logits, cache = model.decode_step(bos, cache)
  if options.method == "beam":
    tokens, lengths, _ = decoding.beam_search(model.decode_step, cache, first_logits, beam_size=options.beam_size,
                                              length_penalty=options.length_penalty, **options.common())
    return tokens, lengths
  return decoding.generate(model.decode_step, cache, first_logits, method="greedy", **options.common())


def generate(model: Any, src: jax.Array, src_mask: jax.Array, segments: jax.Array,
             image_features: Optional[jax.Array] = None, image_positions: Optional[jax.Array] = None,
             options: Optional[decoding.DecodeOptions] = None, **fields) -> tuple[jax.Array, jax.Array]:
  """Summaries int32[B, max_new_tokens] and their lengths int32[B] (beam search or greedy, jitted).

  `model` is a `BertSumAbs` or its `(graphdef, state)`; inputs as `BertSumAbs.encode`;
  `options` a `jddc.decoding.DecodeOptions` with `bos_id` set (or its fields as keywords).
  """
  options = decoding.DecodeOptions.given(options, fields)
  if options.method not in ("greedy", "beam"):
    raise ValueError(f"BERTSUMABS decoding: method {options.method!r}; expected 'greedy' or 'beam'")
  if options.bos_id is None:
    raise ValueError("BERTSUMABS decoding needs DecodeOptions.bos_id (the first decoder input)")
  graphdef, state = nnx.split(model) if isinstance(model, nnx.Module) else model
  return _generate(graphdef, state, src, src_mask, segments, image_features, image_positions,
                   options=options.normalized())


def noam(base_lr: float, warmup: int):
  """PreSumm's schedule: base_lr * min(step^-0.5, step * warmup^-1.5), steps counted from 1."""
  def schedule(count):
    step = jnp.asarray(count, jnp.float32) + 1.0
    return base_lr * jnp.minimum(step ** -0.5, step * warmup ** -1.5)
  return schedule


def two_adams(encoder_lr: float, encoder_warmup: int, decoder_lr: float, decoder_warmup: int,
              clip: float = 0.0):
  """PreSumm's two optimizers: Adam(0.9, 0.999, eps 1e-9) with its own Noam schedule for the
  BERT encoder (parameters under `bert`) and for everything else."""
  import optax

  def labels(params):
    return jax.tree_util.tree_map_with_path(
        lambda path, _: "encoder" if getattr(path[0], "key", None) == "bert" else "decoder", params)

  adam = lambda lr, warmup: optax.adam(noam(lr, warmup), b1=0.9, b2=0.999, eps=1e-9)  # noqa: E731
  tx = optax.multi_transform({"encoder": adam(encoder_lr, encoder_warmup),
                              "decoder": adam(decoder_lr, decoder_warmup)}, labels)
  return optax.chain(optax.clip_by_global_norm(clip), tx) if clip > 0 else tx
