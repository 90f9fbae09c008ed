"""Pretrained checkpoint import (Hugging Face / PyTorch layouts) into our NNX parameter trees.

The one place that knows checkpoint names. Sources (`read_checkpoint`):
  * a folder in the Hugging Face layout: `config.json` beside `model.safetensors`, a
    sharded `model.safetensors.index.json`, or `pytorch_model.bin`;
  * one state-dict file: `.safetensors`, or a PyTorch file (`.bin`, `.pt`, `.pth`, e.g.
    torchvision's `resnet18-f37072fd.pth`).
PyTorch files are read with `torch.load(..., weights_only=True)`: tensors and plain
containers only, never arbitrary pickled objects.

Architectures (`ARCHITECTURES`), each matched to our module by class:
  gpt2    HF `GPT2LMHeadModel` / `GPT2Model` -> `gpt2.GPT2` (tied LM head; `image_proj`
          is ours and keeps its initial values);
  bert    HF `BertModel`, `BertForSequenceClassification`, `BertForPreTraining` (`bert.`
          prefix; `cls.*` pretraining heads ignored; old `gamma` / `beta` names read)
          -> `bert.Bert` or `bert.BertClassifier`;
  resnet  HF `ResNetModel` / `ResNetForImageClassification` (ResNet-18 config) and
          torchvision's resnet18 state dict -> `resnet.ResNet18`.

Every checkpoint key is first brought to a canonical name (the base model's key, HF
ResNet keys as torchvision's); each of our variables names the canonical key it reads
(`Architecture.our_key`) and the layout change (PyTorch `nn.Linear` [out, in] ->
[in, out], conv OIHW -> HWIO; GPT-2's `Conv1D` is already [in, out]). A mismatch is one
`CheckpointError` that lists every missing, mis-shaped and unexpected tensor, with the
shapes expected and found; with a `config.json`, hyperparameters are compared first,
naming the config key to set.

Arrays are placed with the sharding of the variable they replace (the engine's
`RunState` placed those on the current mesh), or of the abstract variable when a model
is built from `nnx.eval_shape` with shardings (`*_from_pretrained(mesh=...)`).

A run folder of this codebase is read by `jddc.models.warm_start` (the engine's
`model.init_from` goes through `warm_start.load_pretrained`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Callable, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jddc import sharding as sharding_lib
from jddc.models import bert as bert_lib
from jddc.models import gpt2 as gpt2_lib
from jddc.models import resnet as resnet_lib

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"
PYTORCH_FILE = "pytorch_model.bin"
_PYTORCH_SUFFIXES = (".bin", ".pt", ".pth")

Path = tuple[Any, ...]


class CheckpointError(ValueError):
  """A checkpoint that cannot be read into the model; the message lists every problem."""


def mismatch_error(source: str, target: nnx.Module, missing: Sequence[str], misshaped: Sequence[str],
                    unexpected: Sequence[str], hint: str = "") -> Optional[CheckpointError]:
  """One error listing every missing, mis-shaped and unexpected variable; None when all fit."""
  if not (missing or misshaped or unexpected):
    return None
  sections = {"missing from the checkpoint": missing, "shape mismatch": misshaped,
              "unexpected in the checkpoint": unexpected}
  body = "\n".join(f"  {title} ({len(lines)}):\n" + "\n".join(f"    {line}" for line in lines)
                   for title, lines in sections.items() if lines)
  return CheckpointError(f"{source} does not fit the model ({type(target).__name__}):\n{body}{hint}")


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def _read_safetensors(path: str) -> dict[str, np.ndarray]:
  import safetensors.numpy  # pylint: disable=import-outside-toplevel
  try:
    return dict(safetensors.numpy.load_file(path))
  except TypeError:  # bfloat16: numpy has no such dtype; read through JAX (ml_dtypes)
    from safetensors import safe_open  # pylint: disable=import-outside-toplevel
    with safe_open(path, framework="flax") as f:
      return {k: np.asarray(f.get_tensor(k)) for k in f.keys()}


def _read_pytorch(path: str) -> dict[str, np.ndarray]:
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise CheckpointError(f"{path}: reading a PyTorch file needs torch (pip install torch==2.13.0), "
                          f"or convert it to safetensors") from e
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # pickle.UnpicklingError and friends: objects beyond tensors
    raise CheckpointError(f"{path}: not a plain state dict of tensors (read with weights_only=True): {e}") from e
  if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
    state = state["state_dict"]
  if not isinstance(state, Mapping):
    raise CheckpointError(f"{path}: expected a state dict (name -> tensor), found {type(state).__name__}")
  out = {}
  for key, value in state.items():
    if not isinstance(value, torch.Tensor):
      raise CheckpointError(f"{path}: {key!r} is a {type(value).__name__}, not a tensor")
    out[key] = _to_numpy(value)
  return out


def _to_numpy(value: Any) -> np.ndarray:
  """A numpy array, or a CPU torch tensor (bfloat16 widened to float32: numpy has no bfloat16)."""
  if hasattr(value, "detach"):
    value = value.detach().cpu()
    if str(value.dtype) == "torch.bfloat16":
      value = value.float()
    return value.numpy()
  return np.asarray(value)


def _checkpoint_file(path: str) -> str:
  if os.path.isfile(path):
    return path
  if not os.path.isdir(path):
    raise FileNotFoundError(f"no checkpoint at {path}")
  for name in (SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, PYTORCH_FILE):
    if os.path.isfile(os.path.join(path, name)):
      return os.path.join(path, name)
  raise FileNotFoundError(f"{path} holds none of {SAFETENSORS_FILE}, {SAFETENSORS_INDEX_FILE}, {PYTORCH_FILE}")


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """name -> numpy array of a checkpoint folder or file (module docstring); bfloat16 stays bfloat16."""
  file = _checkpoint_file(os.fspath(path))
  if file.endswith(SAFETENSORS_INDEX_FILE):
    with open(file, encoding="utf-8") as f:
      shards = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for shard in shards:
      out.update(_read_safetensors(os.path.join(os.path.dirname(file), shard)))
    return out
  if file.endswith(".safetensors"):
    return _read_safetensors(file)
  if file.endswith(_PYTORCH_SUFFIXES):
    return _read_pytorch(file)
  raise CheckpointError(f"{file}: unknown checkpoint format (expected .safetensors, {', '.join(_PYTORCH_SUFFIXES)})")


def read_hf_config(path: str | os.PathLike) -> dict:
  """The `config.json` of a checkpoint folder (or of the folder of a file); {} if there is none."""
  path = os.fspath(path)
  folder = path if os.path.isdir(path) else os.path.dirname(path)
  file = os.path.join(folder, CONFIG_FILE)
  if not os.path.isfile(file):
    return {}
  with open(file, encoding="utf-8") as f:
    return json.load(f)


def _as_hf_config(config: Mapping[str, Any] | str | os.PathLike) -> Mapping[str, Any]:
  if isinstance(config, Mapping):
    return config
  loaded = read_hf_config(config)
  if not loaded:
    raise FileNotFoundError(f"no {CONFIG_FILE} at {config}")
  return loaded


# ---------------------------------------------------------------------------
# Hugging Face config.json -> our configs
# ---------------------------------------------------------------------------

def _require(hf: Mapping[str, Any], key: str, allowed: Sequence[Any], default: Any) -> None:
  value = hf.get(key, default)
  if value not in allowed:
    raise CheckpointError(f"{CONFIG_FILE}: {key}={value!r} is not supported (supported: {list(allowed)})")


def gpt2_config_from_hf(config: Mapping[str, Any] | str | os.PathLike, **overrides) -> gpt2_lib.GPT2Config:
  """Our `GPT2Config` from a Hugging Face GPT-2 `config.json` (a dict, or its folder / file).

  Raises `CheckpointError` for variants our GPT-2 does not compute (another activation,
  untied LM head, attention scaled by layer index).
  """
  hf = _as_hf_config(config)
  _require(hf, "model_type", ("gpt2",), "gpt2")
  _require(hf, "activation_function", ("gelu_new", "gelu_pytorch_tanh"), "gelu_new")
  _require(hf, "scale_attn_weights", (True,), True)
  _require(hf, "scale_attn_by_inverse_layer_idx", (False,), False)
  _require(hf, "tie_word_embeddings", (True,), True)
  d = hf.get("n_embd", 768)
  fields = dict(vocab_size=hf.get("vocab_size", 50257), n_positions=hf.get("n_positions", 1024), d_model=d,
                n_layer=hf.get("n_layer", 12), n_head=hf.get("n_head", 12), d_ff=hf.get("n_inner") or None,
                resid_dropout=hf.get("resid_pdrop", 0.1), embd_dropout=hf.get("embd_pdrop", 0.1),
                attn_dropout=hf.get("attn_pdrop", 0.1), layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5))
  return gpt2_lib.GPT2Config(**{**fields, **overrides})


def bert_config_from_hf(config: Mapping[str, Any] | str | os.PathLike, **overrides) -> bert_lib.BertConfig:
  """Our `BertConfig` from a Hugging Face BERT `config.json` (a dict, or its folder / file)."""
  hf = _as_hf_config(config)
  _require(hf, "model_type", ("bert",), "bert")
  _require(hf, "hidden_act", ("gelu",), "gelu")
  _require(hf, "position_embedding_type", ("absolute",), "absolute")
  fields = dict(vocab_size=hf.get("vocab_size", 30522), n_positions=hf.get("max_position_embeddings", 512),
                type_vocab_size=hf.get("type_vocab_size", 2), d_model=hf.get("hidden_size", 768),
                n_layer=hf.get("num_hidden_layers", 12), n_head=hf.get("num_attention_heads", 12),
                d_ff=hf.get("intermediate_size", 3072), hidden_dropout=hf.get("hidden_dropout_prob", 0.1),
                attn_dropout=hf.get("attention_probs_dropout_prob", 0.1),
                layer_norm_eps=hf.get("layer_norm_eps", 1e-12))
  return bert_lib.BertConfig(**{**fields, **overrides})


def check_resnet18_config(config: Mapping[str, Any] | str | os.PathLike) -> None:
  """Raises `CheckpointError` unless a Hugging Face ResNet `config.json` describes ResNet-18."""
  hf = _as_hf_config(config)
  _require(hf, "model_type", ("resnet",), "resnet")
  _require(hf, "layer_type", ("basic",), "bottleneck")
  _require(hf, "depths", ([2, 2, 2, 2],), None)
  _require(hf, "hidden_sizes", ([64, 128, 256, 512],), None)
  _require(hf, "embedding_size", (64,), None)
  _require(hf, "num_channels", (3,), 3)
  _require(hf, "hidden_act", ("relu",), "relu")
  _require(hf, "downsample_in_first_stage", (False,), False)


# Our config field -> the run config key that sets it (for the error message).
_VOCAB_HINT = ("data.tokenizer=<the checkpoint folder> (its vocab.txt is the checkpoint's vocabulary) "
               "or model.vocab_size")
_GPT2_FIELDS = {"vocab_size": _VOCAB_HINT, "n_positions": "model.n_positions", "d_model": "model.d_model",
                "n_layer": "model.n_layer", "n_head": "model.n_head", "ff_dim": None, "layer_norm_eps": None}
_BERT_FIELDS = {"vocab_size": _VOCAB_HINT, "n_positions": "model.n_positions", "type_vocab_size": None,
                "d_model": "model.d_model", "n_layer": "model.n_layer", "n_head": "model.n_head",
                "d_ff": "model.d_ff", "layer_norm_eps": None}


def _config_mismatches(ours: Any, theirs: Any, fields: Mapping[str, Optional[str]]) -> list[str]:
  out = []
  for field, key in fields.items():
    a, b = getattr(ours, field), getattr(theirs, field)
    if a != b:
      fix = f"set {key}" if key else "not settable from the run config"
      out.append(f"{field}: checkpoint {b}, model {a} ({fix}; the checkpoint needs {b})")
  return out


# ---------------------------------------------------------------------------
# Architectures: canonical names and layouts
# ---------------------------------------------------------------------------

_LEAF_NAMES = {"kernel": "weight", "scale": "weight", "embedding": "weight", "bias": "bias",
               "mean": "running_mean", "var": "running_var"}


def _join(path: Path) -> str:
  *module, leaf = (str(p) for p in path)
  return ".".join(module + [_LEAF_NAMES[leaf]])


def _gpt2_key(path: Path) -> str:
  return _join(path)


def _gpt2_canonical(key: str) -> Optional[str]:
  key = key.removeprefix("transformer.")
  if re.fullmatch(r"h\.\d+\.attn\.(bias|masked_bias)", key):  # causal-mask buffers of older checkpoints
    return None
  return key


def _bert_key(path: Path) -> str:
  return _join(path[1:] if path and path[0] == "bert" else path)


def _bert_canonical(key: str) -> Optional[str]:
  key = key.removeprefix("bert.")
  if key in ("embeddings.position_ids", "embeddings.token_type_ids"):
    return None
  return re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key))


_DOWNSAMPLE_INDEX = {"conv": "0", "bn": "1"}
# HF ResNet sub-layer name -> (torchvision block layer prefix, index inside `downsample`).
_HF_RESNET_LAYER = {"convolution": ("conv", "0"), "normalization": ("bn", "1")}


def resnet_key(path: Path) -> str:
  """Our ResNet18 variable path (e.g. ('layer2', 0, 'downsample', 'bn', 'mean')) -> torchvision key."""
  module = [str(p) for p in path[:-1]]
  if module[-2:-1] == ["downsample"]:
    module[-1] = _DOWNSAMPLE_INDEX[module[-1]]
  return _join(tuple(module) + (path[-1],))


def hf_resnet_to_torchvision_key(key: str) -> str:
  """A Hugging Face ResNet key -> torchvision's name (unchanged if not HF).

  `ResNetModel` keys (`embedder.embedder.convolution.weight`,
  `encoder.stages.1.layers.0.layer.0.normalization.running_mean`,
  `encoder.stages.1.layers.0.shortcut.convolution.weight`) and
  `ResNetForImageClassification` keys (the same under `resnet.`, plus
  `classifier.1.{weight,bias}` -> `fc.*`).
  """
  parts = key.split(".")
  if parts[0] == "resnet":
    parts = parts[1:]
  if parts[:2] == ["classifier", "1"]:
    return ".".join(["fc"] + parts[2:])
  if parts[:2] == ["embedder", "embedder"] and len(parts) > 3 and parts[2] in _HF_RESNET_LAYER:
    return ".".join([_HF_RESNET_LAYER[parts[2]][0] + "1"] + parts[3:])
  if parts[:2] == ["encoder", "stages"] and len(parts) >= 8 and parts[3] == "layers":
    prefix = [f"layer{int(parts[2]) + 1}", parts[4]]
    if parts[5] == "shortcut" and parts[6] in _HF_RESNET_LAYER:
      return ".".join(prefix + ["downsample", _HF_RESNET_LAYER[parts[6]][1]] + parts[7:])
    if parts[5] == "layer" and parts[7] in _HF_RESNET_LAYER:
      name = _HF_RESNET_LAYER[parts[7]][0] + str(int(parts[6]) + 1)
      return ".".join(prefix + [name] + parts[8:])
  return ".".join(parts)


def _resnet_canonical(key: str) -> Optional[str]:
  return None if key.endswith("num_batches_tracked") else hf_resnet_to_torchvision_key(key)


@dataclasses.dataclass(frozen=True)
class Architecture:
  """How one checkpoint family maps onto our modules."""
  name: str
  classes: tuple[type, ...]                  # our modules it loads into (outermost first)
  model_types: tuple[str, ...]               # config.json `model_type`
  marker_keys: tuple[str, ...]               # canonical keys that identify a state dict
  our_key: Callable[[Path], str]             # our variable path (in the target) -> canonical key
  canonical: Callable[[str], Optional[str]]  # checkpoint key -> canonical key; None: a buffer to skip
  transpose_linear: bool                     # checkpoint Linear weights are [out, in]
  optional_heads: tuple[str, ...] = ()       # canonical prefixes a checkpoint may have and we may not
  our_extras: tuple[str, ...] = ()           # canonical prefixes we may have and a checkpoint not
  check_config: Optional[Callable[[nnx.Module, Mapping[str, Any]], list[str]]] = None
  base_prefix: str = ""                      # HF prefix of base-model keys in a model-with-head checkpoint


def _check_gpt2(target, hf):
  return _config_mismatches(target.config, gpt2_config_from_hf(hf), _GPT2_FIELDS)


def _check_bert(target, hf):
  ours = target.bert.config if isinstance(target, bert_lib.BertClassifier) else target.config
  return _config_mismatches(ours, bert_config_from_hf(hf), _BERT_FIELDS)


def _check_resnet(target, hf):
  del target
  check_resnet18_config(hf)
  return []


ARCHITECTURES = {
    "gpt2": Architecture("gpt2", (gpt2_lib.GPT2,), ("gpt2",), ("wte.weight",), _gpt2_key, _gpt2_canonical,
                         transpose_linear=False, optional_heads=("lm_head.",), our_extras=("image_proj.",),
                         check_config=_check_gpt2, base_prefix="transformer."),
    "bert": Architecture("bert", (bert_lib.BertClassifier, bert_lib.Bert), ("bert",),
                         ("embeddings.word_embeddings.weight",), _bert_key, _bert_canonical,
                         transpose_linear=True, optional_heads=("cls.", "classifier."),
                         our_extras=("classifier.",), check_config=_check_bert, base_prefix="bert."),
    "resnet": Architecture("resnet", (resnet_lib.ResNet18,), ("resnet",), ("layer1.0.conv1.weight",), resnet_key,
                           _resnet_canonical, transpose_linear=True, optional_heads=("fc.",), our_extras=("fc.",),
                           check_config=_check_resnet),
}


def _to_ours(arch: Architecture, leaf: str, value: np.ndarray) -> np.ndarray:
  if leaf == "kernel" and value.ndim == 4:  # conv OIHW -> HWIO
    return value.transpose(2, 3, 1, 0)
  if leaf == "kernel" and value.ndim == 2 and arch.transpose_linear:
    return value.T
  return value


def _checkpoint_shape(arch: Architecture, leaf: str, shape: tuple[int, ...]) -> tuple[int, ...]:
  """Our shape in the checkpoint's layout (for error messages)."""
  if leaf == "kernel" and len(shape) == 4:
    return (shape[3], shape[2], shape[0], shape[1])
  if leaf == "kernel" and len(shape) == 2 and arch.transpose_linear:
    return shape[::-1]
  return tuple(shape)


