"""`train.compute_dtype` reaches every trainable model; the model registry builds each config's model.

For every (task, model) pair of the trainable configs of `configs/`, one config at `:tiny` on the
embedded corpus (the multimodal one where there is one: its graph is the text twin's plus the
image path) builds its model through `jddc.models.registry` and computes one training loss on
one real batch in float32 and in bfloat16, from the same float32 parameters. Multimodal rows
read random image features (the feature extractor is another test's subject). The other
configs (text twins, public corpora) run the same model code, which is checked instead.
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from configs import common
from jddc import configuration, features
from jddc.data import release as release_lib
from jddc.models import registry
from jddc.tasks import base, get_task

# bf16 keeps 8 bits of mantissa (a relative rounding of 2^-9 per operation). Through the
# layers and scan steps of these tiny models the loss at initialisation moves by well under
# 1% (see the printed figures); 5% leaves room for that without letting through a loss or
# softmax computed in bf16 over a large vocabulary, or a NaN.
RELATIVE_TOLERANCE = 0.05


def _configs() -> list[str]:
  return [os.path.splitext(os.path.basename(p))[0] for p in configuration.available_configs()]


def _load(name: str):
  return configuration.load_config(f"configs/{name}.py:tiny")


def _trainable(public: bool) -> list[str]:
  names = []
  for name in _configs():
    config = _load(name)
    if common.TASKS[config.task].trainable and (config.data.corpus != "jddc") == public:
      names.append(name)
  return names


def _twin(config) -> tuple:
  return config.task, config.model.name, config.model.get("image_feature_dim", 0) > 0


def _covering() -> list[str]:
  """One embedded-corpus config per (task, model.name) pair, the multimodal one where there is one."""
  chosen: dict[tuple, tuple[bool, str]] = {}
  for name in _trainable(public=False):
    task, model, multimodal = _twin(_load(name))
    if (task, model) not in chosen or multimodal and not chosen[task, model][0]:
      chosen[task, model] = (multimodal, name)
  return sorted(name for _, name in chosen.values())


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  return str(cache)


def _random_features(config):
  """Random float32 features of every image of the release, in place of the extractor's table."""
  r = release_lib.read_release(base.release_dir(config), check_images=False)
  names = sorted({m.image for s in r.sessions.values() for m in s.messages if m.is_image})
  values = np.random.default_rng(0).standard_normal((len(names), config.features.dim)).astype(np.float32)
  return {n: i for i, n in enumerate(names)}, values


def _dot_dtypes(jaxpr) -> set[str]:
  """The operand dtypes of every matmul and convolution in a jaxpr, sub-jaxprs (scan, jit) included."""
  found = set()
  for eqn in jaxpr.eqns:
    if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
      found.update(str(v.aval.dtype) for v in eqn.invars)
    for param in eqn.params.values():
      for sub in param if isinstance(param, (list, tuple)) else (param,):
        if isinstance(sub, jax.extend.core.ClosedJaxpr):
          found |= _dot_dtypes(sub.jaxpr)
        elif isinstance(sub, jax.extend.core.Jaxpr):
          found |= _dot_dtypes(sub)
  return found


def _loss_value(out) -> jax.Array:
  """The scalar training loss of `Task.loss`'s (loss, metrics), divided as the engine divides it."""
  return base.divide_loss(out[0]).astype(jnp.float32)


def _graphdef(task, dtype: str):
  with task.config.unlocked():
    task.config.train.compute_dtype = dtype
  return nnx.split(nnx.eval_shape(lambda: task.make_model(nnx.Rngs(params=0, dropout=1))))[0]


