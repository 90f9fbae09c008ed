"""Checkpoint import: HF folders (safetensors, .bin), torchvision files, errors, meshes, sizes, `init_from`."""

import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc.models import convert, gpt2, resnet
from tests import helpers

VOCAB = 96


def _hf_gpt2(vocab_size: int, seed: int = 0):
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  cfg = gpt2.tiny()
  hf_config = transformers.GPT2Config(
      vocab_size=vocab_size, n_positions=cfg.n_positions, n_embd=cfg.d_model, n_layer=cfg.n_layer, n_head=cfg.n_head,
      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
  torch.manual_seed(seed)
  hf = transformers.GPT2LMHeadModel(hf_config).eval()
  with torch.no_grad():
    for p in hf.parameters():
      p.add_(torch.randn_like(p) * 0.2)
  return hf


@pytest.fixture(scope="module")
def gpt2_checkpoint(tmp_path_factory):
  """A tiny random `GPT2LMHeadModel` saved with `save_pretrained` (safetensors)."""
  hf = _hf_gpt2(VOCAB)
  path = tmp_path_factory.mktemp("gpt2")
  hf.save_pretrained(path)
  return hf, str(path)


def _params(model) -> dict[str, np.ndarray]:
  leaves = jax.tree.leaves_with_path(nnx.state(model, nnx.Param))
  return {jax.tree_util.keystr(p): np.asarray(v) for p, v in leaves}


def test_gpt2_folder_parity(gpt2_checkpoint):
  torch = pytest.importorskip("torch")
  hf, path = gpt2_checkpoint
  assert {"config.json", "model.safetensors"} <= set(os.listdir(path))
  model = convert.gpt2_from_pretrained(path)
  assert (model.config.vocab_size, model.config.n_layer, model.config.d_model) == (VOCAB, 2, 64)
  tokens = np.random.RandomState(0).randint(0, VOCAB, (2, 33))
  with torch.no_grad():
    ref = hf(torch.tensor(tokens)).logits.numpy()
  graphdef, state = nnx.split(model)
  ours = np.asarray(jax.jit(lambda s, t: nnx.merge(graphdef, s)(t))(state, jnp.asarray(tokens)))
  diff = np.abs(ours - ref).max()
  print(f"GPT-2 max |ours - HF| logits = {diff:.2e}")
  assert diff <= 1e-4 and np.abs(ref).std() > 0.1


def test_pytorch_bin_is_read_with_weights_only(gpt2_checkpoint, tmp_path):
  torch = pytest.importorskip("torch")
  hf, path = gpt2_checkpoint
  # transformers 5 writes only safetensors (`safe_serialization` is gone), so the .bin of an
  # older checkpoint is written as it did: torch.save of the state dict, tied lm_head included.
  shutil.copy(os.path.join(path, "config.json"), tmp_path / "config.json")
  state_dict = hf.state_dict()
  assert "lm_head.weight" in state_dict
  torch.save(state_dict, tmp_path / "pytorch_model.bin")
  from_bin = _params(convert.gpt2_from_pretrained(str(tmp_path)))
  from_safetensors = _params(convert.gpt2_from_pretrained(path))
  assert from_bin.keys() == from_safetensors.keys()
  for key in from_bin:
    np.testing.assert_array_equal(from_bin[key], from_safetensors[key], err_msg=key)

  untied = dict(state_dict, **{"lm_head.weight": state_dict["lm_head.weight"] + 1})
  torch.save(untied, tmp_path / "pytorch_model.bin")
  with pytest.raises(convert.CheckpointError, match="lm_head.weight differs from wte.weight"):
    convert.gpt2_from_pretrained(str(tmp_path))
  # Anything but tensors and plain containers is refused, never unpickled.
  torch.save({"wte.weight": torch.zeros(2), "hook": convert.ImportReport("x", "y", "z")}, tmp_path / "evil.bin")
  with pytest.raises(convert.CheckpointError, match="weights_only"):
    convert.read_state_dict(str(tmp_path / "evil.bin"))


def test_errors_list_every_offending_tensor(gpt2_checkpoint, tmp_path):
  import safetensors.numpy
  _, path = gpt2_checkpoint
  state_dict = convert.read_state_dict(path)
  del state_dict["transformer.h.1.ln_2.weight"], state_dict["transformer.wpe.weight"]
  state_dict["transformer.h.0.mlp.c_fc.weight"] = np.zeros((64, 200), np.float32)
  state_dict["transformer.h.2.ln_1.weight"] = np.zeros(64, np.float32)
  safetensors.numpy.save_file(state_dict, str(tmp_path / "model.safetensors"))
  shutil.copy(os.path.join(path, "config.json"), tmp_path / "config.json")
  with pytest.raises(convert.CheckpointError) as info:
    convert.gpt2_from_pretrained(str(tmp_path))
  message = str(info.value)
  print(message)
  assert "missing from the checkpoint (2)" in message
  assert "transformer.h.1.ln_2.weight [64]" in message and "transformer.wpe.weight [128, 64]" in message
  assert "transformer.h.0.mlp.c_fc.weight: checkpoint [64, 200], model needs [64, 256]" in message
  assert "unexpected in the checkpoint (1):\n    transformer.h.2.ln_1.weight [64]" in message

  # Hyperparameters that differ name the run config key to set.
  small = nnx.eval_shape(lambda: gpt2.GPT2(gpt2.tiny(vocab_size=50, n_layer=1), rngs=nnx.Rngs(0)))
  with pytest.raises(convert.CheckpointError) as info:
    convert.load_pretrained(small, path)
  message = str(info.value)
  assert f"vocab_size: checkpoint {VOCAB}, model 50 (set data.tokenizer=" in message
  assert "n_layer: checkpoint 2, model 1 (set model.n_layer" in message
  with pytest.raises(convert.CheckpointError, match="no GPT2"):
    convert.load_pretrained(nnx.eval_shape(lambda: resnet.ResNet18(rngs=nnx.Rngs(0))), path)


def test_bert_pretraining_checkpoint_with_old_names():
  """`BertForPreTraining`-style keys: `bert.` prefix, `cls.*` heads, LayerNorm `gamma` / `beta`."""
  from jddc.models import bert
  cfg = bert.tiny(vocab_size=VOCAB, n_layer=1)
  abstract = nnx.eval_shape(lambda: bert.Bert(cfg, rngs=nnx.Rngs(0)))
  rs = np.random.RandomState(0)
  state_dict = {"bert.embeddings.position_ids": np.arange(128)[None], "cls.predictions.bias": np.zeros(VOCAB)}
  for path, var in nnx.iter_graph(abstract):
    if isinstance(var, nnx.Param):
      name = "bert." + convert.ARCHITECTURES["bert"].our_key(path)
      name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
      shape = var.shape[::-1] if path[-1] == "kernel" else var.shape
      state_dict[name] = rs.normal(size=shape).astype(np.float32)
  report = convert.load_state_dict(abstract, state_dict)
  assert report.imported == 23 and not report.kept
  assert report.ignored == ["bert.embeddings.position_ids", "cls.predictions.bias"]
  np.testing.assert_array_equal(abstract.embeddings.LayerNorm.scale[...], state_dict["bert.embeddings.LayerNorm.gamma"])
  np.testing.assert_array_equal(abstract.encoder.layer[0].attention.self.query.kernel[...],
                                state_dict["bert.encoder.layer.0.attention.self.query.weight"].T)


def test_resnet_hf_folder_and_torchvision_file(tmp_path):
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  torch.manual_seed(0)
  hf = transformers.ResNetModel(transformers.ResNetConfig(
      embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2], layer_type="basic",
      downsample_in_first_stage=False)).eval()
  g = torch.Generator().manual_seed(1)
  with torch.no_grad():
    for m in hf.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
        m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
        m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))
  hf.save_pretrained(tmp_path / "hf")
  images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
  with torch.no_grad():
    ref = hf(pixel_values=torch.from_numpy(images.transpose(0, 3, 1, 2).copy())).pooler_output.numpy()[:, :, 0, 0]
  model = convert.resnet18_from_pretrained(str(tmp_path / "hf"))
  graphdef, state = nnx.split(model)
  forward = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
  ours = np.asarray(forward(state, jnp.asarray(images)))
  diff = np.abs(ours - ref).max()
  print(f"ResNet-18 max |ours - HF| pooled features = {diff:.2e}")
  assert diff <= 1e-4 and np.abs(ref).max() > 0.1

  # A torchvision-layout file (names as `torchvision.models.resnet18().state_dict()`, fc included).
  torchvision = {convert.hf_resnet_to_torchvision_key(k): v for k, v in hf.state_dict().items()}
  assert "layer2.0.downsample.1.running_var" in torchvision and "conv1.weight" in torchvision
  torchvision["fc.weight"], torchvision["fc.bias"] = torch.randn(1000, 512), torch.randn(1000)
  torch.save(torchvision, tmp_path / "resnet18.pth")
  from_file = convert.resnet18_from_pretrained(str(tmp_path / "resnet18.pth"))  # fc ignored: features
  np.testing.assert_array_equal(np.asarray(forward(nnx.state(from_file), jnp.asarray(images))), ours)
  with_fc = convert.resnet18_from_pretrained(str(tmp_path / "resnet18.pth"), num_classes=1000)
  np.testing.assert_array_equal(with_fc.fc.kernel[...], torchvision["fc.weight"].numpy().T)