def detect_architecture(state_dict: Mapping[str, Any], hf_config: Mapping[str, Any]) -> Architecture:
  """The architecture of a checkpoint: `config.json`'s `model_type`, else its key names."""
  model_type = hf_config.get("model_type")
  if model_type:
    for arch in ARCHITECTURES.values():
      if model_type in arch.model_types:
        return arch
    raise CheckpointError(f"model_type {model_type!r} is not supported; supported: "
                          f"{[t for a in ARCHITECTURES.values() for t in a.model_types]}")
  for arch in ARCHITECTURES.values():
    names = {arch.canonical(k) for k in state_dict}
    if any(m in names for m in arch.marker_keys):
      return arch
  raise CheckpointError(f"cannot tell the architecture of a state dict with keys {sorted(state_dict)[:5]}...; "
                        f"supported: {sorted(ARCHITECTURES)}")


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class ImportReport:
  """What an import did."""
  source: str
  architecture: str
  target: str                                 # path of the loaded module in the model ("" = the model)
  imported: int = 0                           # arrays
  values: int = 0                             # numbers
  kept: list[str] = dataclasses.field(default_factory=list)     # our variables left at their init
  ignored: list[str] = dataclasses.field(default_factory=list)  # checkpoint keys not used
  kept_because: str = "not in the checkpoint"                   # why `kept` kept their initial values
  notes: list[str] = dataclasses.field(default_factory=list)    # warnings for the log line

  def summary(self) -> str:
    """One line for the log."""
    where = f" into {self.target}" if self.target else ""
    modules = sorted({k.rsplit(".", 1)[0] for k in self.kept})
    kept = f"; kept initial values ({self.kept_because}): {', '.join(modules)}" if modules else ""
    notes = "".join(f"; NOTE: {note}" for note in self.notes)
    return (f"init_from {self.source}: imported {self.imported} {self.architecture} arrays "
            f"({self.values:,} values){where}{kept}{notes}")


