"""Dialogue discourse parsing with Deep Sequential (Table 8): text-only, or with image EDUs.

Training (docs/baselines.md §4): at every EDU j >= 1, the negative log-likelihood of the earliest
gold parent within `max_edu_dist` among the candidate parents (EDU 0 when there is none and
EDU 0 is a candidate, as the original does; no link loss otherwise), averaged over the
dialogues still running at that step; and the negative log-likelihood of the relation of
every gold link into j (any distance), averaged over those links; both summed over steps.
The structure the encoders see is the model's own greedy predictions, as in the original,
or the gold one (teacher forcing) with `model.train_structure = "gold"`.

Evaluation: greedy left-to-right parse of whole dialogues (no truncation), micro link and
link & relation F1 with the original's root counting (`jddc.metrics.discourse_f1`), in
percent; predictions written as JSON lines.

Relation sets come from the corpus: the 33 third-level relations of JDDC 2.1 (Table 12),
or a public corpus's own (`RELATION_SETS`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jddc import evaluation, optim
from jddc import metrics as metrics_lib
from jddc.data import discourse_pipeline as dp
from jddc.data import pipeline, schema
from jddc.models import deep_sequential as ds
from jddc.models import registry
from jddc.tasks import base


def relation_names(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The relation label set of the config's corpus: JDDC 2.1's 33, or a public corpus's own."""
  if base.is_release(config):
    return schema.RELATION_NAMES
  from jddc.data import corpora
  return corpora.get_reader(config.data.corpus).relation_names or schema.RELATION_NAMES


def parser_loss(model: ds.DeepSequential, batch: dict[str, jax.Array], rng: Optional[jax.Array],
                gold_structure: bool) -> tuple[base.LossSum, dict]:
  """The module docstring's loss, and (sum, count) metrics: link/relation loss and accuracy.

  The loss is two sums over steps of per-step means, as `base.LossSum` pairs of float32[N]
  (per step j: summed NLL, count): links over the dialogues running at j, relations over the
  gold links into j. Their counts add up over dialogues, so gradient accumulation divides
  by the whole batch's count at each step, as the large batch does.
  """
  w = model.config.max_edu_dist
  out = model(batch, gold_structure=gold_structure, rng=rng)
  logits = out["link_logits"]  # [B, N, W]
  b, n, _ = logits.shape
  j = jnp.arange(n)[None, :]
  active = (batch["edu_lengths"] > 0) & (j >= 1)
  gold = batch["gold_parent"]
  target = jnp.where(gold >= 0, gold, jnp.where(j <= w, 0, -1))
  has_target = active & (target >= 0)
  index = jnp.clip(target - j + w, 0, w - 1)
  link_nll = -jnp.take_along_axis(jax.nn.log_softmax(logits, -1), index[..., None], -1)[..., 0]
  link_nll = jnp.where(has_target, link_nll, 0.0)
  link_loss = (link_nll.sum(0), active.sum(0).astype(jnp.float32))

  rel_logits = model.relation_logits(out, batch["rel_parents"], batch["rel_children"])  # [B, L, R]
  labels = batch["rel_labels"]
  rel_mask = labels >= 0
  rel_nll = optax.softmax_cross_entropy_with_integer_labels(rel_logits, jnp.maximum(labels, 0))
  rel_nll = jnp.where(rel_mask, rel_nll, 0.0)
  children = jnp.clip(batch["rel_children"], 0, n - 1).ravel()
  step_sum = jax.ops.segment_sum(rel_nll.ravel(), children, num_segments=n)
  step_count = jax.ops.segment_sum(rel_mask.ravel().astype(jnp.float32), children, num_segments=n)
  rel_loss = (step_sum, step_count)

  link_hit = (jnp.argmax(logits, -1) == index) & has_target & (gold >= 0)
  rel_hit = (jnp.argmax(rel_logits, -1) == labels) & rel_mask
  f32 = lambda x: jnp.asarray(x, jnp.float32).sum()
  metrics = {"link_loss": (link_nll.sum(), f32(has_target)), "relation_loss": (rel_nll.sum(), f32(rel_mask)),
             "link_accuracy": (f32(link_hit), f32(has_target & (gold >= 0))),
             "relation_accuracy": (f32(rel_hit), f32(rel_mask))}
  return (link_loss, rel_loss), metrics