def test_resnet_into_the_image_classifier_backbone():
  """The image_category row's model: the checkpoint fills `backbone`; the heads keep their init."""
  from jddc.tasks.image_category import ImageClassifier
  model = nnx.eval_shape(lambda: ImageClassifier(15, (3, 4), rngs=nnx.Rngs(0)))
  rs = np.random.RandomState(0)
  arch = convert.ARCHITECTURES["resnet"]
  draw = lambda path, var: rs.normal(size=convert._checkpoint_shape(arch, path[-1], var.shape)).astype(np.float32)
  state_dict = {convert.resnet_key(path): draw(path, var)
                for path, var in nnx.iter_graph(model.backbone) if isinstance(var, nnx.Variable)}
  state_dict["layer1.0.bn1.num_batches_tracked"] = np.zeros((), np.int64)
  report = convert.load_state_dict(model, state_dict)
  assert report.target == "backbone" and report.imported == 100  # 20 convs, 20 BatchNorms x 4
  assert report.ignored == ["layer1.0.bn1.num_batches_tracked"]
  assert sorted({k.rsplit(".", 1)[0] for k in report.kept}) == ["fact_heads.0", "fact_heads.1", "head"]
  np.testing.assert_array_equal(model.backbone.layer4[1].bn2.var[...], state_dict["layer4.1.bn2.running_var"])


