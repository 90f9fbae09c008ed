"""The task interface the one training loop runs, and the data set-up every task shares.

A task owns its data, model, loss and evaluation (as scenic's models own their losses and
metrics); `jddc.train` knows nothing task-specific.
"""

from __future__ import annotations

import abc
import contextlib
import os
import time
from typing import Any, Optional, Union

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

from jddc import faults, fsutil, optim
from jddc.data import corpora
from jddc.data import release as release_lib
from jddc.data import char_vocab, glove, tfds_builder, tokenizers, word_tokenizer
from jddc.data.corpora import builder as corpus_builder
from jddc.data.errors import ErrorPolicy
from jddc.data.synth.generate import ensure_corpus
from jddc.models import registry

Metrics = dict[str, tuple[jax.Array, jax.Array]]  # name -> (sum, count), summed over the batch
#: A training loss as `Task.loss` returns it, for the engine to divide: a (sum, count) pair of
#: float32 arrays of one shape (scalars, or [T] for a sum of T means), whose loss is
#: `sum / max(count, 1)` summed over the elements; or a tuple of such pairs, their losses added.
LossSum = Union[tuple[jax.Array, jax.Array], tuple[tuple[jax.Array, jax.Array], ...]]

RUN_TOKENIZER = "tokenizer"  # <workdir>/tokenizer: the tokenizer the run trained with, written once
#: the modules whose code chooses a cached tokenizer's training texts and trains it
TOKENIZER_CODE = ("jddc.tasks.base", "jddc.data.tokenizers", "jddc.data.tokenizer_base", "jddc.data.release",
                  "jddc.data.examples", "jddc.data.corpora.common")
#: the modules whose code makes a word tokenizer's vocabulary (`data.tokenizer = "word"`), beside those
WORD_TOKENIZER_CODE = ("jddc.data.word_tokenizer", "jddc.data.glove")
#: the module whose code makes a character vocabulary (`data.tokenizer = "char"`), beside those
CHAR_TOKENIZER_CODE = ("jddc.data.char_vocab",)


def loss_terms(loss: LossSum) -> tuple[tuple[jax.Array, jax.Array], ...]:
  """The (sum, count) pairs of a `Task.loss` result, checked: float32 arrays, one shape per pair."""
  terms = loss if isinstance(loss, (tuple, list)) and loss and isinstance(loss[0], (tuple, list)) else (loss,)
  for term in terms:
    if not isinstance(term, (tuple, list)) or len(term) != 2:
      what = type(term).__name__ + (f" of length {len(term)}" if isinstance(term, (tuple, list)) else "")
      raise TypeError(f"Task.loss must return ((loss_sum, loss_count), metrics) or a tuple of such pairs; "
                      f"got a loss term of type {what}")
    total, count = term
    if jnp.shape(total) != jnp.shape(count):
      raise ValueError(f"Task.loss: loss_sum of shape {jnp.shape(total)} and loss_count of shape "
                       f"{jnp.shape(count)} differ")
    for name, value in (("loss_sum", total), ("loss_count", count)):
      if jnp.result_type(value) != jnp.float32:
        raise TypeError(f"Task.loss: {name} must be float32, got {jnp.result_type(value)}")
  return tuple(terms)


def loss_counts(loss: LossSum) -> tuple[jax.Array, ...]:
  """Each term's count (no gradient flows through it)."""
  return tuple(jax.lax.stop_gradient(count) for _, count in loss_terms(loss))


def divide_loss(loss: LossSum, divisors: Optional[tuple[jax.Array, ...]] = None) -> jax.Array:
  """float32[]: sum over terms and elements of loss_sum / divisor, the divisor
  `max(loss_count, 1)` of this batch, or `divisors` (e.g. the counts of a larger batch)."""
  terms = loss_terms(loss)
  if divisors is None:
    divisors = tuple(jnp.maximum(count, 1.0) for count in loss_counts(loss))
  values = [total / divisor if jnp.ndim(total) == 0 else (total / divisor).sum()
            for (total, _), divisor in zip(terms, divisors)]
  return sum(values[1:], values[0])