def _dotted(path: Path) -> str:
  return ".".join(str(p) for p in path)


def _find_target(model: nnx.Module, arch: Architecture) -> tuple[Path, nnx.Module]:
  found = [(path, m) for path, m in nnx.iter_graph(model) if isinstance(m, arch.classes)]
  if not found:
    raise CheckpointError(f"the model ({type(model).__name__}) has no {'/'.join(c.__name__ for c in arch.classes)} "
                          f"to load a {arch.name} checkpoint into")
  depth = min(len(p) for p, _ in found)
  outermost = [(p, m) for p, m in found if len(p) == depth]
  if len(outermost) > 1:
    raise CheckpointError(f"the model has several {arch.name} modules ({[_dotted(p) for p, _ in outermost]}); "
                          f"load into one of them")
  return outermost[0]


def _variables(module: nnx.Module) -> list[tuple[Path, nnx.Variable]]:
  return [(path, v) for path, v in nnx.iter_graph(module) if isinstance(v, (nnx.Param, nnx.BatchStat))]


def place_like(value: np.ndarray, like: Any, dtype: Any) -> jax.Array:
  """`value` as `dtype`, with the sharding of `like` (an array or ShapeDtypeStruct), if it has one."""
  value = np.asarray(value).astype(dtype)
  sharding = getattr(like, "sharding", None)
  if sharding is None:
    return jnp.asarray(value)
  return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def _shape(shape: Sequence[int]) -> str:
  return "[" + ", ".join(str(s) for s in shape) + "]"


