"""The task interface the one training loop runs, and the data set-up every task shares.

A task owns its data, model, loss and evaluation (as scenic's models own their losses and
metrics); `jddc.train` knows nothing task-specific.
"""

from __future__ import annotations

import abc
import contextlib
import os
import time
from typing import Any, Optional

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
from jddc.data import tfds_builder, tokenizers
from jddc.data.corpora import builder as corpus_builder
from jddc.data.errors import ErrorPolicy
from jddc.data.synth.generate import ensure_corpus

Metrics = dict[str, tuple[jax.Array, jax.Array]]  # name -> (sum, count), summed over the batch

RUN_TOKENIZER = "tokenizer"  # <workdir>/tokenizer: the tokenizer the run trained with, written once
#: the modules whose code chooses a cached tokenizer's training texts and trains it
TOKENIZER_CODE = ("jddc.tasks.base", "jddc.data.tokenizers", "jddc.data.release", "jddc.data.examples",
                  "jddc.data.corpora.common")


@contextlib.contextmanager
def stage(name: str):
  """Prints how long a preparation stage took (process 0)."""
  start = time.perf_counter()
  yield
  if jax.process_index() == 0:
    print(f"[{name}] {time.perf_counter() - start:.1f} s", flush=True)


class Task(abc.ABC):
  """One row's data, model, loss and evaluation."""

  #: validation metric used to keep the best checkpoint, and whether higher is better
  metric: str = "loss"
  metric_mode: str = "min"
  #: the metric whose count is the denominator of `loss` (e.g. target tokens), so gradient
  #: accumulation weights micro-batches by it and reproduces the whole batch's update; None:
  #: the loss is a mean over a fixed number of examples and micro-batches weigh the same
  loss_count_metric: Optional[str] = None
  #: False: nothing to train (Lead, LexRank); the engine skips the model and the loop and
  #: calls `evaluate(None, split, out_dir)` straight away
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

  @abc.abstractmethod
  def make_model(self, rngs: nnx.Rngs) -> nnx.Module:
    """The model, built from `self.config.model` (called under `nnx.eval_shape` and `jax.jit`)."""

  @abc.abstractmethod
  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    """This process's slice of the training batches (numpy dicts), repeated forever."""

  @abc.abstractmethod
  def loss(self, model: nnx.Module, batch: dict[str, jax.Array], rng: jax.Array) -> tuple[jax.Array, Metrics]:
    """Mean training loss of a global batch, and (sum, count) metrics; `rng` for dropout. Traced under jit."""

  @abc.abstractmethod
  def evaluate(self, model: nnx.Module, split: str, out_dir: Optional[str]) -> dict[str, float]:
    """Metrics on a split (percent where the paper reports percent); writes predictions to out_dir."""

  def optimizer(self) -> optax.GradientTransformation:
    """The optimizer of the training loop; AdamW from `config.optim` unless a task says otherwise."""
    return optim.adamw(self.config.optim, self.config.train.steps)

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

  def abstract_batch(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """Shapes and dtypes of a global training batch of `batch_size`, for ahead-of-time
    compilation (`jddc.aot`). By default from the first batch of the prepared data; tasks
    that know their shapes from the config override it and need no data."""
    self.prepare()
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
  the vocabulary size and the code that picks the texts and trains it."""
  return fsutil.content_key(source_fingerprint(config), config.data.corpus, config.data.on_error,
                            config.data.vocab_size,
                            fsutil.code_fingerprint(*TOKENIZER_CODE), length=12)


def tokenizer(config: ml_collections.ConfigDict) -> tokenizers.Tokenizer:
  """`data.tokenizer`: "sentencepiece" (trained on the train split once, cached) or a path.

  A public corpus trains on its reader's `training_texts` (`jddc.data.corpora.Reader`). The
  cache entry `<cache_dir>/tokenizers/<name>-<tokenizer_key>-sp<vocab>` is written by one
  process at a time and appears only when complete.
  """
  if config.data.tokenizer != "sentencepiece":
    return tokenizers.load_tokenizer(config.data.tokenizer)
  root = release_dir(config)
  name = os.path.basename(os.path.normpath(root))
  name = name if is_release(config) else f"{config.data.corpus}-{name}"
  folder = os.path.join(config.data.cache_dir, "tokenizers")
  entry = f"{name}-{tokenizer_key(config)}-sp{config.data.vocab_size}"
  out = os.path.join(folder, entry)
  if os.path.isfile(os.path.join(out, tokenizers.SP_MODEL_FILE)):
    return tokenizers.load_tokenizer(out)
  with fsutil.file_lock(out):
    if os.path.isfile(os.path.join(out, tokenizers.SP_MODEL_FILE)):
      return tokenizers.load_tokenizer(out)
    fsutil.sweep_leftovers(folder, entry)
    texts = _tokenizer_texts(config, root)
    with fsutil.atomic_dir(out) as tmp:
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
