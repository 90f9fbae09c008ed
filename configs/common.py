"""Shared defaults and the size variants of every config.

Sizes: `tiny` (tests: seconds), `small` (the default: a CPU run of minutes), `base` (the
paper's sizes: GPT-2 12 layers x 768, ResNet-18 at 224 px). Nothing else changes between a
2-core CPU and a TPU pod; the mesh is `config.mesh` (-1: the rest of the devices).
"""

from __future__ import annotations

import os

import ml_collections

SIZES = ("tiny", "small", "base")
#: the public corpora beside the repository (../shared/data); nothing of them is copied in
SHARED_DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
CORPUS_SIZE = {"tiny": "tiny", "small": "default", "base": "default"}


def check_size(size: str) -> str:
  size = size or "small"
  if size not in SIZES:
    raise ValueError(f"unknown size {size!r}: expected one of {SIZES} (e.g. --config=configs/x.py:tiny)")
  return size


def base_config(task: str, size: str) -> ml_collections.ConfigDict:
  """Everything but the model: data, optimizer, training, evaluation, mesh."""
  size = check_size(size)
  c = ml_collections.ConfigDict()
  c.task = task
  c.size = size
  c.seed = 0

  c.data = ml_collections.ConfigDict()
  c.data.release = ""  # a release folder; "" = the embedded corpus below, generated on first use
  c.data.corpus_size = CORPUS_SIZE[size]
  c.data.corpus_seed = 0
  c.data.cache_dir = "data_cache"
  c.data.on_error = "raise"  # or "skip": count and report bad input
  c.data.tokenizer = "sentencepiece"  # or a folder / vocab.txt of a BERT-vocab checkpoint
  c.data.vocab_size = {"tiny": 1500, "small": 3000, "base": 8000}[size]
  c.data.max_len = {"tiny": 96, "small": 128, "base": 512}[size]
  c.data.max_response_len = {"tiny": 24, "small": 40, "base": 64}[size]
  c.data.max_images = 4
  c.data.image_size = {"tiny": 32, "small": 64, "base": 224}[size]
  c.data.worker_count = 0
  c.data.corpus = "jddc"  # "jddc" (the release above) or a public corpus of jddc.data.corpora.READERS
  c.data.corpus_path = ""  # that corpus's folder (its TFDS manual directory), e.g. ../shared/data/csds

  c.optim = ml_collections.ConfigDict()
  c.optim.lr = {"tiny": 3e-3, "small": 1e-3, "base": 1.5e-4}[size]
  c.optim.warmup_steps = {"tiny": 5, "small": 100, "base": 4000}[size]
  c.optim.end_lr_fraction = 0.0
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8
  c.optim.weight_decay = 0.01
  c.optim.clip = 1.0

  c.train = ml_collections.ConfigDict()
  c.train.steps = {"tiny": 40, "small": 1000, "base": 100_000}[size]
  c.train.batch_size = {"tiny": 8, "small": 16, "base": 64}[size]
  c.train.log_every = {"tiny": 10, "small": 50, "base": 100}[size]
  c.train.eval_every = {"tiny": 20, "small": 500, "base": 5000}[size]
  c.train.checkpoint_every = {"tiny": 20, "small": 250, "base": 2000}[size]
  c.train.keep_checkpoints = 2

  c.eval = ml_collections.ConfigDict()
  c.eval.split = "test"  # the final evaluation; model selection always uses "valid"
  c.eval.max_examples = {"tiny": 32, "small": 600, "base": 0}[size]  # 0: all
  c.eval.batch_size = {"tiny": 16, "small": 64, "base": 64}[size]
  c.eval.metric = ""  # the validation metric that picks the best checkpoint (set per config)

  c.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "model": 1})
  return c