def test_parameter_counts_equal_the_public_checkpoints():
  """uer/gpt2-chinese-cluecorpussmall and torchvision resnet18, counted on both sides without memory."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  count = lambda module: sum(x.size for x in jax.tree.leaves(nnx.state(module, nnx.Param)))
  uer = {"vocab_size": 21128, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
         "activation_function": "gelu_new", "model_type": "gpt2"}
  ours_gpt2 = count(nnx.eval_shape(lambda: gpt2.GPT2(convert.gpt2_config_from_hf(uer), rngs=nnx.Rngs(0))))
  resnet_config = dict(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
                       layer_type="basic", downsample_in_first_stage=False)
  ours_resnet = count(nnx.eval_shape(lambda: resnet.ResNet18(rngs=nnx.Rngs(0))))
  ours_resnet_fc = count(nnx.eval_shape(lambda: resnet.ResNet18(1000, rngs=nnx.Rngs(0))))
  with torch.device("meta"):
    ref_gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(**uer))
    ref_resnet = transformers.ResNetModel(transformers.ResNetConfig(**resnet_config))
    ref_resnet_fc = transformers.ResNetForImageClassification(transformers.ResNetConfig(num_labels=1000,
                                                                                        **resnet_config))
  n = lambda m: sum(p.numel() for p in m.parameters())  # tied lm_head counted once
  print(f"GPT-2 {ours_gpt2:,} vs {n(ref_gpt2):,}; ResNet-18 {ours_resnet:,} vs {n(ref_resnet):,}, "
        f"with fc {ours_resnet_fc:,} vs {n(ref_resnet_fc):,}")
  assert ours_gpt2 == n(ref_gpt2) == 102_068_736
  assert ours_resnet == n(ref_resnet) == 11_176_512
  assert ours_resnet_fc == n(ref_resnet_fc) == 11_689_512


_MESH_CHECK = """
import json, sys
import jax, numpy as np
from flax import nnx
from jddc import sharding
from jddc.models import convert, gpt2
path = sys.argv[1]
mesh = sharding.make_mesh({"fsdp": 2, "model": 4})
model = convert.gpt2_from_pretrained(path, mesh=mesh)
wte = model.wte.embedding[...]
state_dict = convert.read_state_dict(path)
# load_pretrained into a model initialised on the mesh keeps each array's sharding.
built = sharding.init_sharded(lambda: gpt2.GPT2(model.config, rngs=nnx.Rngs(0)), mesh)
before = model.h[0].mlp.c_fc.kernel[...].sharding
convert.load_pretrained(built, path)
print(json.dumps({"wte_spec": list(wte.sharding.spec), "devices": len(wte.sharding.device_set),
                  "wte_equal": bool(np.array_equal(np.asarray(wte), state_dict["transformer.wte.weight"])),
                  "c_fc_spec": list(built.h[0].mlp.c_fc.kernel[...].sharding.spec),
                  "same_sharding": built.h[0].mlp.c_fc.kernel[...].sharding == before}))