def _canonical_names(arch: Architecture, state_dict: Mapping[str, Any], source: str) -> tuple[dict[str, str], list]:
  """(canonical name -> checkpoint key, checkpoint keys of buffers to skip)."""
  canonical: dict[str, str] = {}
  ignored = []
  for key in state_dict:
    name = arch.canonical(key)
    if name is None:
      ignored.append(key)
    elif name in canonical:
      raise CheckpointError(f"{source}: {canonical[name]!r} and {key!r} are the same tensor ({name})")
    else:
      canonical[name] = key
  return canonical, ignored


def load_state_dict(model: nnx.Module, state_dict: Mapping[str, Any], *, hf_config: Optional[Mapping[str, Any]] = None,
                    source: str = "state dict") -> ImportReport:
  """Overwrites, in place, the variables of `model` that a checkpoint provides.

  The module of the checkpoint's architecture inside `model` (the outermost one; `model`
  itself, or e.g. the `backbone` of an image classifier) is loaded; our variables the
  reference model does not have (`Architecture.our_extras`, and everything outside that
  module) keep their values and are listed in the report. Each array is cast to the
  variable's dtype and placed with its sharding.

  Args:
    model: a concrete module, or an abstract one (`nnx.eval_shape`) whose variables hold
      `jax.ShapeDtypeStruct`s (with a sharding, or None for the default device).
    state_dict: checkpoint name -> array (numpy or torch CPU tensors).
    hf_config: the checkpoint's `config.json`; when given, hyperparameters are checked.
    source: named in messages.

  Returns:
    An `ImportReport`.

  Raises:
    CheckpointError: hyperparameters differ, or tensors are missing, mis-shaped or
      unexpected; the message lists all of them.
  """
  hf_config = hf_config or {}
  state_dict = {k: _to_numpy(v) for k, v in state_dict.items()}
  arch = detect_architecture(state_dict, hf_config)
  prefix, target = _find_target(model, arch)
  if hf_config and arch.check_config is not None:
    problems = arch.check_config(target, hf_config)
    if problems:
      raise CheckpointError(f"{source} does not fit the model ({type(target).__name__}):\n  " + "\n  ".join(problems))

  canonical, ignored = _canonical_names(arch, state_dict, source)
  report = ImportReport(source=source, architecture=arch.name, target=_dotted(prefix))
  heads = arch.optional_heads + arch.our_extras
  prefixed = bool(arch.base_prefix) and any(k.startswith(arch.base_prefix) for k in state_dict)
  as_named = lambda name: (arch.base_prefix + name if prefixed and not name.startswith(heads) else name)
  missing, misshaped, updates, used = [], [], [], set()
  for path, var in _variables(target):
    name = arch.our_key(path)
    leaf = str(path[-1])
    if name not in canonical:
      if any(name.startswith(p) for p in arch.our_extras):
        report.kept.append(_dotted(prefix + path))
      else:
        missing.append(f"{as_named(name)} {_shape(_checkpoint_shape(arch, leaf, var.shape))}")
      continue
    key = canonical[name]
    used.add(name)
    value = np.asarray(state_dict[key])
    converted = _to_ours(arch, leaf, value)
    if converted.shape != tuple(var.shape):
      misshaped.append(f"{key}: checkpoint {_shape(value.shape)}, model needs "
                       f"{_shape(_checkpoint_shape(arch, leaf, var.shape))}")
      continue
    updates.append((var, converted))
  unexpected = [f"{canonical[n]} {_shape(np.shape(state_dict[canonical[n]]))}" for n in sorted(canonical)
                if n not in used and not any(n.startswith(p) for p in arch.optional_heads)]
  error = mismatch_error(source, target, missing, misshaped, unexpected)
  if error is not None:
    raise error
  if arch.name == "gpt2" and "lm_head.weight" in canonical:
    head, wte = np.asarray(state_dict[canonical["lm_head.weight"]]), np.asarray(state_dict[canonical["wte.weight"]])
    if head.shape != wte.shape or not np.array_equal(head, wte):
      raise CheckpointError(f"{source}: lm_head.weight differs from wte.weight; our GPT-2 ties them")

  for var, value in updates:
    var.set_value(place_like(value, var.get_value(), var.dtype))
    report.imported += 1
    report.values += int(value.size)
  report.ignored = sorted(ignored + [canonical[n] for n in canonical if n not in used])
  in_target = {id(v) for _, v in _variables(target)}
  report.kept += [_dotted(p) for p, v in _variables(model) if id(v) not in in_target]
  return report


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
  """(state dict, config.json or {}) of a checkpoint folder or file."""
  return read_state_dict(path), read_hf_config(path)


