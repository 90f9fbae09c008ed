"""ResNet-18 image backbone (torchvision / Hugging Face architecture) in Flax NNX.

The paper's image features come from a frozen torchvision ImageNet ResNet-18: the
global-average-pool output, 512-d (`docs/baselines.md` §0). `ResNet18` reproduces
that network exactly (conv1 7×7/2 + BN + ReLU, max-pool 3×3/2, four stages of two
BasicBlocks with 64/128/256/512 channels, stride 2 and a 1×1 conv + BN downsample on the
first block of stages 2–4, global average pool) on NHWC inputs. `jddc.models.convert`
loads torchvision or Hugging Face `ResNetModel` / `ResNetForImageClassification` weights.

Names mirror torchvision's state dict: `conv1`, `bn1`, `layer1[0].conv1`, `layer1[0].bn1`,
…, `layer2[0].downsample.conv` / `.bn` (torchvision's `downsample.0` / `.1`), `fc`.
Flax's names for the leaves: conv `kernel` (HWIO), BN `scale` / `bias` / `mean` / `var`,
Linear `kernel` ([in, out]) / `bias`.

Decisions:
  * **Train/eval switch:** an explicit `train` argument on every call (default False,
    i.e. eval: running statistics), passed as `use_running_average=not train` to each
    `nnx.BatchNorm`. It takes precedence over `model.train()` / `model.eval()`, so those
    have no effect on this module; the call site alone decides.
  * **BatchNorm:** PyTorch momentum 0.1 = Flax momentum 0.9, eps 1e-5, two-pass
    variance (`use_fast_variance=False`, as PyTorch). Train mode normalises with the
    biased batch variance (as PyTorch) but Flax also updates `var` with the *biased*
    variance, where PyTorch uses the unbiased one: the update differs by a factor
    n/(n-1), n = B·H·W per channel (tested in `tests/test_resnet.py`). The backbone is
    frozen in the paper, so this only matters for fine-tuning on tiny batches.
  * **Sharding metadata:** none. ResNet-18 is small (11.2 M backbone parameters), replicated
    on every device; unannotated variables need no mesh at creation, and
    `nnx.get_partition_spec` gives `P()` for all of them. (If a head ever needs
    annotations without a mesh, `*_metadata={'out_sharding': names,
    'eager_sharding': False}` works where `nnx.with_partitioning` fails.)
  * **Initialisation** follows torchvision: convs Kaiming-normal (fan_out, ReLU, not
    truncated), BN scale 1 / bias 0, `fc` uniform ±1/sqrt(512). Eager construction
    compiles the threefry samplers once per kernel shape (~5-10 s on 2 CPU cores); build
    under `nnx.jit` (with an RBG key, ~2 s) when that matters. The loaders in
    `jddc.models.convert` run no initialiser at all (`nnx.eval_shape`, then the weights are set).

Training with a pure jitted function of split state (the pattern `tests/test_resnet.py`
runs; BatchNorm statistics come back as part of the output state):

  graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)

  @jax.jit
  def step(params, stats, opt_state, images, labels):
    def loss_fn(params):
      m = nnx.merge(graphdef, params, stats, copy=True)  # copy: see below
      loss = xent(m(images, train=True), labels)
      return loss, nnx.state(m, nnx.BatchStat)
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), stats, opt_state, loss

  nnx.update(model, params, stats)  # write the final state back

`copy=True` matters: without it `nnx.merge` reuses the Variable objects of `stats`, which
belong to the `jax.jit` trace, and BatchNorm's in-place update inside the
`jax.value_and_grad` trace raises `TraceContextError: Cannot mutate BatchStat from a
different trace level` (flax 0.12.8).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FEATURE_DIM = 512
STAGE_CHANNELS = (64, 128, 256, 512)
BLOCKS_PER_STAGE = 2
BN_MOMENTUM = 0.9  # Flax convention: running = 0.9·running + 0.1·batch (PyTorch's 0.1).
BN_EPSILON = 1e-5

_CONV_INIT = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")  # not truncated
_FC_INIT = nnx.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _fc_bias_init(key, shape, dtype=jnp.float32):
  bound = 1.0 / np.sqrt(FEATURE_DIM)
  return jax.random.uniform(key, shape, dtype, -bound, bound)


@jax.jit
def preprocess(images_uint8: jax.Array | np.ndarray) -> jax.Array:
  """Scales to [0, 1] and normalises with the ImageNet mean / std.

  Resizing (ParlAI: resize 256, centre-crop 224) is the data pipeline's job.

  Args:
    images_uint8: uint8[..., H, W, 3] RGB images (any leading batch shape).

  Returns:
    float32[..., H, W, 3]: (x / 255 - mean) / std per channel.
  """
  x = jnp.asarray(images_uint8).astype(jnp.float32) / 255.0
  mean = jnp.asarray(IMAGENET_MEAN, jnp.float32)
  std = jnp.asarray(IMAGENET_STD, jnp.float32)
  return (x - mean) / std


# XLA's CPU convolution is pathologically slow on tiny feature maps with many channels
# (a 3x3 conv on 2x2x512 takes 40x longer than the same product as a matmul), which is
# what ResNet-18's last stage sees at 48-64 px. Below this many output positions, convs
# run as patches @ kernel instead; the parameters and the result are the same.
_MATMUL_CONV_MAX_POSITIONS = 9


class Conv(nnx.Conv):
  """`nnx.Conv` (kernel HWIO) that runs as a patch matmul on tiny feature maps."""

  def __call__(self, x: jax.Array) -> jax.Array:
    kh, kw = self.kernel_size
    sh, sw = self.strides
    (pt, pb), (pl, pr) = self.padding
    out_h = (x.shape[1] + pt + pb - kh) // sh + 1
    out_w = (x.shape[2] + pl + pr - kw) // sw + 1
    if out_h * out_w > _MATMUL_CONV_MAX_POSITIONS or self.feature_group_count != 1 or self.use_bias:
      return super().__call__(x)
    dtype = self.dtype or x.dtype
    patches = jax.lax.conv_general_dilated_patches(
        x.astype(dtype), (kh, kw), (sh, sw), self.padding, dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=self.precision)  # [B, H', W', Cin * kh * kw], input channel major
    kernel = self.kernel[...].astype(dtype)
    kernel = kernel.transpose(2, 0, 1, 3).reshape(-1, kernel.shape[-1])
    return jnp.dot(patches, kernel, precision=self.precision)


def _conv(cin: int, cout: int, kernel: int, stride: int, *, dtype, precision, rngs) -> nnx.Conv:
  pad = kernel // 2  # PyTorch's symmetric padding; 'SAME' would pad (2, 3) at stride 2.
  return Conv(cin, cout, (kernel, kernel), (stride, stride), padding=((pad, pad), (pad, pad)),
                  use_bias=False, dtype=dtype, precision=precision, kernel_init=_CONV_INIT,
                  rngs=rngs)


def _bn(features: int, *, dtype, rngs) -> nnx.BatchNorm:
  return nnx.BatchNorm(features, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, dtype=dtype,
                       use_fast_variance=False, rngs=rngs)


class Downsample(nnx.Module):
  """Shortcut projection: 1×1 conv (stride s, no bias) + BN (torchvision `downsample`).

  `conv` / `bn` correspond to torchvision's `downsample.0` / `downsample.1`.
  """

  def __init__(self, cin: int, cout: int, stride: int, *, dtype=None, precision=None,
               rngs: nnx.Rngs):
    self.conv = _conv(cin, cout, 1, stride, dtype=dtype, precision=precision, rngs=rngs)
    self.bn = _bn(cout, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """float[B, H, W, Cin] -> float[B, H/s, W/s, Cout]."""
    return self.bn(self.conv(x), use_running_average=not train)


class BasicBlock(nnx.Module):
  """torchvision `BasicBlock`: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

  def __init__(self, cin: int, cout: int, stride: int = 1, *, dtype=None, precision=None,
               rngs: nnx.Rngs):
    kw = dict(dtype=dtype, precision=precision, rngs=rngs)
    self.conv1 = _conv(cin, cout, 3, stride, **kw)
    self.bn1 = _bn(cout, dtype=dtype, rngs=rngs)
    self.conv2 = _conv(cout, cout, 3, 1, **kw)
    self.bn2 = _bn(cout, dtype=dtype, rngs=rngs)
    needs_projection = stride != 1 or cin != cout
    self.downsample = Downsample(cin, cout, stride, **kw) if needs_projection else None

  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """float[B, H, W, Cin] -> float[B, H/stride, W/stride, Cout]."""
    y = nnx.relu(self.bn1(self.conv1(x), use_running_average=not train))
    y = self.bn2(self.conv2(y), use_running_average=not train)
    shortcut = x if self.downsample is None else self.downsample(x, train=train)
    return nnx.relu(y + shortcut)


