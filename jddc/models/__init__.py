"""Flax NNX models, one module each; `layers` holds what the Transformers share, `convert` imports checkpoints,
`registry` names every model (its config schema and builder) without importing JAX.

`GPT2`, `GPT2Config`, `KVCache` and `lm_loss` are `jddc.models.gpt2`'s, loaded on first use so that
`jddc.models.registry` stays importable before JAX (config validation).
"""

__all__ = ["GPT2", "GPT2Config", "KVCache", "lm_loss"]


def __getattr__(name: str):
  if name in __all__:
    from jddc.models import gpt2
    return getattr(gpt2, name)
  raise AttributeError(f"module 'jddc.models' has no attribute {name!r}")