def load_pretrained(model: nnx.Module, path: str | os.PathLike) -> ImportReport:
  """`load_state_dict` from a Hugging Face / PyTorch checkpoint folder or file."""
  state_dict, hf_config = read_checkpoint(path)
  return load_state_dict(model, state_dict, hf_config=hf_config, source=os.fspath(path))


# ---------------------------------------------------------------------------
# Building our models from checkpoints
# ---------------------------------------------------------------------------

def _abstract(init_fn: Callable[[], nnx.Module], mesh: Optional[jax.sharding.Mesh],
              rules: sharding_lib.Rules) -> nnx.Module:
  """The module with `ShapeDtypeStruct` values: sharded on `mesh`, or for the default device."""
  if mesh is None:
    return nnx.eval_shape(init_fn)
  return nnx.merge(*sharding_lib.abstract_state(init_fn, mesh, rules))


def _build(init_fn, state_dict, hf_config, source, mesh, rules) -> nnx.Module:
  model = _abstract(init_fn, mesh, rules)
  report = load_state_dict(model, state_dict, hf_config=hf_config, source=source)
  if report.kept:
    raise CheckpointError(f"{source} has no values for {report.kept}: build the model (e.g. "
                          f"jddc.sharding.init_sharded) and call load_pretrained to keep their initial values")
  return model