@pytest.mark.parametrize("name", _covering())
def test_every_trainable_config_computes_in_bfloat16(name, data_cache, tmp_path):
  config = _load(name)
  with config.unlocked():
    config.data.cache_dir = data_cache
  task = get_task(config.task)(config, str(tmp_path))
  if features.reads_image_features(config):
    task.feature_table = _random_features(config)
  task.prepare()
  batch = {k: jnp.asarray(v) for k, v in next(iter(task.train_dataset(0, 1))).items()}
  rng = jax.random.key(0)
  # One set of float32 parameters, initialised as the engine does (under jit), for both dtypes.
  state = jax.jit(lambda: nnx.state(task.make_model(nnx.Rngs(params=0, dropout=1))))()
  assert {str(x.dtype) for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)} == {"float32"}
  losses, dots = {}, {}
  for dtype in ("float32", "bfloat16"):
    graphdef = _graphdef(task, dtype)
    loss_fn = lambda s, b, r: _loss_value(task.loss(nnx.merge(graphdef, s, copy=True), b, r))  # noqa: E731
    dots[dtype] = _dot_dtypes(jax.make_jaxpr(loss_fn)(state, batch, rng).jaxpr)
    losses[dtype] = float(jax.jit(loss_fn)(state, batch, rng))
  f32, bf16 = losses["float32"], losses["bfloat16"]
  relative = abs(bf16 - f32) / abs(f32)
  print(f"{name}: float32 loss {f32:.6f}, bfloat16 {bf16:.6f}, relative difference {relative:.2e}; "
        f"matmul dtypes {sorted(dots['bfloat16'])}")
  assert np.isfinite(f32) and np.isfinite(bf16)
  assert dots["float32"] == {"float32"}, f"float32 compute has {dots['float32']} matmuls"
  assert "bfloat16" in dots["bfloat16"], f"{name}: no matmul in bfloat16 ({dots['bfloat16']})"
  # (The losses themselves may agree: the Pointer-Generator's 1e-4 initial weights give logits so
  # small that its softmaxes are uniform to float32 precision in both dtypes.)
  assert relative < RELATIVE_TOLERANCE


def test_every_trainable_config_runs_a_model_tested_above():
  covered = {_twin(_load(name)) for name in _covering()}
  others = [name for name in _trainable(public=False) + _trainable(public=True) if name not in _covering()]
  assert _trainable(public=True), "expected public-corpus configs (response_jddc2019, discourse_stac, ...)"
  for name in others:
    task, model, multimodal = _twin(_load(name))
    assert (task, model, True) in covered or (task, model, multimodal) in covered, f"{name}: not covered above"


def test_every_task_model_is_registered_and_trainable_as_its_task():
  for task, spec in common.TASKS.items():
    for model in spec.models:
      assert model in registry.MODELS, f"task {task!r} lists unknown model {model!r}"
      assert registry.MODELS[model].trainable == spec.trainable, (task, model)
  for name in _configs():
    config = _load(name)
    assert config.model.name in common.TASKS[config.task].models
    assert registry.schema(config.model.name, "tiny").keys() == config.model.keys(), name


def test_validation_refuses_a_model_of_another_task_before_jax_is_imported():
  """`task=response` with `model=bert()`: refused by `configuration.validate`, in a process without JAX."""
  script = (
      "import sys\n"
      "from jddc import configuration\n"
      "from configs import common\n"
      "config = configuration.load_config('configs/response_text.py:tiny')\n"
      "with config.unlocked():\n"
      "  config.model = common.bert('tiny')\n"
      "try:\n"
      "  configuration.validate(config, common.reference(config))\n"
      "except configuration.ConfigError as e:\n"
      "  print(e)\n"
      "print('jax imported' if 'jax' in sys.modules else 'no jax')\n")
  out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       cwd=configuration.REPO_ROOT).stdout
  assert "model.name: task 'response' runs model 'gpt2', not 'bert'" in out
  assert out.strip().endswith("no jax"), out


def test_untrainable_models_have_no_builder_and_say_so():
  with pytest.raises(ValueError, match="'lead' has nothing to train"):
    registry.builder("lead")
  with pytest.raises(configuration.ConfigError, match="unknown model 'gpt3'"):
    registry.get("gpt3")
  with pytest.raises(ValueError, match="compute_dtype"):
    registry.ModelContext(compute_dtype="float16")
