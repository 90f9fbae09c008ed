"""The model registry: every `model.name`, its config schema and its builder.

Importing this module imports no JAX and no model code, so configs are validated
(`configs/common.py`, `jddc.configuration`) before anything heavy is loaded. Each entry
holds:

  schema   size -> the model section's defaults (`config.model`): every key a config of
           that model may set, with its type; the one source of the model's sizes;
  builder  "module:function", imported only when a model is built: a function
           `(model_config, ctx: ModelContext, *, rngs) -> nnx.Module`; "" for a model with
           nothing to train (Lead, LexRank).

A task builds its model with `build(config.model, task.model_context(), rngs=rngs)`
(`jddc.tasks.base.Task.make_model`); `ModelContext` is what only the task knows (the
tokenizer's size, its label sets, the dtype of the run). A new model is one module with a
`build` function, plus one line in `MODELS` (and its name in the tasks' lists of
`configs/common.py:TASKS`).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

import ml_collections

from jddc.configuration import ConfigError

SIZES = ("tiny", "small", "base")
COMPUTE_DTYPES = ("float32", "bfloat16")


def check_size(size: str) -> str:
  """`size` ("" means "small"), or ConfigError naming the sizes."""
  size = size or "small"
  if size not in SIZES:
    raise ConfigError(f"unknown size {size!r}: expected one of {SIZES} (e.g. --config=configs/x.py:tiny)")
  return size


@dataclasses.dataclass(frozen=True)
class ModelContext:
  """What a task supplies to build its model, beside `config.model`.

  Attributes:
    vocab_size: the tokenizer's size; a model's `vocab_size` 0 means this one.
    compute_dtype: "float32" or "bfloat16" (`train.compute_dtype`): the dtype of
      activations; parameters stay float32, softmaxes and losses float32.
    image_feature_dim: size of the image features the task's batches carry (0: none).
    num_classes: outputs of a classifier head (0: the model has none).
    num_relations: discourse relation labels (Deep Sequential).
    max_target_len: decoder positions (BERTSUMABS).
    unk_id: the id an out-of-vocabulary source token is embedded as (Pointer-Generator).
    fact_sizes: values of each auxiliary fact head (the image classifier).
  """
  vocab_size: int = 0
  compute_dtype: str = "float32"
  image_feature_dim: int = 0
  num_classes: int = 0
  num_relations: int = 0
  max_target_len: int = 0
  unk_id: int = 1
  fact_sizes: tuple[int, ...] = ()

  def __post_init__(self):
    if self.compute_dtype not in COMPUTE_DTYPES:
      raise ValueError(f"ModelContext.compute_dtype: {self.compute_dtype!r}; expected one of {COMPUTE_DTYPES}")


@dataclasses.dataclass(frozen=True)
class ModelEntry:
  """One `model.name`: `schema(size)` its defaults, `builder` "module:function" ("" = untrainable)."""
  schema: Callable[[str], ml_collections.ConfigDict]
  builder: str = ""

  @property
  def trainable(self) -> bool:
    return bool(self.builder)


# -- schemas: the defaults of each model section, by size --------------------------------------------

#: beside every `model.init_from`: which variables a run folder of ours loads (`jddc.models.warm_start`)
WARM_START_KEYS = {
    "init_from_prefix": "",  # "" = all; or "SRC[=DST],...": source paths under SRC onto ours under DST
    "init_from_fresh": "",   # "PREFIX,...": our variables that keep their initial values (e.g. image_proj)
}


def gpt2(size: str, image_feature_dim: int) -> ml_collections.ConfigDict:
  """GPT-2 sizes; `vocab_size` 0 means "from the tokenizer"."""
  dims = {"tiny": (2, 64, 2), "small": (3, 192, 4), "base": (12, 768, 12)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "gpt2", "vocab_size": 0, "n_layer": dims[0], "d_model": dims[1], "n_head": dims[2],
      "n_positions": {"tiny": 128, "small": 256, "base": 1024}[size],
      "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],
      "image_feature_dim": image_feature_dim,
      "init_from": "",  # a Hugging Face GPT-2 folder (e.g. uer/gpt2-chinese-cluecorpussmall); first run only
      **WARM_START_KEYS,  # or a run folder of ours (jddc.models.warm_start)
  })


def copy_gpt2(size: str, image_feature_dim: int = 0) -> ml_collections.ConfigDict:
  """GPT-2's section (`gpt2`) under the name of the copying rewriter (`jddc.models.copy_gpt2`)."""
  section = gpt2(size, image_feature_dim)
  section.name = "copy_gpt2"
  return section


