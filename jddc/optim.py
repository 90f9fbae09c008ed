"""Optimizers: AdamW with linear warmup and decay, global-norm clipping, decay only on matrices."""

from __future__ import annotations

import jax
import optax


def warmup_linear_decay(peak: float, warmup_steps: int, total_steps: int, end_fraction: float = 0.0) -> optax.Schedule:
  """0 -> peak over `warmup_steps`, then linearly to `end_fraction * peak` at `total_steps`."""
  warmup_steps = max(1, min(warmup_steps, total_steps - 1)) if total_steps > 1 else 1
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup_steps),
       optax.linear_schedule(peak, peak * end_fraction, max(1, total_steps - warmup_steps))],
      boundaries=[warmup_steps])


def decay_mask(params):
  """Weight decay on kernels and embeddings (ndim >= 2), not on biases or norms."""
  return jax.tree.map(lambda p: getattr(p, "ndim", 0) >= 2, params)


def adamw(optim_config, total_steps: int) -> optax.GradientTransformation:
  """AdamW from `config.optim` (lr, warmup_steps, end_lr_fraction, b1, b2, eps, weight_decay, clip)."""
  c = optim_config
  schedule = warmup_linear_decay(c.lr, c.warmup_steps, total_steps, c.end_lr_fraction)
  parts = []
  if c.clip > 0:
    parts.append(optax.clip_by_global_norm(c.clip))
  parts.append(optax.adamw(schedule, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay, mask=decay_mask))
  return optax.chain(*parts)


def sgd_epoch_decay(optim_config, steps_per_epoch: int) -> optax.GradientTransformation:
  """Plain SGD at `lr * decay_per_epoch ** epoch` (epoch = step // steps_per_epoch), after global-norm
  clipping at `clip` (0: off): Shi & Huang (2019)'s SGD 0.1, x0.98 after every epoch, clip 5."""
  c = optim_config
  if steps_per_epoch < 1:
    raise ValueError(f"optim: steps_per_epoch must be at least 1, got {steps_per_epoch}")
  schedule = optax.exponential_decay(c.lr, transition_steps=steps_per_epoch, decay_rate=c.decay_per_epoch,
                                     staircase=True)
  parts = [optax.clip_by_global_norm(c.clip)] if c.clip > 0 else []
  parts.append(optax.sgd(schedule))
  return optax.chain(*parts)


def from_config(optim_config, total_steps: int, steps_per_epoch: int = 0) -> optax.GradientTransformation:
  """`optim.name`: "adamw" (`adamw`, the default) or "sgd" (`sgd_epoch_decay`, which needs `steps_per_epoch`)."""
  name = optim_config.get("name", "adamw")
  if name == "adamw":
    return adamw(optim_config, total_steps)
  if name == "sgd":
    return sgd_epoch_decay(optim_config, steps_per_epoch)
  raise ValueError(f"optim.name must be 'adamw' or 'sgd', not {name!r}")
