"""Deep Sequential dialogue discourse parser (Shi & Huang 2019) in Flax NNX, with image EDUs.

The original (shizhouxing/DialogueDiscourseParsing, docs/baselines.md §4) runs one `sess.run` per
EDU with NumPy state; here the whole left-to-right parse of a batch of dialogues is one
`jax.lax.scan` over EDU positions, jittable and differentiable end to end.

Two agents, each with its own encoders (the original's `use_shared_encoders=False`):
the *link* agent scores the candidate parents of an EDU, the *relation* agent labels a link.
An agent has
  - an EDU encoder: token embeddings -> BiGRU (num_units/2 per direction; the two final
    states concatenated give h_s). In the multimodal model an image EDU's h_s is instead
    tanh(Linear(image feature)); in the text-only model an image EDU is an empty EDU (its
    token sequence is the end marker alone: no content, the paper's footnote 4);
  - the non-structured dialogue encoder: a GRU over the h_s of the dialogue gives h_c;
  - the structured encoder: h_p[j, l], one state per EDU j and speaker slot l, is
    GRU([relation embedding of j's incoming link, h_s_j], state = h_p[parent(j), l]), with one
    GRU ("same") for l == speaker(j) and another ("other") for the other speakers: the
    speaker-highlighting of the original. A root EDU uses a zero parent state and relation
    id `num_relations`;
  - a head: Dense(head_dim, tanh) -> Dense(out) on the pair state
    [h_c_i, h_s_j, h_p[i, speaker(j)], h_c_j, j - i, same speaker, same turn].
    (The original's fourth pair feature, "already linked", is always 0 when every EDU gets
    one parent, so it is left out.)

Decoding is greedy and left to right: EDU j >= 1 takes the argmax candidate parent among the
`max_edu_dist` EDUs before it, then the argmax relation for that link, and h_p[j] is
computed from that parent at once, so later decisions see it. With `gold_structure=True`
(teacher forcing) h_p[j] is built from the gold parent and relation instead.

Inside the scan the link head's first layer is applied by parts, as the sum
hc_i @ K_1 + (hs_j @ K_2 + hc_j @ K_4 + b) + h_p[i, spk_j] @ K_3 + features @ K_5, with h_p @ K_3 kept
for every EDU as it is computed: the same function as the head on the concatenated state
(tested against a Python loop that concatenates), at a fraction of the cost per step.

Shapes: B dialogues, N EDU positions (padding at the end), T tokens per EDU, S speaker
slots, H = num_units, W = max_edu_dist, R = num_relations, F = image feature size.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import nnx

from jddc.models import registry

NEG_INF = -1e30
NUM_PAIR_FEATURES = 3  # j - i, same speaker, same turn


@dataclasses.dataclass(frozen=True)
class DeepSequentialConfig:
  vocab_size: int
  num_relations: int
  embed_dim: int = 100
  num_units: int = 256
  relation_dim: int = 100
  head_dim: int = 512
  max_edu_dist: int = 20
  max_speakers: int = 2
  dropout: float = 0.5  # 1 - the original's keep_prob, on every GRU's inputs
  image_feature_dim: int = 0  # 0: text-only
  shared_encoders: bool = False
  dtype: Any = "float32"  # of the layers' products; structured states, pair features and logits' softmax float32

  def layer_kw(self) -> dict:
    """Keyword arguments of the nnx layers: `dtype` unless float32 (so float32 builds the layers as before)."""
    return {} if jnp.dtype(self.dtype) == jnp.float32 else {"dtype": self.dtype}


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "DeepSequential":
  """`jddc.models.registry` builder: the parser over `ctx.num_relations` relations and `ctx.vocab_size` tokens."""
  m = model_config
  return DeepSequential(DeepSequentialConfig(
      vocab_size=registry.vocab_size(m, ctx), num_relations=ctx.num_relations, embed_dim=m.embed_dim, num_units=m.num_units,
      relation_dim=m.relation_dim, head_dim=m.head_dim, max_edu_dist=m.max_edu_dist, max_speakers=m.max_speakers,
      dropout=m.dropout, image_feature_dim=ctx.image_feature_dim, shared_encoders=m.shared_encoders,
      dtype=jnp.dtype(ctx.compute_dtype)), rngs=rngs)


def masked_gru(cell: nnx.GRUCell, inputs: jax.Array, mask: jax.Array, reverse: bool = False):
  """Runs `cell` over time, holding the state where `mask` is 0.

  Args:
    cell: a GRU cell with hidden size H.
    inputs: float32[T, M, D], time-major.
    mask: bool[T, M]; padding must only follow (forward) the valid steps of a row.
    reverse: run from the last step to the first.

  Returns:
    (final state float32[M, H], every step's state float32[T, M, H]).
  """
  carry = jnp.zeros(inputs.shape[1:-1] + (cell.hidden_features,), inputs.dtype)
  transformed = cell.dense_i(inputs)  # [T, M, 3H]: every step's input transform in one product

  def step(h, xs):
    x, m = xs
    new = gru_with_input_transform(cell, x, h).astype(h.dtype)
    h = jnp.where(m[..., None], new, h)
    return h, h

  return jax.lax.scan(step, carry, (transformed, mask), reverse=reverse)


def dropout_mask(rng: Optional[jax.Array], rate: float, shape: tuple[int, ...]) -> Optional[jax.Array]:
  """A float mask (0 or 1/(1-rate)) or None when deterministic."""
  if rng is None or rate <= 0.0:
    return None
  return jax.random.bernoulli(rng, 1.0 - rate, shape).astype(jnp.float32) / (1.0 - rate)


def _apply(x: jax.Array, mask: Optional[jax.Array]) -> jax.Array:
  return x if mask is None else x * mask


class EduEncoder(nnx.Module):
  """Token BiGRU per EDU (h_s) and the dialogue GRU over EDUs (h_c)."""

  def __init__(self, config: DeepSequentialConfig, *, rngs: nnx.Rngs):
    h, kw = config.num_units, config.layer_kw()
    self.config = config
    self.embed = nnx.Embed(config.vocab_size, config.embed_dim, rngs=rngs, **kw)
    self.forward = nnx.GRUCell(config.embed_dim, h // 2, rngs=rngs, **kw)
    self.backward = nnx.GRUCell(config.embed_dim, h // 2, rngs=rngs, **kw)
    self.image = nnx.Linear(config.image_feature_dim, h, rngs=rngs, **kw) if config.image_feature_dim else None
    self.dialogue = nnx.GRUCell(h, h, rngs=rngs, **kw)

  def __call__(self, batch: dict[str, jax.Array], rng: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """Batch with edu_tokens int32[B, N, T], edu_lengths int32[B, N], is_image int32[B, N] and,
    multimodal, image_features float32[B, N, F] -> (h_s, h_c), each float32[B, N, H]."""
    tokens = batch["edu_tokens"]
    b, n, t = tokens.shape
    keys = jax.random.split(rng, 2) if rng is not None else (None, None)
    x = self.embed(tokens.reshape(b * n, t))  # [BN, T, E]
    x = _apply(x, dropout_mask(keys[0], self.config.dropout, (b * n, 1, x.shape[-1])))
    x = jnp.swapaxes(x, 0, 1)  # [T, BN, E]
    mask = jnp.arange(t)[:, None] < batch["edu_lengths"].reshape(1, b * n)
    fwd, _ = masked_gru(self.forward, x, mask)
    bwd, _ = masked_gru(self.backward, x, mask, reverse=True)
    hs = jnp.concatenate([fwd, bwd], -1).reshape(b, n, -1)
    if self.image is not None:
      image = jnp.tanh(self.image(batch["image_features"]))
      hs = jnp.where(batch["is_image"][..., None] > 0, image, hs)
    edu_mask = batch["edu_lengths"] > 0
    inputs = _apply(hs, dropout_mask(keys[1], self.config.dropout, (b, 1, hs.shape[-1])))
    _, hc = masked_gru(self.dialogue, jnp.swapaxes(inputs, 0, 1), jnp.swapaxes(edu_mask, 0, 1))
    return hs, jnp.swapaxes(hc, 0, 1)


class PairHead(nnx.Module):
  """Dense(head_dim, tanh) -> Dense(out) on [h_c_i, h_s_j, h_p_i, h_c_j, features]."""

  def __init__(self, num_units: int, head_dim: int, out: int, *, rngs: nnx.Rngs, **layer_kw):
    self.num_units = num_units
    self.hidden = nnx.Linear(4 * num_units + NUM_PAIR_FEATURES, head_dim, rngs=rngs, **layer_kw)
    self.out = nnx.Linear(head_dim, out, rngs=rngs, **layer_kw)

  def __call__(self, hc_i, hs_j, hp_i, hc_j, features) -> jax.Array:
    """Each [..., H] (features [..., 3]) -> float32[..., out]."""
    state = jnp.concatenate([hc_i, hs_j, hp_i, hc_j, features], -1)
    return self.out(jnp.tanh(self.hidden(state)))

  def block(self, k: int) -> jax.Array:
    """The first layer's kernel rows for part k (0 h_c_i, 1 h_s_j, 2 h_p_i, 3 h_c_j, 4 features)."""
    h = self.num_units
    return self.hidden.kernel[...][k * h:(k + 1) * h] if k < 4 else self.hidden.kernel[...][4 * h:]


class Agent(nnx.Module):
  """An encoder, the structured encoder (two GRUs: same / other speaker) and a pair head."""

  def __init__(self, config: DeepSequentialConfig, out: int, *, rngs: nnx.Rngs,
               encoder: Optional[EduEncoder] = None):
    h = config.num_units
    self.encoder = encoder if encoder is not None else EduEncoder(config, rngs=rngs)
    self.relation_embed = nnx.Param(jnp.zeros((config.num_relations + 1, config.relation_dim)))
    self.same_speaker = nnx.GRUCell(config.relation_dim + h, h, rngs=rngs, **config.layer_kw())
    self.other_speaker = nnx.GRUCell(config.relation_dim + h, h, rngs=rngs, **config.layer_kw())
    self.head = PairHead(h, config.head_dim, out, rngs=rngs, **config.layer_kw())

  def structured(self, parent_state: jax.Array, relation: jax.Array, hs_j: jax.Array, speaker: jax.Array,
                 mask: Optional[jax.Array] = None) -> jax.Array:
    """h_p[j, :] from the parent's h_p[parent, :].

    Slot speaker(j) is the "same" GRU on its parent slot, every other slot the "other" GRU on
    its own (the original's speaker highlighting). The GRU's input x_j is the same for every
    slot, so its input transform is computed once per dialogue, and the "same" GRU runs on one
    slot only: the function of running both GRUs on every slot and keeping one, at about a
    third of the products.

    Args:
      parent_state: float32[B, S, H] (zeros for a root).
      relation: int32[B], the incoming link's relation (num_relations for a root).
      hs_j: float32[B, H].
      speaker: int32[B], EDU j's speaker slot.
      mask: optional dropout mask float32[B, 1, relation_dim + H].

    Returns:
      float32[B, S, H].
    """
    x = jnp.concatenate([jnp.take(self.relation_embed[...], relation, axis=0), hs_j], -1)  # [B, relation_dim + H]
    if mask is not None:
      x = _apply(x, mask[:, 0])
    rows = jnp.arange(parent_state.shape[0])
    same, _ = self.same_speaker(parent_state[rows, speaker], x)  # [B, H]
    other = gru_with_input_transform(self.other_speaker, self.other_speaker.dense_i(x)[:, None, :], parent_state)
    return other.at[rows, speaker].set(same.astype(other.dtype))


def gru_with_input_transform(cell: nnx.GRUCell, x_transformed: jax.Array, h: jax.Array) -> jax.Array:
  """`cell(h, x)[0]` given `cell.dense_i(x)` (broadcast against h's leading axes): flax's GRU update
  h' = (1 - z) * n + z * h, r and z sigmoid gates, n = tanh(x_n + r * h_n).

  Args:
    cell: a GRU cell of hidden size H.
    x_transformed: float32[..., 3H], the input transform, e.g. [B, 1, 3H] for every slot of a row.
    h: float32[..., H], e.g. [B, S, H].

  Returns:
    float32[..., H] (h's shape).
  """
  h_transformed = cell.dense_h(h)
  xi_r, xi_z, xi_n = jnp.split(x_transformed, 3, axis=-1)
  hh_r, hh_z, hh_n = jnp.split(h_transformed, 3, axis=-1)
  r = cell.gate_fn(xi_r + hh_r)
  z = cell.gate_fn(xi_z + hh_z)
  n = cell.activation_fn(xi_n + r * hh_n)
  return (1.0 - z) * n + z * h


def _rows(x: jax.Array, index: jax.Array) -> jax.Array:
  """x [B, N, ...], index int32[B, K] (clipped into range) -> [B, K, ...]."""
  index = jnp.clip(index, 0, x.shape[1] - 1)
  return jnp.take_along_axis(x, index.reshape(index.shape + (1,) * (x.ndim - 2)), axis=1)


def pair_features(distance: jax.Array, speaker_i, speaker_j, turn_i, turn_j) -> jax.Array:
  """float32[..., 3]: j - i, same speaker, same turn."""
  parts = [distance, speaker_i == speaker_j, turn_i == turn_j]
  shape = jnp.broadcast_shapes(*(p.shape for p in parts))
  return jnp.stack([jnp.broadcast_to(p, shape).astype(jnp.float32) for p in parts], -1)


class DeepSequential(nnx.Module):
  """The parser: a link agent and a relation agent over a shared left-to-right scan."""

  def __init__(self, config: DeepSequentialConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.link = Agent(config, 1, rngs=rngs)
    shared = self.link.encoder if config.shared_encoders else None
    self.relation = Agent(config, config.num_relations, rngs=rngs, encoder=shared)

  def __call__(self, batch: dict[str, jax.Array], *, gold_structure: bool = False,
               rng: Optional[jax.Array] = None) -> dict[str, jax.Array]:
    """Parses a batch of dialogues.

    Args:
      batch: edu_tokens int32[B, N, T], edu_lengths int32[B, N] (0: padding EDU), speakers
        int32[B, N] (slot < S), turns int32[B, N], is_image int32[B, N], image_features
        float32[B, N, F] (multimodal), and with `gold_structure` gold_parent int32[B, N] (-1:
        root) and gold_relation int32[B, N].
      gold_structure: build h_p from the gold structure (teacher forcing) instead of the
        predictions.
      rng: dropout key; None for a deterministic pass.

    Returns:
      link_logits float32[B, N, W]: candidate c of EDU j is parent i = j - W + c (NEG_INF where
        there is no such EDU); parents int32[B, N] and relations int32[B, N], the greedy
        predictions (-1 for EDU 0 and padding); and, for `relation_logits`, the relation
        agent's hs, hc float32[B, N, H] and hp float32[B, N, S, H], with speakers and turns.
    """
    c = self.config
    w, s, r = c.max_edu_dist, c.max_speakers, c.num_relations
    keys = jax.random.split(rng, 4) if rng is not None else (None,) * 4
    hs_l, hc_l = self.link.encoder(batch, keys[0])
    hs_r, hc_r = (hs_l, hc_l) if c.shared_encoders else self.relation.encoder(batch, keys[1])
    b, n, h = hs_l.shape
    valid = batch["edu_lengths"] > 0
    speakers, turns = batch["speakers"], batch["turns"]
    struct_dim = c.relation_dim + h
    mask_l = dropout_mask(keys[2], c.dropout, (b, 1, struct_dim))
    mask_r = dropout_mask(keys[3], c.dropout, (b, 1, struct_dim))

    head = self.link.head
    front = lambda x, fill=0: jnp.pad(x, [(0, 0), (w, 0)] + [(0, 0)] * (x.ndim - 2), constant_values=fill)
    a_pad = front(hc_l @ head.block(0))  # [B, W + N, D]: rows of candidates i, offset by W
    c_all = hs_l @ head.block(1) + hc_l @ head.block(3) + head.hidden.bias[...]  # [B, N, D]
    spk_pad, turn_pad = front(speakers, -1), front(turns, -1)
    rows = jnp.arange(b)

    def step(carry, j):
      hp_l, proj_l, hp_r = carry  # [B, W + N, S, H], [B, W + N, S, D], [B, W + N, S, H]
      spk_j, turn_j = speakers[:, j], turns[:, j]
      cand = j - w + jnp.arange(w)  # candidate parents i, oldest first
      window = lambda x: jax.lax.dynamic_slice_in_dim(x, j, w, axis=1)
      proj = window(proj_l)[rows, :, spk_j]  # [B, W, D]
      features = pair_features(j - cand[None, :], window(spk_pad), spk_j[:, None], window(turn_pad), turn_j[:, None])
      hidden = jnp.tanh(window(a_pad) + c_all[:, j][:, None] + proj + features @ head.block(4))
      logits = head.out(hidden)[..., 0]  # [B, W]
      ok = (cand >= 0)[None, :] & valid[:, j][:, None]
      logits = jnp.where(ok, logits, NEG_INF)
      has_parent = ok.any(-1)
      parent = jnp.where(has_parent, j - w + jnp.argmax(logits, -1), -1)
      rel_logits = self.relation.head(
          hc_r[rows, jnp.maximum(parent, 0)], hs_r[:, j], hp_r[rows, jnp.maximum(parent, 0) + w, spk_j],
          hc_r[:, j], pair_features(j - parent, spk_pad[rows, parent + w], spk_j, turn_pad[rows, parent + w], turn_j))
      relation = jnp.where(has_parent, jnp.argmax(rel_logits, -1), -1)
      if gold_structure:
        use_parent, use_relation = batch["gold_parent"][:, j], batch["gold_relation"][:, j]
      else:
        use_parent, use_relation = parent, relation
      is_root = use_parent < 0
      use_relation = jnp.where(is_root, r, use_relation)
      gather = jnp.maximum(use_parent, 0) + w
      zero = jnp.zeros((b, s, h), hp_l.dtype)
      new_l = self.link.structured(jnp.where(is_root[:, None, None], zero, hp_l[rows, gather]), use_relation,
                                   hs_l[:, j], spk_j, mask_l)
      new_r = self.relation.structured(jnp.where(is_root[:, None, None], zero, hp_r[rows, gather]), use_relation,
                                       hs_r[:, j], spk_j, mask_r)
      hp_l = hp_l.at[:, j + w].set(new_l)
      proj_l = proj_l.at[:, j + w].set(new_l @ head.block(2))
      hp_r = hp_r.at[:, j + w].set(new_r)
      return (hp_l, proj_l, hp_r), (logits, parent, relation)

    init = (jnp.zeros((b, w + n, s, h)), jnp.zeros((b, w + n, s, c.head_dim)), jnp.zeros((b, w + n, s, h)))
    (_, _, hp_r), (logits, parents, relations) = jax.lax.scan(step, init, jnp.arange(n))
    return {"link_logits": jnp.swapaxes(logits, 0, 1).astype(jnp.float32), "parents": parents.T, "relations": relations.T,
            "hs": hs_r, "hc": hc_r, "hp": hp_r[:, w:], "speakers": speakers, "turns": turns}

  def relation_logits(self, out: dict[str, jax.Array], parents: jax.Array, children: jax.Array) -> jax.Array:
    """Relation logits float32[B, L, R] of links parents -> children (int32[B, L], clipped into range)."""
    hp_i = _rows(out["hp"], parents)  # [B, L, S, H]
    spk_j = _rows(out["speakers"], children)
    hp_i = jnp.take_along_axis(hp_i, jnp.clip(spk_j, 0, hp_i.shape[2] - 1)[..., None, None], axis=2)[:, :, 0]
    features = pair_features(children - parents, _rows(out["speakers"], parents), spk_j,
                             _rows(out["turns"], parents), _rows(out["turns"], children))
    return self.relation.head(_rows(out["hc"], parents), _rows(out["hs"], children), hp_i,
                              _rows(out["hc"], children), features).astype(jnp.float32)