@contextlib.contextmanager
def stage(name: str):
  """Prints how long a preparation stage took (process 0)."""
  start = time.perf_counter()
  yield
  if jax.process_index() == 0:
    print(f"[{name}] {time.perf_counter() - start:.1f} s", flush=True)


class Evaluator(abc.ABC):
  """A row with nothing to train (Lead, LexRank): its data, evaluation and predictions; no
  model, loss or dataset.

  The engine runs it as it runs a trained task's final evaluation (`jddc.train`): the same
  preparation (`train.prepare`, process 0 first), `evaluate(None, split, out_dir)` and the
  same results file, with `best_step` 0; `--mode=predict` calls `predict(None, examples)`.
  """

  #: the figure the row is compared by, and whether higher is better (as `Task.metric`)
  metric: str = "loss"
  metric_mode: str = "min"
  #: read by the engine and the config schema (`configs/common.py:TASKS`): nothing to train
  trainable: bool = False

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config = config
    self.workdir = workdir
    self.metric = config.eval.metric or type(self).metric

  @abc.abstractmethod
  def prepare(self) -> None:
    """Builds what the row reads (corpus, shards); idempotent."""

  def prepare_inference(self, run_dir: str) -> None:
    """What `predict` needs, from a run folder alone (`jddc.inference`); by default `prepare`."""
    del run_dir
    self.prepare()

  @abc.abstractmethod
  def evaluate(self, model: None, split: str, out_dir: Optional[str]) -> dict[str, float]:
    """Metrics on a split (percent where the paper reports percent); writes predictions to
    out_dir (`jddc.evaluation.write_predictions`). `model` is None: nothing is trained."""

  def predict(self, model: None, examples: list[dict]) -> list[dict]:
    """Outputs for user-given examples (`--mode=predict`); `model` is None."""
    raise ValueError(f"{type(self).__name__} has no predict mode; use --mode=eval")