def resnet18() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({
      "name": "resnet18", "aux_facts": True,
      "init_from": "",  # a Hugging Face ResNet-18 folder or a torchvision resnet18 .pth; first run only
      **WARM_START_KEYS,  # or a run folder of ours (jddc.models.warm_start)
  })


def bert(size: str) -> ml_collections.ConfigDict:
  """BERT sizes (base = bert-base-chinese); `vocab_size` 0 means "from the tokenizer"."""
  dims = {"tiny": (2, 64, 2, 128), "small": (4, 256, 4, 1024), "base": (12, 768, 12, 3072)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "bert", "vocab_size": 0, "n_layer": dims[0], "d_model": dims[1], "n_head": dims[2], "d_ff": dims[3],
      "n_positions": {"tiny": 128, "small": 512, "base": 512}[size],
      "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],
      "init_from": "",  # a Hugging Face BERT folder (e.g. bert-base-chinese); first run only
      **WARM_START_KEYS,  # or a run folder of ours (jddc.models.warm_start)
  })


def lead() -> ml_collections.ConfigDict:
  """Lead: the first `length` characters of the dialogue's utterances (0: the train split's mean summary length),
  `separator` between utterances (not counted)."""
  return ml_collections.ConfigDict({"name": "lead", "length": 0, "speaker_prefixes": False, "separator": ""})


def lexrank() -> ml_collections.ConfigDict:
  """LexRank over utterances with sumy's defaults (docs/baselines.md §5); terms are character n-grams.
  `length_rule`: "reach" (until `length` characters, may overshoot) or "fit" (never over it);
  `separator` between the extracted utterances (not counted; `jddc.extractive`)."""
  return ml_collections.ConfigDict({"name": "lexrank", "length": 0, "speaker_prefixes": False,
                                    "threshold": 0.1, "epsilon": 0.1, "ngram": 1, "length_rule": "reach",
                                    "separator": ""})


def pgn(size: str) -> ml_collections.ConfigDict:
  """Pointer-Generator sizes; base = abisee's (embedding 128, hidden 256). `vocab_size`: the generator's
  vocabulary, the first ids of the tokenizer (0: all of it); rarer pieces can only be copied."""
  dims = {"tiny": (32, 32, 600), "small": (128, 128, 1000), "base": (128, 256, 0)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "pgn", "embed_dim": dims[0], "hidden_dim": dims[1], "vocab_size": dims[2],
      "coverage_loss_weight": 1.0, "optimizer": "adagrad" if size == "base" else "adamw",
      "adagrad_initial_accumulator": 0.1,
  })


def deep_sequential(size: str, image_feature_dim: int) -> ml_collections.ConfigDict:
  """Deep Sequential discourse parser (docs/baselines.md §4); `base` has the original's sizes.

  `max_edus`/`max_links` bound training dialogues (longer ones are cut, and the cut is
  reported); `max_edus` 0 trains on whole dialogues in length-sorted, bucketed batches (the
  original's); evaluation parses whole dialogues. `train_structure`: "predicted" (the
  original: the encoders see the model's own greedy parse) or "gold" (teacher forcing).
  """
  size = check_size(size)
  dims = {"tiny": (32, 32, 16, 64), "small": (100, 128, 64, 256), "base": (100, 256, 100, 512)}[size]
  return ml_collections.ConfigDict({
      "name": "deep_sequential", "embed_dim": dims[0], "num_units": dims[1], "relation_dim": dims[2],
      "head_dim": dims[3], "max_edu_dist": 20, "max_speakers": 2, "dropout": {"tiny": 0.0}.get(size, 0.5),
      "image_feature_dim": image_feature_dim, "shared_encoders": False, "train_structure": "predicted",
      "max_edus": 32, "max_edu_len": {"tiny": 16}.get(size, 32), "max_links": 64,
  })


def transresnet(size: str, image_feature_dim: int) -> ml_collections.ConfigDict:
  """TransResNet re-ranker (docs/baselines.md §1): ParlAI's 300-d, 2 layers, 2 heads, FFN 1200 at `base`."""
  dims = {"tiny": (32, 1, 2, 64), "small": (128, 2, 2, 512), "base": (300, 2, 2, 1200)}[check_size(size)]
  return ml_collections.ConfigDict({
      "name": "transresnet", "vocab_size": 0, "n_positions": {"tiny": 128, "small": 256, "base": 512}[size],
      "d_model": dims[0], "n_layer": dims[1], "n_head": dims[2], "d_ff": dims[3], "hidden_dim": dims[0],
      "dropout": 0.0 if size == "tiny" else 0.2, "attn_dropout": 0.0 if size == "tiny" else 0.2,
      "image_feature_dim": image_feature_dim,
  })


