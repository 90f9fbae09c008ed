"""Pointer-Generator network with coverage (See et al. 2017), after abisee/pointer-generator.

Encoder: embedding -> bidirectional LSTM over the (right-padded) source; each direction is
one `lax.scan` (the backward one over each row reversed within its own length). The two
final states are reduced to the decoder's initial state by `Linear + ReLU` (c and h apart).

Decoder step t (`PointerGenerator.step`, shared by training and decoding):
    x_t      = W_x [emb(y_{t-1}); context_{t-1}]
    s_t      = LSTM(x_t, s_{t-1})                                     s = (c, h)
    e_ti     = v . tanh(W_h h_i + W_s [c_t; h_t] + b + w_c coverage_ti)
    a_t      = softmax(e_t) over the source positions (padding masked)
    context_t = sum_i a_ti h_i
    p_gen    = sigmoid(w . [context_t; c_t; h_t; x_t] + b)
    P_vocab  = softmax(W_o W_v [h_t; context_t])
    P(w)     = p_gen P_vocab(w) + (1 - p_gen) sum_{i: x_i = w} a_ti      (extended vocabulary)
    coverage_{t+1} = coverage_t + a_t
Coverage loss at step t: sum_i min(a_ti, coverage_ti) (coverage before adding a_t).

Extended vocabulary: ids < `vocab_size` are the generator's vocabulary; a source token
outside it is embedded as `unk_id` and gets the id `vocab_size + k` for the k-th distinct
such token of its row, so the decoder can copy it. The extended size is
`vocab_size + L` (a row has at most L distinct out-of-vocabulary tokens).

Initialisation as the original: LSTM weights uniform(-0.02, 0.02), the rest truncated
normal with stddev 1e-4; LSTM forget-gate bias 1 (TF's `LSTMCell`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from flax import nnx

from jddc import decoding
from jddc.models import layers, registry


@dataclasses.dataclass(frozen=True)
class PGNConfig:
  vocab_size: int
  embed_dim: int = 128
  hidden_dim: int = 256
  unk_id: int = 1
  lstm_init: float = 0.02
  init_std: float = 1e-4
  forget_bias: float = 1.0
  dtype: Any = "float32"  # of the products; LSTM states, attention, softmaxes and p_gen stay float32


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "PointerGenerator":
  """`jddc.models.registry` builder: the generator's vocabulary is `model_config.vocab_size` (0: `ctx.vocab_size`)."""
  m = model_config
  return PointerGenerator(PGNConfig(vocab_size=registry.vocab_size(m, ctx), embed_dim=m.embed_dim,
                                    hidden_dim=m.hidden_dim, unk_id=ctx.unk_id, dtype=jnp.dtype(ctx.compute_dtype)),
                          rngs=rngs)


class Encoded(NamedTuple):
  """What the decoder attends to: outputs and their projection float32[B, L, 2H], mask and
  extended ids int32[B, L]."""
  outputs: jax.Array
  features: jax.Array
  mask: jax.Array
  ext_ids: jax.Array


class DecoderState(NamedTuple):
  """LSTM cell and hidden float32[B, H], previous context float32[B, 2H], coverage float32[B, L]."""
  c: jax.Array
  h: jax.Array
  context: jax.Array
  coverage: jax.Array


class StepOutput(NamedTuple):
  """One decoder step: P_vocab float32[B, V], attention and the coverage before it float32[B, L],
  p_gen float32[B]."""
  vocab_probs: jax.Array
  attention: jax.Array
  coverage: jax.Array
  p_gen: jax.Array


def _dense(key, shape, std, axes):
  return layers.param(jax.nn.initializers.truncated_normal(std), key, shape, jnp.float32, axes)


class Dense(nnx.Module):
  """y = x @ kernel (+ bias), truncated-normal initialised."""

  def __init__(self, n_in: int, n_out: int, *, std: float, axes: layers.Axes, rngs: nnx.Rngs,
               use_bias: bool = True, dtype: Any = jnp.float32):
    self.dtype = dtype
    self.kernel = _dense(rngs.params(), (n_in, n_out), std, axes)
    self.bias = _dense(rngs.params(), (n_out,), std, axes[1:]) if use_bias else None

  def __call__(self, x: jax.Array) -> jax.Array:
    """x [..., n_in] -> [..., n_out] in `dtype`."""
    y = x.astype(self.dtype) @ self.kernel[...].astype(self.dtype)
    return y + self.bias[...].astype(self.dtype) if self.bias is not None else y


