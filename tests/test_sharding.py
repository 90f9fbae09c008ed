"""Meshes, logical-axis rules, and a sharded GPT-2 on 8 fake CPU devices (in a subprocess)."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import pytest
from flax import nnx
from jax.sharding import AbstractMesh, PartitionSpec as P

from jddc import sharding
from jddc.models import gpt2


def _abstract_mesh(data=1, fsdp=1, model=1) -> AbstractMesh:
  return AbstractMesh((data, fsdp, model), sharding.MESH_AXES)


def test_logical_to_spec_rules():
  mesh = _abstract_mesh(data=2, fsdp=2, model=2)
  assert sharding.logical_to_spec(("batch", "length", "embed"), mesh) == P(("data", "fsdp"), None, None)
  assert sharding.logical_to_spec(("vocab", "embed"), mesh) == P("model", "fsdp")
  assert sharding.logical_to_spec(("embed", "mlp"), mesh, shape=(64, 256)) == P("fsdp", "model")
  assert sharding.logical_to_spec(("embed", "mlp"), mesh, shape=(63, 256)) == P(None, "model")
  assert sharding.logical_to_spec((None, "kv"), mesh) == P(None, None)
  no_fsdp = _abstract_mesh(data=4, model=2)
  assert sharding.logical_to_spec(("batch", "heads"), no_fsdp) == P("data", "model")
  assert sharding.logical_to_spec(("embed",), no_fsdp) == P(None)
  with pytest.raises(ValueError, match="no rule"):
    sharding.logical_to_spec(("embd",), mesh)
  custom = (("batch", "data"), ("embed", "data"))
  assert sharding.logical_to_spec(("batch", "embed"), mesh, custom) == P("data", None)


def test_make_mesh():
  n = jax.device_count()
  mesh = sharding.make_mesh()
  assert mesh.axis_names == sharding.MESH_AXES and dict(mesh.shape) == {"data": n, "fsdp": 1, "model": 1}
  assert all(t == jax.sharding.AxisType.Auto for t in mesh.axis_types)
  assert dict(sharding.make_mesh({"model": -1}).shape)["model"] == n
  with pytest.raises(ValueError, match="unknown mesh axes"):
    sharding.make_mesh({"tensor": 1})
  with pytest.raises(ValueError, match="needs"):
    sharding.make_mesh({"data": n + 1})


def test_state_shardings_without_a_mesh_at_build():
  init = lambda: gpt2.GPT2(gpt2.tiny(vocab_size=96), rngs=nnx.Rngs(0))
  mesh = sharding.make_mesh()
  graphdef, abstract = sharding.abstract_state(init, mesh)
  leaves = jax.tree.leaves(abstract)
  assert leaves and all(isinstance(x, jax.ShapeDtypeStruct) and x.sharding.mesh == mesh for x in leaves)
  shardings = sharding.state_shardings(nnx.state(nnx.eval_shape(init)), mesh)
  specs = jax.tree.leaves(shardings)
  assert len(specs) == len(leaves) and all(isinstance(s, jax.sharding.NamedSharding) for s in specs)
  cache = nnx.merge(graphdef, abstract).init_cache(2, 8)
  cache_shardings = sharding.logical_to_sharding(cache.logical_axes(), mesh)
  assert jax.tree.structure(cache_shardings) == jax.tree.structure(cache)


_SNIPPET = textwrap.dedent("""
  import json
  import jax, jax.numpy as jnp, numpy as np
  from flax import nnx
  from jddc import decoding, sharding
  from jddc.models import gpt2

  assert jax.device_count() == 8, jax.devices()
  cfg = gpt2.tiny(vocab_size=96, image_feature_dim=8)
  init = lambda: gpt2.GPT2(cfg, rngs=nnx.Rngs(0))
  rs = np.random.RandomState(0)
  batch = dict(tokens=rs.randint(0, 96, (8, 16)).astype(np.int32),
               loss_mask=(rs.rand(8, 16) < 0.7).astype(np.int32),
               image_features=rs.randn(8, 2, 8).astype(np.float32),
               image_positions=np.tile(np.array([[2, -1]], np.int32), (8, 1)))
  batch_axes = dict(tokens=("batch", "length"), loss_mask=("batch", "length"),
                    image_features=("batch", None, None), image_positions=("batch", None))

  def make_loss(graphdef):
    def loss(state, batch):
      logits = nnx.merge(graphdef, state)(batch["tokens"], image_features=batch["image_features"],
                                          image_positions=batch["image_positions"])
      total, count = gpt2.lm_loss(logits, batch["tokens"], batch["loss_mask"])
      return total / count, logits
    return jax.jit(loss)

  out = {}
  for name, axes in [("dp_tp", {"data": 4, "model": 2}), ("fsdp_tp", {"data": 2, "fsdp": 2, "model": 2})]:
    mesh = sharding.make_mesh(axes)
    model = sharding.init_sharded(init, mesh)
    graphdef, state = nnx.split(model)
    specs = {}
    for path, x in jax.tree.leaves_with_path(nnx.to_pure_dict(state)):
      spec = list(x.sharding.spec) + [None] * (x.ndim - len(x.sharding.spec))
      specs[jax.tree_util.keystr(path)] = [list(e) if isinstance(e, tuple) else e for e in spec]
    sharded_batch = jax.device_put(batch, sharding.logical_to_sharding(batch_axes, mesh))
    loss, logits = make_loss(graphdef)(state, sharded_batch)
    host_state = jax.device_get(state)
    ref_loss, ref_logits = make_loss(graphdef)(host_state, batch)
    entry = dict(specs=specs, loss=float(loss), ref_loss=float(ref_loss),
                 logits_diff=float(jnp.abs(logits - ref_logits).max()),
                 logits_sharding=str(logits.sharding.spec),
                 batch_spec=[list(e) if isinstance(e, tuple) else e for e in sharded_batch["tokens"].sharding.spec])
    if name == "dp_tp":
      lengths = np.array([16, 3, 9, 12, 5, 16, 1, 7], np.int32)
      kw = dict(image_features=sharded_batch["image_features"], image_positions=sharded_batch["image_positions"])
      gen, _ = decoding.gpt2_generate(model, sharded_batch["tokens"], jax.device_put(lengths), max_new_tokens=6,
                                      eos_id=None, **kw)
      ref_gen, _ = decoding.gpt2_generate((graphdef, host_state), batch["tokens"], lengths, max_new_tokens=6,
                                          eos_id=None, image_features=batch["image_features"],
                                          image_positions=batch["image_positions"])
      entry["generate_equal"] = bool((np.asarray(gen) == np.asarray(ref_gen)).all())
    out[name] = entry
  print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def eight_devices():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  proc = subprocess.run([sys.executable, "-c", _SNIPPET], env=env, cwd=root, capture_output=True, text=True,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr[-4000:]
  line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
  return json.loads(line[len("RESULT "):])


_EXPECTED = {
    "dp_tp": {
        "['wte']['embedding']": ["model", None],
        "['wpe']['embedding']": [None, None],
        "['h'][0]['attn']['c_attn']['kernel']": [None, "model"],
        "['h'][0]['attn']['c_attn']['bias']": ["model"],
        "['h'][1]['attn']['c_proj']['kernel']": ["model", None],
        "['h'][1]['attn']['c_proj']['bias']": [None],
        "['h'][0]['mlp']['c_fc']['kernel']": [None, "model"],
        "['h'][0]['mlp']['c_proj']['kernel']": ["model", None],
        "['h'][0]['ln_1']['scale']": [None],
        "['ln_f']['bias']": [None],
        "['image_proj']['kernel']": [None, None],
    },
    "fsdp_tp": {
        "['wte']['embedding']": ["model", "fsdp"],
        "['wpe']['embedding']": [None, "fsdp"],
        "['h'][0]['attn']['c_attn']['kernel']": ["fsdp", "model"],
        "['h'][1]['attn']['c_proj']['kernel']": ["model", "fsdp"],
        "['h'][0]['mlp']['c_fc']['bias']": ["model"],
        "['h'][0]['ln_2']['bias']": ["fsdp"],
        "['image_proj']['kernel']": [None, "fsdp"],
        "['image_proj']['bias']": ["fsdp"],
    },
}


@pytest.mark.parametrize("mesh_name", ["dp_tp", "fsdp_tp"])
def test_sharded_gpt2_matches_single_device(eight_devices, mesh_name):
  result = eight_devices[mesh_name]
  for path, spec in _EXPECTED[mesh_name].items():
    assert result["specs"][path] == spec, path
  assert len(result["specs"]) == 2 + 2 * 12 + 2 + 2
  assert result["batch_spec"][0] == ("data" if mesh_name == "dp_tp" else ["data", "fsdp"])
  assert result["logits_diff"] <= 1e-5
  assert abs(result["loss"] - result["ref_loss"]) <= 1e-5
  if mesh_name == "dp_tp":
    assert result["generate_equal"]


def test_config_mesh_rules_place_the_parameters():
  """`config.mesh.rules` is what places a parameter: the defaults are `DEFAULT_RULES`, and a rule
  changed in the config changes the sharding of the variables it names (and only theirs)."""
  from configs import common
  from jddc import configuration
  config = configuration.load_config("configs/response_text.py:tiny")
  assert sharding.rules_from_config(config.mesh) == sharding.DEFAULT_RULES
  assert common.MESH_AXES == sharding.MESH_AXES and common.LOGICAL_AXES == sharding.LOGICAL_AXES
  mesh = _abstract_mesh(data=2, fsdp=2, model=2)
  abstract = nnx.state(nnx.eval_shape(lambda: gpt2.GPT2(gpt2.tiny(vocab_size=96), rngs=nnx.Rngs(0))))
  specs = lambda rules: {jax.tree_util.keystr(p): s.spec for p, s in jax.tree_util.tree_flatten_with_path(
      sharding.state_shardings(abstract, mesh, rules))[0]}
  default = specs(sharding.rules_from_config(config.mesh))
  with config.unlocked():
    config.mesh.rules.embed = ""  # no fsdp on the embedding dimension
    config.mesh.rules.mlp = "model,fsdp"
  configuration.validate(config, common.reference(config))
  changed = specs(sharding.rules_from_config(config.mesh))
  from jddc import run_identity  # placement only: a resumed run may change the rules
  trained = run_identity.as_json(configuration.load_config("configs/response_text.py:tiny"))
  assert run_identity.differences(trained, run_identity.as_json(config), run_identity.RUNTIME_KEYS) == []
  wte, c_fc = "['wte']['embedding'].value", "['h'][0]['mlp']['c_fc']['kernel'].value"
  assert default[wte] == P("model", "fsdp") and changed[wte] == P("model", None)
  assert default[c_fc] == P("fsdp", "model") and changed[c_fc] == P(None, ("model", "fsdp"))
  names = {jax.tree_util.keystr(p): v.get_metadata().get("out_sharding") or () for p, v in
           jax.tree_util.tree_flatten_with_path(abstract, is_leaf=lambda x: isinstance(x, nnx.Variable))[0]}
  names = {k + ".value": v for k, v in names.items()}
  touched = {k for k, n in names.items() if "embed" in n or "mlp" in n}
  assert {k for k in default if default[k] != changed[k]} <= touched and len(touched) < len(default)
  assert all(default[k] == changed[k] for k in default if k not in touched)

  with config.unlocked():
    config.mesh.rules.embed = "fsdp,tensor"
  with pytest.raises(configuration.ConfigError, match=r"mesh.rules.embed: 'fsdp,tensor' names mesh axes \['tensor'\]"):
    configuration.validate(config, common.reference(config))
  with pytest.raises(ValueError, match="unknown mesh axes"):
    sharding.rules_from_config(config.mesh)
