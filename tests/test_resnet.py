"""ResNet-18: parity with Hugging Face `ResNetModel`, torchvision layout, BatchNorm, training.

Hugging Face's ResNet-18 config is checked layer by layer against torchvision's resnet18
(torchvision itself cannot be installed here); its tensors, renamed by hand to
torchvision's key names, stand in for a torchvision checkpoint.
"""

import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jddc.models import convert, resnet

BN_LEAVES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
IMAGE_SIZE = 64
# Spatial side of each BN layer's input for IMAGE_SIZE inputs (stem, then stages 1-4).
BN_SIDE = {"bn1": 32, "layer1": 16, "layer2": 8, "layer3": 4, "layer4": 2}
NUM_CLASSES = 3  # every head in this file: one compiled forward serves them all


def _hf_config(**kw):
  transformers = pytest.importorskip("transformers")
  return transformers.ResNetConfig(
      embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
      layer_type="basic", downsample_in_first_stage=False, **kw)


def _randomise_batchnorm(model, seed):
  """Non-trivial affine parameters and running statistics in every BatchNorm2d."""
  torch = pytest.importorskip("torch")
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in model.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        c = m.num_features
        m.weight.copy_(0.5 + torch.rand(c, generator=g))
        m.bias.copy_(0.1 * torch.randn(c, generator=g))
        m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
        m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
  return model


def _numpy_state_dict(model):
  return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _hf_to_torchvision_by_hand(sd):
  """Renames HF `ResNetModel` keys to torchvision's (written independently of resnet.py)."""
  out = {"conv1.weight": sd["embedder.embedder.convolution.weight"]}
  out.update({f"bn1.{l}": sd[f"embedder.embedder.normalization.{l}"] for l in BN_LEAVES})
  for s in range(4):
    for b in range(2):
      hf, tv = f"encoder.stages.{s}.layers.{b}", f"layer{s + 1}.{b}"
      for i in range(2):
        out[f"{tv}.conv{i + 1}.weight"] = sd[f"{hf}.layer.{i}.convolution.weight"]
        for l in BN_LEAVES:
          out[f"{tv}.bn{i + 1}.{l}"] = sd[f"{hf}.layer.{i}.normalization.{l}"]
      if s > 0 and b == 0:
        out[f"{tv}.downsample.0.weight"] = sd[f"{hf}.shortcut.convolution.weight"]
        for l in BN_LEAVES:
          out[f"{tv}.downsample.1.{l}"] = sd[f"{hf}.shortcut.normalization.{l}"]
  assert len(out) == len(sd) == 120  # torchvision resnet18: 122 keys, 2 of them fc
  return out


@functools.partial(jax.jit, static_argnames=("graphdef", "train"))
def _apply(graphdef, state, images, train=False):
  model = nnx.merge(graphdef, state)
  out = model(images, train=train)
  return out, nnx.state(model)


def _run(model, images, train=False):
  """Jitted forward; in train mode the updated BatchNorm statistics are written back."""
  graphdef, state = nnx.split(model)
  out, new_state = _apply(graphdef, state, jnp.asarray(images), train=train)
  if train:
    nnx.update(model, new_state)
  return np.asarray(out)


def _images(seed, n=4, size=IMAGE_SIZE):
  return np.random.default_rng(seed).normal(size=(n, size, size, 3)).astype(np.float32)


def _to_torch(images):
  torch = pytest.importorskip("torch")
  return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


@pytest.fixture(scope="module")
def hf_model():
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  torch.manual_seed(0)
  return _randomise_batchnorm(transformers.ResNetModel(_hf_config()), seed=1).eval()


@pytest.fixture(scope="module")
def hf_state(hf_model):
  return _numpy_state_dict(hf_model)


def _hf_features(hf_model, images, train=False):
  torch = pytest.importorskip("torch")
  hf_model.train(train)
  with torch.no_grad():
    out = hf_model(pixel_values=_to_torch(images)).pooler_output
  hf_model.eval()
  return out.reshape(out.shape[0], -1).numpy()