def bertsum(size: str, image_feature_dim: int) -> ml_collections.ConfigDict:
  """BERTSUMABS (PreSumm): BERT encoder + pre-LN Transformer decoder, two Adams with Noam schedules.

  `base` = PreSumm's: bert-base-chinese encoder, 6 x 768 decoder, 8 heads, ff 2048, dropout 0.2,
  lr 0.002 / warmup 20000 (encoder) and 0.2 / 10000 (decoder). Smaller sizes train from scratch on
  a CPU, with warmups and rates scaled to their step counts (peak lr = lr / sqrt(warmup)).
  """
  enc = {"tiny": (2, 64, 2, 128), "small": (2, 192, 4, 768), "base": (12, 768, 12, 3072)}[check_size(size)]
  dec = {"tiny": (2, 2, 128), "small": (2, 4, 768), "base": (6, 8, 2048)}[size]
  lr = {"tiny": (0.01, 10, 0.03, 10), "small": (0.02, 100, 0.04, 100), "base": (0.002, 20000, 0.2, 10000)}[size]
  return ml_collections.ConfigDict({
      "name": "bertsum", "vocab_size": 0, "n_layer": enc[0], "d_model": enc[1], "n_head": enc[2], "d_ff": enc[3],
      "n_positions": 512, "dropout": {"tiny": 0.0, "small": 0.1, "base": 0.1}[size],
      "dec_layers": dec[0], "dec_heads": dec[1], "dec_ff": dec[2],
      "dec_dropout": {"tiny": 0.0, "small": 0.2, "base": 0.2}[size],
      "image_feature_dim": image_feature_dim, "label_smoothing": 0.1,
      "lr_encoder": lr[0], "warmup_encoder": lr[1], "lr_decoder": lr[2], "warmup_decoder": lr[3],
      "init_from": "",  # a Hugging Face BERT folder (bert-base-chinese) for the encoder; first run only
      **WARM_START_KEYS,  # or a run folder of ours (jddc.models.warm_start)
  })


#: model.name -> its entry; the schema at image_feature_dim 0 (a config sets its own)
MODELS: dict[str, ModelEntry] = {
    "gpt2": ModelEntry(lambda size: gpt2(size, 0), "jddc.models.gpt2:build"),
    "copy_gpt2": ModelEntry(lambda size: copy_gpt2(size, 0), "jddc.models.copy_gpt2:build"),
    "bert": ModelEntry(bert, "jddc.models.bert:build"),
    "bertsum": ModelEntry(lambda size: bertsum(size, 0), "jddc.models.bertsum:build"),
    "pgn": ModelEntry(pgn, "jddc.models.pointer_generator:build"),
    "deep_sequential": ModelEntry(lambda size: deep_sequential(size, 0), "jddc.models.deep_sequential:build"),
    "transresnet": ModelEntry(lambda size: transresnet(size, 0), "jddc.models.transresnet:build"),
    "resnet18": ModelEntry(lambda size: resnet18(), "jddc.models.resnet:build"),
    "lead": ModelEntry(lambda size: lead()),
    "lexrank": ModelEntry(lambda size: lexrank()),
}


def get(name: str) -> ModelEntry:
  """The entry of `model.name` `name`, or ConfigError listing the known ones."""
  if name not in MODELS:
    raise ConfigError(f"model.name: unknown model {name!r}; known: {sorted(MODELS)}")
  return MODELS[name]


def schema(name: str, size: str) -> ml_collections.ConfigDict:
  """The defaults of model `name` at `size` (the reference a config's model section is validated against)."""
  return get(name).schema(check_size(size))


def builder(name: str) -> Callable[..., Any]:
  """The build function of model `name`, imported now."""
  entry = get(name)
  if not entry.trainable:
    raise ValueError(f"model {name!r} has nothing to train, so no builder (its task evaluates without a model)")
  module, _, function = entry.builder.partition(":")
  return getattr(importlib.import_module(module), function)


def vocab_size(model_config: ml_collections.ConfigDict, ctx: ModelContext) -> int:
  """The model's vocabulary: its own `vocab_size`, or where that is 0 (or absent) the task's `ctx.vocab_size`."""
  size = model_config.get("vocab_size", 0) or ctx.vocab_size
  if size <= 0:
    raise ValueError(f"model {model_config.name!r} needs a vocabulary size: model.vocab_size is 0 and the task "
                     "supplied none (ModelContext.vocab_size is the tokenizer's, set by Task.prepare)")
  return size


def build(model_config: ml_collections.ConfigDict, ctx: ModelContext, *, rngs: Any) -> Any:
  """The `nnx.Module` of `model_config` (`config.model`) for a task's `ctx`; `rngs`: `nnx.Rngs`."""
  return builder(model_config.name)(model_config, ctx, rngs=rngs)