def _source(path_or_state_dict) -> tuple[dict, dict, str]:
  if isinstance(path_or_state_dict, Mapping):
    return dict(path_or_state_dict), {}, "state dict"
  state_dict, hf_config = read_checkpoint(path_or_state_dict)
  return state_dict, hf_config, os.fspath(path_or_state_dict)


def gpt2_from_pretrained(path: str | os.PathLike, *, mesh: Optional[jax.sharding.Mesh] = None,
                         rules: sharding_lib.Rules = sharding_lib.DEFAULT_RULES, **overrides) -> gpt2_lib.GPT2:
  """Our `GPT2` built from a Hugging Face GPT-2 folder (config from its `config.json`).

  Args:
    path: the checkpoint folder.
    mesh: place the parameters by the logical axis rules on this mesh; None: default device.
    rules: logical axis rules.
    **overrides: `GPT2Config` fields (e.g. dropout rates, dtype).
  """
  state_dict, hf_config, source = _source(path)
  config = gpt2_config_from_hf(hf_config, **overrides)
  return _build(lambda: gpt2_lib.GPT2(config, rngs=nnx.Rngs(0)), state_dict, hf_config, source, mesh, rules)


def bert_from_pretrained(path: str | os.PathLike, *, num_labels: int = 0, mesh: Optional[jax.sharding.Mesh] = None,
                         rules: sharding_lib.Rules = sharding_lib.DEFAULT_RULES, **overrides):
  """Our `Bert` (num_labels 0) or `BertClassifier` from a Hugging Face BERT folder.

  A `BertForSequenceClassification` checkpoint with `num_labels` classes fills the
  classifier too; `cls.*` (pretraining heads) are ignored.
  """
  state_dict, hf_config, source = _source(path)
  config = bert_config_from_hf(hf_config, **overrides)
  if num_labels:
    dropout = hf_config.get("classifier_dropout")
    init_fn = lambda: bert_lib.BertClassifier(config, num_labels, classifier_dropout=dropout, rngs=nnx.Rngs(0))
  else:
    init_fn = lambda: bert_lib.Bert(config, rngs=nnx.Rngs(0))
  return _build(init_fn, state_dict, hf_config, source, mesh, rules)


def resnet18_from_pretrained(path_or_state_dict: str | os.PathLike | Mapping[str, Any], *, num_classes: int = 0,
                             dtype: Any = None, precision: Any = None,
                             mesh: Optional[jax.sharding.Mesh] = None) -> resnet_lib.ResNet18:
  """Our `ResNet18` from a Hugging Face ResNet-18 folder, a torchvision file, or a state dict.

  Args:
    path_or_state_dict: a folder (`ResNetModel` / `ResNetForImageClassification`), a
      torchvision `resnet18` state-dict file, or such a state dict (name -> array, HF or
      torchvision names).
    num_classes: 0 = features only (a checkpoint's `fc` is ignored); otherwise the
      checkpoint's `fc` must have this many classes.
    dtype, precision: passed to `ResNet18`.
    mesh: place the (replicated) variables on this mesh; None: default device.
  """
  state_dict, hf_config, source = _source(path_or_state_dict)
  init_fn = lambda: resnet_lib.ResNet18(num_classes, dtype=dtype, precision=precision, rngs=nnx.Rngs(0))
  return _build(init_fn, state_dict, hf_config, source, mesh, sharding_lib.DEFAULT_RULES)
