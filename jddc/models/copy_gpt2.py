"""GPT-2 with a pointer-generator head over its prompt: a rewriter that learns to copy from scratch.

The decoder is `jddc.models.gpt2.GPT2` (text or multimodal, same parameters and KV cache).
On top of its final layer-normed hidden states h (after `ln_f`), for a query position t
and the copyable prompt positions i (`copy_source_mask`: prompt text tokens only, never
special tokens, image positions or padding):

    e_ti      = (W_q h_t) . (W_k h_i) / sqrt(d)
    a_ti      = softmax_i(e_ti) over the copyable positions
    context_t = sum_i a_ti h_i
    p_gen     = sigmoid(w . [h_t; context_t] + b)
    P(w)      = p_gen softmax(wte h_t)(w) + (1 - p_gen) sum_{i: x_i = w} a_ti

(See et al. 2017's mixture over GPT-2's own vocabulary: the prompt's tokens are in it, so
no extended vocabulary is needed; a row with no copyable position gets P = softmax(wte h_t)).
The model outputs log P over the vocabulary, so `jddc.decoding` (greedy, sampling, beam)
runs on it unchanged with the cached decoder (`generate`).

Causality: the copy sources are prompt positions, whose hidden states depend only on the
prompt, so a target position never sees a later target token through the copy attention.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jddc import decoding
from jddc.models import gpt2, layers, registry


class CopyParts(NamedTuple):
  """The mixture's parts at Q query positions: P_vocab float32[B, Q, V], copy attention
  float32[B, Q, S] over the S source positions, p_gen float32[B, Q]."""
  vocab_probs: jax.Array
  attention: jax.Array
  p_gen: jax.Array


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "CopyGPT2":
  """`jddc.models.registry` builder: GPT-2 of `model_config` (as `gpt2.build`) with the copy head."""
  cfg = dataclasses.replace(gpt2.config_from(model_config, registry.vocab_size(model_config, ctx),
                                             jnp.dtype(ctx.compute_dtype)), image_feature_dim=ctx.image_feature_dim)
  return CopyGPT2(cfg, rngs=rngs)


def copy_source_mask(tokens: jax.Array, prompt_end: jax.Array, special_ids: Sequence[int],
                     image_positions: Optional[jax.Array] = None) -> jax.Array:
  """Which positions may be copied: bool[B, S].

  Args:
    tokens: int32[B, S].
    prompt_end: int32[B]; positions < prompt_end[b] are row b's dialogue (the target
      marker and everything after it are not sources).
    special_ids: ids never copied ([CLS], [SEP], speakers, [IMG], pad, unk...).
    image_positions: int32[B, I] (-1 = none): positions holding an image feature, never copied.
  """
  positions = jnp.arange(tokens.shape[1])[None, :]
  mask = positions < prompt_end[:, None]
  for special in special_ids:
    mask &= tokens != special
  if image_positions is not None:
    mask &= ~jnp.any(positions[:, :, None] == image_positions[:, None, :], axis=-1)
  return mask


class CopyGPT2(gpt2.GPT2):
  """GPT-2 whose next-token distribution mixes in copies of its prompt's tokens (module docstring)."""

  def __init__(self, config: gpt2.GPT2Config, *, rngs: nnx.Rngs):
    super().__init__(config, rngs=rngs)
    d, kw = config.d_model, dict(dtype=config.dtype, param_dtype=config.param_dtype)
    self.copy_query = layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.copy_key = layers.Linear(d, d, axes=("embed", "heads"), rngs=rngs, **kw)
    self.copy_gate = layers.Linear(2 * d, 1, axes=("embed", None), rngs=rngs, **kw)

  def copy_parts(self, hidden: jax.Array, source_keys: jax.Array, source_hidden: jax.Array,
                 source_mask: jax.Array) -> CopyParts:
    """The mixture's parts (module docstring).

    Args:
      hidden: final hidden states [B, Q, d] of the query positions.
      source_keys: `copy_key(source_hidden)` [B, S, d].
      source_hidden: final hidden states [B, S, d] of the source positions.
      source_mask: bool[B, S], the copyable positions (`copy_source_mask`).
    """
    vocab_probs = jax.nn.softmax(self.wte.attend(hidden), axis=-1)
    query = self.copy_query(hidden)
    scores = jnp.einsum("bqd,bsd->bqs", query, source_keys.astype(query.dtype),
                        preferred_element_type=jnp.float32) / jnp.sqrt(jnp.float32(hidden.shape[-1]))
    scores = jnp.where(source_mask[:, None, :], scores, layers.NEG_INF)
    has_source = jnp.any(source_mask, axis=-1)[:, None, None]
    attention = jnp.where(has_source, jax.nn.softmax(scores, axis=-1), 0.0)
    context = jnp.einsum("bqs,bsd->bqd", attention.astype(hidden.dtype), source_hidden.astype(hidden.dtype))
    gate = self.copy_gate(jnp.concatenate([hidden, context], axis=-1))[..., 0].astype(jnp.float32)
    p_gen = jnp.where(has_source[..., 0], jax.nn.sigmoid(gate), 1.0)
    return CopyParts(vocab_probs, attention, p_gen)

  def mixture(self, parts: CopyParts, source_tokens: jax.Array) -> jax.Array:
    """P(w) float32[B, Q, V] from the parts and the source tokens int32[B, S]."""
    vocab = parts.vocab_probs.shape[-1]
    copied = jnp.einsum("bqs,bsv->bqv", parts.attention, jax.nn.one_hot(source_tokens, vocab, dtype=jnp.float32))
    return parts.p_gen[..., None] * parts.vocab_probs + (1.0 - parts.p_gen[..., None]) * copied

  def log_probs(self, hidden, source_hidden, source_tokens, source_mask) -> jax.Array:
    """log P(w) float32[B, Q, V] of queries `hidden` [B, Q, d] over sources [B, S, ...] (`copy_parts`)."""
    parts = self.copy_parts(hidden, self.copy_key(source_hidden), source_hidden, source_mask)
    return jnp.log(jnp.maximum(self.mixture(parts, source_tokens), 1e-30))

  def __call__(self, tokens: jax.Array, *, copy_mask: jax.Array, query_positions: Optional[jax.Array] = None,
               image_features: Optional[jax.Array] = None, image_positions: Optional[jax.Array] = None,
               deterministic: bool = True, rngs: Optional[nnx.Rngs] = None, **kw) -> jax.Array:
    """Next-token log-probabilities, teacher-forced, no cache.

    Args:
      tokens: int32[B, L] (one dialogue per row; no packing).
      copy_mask: bool[B, L], the copyable positions (`copy_source_mask`).
      query_positions: int32[B, Q], the positions whose next-token distribution is wanted
        (the training loss needs only the target's); None: all L.
      image_features, image_positions, deterministic, rngs: as `GPT2.__call__`.

    Returns:
      float32[B, Q, V] (Q = L without `query_positions`).
    """
    hidden = super().__call__(tokens, image_features=image_features, image_positions=image_positions,
                              deterministic=deterministic, rngs=rngs, output="hidden", **kw)
    queries = hidden if query_positions is None else jnp.take_along_axis(hidden, query_positions[..., None], axis=1)
    return self.log_probs(queries, hidden, tokens, copy_mask)