class ResNet18(nnx.Module):
  """ResNet-18 on NHWC images; 512-d pooled features and an optional linear head.

  Attributes:
    conv1, bn1: the 7×7/2 stem.
    layer1 … layer4: `nnx.List`s of two `BasicBlock`s each.
    fc: `nnx.Linear(512, num_classes)` or None when `num_classes == 0`.
  """

  def __init__(self, num_classes: int = 0, *, dtype: Any = None, precision: Any = None,
               rngs: nnx.Rngs):
    """Builds the network.

    Args:
      num_classes: size of the classification head; 0 = none (`__call__` returns features).
      dtype: computation dtype (e.g. jnp.bfloat16); parameters and BN statistics stay
        float32 and the pooled features are returned as float32. None = float32.
      precision: `jax.lax.Precision` for convs / fc. On GPU/TPU the default may use
        reduced-precision passes for float32; pass `'highest'` for reference features.
      rngs: initialisation keys (`params` stream).
    """
    self.num_classes = num_classes
    kw = dict(dtype=dtype, precision=precision, rngs=rngs)
    self.conv1 = _conv(3, STAGE_CHANNELS[0], 7, 2, **kw)
    self.bn1 = _bn(STAGE_CHANNELS[0], dtype=dtype, rngs=rngs)
    cin = STAGE_CHANNELS[0]
    stages = []
    for i, cout in enumerate(STAGE_CHANNELS):
      first_stride = 1 if i == 0 else 2
      blocks = [BasicBlock(cin if b == 0 else cout, cout, first_stride if b == 0 else 1, **kw)
                for b in range(BLOCKS_PER_STAGE)]
      stages.append(nnx.List(blocks))
      cin = cout
    self.layer1, self.layer2, self.layer3, self.layer4 = stages
    self.fc = (nnx.Linear(FEATURE_DIM, num_classes, dtype=dtype, precision=precision,
                          kernel_init=_FC_INIT, bias_init=_fc_bias_init, rngs=rngs)
               if num_classes else None)

  def features(self, images: jax.Array, train: bool = False) -> jax.Array:
    """Global-average-pooled backbone output (torchvision's `avgpool` + flatten).

    Args:
      images: float[B, H, W, 3], already `preprocess`ed (H, W ≥ 32 keeps every stage
        non-empty; 224 is the paper's size).
      train: BatchNorm uses (and updates) batch statistics when True, running
        statistics when False.

    Returns:
      float32[B, 512].
    """
    x = nnx.relu(self.bn1(self.conv1(images), use_running_average=not train))
    x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
      for block in stage:
        x = block(x, train=train)
    return jnp.mean(x.astype(jnp.float32), axis=(1, 2))

  def __call__(self, images: jax.Array, *, train: bool = False) -> jax.Array:
    """Logits float32[B, num_classes], or features float32[B, 512] when num_classes == 0.

    Args:
      images: float[B, H, W, 3], already `preprocess`ed.
      train: see `features`.
    """
    feats = self.features(images, train=train)
    if self.fc is None:
      return feats
    return self.fc(feats).astype(jnp.float32)