class LSTMCell(nnx.Module):
  """An LSTM cell (gates i, f, g, o) with kernel [in + H, 4H]."""

  def __init__(self, n_in: int, hidden: int, *, init: float, forget_bias: float, rngs: nnx.Rngs,
               dtype: Any = jnp.float32):
    self.hidden, self.forget_bias, self.dtype = hidden, forget_bias, dtype
    uniform = lambda key, shape, dtype: jax.random.uniform(key, shape, dtype, -init, init)  # noqa: E731
    self.kernel = layers.param(uniform, rngs.params(), (n_in + hidden, 4 * hidden), jnp.float32, ("embed", "mlp"))
    self.bias = layers.param(jax.nn.initializers.zeros, rngs.params(), (4 * hidden,), jnp.float32, ("mlp",))

  def __call__(self, x: jax.Array, c: jax.Array, h: jax.Array) -> tuple[jax.Array, jax.Array]:
    """x [B, in], c and h float32[B, H] -> new (c, h) float32[B, H]; the gates are computed in `dtype`."""
    gates = (jnp.concatenate([x, h], -1).astype(self.dtype) @ self.kernel[...].astype(self.dtype)
             + self.bias[...].astype(self.dtype))
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    c = jax.nn.sigmoid(f + self.forget_bias) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return c, jax.nn.sigmoid(o) * jnp.tanh(c)