def test_hf_resnet18_config_is_torchvision_resnet18(hf_model, hf_state):
  torch = pytest.importorskip("torch")
  # torchvision resnet18: (in, out, kernel, stride, padding) of every conv, by its key.
  spec = {"conv1": (3, 64, 7, 2, 3)}
  cin = 64
  for s, cout in enumerate((64, 128, 256, 512)):
    stride = 1 if s == 0 else 2
    spec[f"layer{s + 1}.0.conv1"] = (cin, cout, 3, stride, 1)
    spec[f"layer{s + 1}.0.conv2"] = (cout, cout, 3, 1, 1)
    spec[f"layer{s + 1}.1.conv1"] = spec[f"layer{s + 1}.1.conv2"] = (cout, cout, 3, 1, 1)
    if s > 0:
      spec[f"layer{s + 1}.0.downsample.0"] = (cin, cout, 1, 2, 0)
    cin = cout
  rename = {k: v for k, v in zip(hf_state, _hf_to_torchvision_by_hand(hf_state))}
  seen = {}
  for name, m in hf_model.named_modules():
    if isinstance(m, torch.nn.Conv2d):
      assert m.bias is None and m.dilation == (1, 1) and m.groups == 1
      tv = convert.hf_resnet_to_torchvision_key(name + ".weight")[:-len(".weight")]
      seen[tv] = (m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0])
    elif isinstance(m, torch.nn.BatchNorm2d):
      assert (m.eps, m.momentum, m.affine) == (1e-5, 0.1, True)
  assert seen == spec
  assert sorted(rename) == sorted(hf_state)
  pool = hf_model.embedder.pooler
  assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)
  assert isinstance(hf_model.pooler, torch.nn.AdaptiveAvgPool2d)
  # Same parameter count as torchvision resnet18 without fc (11,689,512 - 513,000).
  ours = nnx.eval_shape(lambda: resnet.ResNet18(rngs=nnx.Rngs(0)))
  n_params = sum(x.size for x in jax.tree.leaves(nnx.state(ours, nnx.Param)))
  assert n_params == sum(p.numel() for p in hf_model.parameters()) == 11_176_512


def test_parity_with_hf_resnet_model(hf_model, hf_state):
  images = _images(seed=2)
  expected = _hf_features(hf_model, images)
  model = convert.resnet18_from_pretrained(hf_state)
  got = _run(model, images)
  assert got.shape == (4, 512) and got.dtype == np.float32
  diff = np.abs(got - expected).max()
  print(f"max |ours - HF| = {diff:.2e} (features max {np.abs(expected).max():.2f})")
  assert diff <= 1e-4
  assert np.abs(expected).max() > 0.1  # not a degenerate comparison


def test_torchvision_layout_gives_identical_features(hf_state):
  tv_state = _hf_to_torchvision_by_hand(hf_state)
  images = _images(seed=3)
  from_hf = _run(convert.resnet18_from_pretrained(hf_state), images)
  from_tv = _run(convert.resnet18_from_pretrained(tv_state), images)
  np.testing.assert_array_equal(from_tv, from_hf)

  rng = np.random.default_rng(4)
  w = rng.normal(size=(NUM_CLASSES, 512)).astype(np.float32)
  b = rng.normal(size=(NUM_CLASSES,)).astype(np.float32)
  model = convert.resnet18_from_pretrained({**tv_state, "fc.weight": w, "fc.bias": b},
                                           num_classes=NUM_CLASSES)
  np.testing.assert_allclose(_run(model, images), from_tv @ w.T + b, rtol=1e-5, atol=1e-4)


def test_hf_classification_head_maps_to_fc():
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  torch.manual_seed(5)
  hf = _randomise_batchnorm(transformers.ResNetForImageClassification(
      _hf_config(num_labels=NUM_CLASSES)), seed=6).eval()
  images = _images(seed=7)
  with torch.no_grad():
    expected = hf(pixel_values=_to_torch(images)).logits.numpy()
  model = convert.resnet18_from_pretrained(_numpy_state_dict(hf), num_classes=NUM_CLASSES)
  np.testing.assert_allclose(_run(model, images), expected, atol=1e-4)