def target_positions(loss_mask: jax.Array, count: int) -> jax.Array:
  """The positions predicting a row's targets: int32[B, count], from the one before its first target on.

  loss_mask: int[B, L], 1 on each row's targets (a contiguous run). Positions past L - 1 are clamped.
  """
  first = jnp.argmax(loss_mask > 0, axis=1)
  return jnp.minimum(first[:, None] - 1 + jnp.arange(count)[None, :], loss_mask.shape[1] - 1).astype(jnp.int32)


def target_nll(log_probs: jax.Array, tokens: jax.Array, loss_mask: jax.Array,
               positions: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Next-token negative log-likelihood of the targets as a (sum, count) pair (as `gpt2.lm_loss`).

  Args:
    log_probs: float32[B, Q, V] at `positions`.
    tokens, loss_mask: int[B, L].
    positions: int32[B, Q] (`target_positions`); position p predicts token p + 1.
  """
  last = tokens.shape[1] - 1
  following = jnp.minimum(positions + 1, last)
  targets = jnp.take_along_axis(tokens, following, axis=1)
  mask = (jnp.take_along_axis(loss_mask, following, axis=1) * (positions < last)).astype(jnp.float32)
  # a clamped position repeats the last one: count it once
  mask = mask * jnp.concatenate([jnp.ones_like(mask[:, :1]), (positions[:, 1:] > positions[:, :-1])], axis=1)
  nll = -jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
  return (nll * mask).sum(), mask.sum()


@functools.partial(jax.jit, static_argnames=("graphdef", "options"))
def _generate(graphdef, state, tokens, prompt_lengths, copy_mask, image_features, image_positions, rng,
              options: decoding.DecodeOptions):
  model = nnx.merge(graphdef, state)
  batch, prompt_len = tokens.shape
  o = options
  segment_ids = (jnp.arange(prompt_len)[None, :] < prompt_lengths[:, None]).astype(jnp.int32)
  cache = model.init_cache(batch, prompt_len + o.max_new_tokens, o.cache_dtype)
  hidden, cache = model.decode(tokens, cache, image_features=image_features, image_positions=image_positions,
                               segment_ids=segment_ids, output="hidden")
  source_keys = model.copy_key(hidden)
  last = jnp.take_along_axis(hidden, (prompt_lengths - 1)[:, None, None], axis=1)

  def next_log_probs(h, sources):
    keys, source_hidden, source_tokens, mask = sources
    parts = model.copy_parts(h, keys, source_hidden, mask)
    return jnp.log(jnp.maximum(model.mixture(parts, source_tokens), 1e-30))[:, 0]

  sources = (source_keys, hidden, tokens, copy_mask)
  first_logits = next_log_probs(last, sources)

  def step_fn(token, carry):  # the sources ride in the state (row on axis 0): beam search reorders them
    cache, positions, sources = carry
    h, cache = model.decode(token[:, None], cache, positions=positions[:, None], output="hidden")
    return next_log_probs(h, sources), (cache, positions + 1, sources)

  return decoding.search(step_fn, (cache, prompt_lengths.astype(jnp.int32), sources), first_logits, o, rng)


def generate(model: Any, tokens: jax.Array, prompt_lengths: jax.Array, copy_mask: jax.Array,
             options: Optional[decoding.DecodeOptions] = None, *, image_features: Optional[jax.Array] = None,
             image_positions: Optional[jax.Array] = None, rng: Optional[jax.Array] = None,
             return_scores: bool = False, **fields):
  """Continues right-padded prompts with the copying model: `decoding.gpt2_generate`'s contract.

  Args:
    model: a `CopyGPT2` or its `(graphdef, state)`.
    tokens: int32[B, P] prompts (row b in `tokens[b, :prompt_lengths[b]]`, then padding).
    prompt_lengths: int32[B].
    copy_mask: bool[B, P], the copyable prompt positions (`copy_source_mask`).
    options, image_features, image_positions, rng, return_scores: as `decoding.gpt2_generate`;
    the "logits" the decoder sees are the mixture's log-probabilities.

  Returns:
    int32[B, max_new_tokens] tokens and int32[B] lengths (and float32[B] scores: the summed
    log-probabilities, `decoding`'s module docstring).
  """
  options = decoding.DecodeOptions.given(options, fields)
  graphdef, state = nnx.split(model) if isinstance(model, nnx.Module) else model
  n_positions = state["wpe"]["embedding"].shape[0]
  if tokens.shape[1] + options.max_new_tokens > n_positions:
    raise ValueError(f"prompt length {tokens.shape[1]} + max_new_tokens {options.max_new_tokens} exceeds "
                     f"n_positions {n_positions}; truncate the prompts from the left")
  if options.method == "sample" and rng is None:
    raise ValueError("method 'sample' needs an rng")
  out, lengths, scores = _generate(graphdef, state, jnp.asarray(tokens, jnp.int32),
                                   jnp.asarray(prompt_lengths, jnp.int32), jnp.asarray(copy_mask, bool),
                                   image_features, image_positions,
                                   jax.random.key(0) if rng is None else rng, options=options.normalized())
  return (out, lengths, scores) if return_scores else (out, lengths)
