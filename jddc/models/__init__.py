"""Flax NNX models, one module each; `layers` holds what the Transformers share, `convert` imports checkpoints."""

from jddc.models.gpt2 import GPT2, GPT2Config, KVCache, lm_loss

__all__ = ["GPT2", "GPT2Config", "KVCache", "lm_loss"]