def test_loader_rejects_bad_state_dicts(hf_state):
  tv_state = _hf_to_torchvision_by_hand(hf_state)
  missing = dict(tv_state)
  del missing["layer3.0.downsample.1.running_var"]
  with pytest.raises(convert.CheckpointError, match=r"missing[^\n]*\n\s+layer3.0.downsample.1.running_var \[256\]"):
    convert.resnet18_from_pretrained(missing)
  with pytest.raises(convert.CheckpointError, match=r"unexpected[^\n]*\n\s+layer5.0.conv1.weight \[1\]"):
    convert.resnet18_from_pretrained({**tv_state, "layer5.0.conv1.weight": np.zeros(1)})
  bad = {**tv_state, "conv1.weight": np.zeros((64, 3, 3, 3), np.float32)}
  with pytest.raises(convert.CheckpointError, match=r"conv1.weight: checkpoint \[64, 3, 3, 3\], model needs \[64, 3, 7, 7\]"):
    convert.resnet18_from_pretrained(bad)
  with pytest.raises(convert.CheckpointError, match=r"fc\.kernel"):  # a head to train: build, then load_pretrained
    convert.resnet18_from_pretrained(tv_state, num_classes=NUM_CLASSES)


def test_preprocess():
  px = np.array([[[[255, 0, 128]]]], np.uint8)  # uint8[1, 1, 1, 3]
  got = np.asarray(resnet.preprocess(px))
  want = (np.array([1.0, 0.0, 128 / 255]) - resnet.IMAGENET_MEAN) / resnet.IMAGENET_STD
  assert got.dtype == np.float32 and got.shape == (1, 1, 1, 3)
  np.testing.assert_allclose(got[0, 0, 0], want, rtol=1e-6)


def test_train_mode_batchnorm_matches_torch(hf_model, hf_state):
  """Train mode: batch statistics, running stats move 10% toward the batch's."""
  images = _images(seed=8)
  model = convert.resnet18_from_pretrained(hf_state)
  eval_out = _run(model, images)
  old = {"mean": np.asarray(model.bn1.mean[...]), "var": np.asarray(model.bn1.var[...])}
  act = np.asarray(model.conv1(jnp.asarray(images)), np.float64)  # bn1's input
  train_out = _run(model, images, train=True)
  assert np.abs(train_out - eval_out).max() > 1e-2  # batch stats, not running stats

  # bn1 by hand: running = 0.9 * running + 0.1 * batch (Flax: biased variance).
  np.testing.assert_allclose(model.bn1.mean[...], 0.9 * old["mean"] + 0.1 * act.mean((0, 1, 2)),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(model.bn1.var[...], 0.9 * old["var"] + 0.1 * act.var((0, 1, 2)),
                             rtol=1e-5)
  # In eval mode the model now uses the new statistics.
  assert np.abs(_run(model, images) - eval_out).max() > 1e-3

  # Every layer against PyTorch's train-mode forward.
  torch_model = copy.deepcopy(hf_model)
  expected = _hf_features(torch_model, images, train=True)
  np.testing.assert_allclose(train_out, expected, atol=1e-4)
  torch_state = _hf_to_torchvision_by_hand(_numpy_state_dict(torch_model))
  old_state = _hf_to_torchvision_by_hand(hf_state)
  ours = {convert.resnet_key(p): np.asarray(v[...]) for p, v in nnx.iter_graph(model)
          if isinstance(v, nnx.BatchStat)}
  assert len(ours) == 40
  for key, value in ours.items():
    if key.endswith("running_mean"):
      np.testing.assert_allclose(value, torch_state[key], rtol=1e-4, atol=1e-5, err_msg=key)
    else:  # PyTorch updates with the unbiased variance, Flax with the biased one.
      n = len(images) * BN_SIDE[key.split(".")[0]] ** 2
      torch_batch_var = (torch_state[key] - 0.9 * old_state[key]) / 0.1
      want = 0.9 * old_state[key] + 0.1 * torch_batch_var * (n - 1) / n
      np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-5, err_msg=key)


