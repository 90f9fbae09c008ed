"""Image subcategory classification (Table 4) with ResNet-18: the multimodal rows' feature extractor.

On a generated corpus, auxiliary heads also predict the latent facts each image shows
(from `synth_meta.jsonl`), standing in for ImageNet pretraining, which is unreachable here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Optional

import grain
import jax.numpy as jnp
import numpy as np
import optax

from jddc import evaluation, sharding
from jddc.data import pipeline, schema
from jddc.data.synth import facts as facts_lib
from jddc.data.synth import generate as synth_generate
from jddc.models import registry
from jddc.models.resnet import ImageClassifier  # noqa: F401  (its home was here)
from jddc.tasks import base

FACT_NAMES = tuple(sorted({n for names in facts_lib.IMAGE_FACTS.values() for n in names}))
FACT_VALUES = {n: tuple(sorted({v for shop in schema.SHOP_TYPES for v in facts_lib.fact_values(n, shop)}))
               for n in FACT_NAMES}


def image_facts(release_dir: str) -> dict[str, dict[str, str]]:
  """Image name -> its latent facts, for a generated corpus ({} otherwise or when unreadable)."""
  path = os.path.join(release_dir, synth_generate.META_FILE)
  if not os.path.isfile(path):
    return {}
  out = {}
  with open(path, encoding="utf-8") as f:
    for line in f:
      for name, info in json.loads(line)["images"].items():
        if not info["degraded"]:
          out[name] = info["facts"]
  return out


class ImageAndFacts(grain.transforms.Map):
  """An image_category example -> `image` uint8[S, S, 3], `label` int32[] and `facts`
  int32[len(FACT_NAMES)] (each fact's value index, -1 where the image does not show it)."""

  def __init__(self, image_dir: str, config: pipeline.PipelineConfig, table: dict[str, dict[str, str]]):
    self.pixels = pipeline.ImageCategoryFeatures(image_dir, config)
    self.table = table

  def map(self, example: dict) -> dict:
    facts = self.table.get(pipeline.as_text(example["image"]), {})
    labels = [FACT_VALUES[n].index(facts[n]) if n in facts else -1 for n in FACT_NAMES]
    return {**self.pixels.map(example), "facts": np.asarray(labels, np.int32)}


class ImageCategoryTask(base.Task):
  metric = "accuracy"
  metric_mode = "max"

  def prepare(self) -> None:
    with base.stage("corpus"):
      self.release = base.release_dir(self.config)
    with base.stage("tfds shards"):
      self.sources = base.data_sources(self.config, "image_category")
    self.facts = image_facts(self.release) if self.config.model.aux_facts else {}

  def prepare_inference(self, run_dir: str) -> None:
    """No data: the fact heads exist when the config asks for them (a run on a generated
    corpus; a run on a release without image facts has none: set `model.aux_facts` False)."""
    del run_dir
    self.release = ""
    self.facts = {"": {}} if self.config.model.aux_facts else {}

  def _pipeline_config(self, **kw) -> pipeline.PipelineConfig:
    c = self.config
    kw.setdefault("batch_size", c.train.batch_size)
    return pipeline.PipelineConfig(image_size=c.data.image_size, seed=c.seed, worker_count=c.data.worker_count, **kw)

  def _dataset(self, source, config: pipeline.PipelineConfig) -> grain.IterDataset:
    return pipeline.make_dataset(source, ImageAndFacts(os.path.join(self.release, "images"), config, self.facts),
                                 config)

  def model_context(self) -> registry.ModelContext:
    """The 15 image subcategories and, with `self.facts`, one head per latent fact (`FACT_VALUES`)."""
    sizes = tuple(len(FACT_VALUES[n]) for n in FACT_NAMES) if self.facts else ()
    return dataclasses.replace(super().model_context(), num_classes=len(schema.IMAGE_CATEGORY_NAMES),
                               fact_sizes=sizes)

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    return self._dataset(self.sources["train"], self._pipeline_config(process_index=process_index,
                                                                      process_count=process_count))

  def loss(self, model, batch, rng):
    del rng  # no dropout
    logits, fact_logits = model(batch["image"], train=True)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
    examples = jnp.float32(ce.shape[0])
    loss = ((ce.sum(), examples),)  # the category's mean over examples, plus the facts' over present facts
    metrics = {"category_loss": (ce.sum(), examples),
               "accuracy": ((logits.argmax(-1) == batch["label"]).sum(), examples)}
    if fact_logits:
      fact_terms = []
      for k, fl in enumerate(fact_logits):
        labels = batch["facts"][:, k]
        present = labels >= 0
        fce = optax.softmax_cross_entropy_with_integer_labels(fl, jnp.maximum(labels, 0))
        fact_terms.append((jnp.where(present, fce, 0.0).sum(), present.sum()))
      total = sum(s for s, _ in fact_terms)
      count = sum(n for _, n in fact_terms).astype(jnp.float32)
      loss += ((total, count),)
      metrics["fact_loss"] = (total, count)
    return loss, metrics

  @functools.cached_property
  def _predict(self):
    """(model, uint8[B, S, S, 3]) -> [int32[B] category, one int32[B] per fact head], jitted once per task."""
    def predict(m, images):
      logits, fact_logits = m(images, train=False)
      return [logits.argmax(-1)] + [fl.argmax(-1) for fl in fact_logits]
    return evaluation.jit_model(predict)

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    """Accuracy (and per-fact accuracy) over the split's batches of `eval.batch_size` (the
    pipeline's, the last one shorter)."""
    config = self._pipeline_config(shuffle=False, num_epochs=1, drop_remainder=False,
                                   batch_size=self.config.eval.batch_size)
    correct = total = 0
    fact_correct = np.zeros(len(FACT_NAMES)) if self.facts else None
    fact_total = np.zeros(len(FACT_NAMES)) if self.facts else None
    rows = []
    for batch in self._dataset(self.sources[split], config):
      preds = [sharding.fetch(p) for p in self._predict(model, jnp.asarray(batch["image"]))]
      correct += int((preds[0] == batch["label"]).sum())
      total += len(batch["label"])
      for k in range(len(preds) - 1):
        present = batch["facts"][:, k] >= 0
        fact_correct[k] += int(((preds[k + 1] == batch["facts"][:, k]) & present).sum())
        fact_total[k] += int(present.sum())
      rows.extend({"label": schema.IMAGE_CATEGORY_NAMES[int(l)], "prediction": schema.IMAGE_CATEGORY_NAMES[int(p)]}
                  for l, p in zip(batch["label"], preds[0]))
    metrics = {"accuracy": 100.0 * correct / max(total, 1), "examples": float(total)}
    if fact_total is not None:
      for k, name in enumerate(FACT_NAMES):
        if fact_total[k]:
          metrics[f"fact_accuracy/{name}"] = float(100.0 * fact_correct[k] / fact_total[k])
    evaluation.write_predictions(out_dir, split, rows)
    return metrics
