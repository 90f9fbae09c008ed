"""TransResNet (Shuster et al., 2020): a dual encoder scoring responses against a dialogue and its image.

docs/baselines.md §1, after ParlAI's `transresnet` / `transresnet_multimodal` modules:
  context  -> Transformer encoder, masked mean -> Dropout -> Linear(d -> hidden)   c  float32[B, H]
  response -> a second (unshared) encoder of the same shape                       r  float32[N, H]
  image    -> BatchNorm1d(F) -> Dropout -> Linear(F -> hidden), mean over images  v  float32[B, H]
  dialogue vector = c + v (ParlAI's default "sum" fusion; v = 0 without an image)
  score(dialogue, response) = dialogue . response; training: softmax over in-batch responses.
The encoders are our BERT blocks (`jddc.models.bert`: post-LN, learned positions, GELU)
at ParlAI's shape (300-d, 2 layers, 2 heads, FFN 1200, attention dropout 0.2); ParlAI uses
ReLU and sinusoidal positions. With `num_classes > 0` a Linear on the dialogue vector
classifies it instead: the paper's "TransResNet" rewrite classifier (Table 6) is not in
ParlAI and the paper gives no details; docs/baselines.md §2 suggests the fused vector -> Linear(2).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import nnx

from jddc.models import bert, layers, registry


@dataclasses.dataclass(frozen=True)
class TransResNetConfig:
  vocab_size: int
  n_positions: int = 256
  d_model: int = 300
  n_layer: int = 2
  n_head: int = 2
  d_ff: int = 1200
  hidden_dim: int = 300
  dropout: float = 0.2  # the LinearWrapper / image-encoder dropout
  attn_dropout: float = 0.2
  image_feature_dim: int = 0  # 0: text-only
  num_classes: int = 0  # > 0: a classifier head on the dialogue vector
  dtype: Any = "float32"  # of activations; parameters, BatchNorm and the returned vectors stay float32

  def encoder_config(self) -> bert.BertConfig:
    return bert.BertConfig(vocab_size=self.vocab_size, n_positions=self.n_positions, type_vocab_size=1,
                           d_model=self.d_model, n_layer=self.n_layer, n_head=self.n_head, d_ff=self.d_ff,
                           hidden_dropout=0.0, attn_dropout=self.attn_dropout, dtype=self.dtype)


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> "TransResNet":
  """`jddc.models.registry` builder: the re-ranker, or with `ctx.num_classes` the classifier (rewrite_cls)."""
  m = model_config
  return TransResNet(TransResNetConfig(
      vocab_size=registry.vocab_size(m, ctx), n_positions=m.n_positions, d_model=m.d_model, n_layer=m.n_layer,
      n_head=m.n_head, d_ff=m.d_ff, hidden_dim=m.hidden_dim, dropout=m.dropout, attn_dropout=m.attn_dropout,
      image_feature_dim=ctx.image_feature_dim, num_classes=ctx.num_classes, dtype=jnp.dtype(ctx.compute_dtype)),
      rngs=rngs)


class TextEncoder(nnx.Module):
  """Tokens -> masked mean of a Transformer encoder's outputs -> Dropout -> Linear. float32[B, hidden]."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    enc = config.encoder_config()
    self.embeddings = bert.Embeddings(enc, rngs=rngs)
    self.encoder = bert.Encoder(enc, rngs=rngs)
    self.dropout = nnx.Dropout(config.dropout)
    self.proj = layers.Linear(config.d_model, config.hidden_dim, axes=("embed", None), rngs=rngs,
                              dtype=config.dtype)

  def __call__(self, tokens: jax.Array, mask: jax.Array, *, deterministic: bool = True,
               rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """tokens int32[B, L], mask int32[B, L] (1 = token) -> float32[B, hidden]."""
    b, l = tokens.shape
    positions = jnp.broadcast_to(jnp.arange(l, dtype=jnp.int32), (b, l))
    x = self.embeddings(tokens, jnp.zeros_like(tokens), positions, deterministic=deterministic, rngs=rngs)
    x = self.encoder(x, (mask != 0)[:, None, None, :], deterministic=deterministic, rngs=rngs)
    pooled = bert.masked_mean(x, mask)
    return self.proj(self.dropout(pooled, deterministic=deterministic, rngs=rngs)).astype(jnp.float32)


class ImageEncoder(nnx.Module):
  """Image features -> BatchNorm1d -> Dropout -> Linear, averaged over the images present."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    # PyTorch BatchNorm1d: momentum 0.1 (Flax 0.9), eps 1e-5, two-pass variance.
    self.norm = nnx.BatchNorm(config.image_feature_dim, momentum=0.9, epsilon=1e-5, use_fast_variance=False,
                              rngs=rngs)
    self.dropout = nnx.Dropout(config.dropout)
    self.proj = layers.Linear(config.image_feature_dim, config.hidden_dim, axes=(None, None), rngs=rngs,
                              dtype=config.dtype)

  def __call__(self, features: jax.Array, image_mask: jax.Array, *, deterministic: bool = True,
               rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """features float32[B, I, F], image_mask [B, I] (nonzero: an image) -> float32[B, hidden].

    Each row's mean over its images (ParlAI has one image per example); zero without any.
    BatchNorm statistics come from, and in training are updated with, the images present.
    """
    b, i, f = features.shape
    present = image_mask.reshape(b * i) != 0
    x = self.norm(features.reshape(b * i, f).astype(jnp.float32), use_running_average=deterministic,
                  mask=present[:, None])
    x = self.proj(self.dropout(x, deterministic=deterministic, rngs=rngs)).astype(jnp.float32).reshape(b, i, -1)
    weights = present.reshape(b, i, 1).astype(jnp.float32)
    return (x * weights).sum(axis=1) / jnp.maximum(weights.sum(axis=1), 1.0)


class TransResNet(nnx.Module):
  """Dialogue and response encoders (module docstring)."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.context_encoder = TextEncoder(config, rngs=rngs)
    self.label_encoder = TextEncoder(config, rngs=rngs) if not config.num_classes else None
    self.image_encoder = ImageEncoder(config, rngs=rngs) if config.image_feature_dim else None
    self.classifier = (layers.Linear(config.hidden_dim, config.num_classes, axes=(None, None), rngs=rngs,
                                     dtype=config.dtype) if config.num_classes else None)

  def encode_dialogue(self, tokens: jax.Array, mask: jax.Array, image_features: Optional[jax.Array] = None,
                      image_mask: Optional[jax.Array] = None, *, deterministic: bool = True,
                      rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """tokens/mask int32[B, L], image_features float32[B, I, F], image_mask [B, I] -> float32[B, hidden]."""
    vector = self.context_encoder(tokens, mask, deterministic=deterministic, rngs=rngs)
    if self.image_encoder is not None:
      vector = vector + self.image_encoder(image_features, image_mask, deterministic=deterministic, rngs=rngs)
    return vector

  def encode_responses(self, tokens: jax.Array, mask: jax.Array, *, deterministic: bool = True,
                       rngs: Optional[nnx.Rngs] = None) -> jax.Array:
    """tokens/mask int32[N, L] -> float32[N, hidden]."""
    return self.label_encoder(tokens, mask, deterministic=deterministic, rngs=rngs)

  def classify(self, tokens: jax.Array, mask: jax.Array, image_features: Optional[jax.Array] = None,
               image_mask: Optional[jax.Array] = None, *, token_type_ids: Optional[jax.Array] = None,
               **kwargs) -> jax.Array:
    """Logits float32[B, num_classes] from the dialogue vector (arguments as `encode_dialogue`).

    `token_type_ids` is accepted for `bert.BertClassifier.classify`'s interface and ignored: the
    encoders have one token type (ParlAI's have none).
    """
    del token_type_ids
    return self.classifier(self.encode_dialogue(tokens, mask, image_features, image_mask, **kwargs)).astype(jnp.float32)


def in_batch_loss(dialogues: jax.Array, responses: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Softmax cross-entropy of each dialogue over the batch's responses, target on the diagonal.

  Args:
    dialogues: float32[B, H]; responses: float32[B, H] (row i answers dialogue i).

  Returns:
    (loss float32[B], correct bool[B]: the diagonal scored highest).
  """
  scores = dialogues @ responses.T
  loss = jax.nn.logsumexp(scores, axis=-1) - jnp.diagonal(scores)
  return loss, jnp.argmax(scores, axis=-1) == jnp.arange(scores.shape[0])