def test_eval_mode_is_deterministic_and_per_example(hf_state):
  model = convert.resnet18_from_pretrained(hf_state)
  a = _images(seed=9)
  b = a.copy()
  b[1:] = _images(seed=10, n=3)
  out_a = _run(model, a)
  np.testing.assert_array_equal(_run(model, a), out_a)
  np.testing.assert_allclose(_run(model, b)[0], out_a[0], rtol=0, atol=1e-6)
  # Contrast: in train mode row 0 depends on the other rows (batch statistics).
  train_model = convert.resnet18_from_pretrained(hf_state)
  row_a = _run(train_model, a, train=True)[0]
  row_b = _run(train_model, b, train=True)[0]
  assert np.abs(row_a - row_b).max() > 1e-3


def _shapes_dataset(n=48, size=32, seed=0):
  """uint8[n, size, size, 3] images of 3 classes (red square, green disc, blue bar)."""
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.uint8)
  labels = np.arange(n) % 3
  yy, xx = np.mgrid[:size, :size]
  for img, label in zip(images, labels):
    cy, cx = rng.integers(10, size - 10, size=2)
    if label == 0:
      mask = (abs(yy - cy) < 7) & (abs(xx - cx) < 7)
    elif label == 1:
      mask = (yy - cy) ** 2 + (xx - cx) ** 2 < 49
    else:
      mask = (abs(yy - cy) < 3) & (abs(xx - cx) < 10)
    img[mask] = np.roll(np.array([220, 30, 30]), label) + rng.integers(-20, 20, 3)
  return images, labels


def test_smoke_training_with_pure_jitted_step():
  """30 Adam steps on balanced minibatches of 6 of the 48 images (3.75 epochs)."""
  images, labels = _shapes_dataset()
  x = np.asarray(resnet.preprocess(images))  # numpy: minibatch gathers stay on the host
  y = labels
  # Jitted, with an RBG key: eager threefry initialisers compile once per kernel shape
  # (~10 s for ResNet-18 on 2 cores); this takes ~2 s.
  model = nnx.jit(lambda: resnet.ResNet18(
      num_classes=NUM_CLASSES, rngs=nnx.Rngs(jax.random.key(0, impl="rbg"))))()

  def eval_loss(model):  # mean cross-entropy over all 48 images, in numpy
    logits = _run(model, x).astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()

  initial_eval_loss = eval_loss(model)
  graphdef, params, stats, rest = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  assert not jax.tree.leaves(rest)  # Params and BatchStats are the whole state
  tx = optax.adam(3e-4)
  opt_state = jax.jit(tx.init)(params)  # jitted: eager zeros_like compiles per shape
  stats0 = stats

  @jax.jit
  def train_step(params, stats, opt_state, x, y):
    def loss_fn(params):
      # copy=True: fresh Variables in the grad trace, so BatchNorm may update them.
      m = nnx.merge(graphdef, params, stats, copy=True)
      logits = m(x, train=True)
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return loss, nnx.state(m, nnx.BatchStat)
    (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_stats, opt_state, loss

  rng = np.random.default_rng(0)
  by_class = np.arange(len(labels)).reshape(-1, 3).T  # int[3, 16]: indices of each class
  losses = []
  while len(losses) < 30:
    # One epoch: 8 balanced minibatches of 6 (2 per class) keep batch statistics stable.
    epoch = np.stack([rng.permutation(c).reshape(8, 2) for c in by_class], 1).reshape(8, 6)
    for idx in epoch[:30 - len(losses)]:
      params, stats, opt_state, loss = train_step(params, stats, opt_state, x[idx], y[idx])
      losses.append(float(loss))
  print("losses:", " ".join(f"{l:.3f}" for l in losses))
  assert np.mean(losses[-6:]) < 0.5 * losses[0]
  # Running statistics were threaded through the pure step and moved.
  moved = jax.tree.map(lambda a, b: np.abs(np.asarray(a) - np.asarray(b)).max(), stats, stats0)
  assert min(jax.tree.leaves(moved)) > 0
  # Written back, they serve eval mode: the loss on all 48 images falls there too.
  nnx.update(model, params, stats)
  final_eval_loss = eval_loss(model)
  accuracy = (_run(model, x).argmax(-1) == labels).mean()
  print(f"eval loss {initial_eval_loss:.3f} -> {final_eval_loss:.3f}, accuracy {accuracy:.2f}")
  assert final_eval_loss < 0.5 * initial_eval_loss
  assert accuracy > 0.9