class ImageClassifier(nnx.Module):
  """ResNet-18 with a category head and, optionally, one head per latent fact."""

  def __init__(self, num_classes: int, fact_sizes: tuple[int, ...], *, rngs: nnx.Rngs, dtype=None):
    self.backbone = ResNet18(num_classes=0, dtype=dtype, rngs=rngs)
    self.head = nnx.Linear(512, num_classes, dtype=dtype, rngs=rngs)
    self.fact_heads = nnx.List([nnx.Linear(512, n, dtype=dtype, rngs=rngs) for n in fact_sizes])

  def features(self, images: jax.Array, train: bool = False) -> jax.Array:
    """uint8[B, S, S, 3] -> float32[B, 512] pooled features."""
    return self.backbone.features(preprocess(images), train=train)

  def __call__(self, images: jax.Array, train: bool = False) -> tuple[jax.Array, list[jax.Array]]:
    """uint8[B, S, S, 3] -> float32 logits [B, classes] and one float32[B, values] per fact head."""
    h = self.features(images, train)
    return self.head(h).astype(jnp.float32), [head(h).astype(jnp.float32) for head in self.fact_heads]


def build(model_config: Any, ctx: Any, *, rngs: nnx.Rngs) -> ImageClassifier:
  """`jddc.models.registry` builder: ResNet-18 with `ctx.num_classes` categories and one head per `ctx.fact_sizes`."""
  del model_config  # resnet18 has no size keys; `aux_facts` decides the task's `ctx.fact_sizes`
  return ImageClassifier(ctx.num_classes, ctx.fact_sizes, rngs=rngs, dtype=jnp.dtype(ctx.compute_dtype))
