"""TransResNet (Shuster et al. 2020) encoders and the multimodal classifier of Table 6, in Flax NNX.

ParlAI's TransResNet (BASELINES.md §1) encodes text with a small Transformer encoder
reduced by a masked mean, then `LinearWrapper` (dropout, Linear(d -> hidden)); an image
feature with BatchNorm1d -> dropout -> Linear(feat -> hidden); and fuses context and image
by summing them. The paper's "TransResNet classifier" is not in ParlAI and the paper gives
no details; we take the fused vector -> Linear(hidden -> 2), as BASELINES.md §2 suggests.

Choices where ParlAI differs or is silent:
  * the Transformer is our BERT encoder (`jddc.models.bert`: post-LN, learned positions,
    GELU) sized as ParlAI's TransResNet (2 layers, 300 wide, 2 heads, FFN 1200); ParlAI's
    `TransformerEncoder` uses sinusoidal positions and ReLU;
  * a query with several images: the mean of their encodings (ParlAI has one image per
    example); a query with none adds zeros.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from jddc.models import bert, layers


@dataclasses.dataclass(frozen=True)
class TransResNetConfig:
  text: bert.BertConfig
  hidden_dim: int = 300  # ParlAI `hidden_dim`
  image_feature_dim: int = 512  # ResNet-18 pooled features; 0: text only
  dropout: float = 0.2  # LinearWrapper and image-encoder dropout
  num_labels: int = 2


class TextEncoder(nnx.Module):
  """Transformer -> masked mean -> dropout -> Linear(d -> hidden)."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    self.transformer = bert.Bert(config.text, rngs=rngs)
    self.dropout = nnx.Dropout(config.dropout)
    self.linear = layers.Linear(config.text.d_model, config.hidden_dim, axes=("embed", None), rngs=rngs)

  def __call__(self, tokens, attention_mask, *, deterministic=True, rngs=None):
    """int32[B, L] tokens and 0/1 mask -> float32[B, hidden]."""
    hidden = self.transformer.encode(tokens, attention_mask=attention_mask, deterministic=deterministic, rngs=rngs)
    pooled = bert.masked_mean(hidden, attention_mask)
    return self.linear(self.dropout(pooled, deterministic=deterministic, rngs=rngs))


class ImageEncoder(nnx.Module):
  """BatchNorm1d(feat) -> dropout -> Linear(feat -> hidden), per image."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    # PyTorch BatchNorm1d defaults: momentum 0.1 (Flax 0.9), eps 1e-5.
    self.norm = nnx.BatchNorm(config.image_feature_dim, momentum=0.9, epsilon=1e-5, use_fast_variance=False,
                              rngs=rngs)
    self.dropout = nnx.Dropout(config.dropout)
    self.linear = layers.Linear(config.image_feature_dim, config.hidden_dim, axes=(None, None), rngs=rngs)

  def __call__(self, features, mask, *, train=False, rngs=None):
    """float32[B, I, F] features, 0/1 mask [B, I] -> float32[B, hidden], the mean over the images present.

    BatchNorm statistics come from (and, in training, are updated with) the present images only.
    """
    b, i, f = features.shape
    flat, present = features.reshape(b * i, f), mask.reshape(b * i) != 0
    x = self.norm(flat, use_running_average=not train, mask=present[:, None])
    x = self.linear(self.dropout(x, deterministic=not train, rngs=rngs)).reshape(b, i, -1)
    weights = present.reshape(b, i, 1).astype(jnp.float32)
    return (x * weights).sum(axis=1) / jnp.maximum(weights.sum(axis=1), 1.0)


class TransResNetClassifier(nnx.Module):
  """Fused (sum) text and image encodings -> Linear(hidden -> num_labels)."""

  def __init__(self, config: TransResNetConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.text_encoder = TextEncoder(config, rngs=rngs)
    self.image_encoder = ImageEncoder(config, rngs=rngs) if config.image_feature_dim else None
    self.classifier = layers.Linear(config.hidden_dim, config.num_labels, axes=(None, None), rngs=rngs)

  def __call__(self, tokens: jax.Array, attention_mask: jax.Array, image_features=None, image_mask=None, *,
               train: bool = False, rngs=None) -> jax.Array:
    """Logits float32[B, num_labels].

    Args:
      tokens: int32[B, L]; attention_mask: int32[B, L], 1 for a token.
      image_features: float32[B, I, F] (multimodal only); image_mask: int32[B, I], 1 for an image.
      train: dropout on and BatchNorm in training mode (then `rngs` needs a `dropout` stream).
    """
    fused = self.text_encoder(tokens, attention_mask, deterministic=not train, rngs=rngs)
    if self.image_encoder is not None:
      fused = fused + self.image_encoder(image_features, image_mask, train=train, rngs=rngs)
    return self.classifier(fused).astype(jnp.float32)