class DiscourseTask(base.Task):
  metric = "link_rel_f1"
  metric_mode = "max"
  throughput_unit = "dialogues"

  def prepare(self) -> None:
    self.relations = relation_names(self.config)
    self.prepare_data("discourse", image_features=self.multimodal)
    m = self.config.model
    if m.max_edus:  # 0: whole dialogues in length-bucketed batches, nothing cut
      report = dp.truncation_report(self.sources["train"], m.max_edus, m.max_links)
      if report["dialogues_cut"] or report["links_dropped"]:
        print(f"[discourse] training dialogues cut to {m.max_edus} EDUs / {m.max_links} links: {report}", flush=True)

  def steps_per_epoch(self) -> int:
    """Training steps that see every training dialogue once: ceil(dialogues / batch) with whole
    dialogues (the last batch is partly empty), floor(dialogues / batch) with cut ones (Grain
    drops the remainder)."""
    n, b = len(self.sources["train"]), self.config.train.batch_size
    return max(1, -(-n // b) if self.config.model.max_edus == 0 else n // b)

  def optimizer(self) -> optax.GradientTransformation:
    """`optim.name`: AdamW (the engine's default) or the original's SGD with a per-epoch decay."""
    return optim.from_config(self.config.optim, self.config.train.steps, self.steps_per_epoch())

  def learning_rates(self, step: int) -> dict[str, float]:
    c = self.config.optim
    if c.get("name", "adamw") != "sgd":
      return super().learning_rates(step)
    return {"lr": c.lr * c.decay_per_epoch ** ((step - 1) // self.steps_per_epoch())}

  def make_model(self, rngs):
    """The parser; with a word tokenizer and `data.word_vectors`, both agents' embedding tables start
    from those vectors (`word_embedding_table`), as the original's do (and are trained, as there)."""
    model = super().make_model(rngs)
    table = self.word_embedding_table()
    if table is not None:
      for agent in (model.link, model.relation):
        agent.encoder.embed.embedding[...] = jnp.asarray(table)
    return model

  def word_embedding_table(self) -> Optional[np.ndarray]:
    """float32[V, D]: row i the vector of word i of the tokenizer (zeros where the vectors have none,
    the original's `build_vocab`), or None without a word tokenizer or vectors. D must be `model.embed_dim`."""
    d = self.config.data
    if d.tokenizer != "word" or not d.word_vectors:
      return None
    if "_word_table" not in self.__dict__:
      from jddc.data import glove  # pylint: disable=g-import-not-at-top
      vectors = glove.load_word_vectors(d.word_vectors)
      dim = self.config.model.embed_dim
      if vectors.dim != dim:
        raise ValueError(f"data.word_vectors {d.word_vectors!r} has {vectors.dim} values a word but model.embed_dim is "
                         f"{dim}: set --config.model.embed_dim={vectors.dim}")
      table, covered = glove.embedding_matrix(self.tokenizer.words, vectors, dim)
      print(f"[discourse] embeddings from {d.word_vectors}: {covered}/{len(table)} words have a vector", flush=True)
      self.__dict__["_word_table"] = table
    return self.__dict__["_word_table"]

  def discourse_config(self, **kw) -> dp.DiscourseConfig:
    m = self.config.model
    kw.setdefault("batch_size", self.config.train.batch_size)
    return dp.DiscourseConfig(max_edus=m.max_edus, max_edu_len=m.max_edu_len, max_links=m.max_links,
                              max_speakers=m.max_speakers, max_edu_dist=m.max_edu_dist,
                              num_relations=len(self.relations), seed=self.config.seed,
                              worker_count=self.config.data.worker_count, **kw)

  def model_context(self) -> registry.ModelContext:
    """The corpus's relation label set (`relation_names`)."""
    return dataclasses.replace(super().model_context(), num_relations=len(self.relations))

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    config = self.discourse_config(process_index=process_index, process_count=process_count)
    if self.config.model.max_edus == 0:
      return dp.length_bucketed_dataset(self.sources["train"], self.tokenizer, config, self.feature_table)
    return dp.discourse_dataset(self.sources["train"], self.tokenizer, config, self.feature_table)

  def loss(self, model, batch, rng):
    structure = self.config.model.train_structure
    if structure not in ("predicted", "gold"):
      raise ValueError(f"model.train_structure must be 'predicted' or 'gold', not {structure!r}")
    return parser_loss(model, batch, rng, gold_structure=structure == "gold")

  # -- evaluation ------------------------------------------------------------

  def parse(self, model, examples: list[dict]) -> list[list[tuple[int, int]]]:
    """Per dialogue, the predicted (parent, relation id) of EDUs 1..n-1."""
    config = self.discourse_config(shuffle=False)
    # Batches of similar lengths (dialogues padded to the longest of their batch), rows padded to one count.
    order = sorted(range(len(examples)), key=lambda k: len(examples[k]["edu_texts"]))
    out: list[list[tuple[int, int]]] = [[] for _ in examples]
    size = self.config.eval.batch_size
    for chunk in evaluation.batches(order, size):
      batch = dp.pad_examples([examples[k] for k in chunk], self.tokenizer, config, self.feature_table, rows=size)
      batch = {k: jnp.asarray(v) for k, v in batch.items() if not k.startswith("rel_")}
      parents, relations = (np.asarray(x) for x in self._parse_batch(model, batch))
      for row, k in enumerate(chunk):
        n = len(examples[k]["edu_texts"])
        out[k] = [(int(parents[row, j]), int(relations[row, j])) for j in range(1, n)]
    return out

  @functools.cached_property
  def _parse_batch(self):
    """(model, batch) -> int32[B, N] parents and relation ids, jitted once per task (once per batch shape)."""
    def parse_batch(m, batch):
      parsed = m(batch)
      return parsed["parents"], parsed["relations"]
    return evaluation.jit_model(parse_batch)

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    preds = self.parse(model, examples)
    golds = [dp.gold_links(ex) for ex in examples]
    scores = metrics_lib.discourse_f1(golds, preds, max_distance=self.config.model.max_edu_dist)
    scores = {k: float(v) for k, v in scores.items()}
    scores["dialogues"] = float(len(examples))
    text = pipeline.as_text
    evaluation.write_predictions(out_dir, split, ({
        "session_id": text(ex["session_id"]),
        "edus": [text(t) or f"<image {text(i)}>" for t, i in zip(ex["edu_texts"], ex["edu_images"])],
        "speakers": [int(s) for s in ex["edu_speakers"]],
        "gold": [[p, c, self.relations[r]] for p, c, r in gold],
        "prediction": [[p, j, self.relations[r]] for j, (p, r) in enumerate(pred, start=1)]}
        for ex, gold, pred in zip(examples, golds, preds)))
    return scores