"""


def test_import_places_arrays_on_the_mesh(gpt2_checkpoint):
  _, path = gpt2_checkpoint
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
  out = subprocess.run([sys.executable, "-c", _MESH_CHECK, path], env=env, capture_output=True, text=True,
                       timeout=600, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert out.returncode == 0, out.stderr[-3000:]
  report = json.loads(out.stdout.strip().splitlines()[-1])
  assert report == {"wte_spec": ["model", "fsdp"], "devices": 8, "wte_equal": True,
                    "c_fc_spec": ["fsdp", "model"], "same_sharding": True}


def _train_chars(release_dir: str) -> list[str]:
  from jddc.data import release
  r = release.read_release(release_dir, check_images=False)
  return sorted({c for s in r.sessions.values() for m in s.messages if m.text for c in m.text.lower()})


def test_init_from_in_the_engine(tiny_release, tmp_path, capsys):
  """The tiny response row with `init_from` a tiny `GPT2LMHeadModel` over the tokenizer's vocab."""
  torch = pytest.importorskip("torch")
  from jddc import configuration, train
  cache = tmp_path / "data_cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  vocab_dir, checkpoint = tmp_path / "vocab", tmp_path / "gpt2"
  vocab_dir.mkdir()
  entries = helpers.write_test_vocab(vocab_dir / "vocab.txt", _train_chars(tiny_release))
  hf = _hf_gpt2(len(entries), seed=3)
  hf.save_pretrained(checkpoint)

  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.data.tokenizer = str(vocab_dir)
    config.model.init_from = str(checkpoint)
  task, mesh, run = train.setup(config, str(tmp_path / "run"))
  ckpt = train._checkpointer(task, config, str(tmp_path / "run"))
  data = iter(task.train_dataset(0, 1))
  capsys.readouterr()
  start, state = train.initial_state(run, ckpt, data)
  printed = capsys.readouterr().out.strip().splitlines()
  assert start == 0 and len(printed) == 1
  values = sum(p.numel() for p in hf.parameters())
  assert printed[0] == f"init_from {checkpoint}: imported 28 gpt2 arrays ({values:,} values)"
  np.testing.assert_array_equal(run.model(state).wte.embedding[...], hf.transformer.wte.weight.detach().numpy())

  # The first training step's loss is the HF model's loss on the same batch.
  batch = next(data)
  with torch.no_grad():
    logits = hf(torch.tensor(batch["tokens"], dtype=torch.long)).logits.numpy()
  total, count = gpt2.lm_loss(jnp.asarray(logits), jnp.asarray(batch["tokens"]), jnp.asarray(batch["loss_mask"]))
  with jax.set_mesh(mesh):
    state, metrics = train.make_train_step(task, run)(state, train.to_global(batch, mesh), jnp.int32(1))
  loss, _ = jax.device_get(metrics["loss"])
  with capsys.disabled():
    print(f"first-step loss: ours {float(loss):.6f}, HF {float(total / count):.6f}")
  assert abs(float(loss) - float(total / count)) <= 1e-4
  ckpt.save(1, state, data)
  ckpt.wait()

  # A resumed run restores its checkpoint and never reads init_from again (it is gone now).
  shutil.rmtree(checkpoint)
  start, restored = train.initial_state(run, ckpt, iter(task.train_dataset(0, 1)))
  assert start == 1 and "init_from" not in capsys.readouterr().out
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  ckpt.close()

  # A checkpoint whose vocabulary is not the tokenizer's says which config key to set.
  hf.save_pretrained(checkpoint)
  with config.unlocked():
    config.model.vocab_size = 50
  _, _, run = train.setup(config, str(tmp_path / "other"))
  with pytest.raises(convert.CheckpointError, match=f"vocab_size: checkpoint {len(entries)}, model 50 "
                                                    r"\(set data.tokenizer="):
    run.load_pretrained(run.abstract(), str(checkpoint))  # fails before any array is read