def run_lstm(cell: LSTMCell, inputs: jax.Array, mask: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
  """One direction over time with `lax.scan`; masked steps keep the state and output zeros.

  Args:
    cell: the LSTM cell.
    inputs: float32[B, L, E].
    mask: int32[B, L], 1 on a valid prefix of each row.

  Returns:
    outputs float32[B, L, H] and the state (c, h) after each row's last valid step.
  """
  batch = inputs.shape[0]
  zeros = jnp.zeros((batch, cell.hidden), jnp.float32)

  def body(carry, xs):
    x, m = xs
    c, h = cell(x, *carry)
    keep = m[:, None] > 0
    c, h = jnp.where(keep, c, carry[0]), jnp.where(keep, h, carry[1])
    return (c, h), h * keep

  state, outputs = jax.lax.scan(body, (zeros, zeros), (inputs.swapaxes(0, 1), mask.swapaxes(0, 1)))
  return outputs.swapaxes(0, 1), state


def reverse_within_length(x: jax.Array, lengths: jax.Array) -> jax.Array:
  """Reverses each row's first `lengths[b]` entries along axis 1, leaving the padding in place."""
  positions = jnp.arange(x.shape[1])[None, :]
  index = jnp.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
  return jnp.take_along_axis(x, index.reshape(index.shape + (1,) * (x.ndim - 2)), axis=1)


class PointerGenerator(nnx.Module):
  """The Pointer-Generator with coverage (module docstring)."""

  def __init__(self, config: PGNConfig, *, rngs: nnx.Rngs):
    self.config = c = config
    e, h = c.embed_dim, c.hidden_dim
    lstm = functools.partial(LSTMCell, init=c.lstm_init, forget_bias=c.forget_bias, rngs=rngs, dtype=c.dtype)
    dense = functools.partial(Dense, std=c.init_std, rngs=rngs, dtype=c.dtype)
    self.embedding = _dense(rngs.params(), (c.vocab_size, e), c.init_std, ("vocab", "embed"))
    self.encoder_fw, self.encoder_bw = lstm(e, h), lstm(e, h)
    self.reduce_c, self.reduce_h = dense(2 * h, h, axes=("mlp", "embed")), dense(2 * h, h, axes=("mlp", "embed"))
    self.encoder_proj = dense(2 * h, 2 * h, axes=("mlp", "mlp"), use_bias=False)  # W_h
    self.decoder_proj = dense(2 * h, 2 * h, axes=("mlp", "mlp"))  # W_s, b
    self.coverage_proj = _dense(rngs.params(), (2 * h,), c.init_std, ("mlp",))  # w_c
    self.attention_v = _dense(rngs.params(), (2 * h,), c.init_std, ("mlp",))
    self.input_proj = dense(e + 2 * h, e, axes=("mlp", "embed"))  # W_x
    self.decoder = lstm(e, h)
    self.p_gen_proj = dense(2 * h + 2 * h + e, 1, axes=("mlp", None))
    self.output_proj = dense(h + 2 * h, h, axes=("mlp", "embed"))  # W_v
    self.vocab_proj = dense(h, c.vocab_size, axes=("embed", "vocab"))  # W_o

  def embed(self, ids: jax.Array) -> jax.Array:
    """int32[...] (extended ids allowed: those >= vocab_size read as unk) -> [..., E] in `config.dtype`."""
    ids = jnp.where(ids < self.config.vocab_size, ids, self.config.unk_id)
    return jnp.take(self.embedding[...], ids, axis=0).astype(self.config.dtype)

  def encode(self, src_ids: jax.Array, src_ext_ids: jax.Array, src_mask: jax.Array) -> tuple[Encoded, DecoderState]:
    """Source int32[B, L] (ids, extended ids, mask of a valid prefix) -> (Encoded, initial DecoderState)."""
    x = self.embed(src_ids)
    lengths = src_mask.sum(-1)
    fw, (c_fw, h_fw) = run_lstm(self.encoder_fw, x, src_mask)
    bw, (c_bw, h_bw) = run_lstm(self.encoder_bw, reverse_within_length(x, lengths), src_mask)
    outputs = jnp.concatenate([fw, reverse_within_length(bw, lengths)], -1)
    c = jax.nn.relu(self.reduce_c(jnp.concatenate([c_fw, c_bw], -1)))
    h = jax.nn.relu(self.reduce_h(jnp.concatenate([h_fw, h_bw], -1)))
    batch, length = src_ids.shape
    state = DecoderState(c, h, jnp.zeros((batch, 2 * self.config.hidden_dim), jnp.float32),
                         jnp.zeros((batch, length), jnp.float32))
    return Encoded(outputs, self.encoder_proj(outputs), src_mask, src_ext_ids), state

  def step(self, enc: Encoded, state: DecoderState, token: jax.Array) -> tuple[StepOutput, DecoderState]:
    """One decoder step (module docstring): previous token int32[B] (extended ids allowed)."""
    x = self.input_proj(jnp.concatenate([self.embed(token), state.context], -1))
    c, h = self.decoder(x, state.c, state.h)
    s = jnp.concatenate([c, h], -1)
    energy = jnp.tanh(enc.features + self.decoder_proj(s)[:, None, :]
                      + state.coverage[..., None] * self.coverage_proj[...])
    scores = jnp.where(enc.mask > 0, energy @ self.attention_v[...], layers.NEG_INF)
    attention = jax.nn.softmax(scores, axis=-1)
    context = jnp.einsum("bl,bld->bd", attention, enc.outputs)
    p_gen = jax.nn.sigmoid(self.p_gen_proj(jnp.concatenate([context, s, x], -1))[:, 0].astype(jnp.float32))
    vocab_logits = self.vocab_proj(self.output_proj(jnp.concatenate([h, context], -1)))
    vocab_probs = jax.nn.softmax(vocab_logits.astype(jnp.float32), axis=-1)
    out = StepOutput(vocab_probs, attention, state.coverage, p_gen)
    return out, DecoderState(c, h, context, state.coverage + attention)

  def teacher_forced(self, enc: Encoded, state: DecoderState, dec_inputs: jax.Array) -> StepOutput:
    """Every step of the decoder on given inputs int32[B, T], one `lax.scan`; outputs stacked on axis 1."""
    def body(carry, token):
      out, carry = self.step(enc, carry, token)
      return carry, out

    _, outs = jax.lax.scan(body, state, dec_inputs.swapaxes(0, 1))
    return jax.tree.map(lambda a: a.swapaxes(0, 1), outs)

  def __call__(self, src_ids, src_ext_ids, src_mask, dec_inputs) -> StepOutput:
    """Teacher-forced outputs: P_vocab float32[B, T, V], attention and coverage [B, T, L], p_gen [B, T]."""
    enc, state = self.encode(src_ids, src_ext_ids, src_mask)
    return self.teacher_forced(enc, state, dec_inputs)


def final_distribution(out: StepOutput, ext_ids: jax.Array, extended_size: int) -> jax.Array:
  """P over the extended vocabulary float32[B, extended_size] of one step (module docstring)."""
  batch, vocab = out.vocab_probs.shape
  dist = jnp.zeros((batch, extended_size), jnp.float32)
  dist = dist.at[:, :vocab].set(out.p_gen[:, None] * out.vocab_probs)
  copy = (1.0 - out.p_gen)[:, None] * out.attention
  return dist.at[jnp.arange(batch)[:, None], ext_ids].add(copy)


def target_probability(out: StepOutput, ext_ids: jax.Array, targets: jax.Array) -> jax.Array:
  """P(target) of each step without building the full distribution.

  Args:
    out: teacher-forced outputs, leaves [B, T, ...].
    ext_ids: int32[B, L] extended source ids.
    targets: int32[B, T] extended target ids.

  Returns:
    float32[B, T], equal to `final_distribution(...)[target]` step by step.
  """
  vocab = out.vocab_probs.shape[-1]
  in_vocab = jnp.take_along_axis(out.vocab_probs, jnp.minimum(targets, vocab - 1)[..., None], -1)[..., 0]
  generated = out.p_gen * jnp.where(targets < vocab, in_vocab, 0.0)
  copied = (1.0 - out.p_gen) * jnp.sum(out.attention * (ext_ids[:, None, :] == targets[..., None]), -1)
  return generated + copied


def losses(out: StepOutput, ext_ids: jax.Array, targets: jax.Array,
           target_mask: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-example negative log-likelihood and coverage loss, each averaged over the target steps.

  Returns:
    float32[B] NLL and float32[B] coverage loss (sum_i min(a_ti, coverage_ti), mean over t).
  """
  mask = target_mask.astype(jnp.float32)
  steps = jnp.maximum(mask.sum(-1), 1.0)
  nll = -jnp.log(jnp.maximum(target_probability(out, ext_ids, targets), 1e-12))
  coverage = jnp.sum(jnp.minimum(out.attention, out.coverage), -1)
  return (nll * mask).sum(-1) / steps, (coverage * mask).sum(-1) / steps


@functools.partial(jax.jit, static_argnames=("graphdef", "options"))
def _generate(graphdef, state, src_ids, src_ext_ids, src_mask, options: decoding.DecodeOptions):
  model = nnx.merge(graphdef, state)
  enc, dec_state = model.encode(src_ids, src_ext_ids, src_mask)
  extended_size = model.config.vocab_size + src_ids.shape[1]

  def step_fn(token, carry):  # the carry holds the encoder outputs too, so beam search tiles and reorders them
    enc, dec_state = carry
    out, dec_state = model.step(enc, dec_state, token)
    dist = final_distribution(out, enc.ext_ids, extended_size)
    return jnp.where(dist > 0, jnp.log(jnp.maximum(dist, 1e-30)), -jnp.inf), (enc, dec_state)

  bos = jnp.full((src_ids.shape[0],), options.bos_id, jnp.int32)
  first_logits, state = step_fn(bos, (enc, dec_state))
  if options.method == "beam":
    tokens, lengths, _ = decoding.beam_search(step_fn, state, first_logits, beam_size=options.beam_size,
                                              length_penalty=options.length_penalty, **options.common())
    return tokens, lengths
  return decoding.generate(step_fn, state, first_logits, method="greedy", **options.common())


def generate(model: Any, src_ids: jax.Array, src_ext_ids: jax.Array, src_mask: jax.Array,
             options: Optional[decoding.DecodeOptions] = None, **fields) -> tuple[jax.Array, jax.Array]:
  """Summaries in extended ids: `jddc.decoding.generate` (greedy) or `beam_search` over
  `PointerGenerator.step` (whose state, encoder outputs included, has the row on axis 0), jitted.

  Args:
    model: a `PointerGenerator` or its `(graphdef, state)`.
    src_ids, src_ext_ids, src_mask: int32[B, L] as in `PointerGenerator.encode`.
    options: a `jddc.decoding.DecodeOptions` with `bos_id` (the first decoder input) and
      method "greedy" or "beam"; or its fields as keywords.

  Returns:
    int32[B, max_new_tokens] extended ids (>= vocab_size: copied source tokens) and int32[B] lengths.
  """
  options = decoding.DecodeOptions.given(options, fields)
  if options.method not in ("greedy", "beam"):
    raise ValueError(f"Pointer-Generator decoding: method {options.method!r}; expected 'greedy' or 'beam'")
  if options.bos_id is None:
    raise ValueError("Pointer-Generator decoding needs DecodeOptions.bos_id (the first decoder input)")
  graphdef, state = nnx.split(model) if isinstance(model, nnx.Module) else model
  return _generate(graphdef, state, jnp.asarray(src_ids, jnp.int32), jnp.asarray(src_ext_ids, jnp.int32),
                   jnp.asarray(src_mask, jnp.int32), options=options.normalized())