def gpt2(size: str, image_feature_dim: int) -> ml_collections.ConfigDict:
  """GPT-2 sizes; `vocab_size` 0 means "from the tokenizer"."""
  dims = {"tiny": (2, 64, 2), "small": (3, 192, 4), "base": (12, 768, 12)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "gpt2", "vocab_size": 0, "n_layer": dims[0], "d_model": dims[1], "n_head": dims[2],
      "n_positions": {"tiny": 128, "small": 256, "base": 1024}[size],
      "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],
      "image_feature_dim": image_feature_dim,
      "init_from": "",  # a Hugging Face GPT-2 folder (e.g. uer/gpt2-chinese-cluecorpussmall); first run only
  })


def decoding(size: str) -> ml_collections.ConfigDict:
  """Greedy by default (deterministic scores); GPT2-chitchat samples top-k 8 (BASELINES.md §3)."""
  return ml_collections.ConfigDict({
      "method": "greedy", "top_k": 8, "top_p": 0.0, "temperature": 1.0,
      "max_new_tokens": {"tiny": 16, "small": 40, "base": 64}[check_size(size)],
  })


def image_features(size: str) -> ml_collections.ConfigDict:
  """Where the frozen ResNet-18 features of multimodal rows come from (BASELINES.md §0)."""
  return ml_collections.ConfigDict({
      "extractor_config": "configs/image_category.py",  # trained on first use if no checkpoint below
      "checkpoint": "",  # a ResNet-18 run folder (ours) to use instead
      "size": check_size(size),  # the extractor config's size variant
      "dim": 512,
  })


def resnet18() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({
      "name": "resnet18", "aux_facts": True,
      "init_from": "",  # a Hugging Face ResNet-18 folder or a torchvision resnet18 .pth; first run only
  })


def bert(size: str) -> ml_collections.ConfigDict:
  """BERT sizes (base = bert-base-chinese); `vocab_size` 0 means "from the tokenizer"."""
  dims = {"tiny": (2, 64, 2, 128), "small": (4, 256, 4, 1024), "base": (12, 768, 12, 3072)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "bert", "vocab_size": 0, "n_layer": dims[0], "d_model": dims[1], "n_head": dims[2], "d_ff": dims[3],
      "n_positions": {"tiny": 128, "small": 512, "base": 512}[size],
      "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],
      "init_from": "",  # a Hugging Face BERT folder (e.g. bert-base-chinese); first run only
  })


MODELS = {"gpt2": lambda size: gpt2(size, 0), "resnet18": lambda size: resnet18()}
MODELS["bert"] = bert


def transresnet(size: str, image_feature_dim: int = 512) -> ml_collections.ConfigDict:
  """TransResNet (BASELINES.md §1): a 2-layer, 300-wide Transformer text encoder (ParlAI's
  sizes at base), hidden_dim 300, image features through BatchNorm -> Linear; 0: text only."""
  dims = {"tiny": (2, 64, 2, 128, 64), "small": (2, 256, 2, 1024, 256), "base": (2, 300, 2, 1200, 300)}
  n_layer, d_model, n_head, d_ff, hidden = dims[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "transresnet", "vocab_size": 0, "n_layer": n_layer, "d_model": d_model, "n_head": n_head,
      "d_ff": d_ff, "n_positions": {"tiny": 128, "small": 512, "base": 512}[size],
      "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],  # inside the Transformer
      "head_dropout": {"tiny": 0.0, "small": 0.2, "base": 0.2}[size],  # LinearWrapper / image encoder
      "hidden_dim": hidden, "image_feature_dim": image_feature_dim,
  })


MODELS["transresnet"] = transresnet
OPTIONAL_SECTIONS = {"features": image_features, "decode": decoding}


def reference(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The schema a config is validated against: every allowed key, with its type."""
  ref = base_config(config.get("task", ""), config.get("size", "small"))
  model = config.get("model", {}).get("name", "")
  if model not in MODELS:
    raise ValueError(f"model.name: unknown model {model!r}; known: {sorted(MODELS)}")
  ref.model = MODELS[model](ref.size)
  for name, make in OPTIONAL_SECTIONS.items():
    if name in config:
      setattr(ref, name, make(ref.size))
  return ref