class Task(abc.ABC):
  """One row's data, model, loss and evaluation."""

  #: validation metric used to keep the best checkpoint, and whether higher is better
  metric: str = "loss"
  metric_mode: str = "min"
  #: a row with nothing to train is an `Evaluator` (trainable False), not a Task
  trainable: bool = True
  #: (image name -> row, float32[N, dim]) of the frozen image features, for a model that reads
  #: them: set by the engine before `prepare` (`jddc.train.image_features`); None otherwise
  feature_table: Optional[tuple[dict[str, int], np.ndarray]] = None

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config = config
    self.workdir = workdir
    self.metric = config.eval.metric or type(self).metric

  @property
  def compute_dtype(self) -> jnp.dtype:
    """`config.train.compute_dtype`: the dtype of activations (parameters stay float32)."""
    name = self.config.train.compute_dtype
    if name not in ("float32", "bfloat16"):
      raise ValueError(f"config.train.compute_dtype: expected float32 or bfloat16, got {name!r}")
    return jnp.dtype(name)

  @abc.abstractmethod
  def prepare(self) -> None:
    """Builds what the task reads (corpus, shards, tokenizer); idempotent. Image features are
    handed to it before, by the engine (`feature_table`)."""

  def prepare_inference(self, run_dir: str) -> None:
    """What `make_model` and `predict` need, from a run folder alone (`jddc.inference`);
    by default the full `prepare`."""
    del run_dir
    self.prepare()

  @property
  def multimodal(self) -> bool:
    """Whether the model reads image features (`model.image_feature_dim` > 0), which `prepare` then provides."""
    return self.config.model.get("image_feature_dim", 0) > 0

  def model_context(self) -> registry.ModelContext:
    """What the model is built with beside `config.model`: by default the tokenizer's size (once
    `prepare` has set `self.tokenizer`), the image feature size and `train.compute_dtype`; a task
    with label sets or decoder lengths adds its own."""
    tokenizer = getattr(self, "tokenizer", None)
    return registry.ModelContext(vocab_size=tokenizer.vocab_size if tokenizer is not None else 0,
                                 compute_dtype=str(self.compute_dtype),
                                 image_feature_dim=self.config.model.get("image_feature_dim", 0))

  def make_model(self, rngs: nnx.Rngs) -> nnx.Module:
    """The model of `config.model`, built by `jddc.models.registry` from `model_context()` (called
    under `nnx.eval_shape` and `jax.jit`)."""
    return registry.build(self.config.model, self.model_context(), rngs=rngs)

  def seeded_model(self) -> nnx.Module:
    """`make_model` with the run's seed streams (params: seed, dropout: seed + 1), as the engine
    initialises it and as a checkpoint of the run is restored into."""
    seed = self.config.seed
    return self.make_model(nnx.Rngs(params=seed, dropout=seed + 1))

  @abc.abstractmethod
  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    """This process's slice of the training batches (numpy dicts), repeated forever."""

  @abc.abstractmethod
  def loss(self, model: nnx.Module, batch: dict[str, jax.Array], rng: jax.Array) -> tuple[LossSum, Metrics]:
    """The training loss of a batch as `((loss_sum, loss_count), metrics)`; `rng` for dropout. Traced under jit.

    The engine divides (`divide_loss`): the loss is `loss_sum / max(loss_count, 1)`, where
    `loss_count` (target tokens, examples, links, ...) does not depend on the parameters and
    adds up over the rows of a batch, so gradient accumulation reproduces the whole batch's
    gradient exactly. A loss that adds means over different counts returns a tuple of pairs
    (or [T] arrays for T means). `metrics` are (sum, count) pairs summed over the batch.
    """

  @abc.abstractmethod
  def evaluate(self, model: nnx.Module, split: str, out_dir: Optional[str]) -> dict[str, float]:
    """Metrics on a split (percent where the paper reports percent); writes predictions to out_dir."""

  def optimizer(self) -> optax.GradientTransformation:
    """The optimizer of the training loop; AdamW from `config.optim` unless a task says otherwise."""
    return optim.adamw(self.config.optim, self.config.train.steps)

  def learning_rates(self, step: int) -> dict[str, float]:
    """The learning rate(s) `optimizer()` applied at training step `step` (1-based; optax
    counts the updates before it), for logging: {"lr": ...}, or one entry per optimizer."""
    c = self.config.optim
    schedule = optim.warmup_linear_decay(c.lr, c.warmup_steps, self.config.train.steps, c.end_lr_fraction)
    return {"lr": float(schedule(step - 1))}

  def prepare_data(self, kind: str, image_features: bool = False) -> None:
    """The usual `prepare`: `self.release`, `self.sources` (`kind` examples by split) and
    `self.tokenizer`. A task that reads image features says so (`image_features`): the engine
    has set `self.feature_table` before (`jddc.train.prepare`), and its absence is an error."""
    if image_features and self.feature_table is None:
      raise ValueError(f"{type(self).__name__} reads image features and has no feature_table: the engine "
                       "resolves them before the task prepares (jddc.train.prepare_data), or set "
                       "task.feature_table = jddc.inference.image_features(extractor_dir, image_paths)")
    with stage("corpus"):
      self.release = release_dir(self.config)
    with stage("tfds shards"):
      self.sources = data_sources(self.config, kind)
    with stage("tokenizer"):
      self.tokenizer = run_tokenizer(self.config, self.workdir)

  def predict(self, model: nnx.Module, examples: list[dict]) -> list[dict]:
    """Model outputs for user-given examples (`--mode=predict`); only generation tasks have one."""
    raise ValueError(f"{type(self).__name__} has no predict mode; use --mode=eval")

  #: True: `abstract_batch` knows the shapes from the config alone (no prepared data needed)
  static_batch_shapes: bool = False

  def abstract_batch(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """Shapes and dtypes of a global training batch of `batch_size`, for ahead-of-time
    compilation (`jddc.aot`). By default from the first batch of the prepared data (the caller
    prepares the task first, through `jddc.train.prepare`); tasks that know their shapes from the
    config set `static_batch_shapes` and override it."""
    batch = next(iter(self.train_dataset(0, 1)))
    return {k: jax.ShapeDtypeStruct((batch_size,) + np.shape(v)[1:], np.asarray(v).dtype) for k, v in batch.items()}

  #: what `count_tokens` counts, for the throughput log line
  throughput_unit: str = "examples"

  def count_tokens(self, batch: dict[str, np.ndarray]) -> int:
    """Units of `throughput_unit` in a batch (examples by default)."""
    return int(next(iter(batch.values())).shape[0])


# ---------------------------------------------------------------------------
# Shared data set-up
# ---------------------------------------------------------------------------

def is_release(config: ml_collections.ConfigDict) -> bool:
  """Whether the config reads a JDDC-layout release (`data.corpus` "jddc") rather than a public corpus."""
  return config.data.corpus == "jddc"


def corpus_dir(config: ml_collections.ConfigDict) -> str:
  """The folder of public corpus `data.corpus` (`data.corpus_path`), checked to exist."""
  corpora.get_reader(config.data.corpus)
  path = config.data.corpus_path
  if not path:
    raise ValueError(f"config.data.corpus_path: the folder of corpus {config.data.corpus!r} is not set "
                     f"(e.g. --config.data.corpus_path=../shared/data/{config.data.corpus})")
  if not os.path.isdir(path):
    raise FileNotFoundError(f"config.data.corpus_path: no {config.data.corpus} folder at {path}")
  return path


def release_dir(config: ml_collections.ConfigDict) -> str:
  """The folder the config reads.

  `data.release`, or the embedded corpus (generated on first use); for a public corpus
  (`data.corpus` not "jddc"), `data.corpus_path`, whose `images/` folder, if any, is read as a
  release's.
  """
  if not is_release(config):
    return corpus_dir(config)
  if config.data.release:
    if not os.path.isdir(config.data.release):
      raise FileNotFoundError(f"config.data.release: no release folder at {config.data.release}")
    return config.data.release
  path, _ = ensure_corpus(config.data.cache_dir, config.data.corpus_size, config.data.corpus_seed)
  return path


def data_sources(config: ml_collections.ConfigDict, kind: str) -> dict[str, Any]:
  """Split name -> random-access source of `kind` examples, from the release or the public corpus."""
  if not is_release(config):
    return corpus_builder.data_sources(config.data.corpus, corpus_dir(config), kind,
                                       os.path.join(config.data.cache_dir, "tfds"), config.data.on_error)
  return tfds_builder.data_sources(release_dir(config), kind, os.path.join(config.data.cache_dir, "tfds"),
                                   config.data.on_error)


def source_fingerprint(config: ml_collections.ConfigDict) -> str:
  """A hash of the text the config reads: the release's data files, or the public corpus's
  files and reader code (`Reader.fingerprint`). Images are not in it (`tfds_builder.image_digest`)."""
  root = release_dir(config)
  if is_release(config):
    return tfds_builder.release_fingerprint(root)
  return corpora.get_reader(config.data.corpus).fingerprint(root)


def tokenizer_key(config: ml_collections.ConfigDict) -> str:
  """What a trained tokenizer depends on: its texts' source (`source_fingerprint`), `on_error`,
  the vocabulary size and the code that picks the texts and trains it; for a word tokenizer
  also its code and the words `data.word_vectors` has vectors for (`glove.fingerprint`)."""
  parts = [source_fingerprint(config), config.data.corpus, config.data.on_error, config.data.vocab_size,
           fsutil.code_fingerprint(*TOKENIZER_CODE)]
  if config.data.tokenizer == "word":
    vectors = config.data.word_vectors
    parts += ["word", fsutil.code_fingerprint(*WORD_TOKENIZER_CODE), glove.fingerprint(vectors) if vectors else ""]
  if config.data.tokenizer == "char":
    parts += ["char", fsutil.code_fingerprint(*CHAR_TOKENIZER_CODE)]
  return fsutil.content_key(*parts, length=12)


def tokenizer(config: ml_collections.ConfigDict) -> tokenizers.Tokenizer:
  """`data.tokenizer`: "sentencepiece" (trained on the train split once, cached), "word" (a
  `jddc.data.word_tokenizer` vocabulary of the train split: the `data.vocab_size` most frequent
  words plus every other one `data.word_vectors` has a vector for; cached), "char" (a
  `jddc.data.char_vocab` vocabulary: the train split's characters by frequency, at most
  `data.vocab_size` entries; cached) or a path.

  A public corpus trains on its reader's `training_texts` (`jddc.data.corpora.Reader`). The
  cache entry `<cache_dir>/tokenizers/<name>-<tokenizer_key>-sp<vocab>` (`-word<vocab>`) is
  written by one process at a time and appears only when complete.
  """
  word, char = config.data.tokenizer == "word", config.data.tokenizer == "char"
  if config.data.tokenizer != "sentencepiece" and not word and not char:
    return tokenizers.load_tokenizer(config.data.tokenizer)
  root = release_dir(config)
  name = os.path.basename(os.path.normpath(root))
  name = name if is_release(config) else f"{config.data.corpus}-{name}"
  folder = os.path.join(config.data.cache_dir, "tokenizers")
  kind = "word" if word else "char" if char else "sp"
  entry = f"{name}-{tokenizer_key(config)}-{kind}{config.data.vocab_size}"
  out = os.path.join(folder, entry)
  main_file = (word_tokenizer.WORDS_FILE if word else tokenizers.BERT_VOCAB_FILE if char
               else tokenizers.SP_MODEL_FILE)
  if os.path.isfile(os.path.join(out, main_file)):
    return tokenizers.load_tokenizer(out)
  with fsutil.file_lock(out):
    if os.path.isfile(os.path.join(out, main_file)):
      return tokenizers.load_tokenizer(out)
    fsutil.sweep_leftovers(folder, entry)
    texts = _tokenizer_texts(config, root)
    pretrained = glove.load_vocabulary(config.data.word_vectors) if word and config.data.word_vectors else None
    with fsutil.atomic_dir(out) as tmp:
      if word:
        trained = word_tokenizer.build_word_tokenizer(texts, config.data.vocab_size, pretrained, tmp)
      elif char:
        trained = char_vocab.build_char_tokenizer(texts, config.data.vocab_size, tmp)
      else:
        trained = tokenizers.train_sentencepiece(texts, tmp, vocab_size=config.data.vocab_size)
      faults.point("tokenizer.during_training")
  return trained


def _tokenizer_texts(config: ml_collections.ConfigDict, root: str) -> list[str]:
  """The train split's texts a cached tokenizer is trained on."""
  if not is_release(config):
    policy = ErrorPolicy(config.data.on_error)
    texts = list(corpora.get_reader(config.data.corpus).training_texts(root, policy))
    policy.log_report()
    return texts
  r = release_lib.read_release(root, on_error=config.data.on_error, check_images=False)
  texts = [m.text for s in r.split("train") for m in s.messages if m.text]
  texts += [a.summary for a in r.summaries if r.sessions[a.session_id].split == "train"]
  texts += [a.rewrite for a in r.rewrites if a.rewrite and r.sessions[a.session_id].split == "train"]
  return texts


def run_tokenizer(config: ml_collections.ConfigDict, workdir: str) -> tokenizers.Tokenizer:
  """The tokenizer a run trains and decodes with: its own copy `<workdir>/tokenizer` if there
  is one (whatever `data_cache/` now holds), else `tokenizer(config)`, then copied there once
  (atomically, by process 0) so every later train, eval or predict of the run reads the same."""
  own = os.path.join(workdir, RUN_TOKENIZER) if workdir else ""
  if own and os.path.isdir(own):
    return tokenizers.load_tokenizer(own)
  tok = tokenizer(config)
  if own and jax.process_index() == 0:
    with fsutil.atomic_dir(own) as tmp:  # a concurrent writer's identical copy wins
      tok.save(tmp)
  return tok


def first_examples(source: Any, limit: int) -> list[dict]:
  """The first `limit` records of a source (0: all), in the source's fixed order."""
  n = len(source) if not limit else min(limit, len(source))
  return [source[i] for i in range(n)]
