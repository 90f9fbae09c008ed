"""Retrieval-based response selection (Table 5, "Text-only / Multimodal Retrieval"; docs/baselines.md §1).

Candidates: the responses of the training examples nearest to the dialogue, by the
masked-mean embedding of its context + query (`retrieval.index`: ScaNN by default, exact
search or Faiss HNSW / IVF-PQ; top `text_candidates`), plus, in the
multimodal row, the responses of the training examples whose latest image is nearest to
the dialogue's latest image by ResNet-18 feature (top `image_candidates`). A TransResNet
re-ranker (`jddc.models.transresnet`, trained with in-batch negatives) scores them and the
best one is the output.

The context embedder (`retrieval.embedder`):
  "bert"            the paper's: a frozen BERT's masked-mean last hidden states, imported
                    from `retrieval.bert_init_from` (bert-base-chinese in the Hugging Face
                    layout; set `data.tokenizer` to the same folder);
  "context_encoder" without a pretrained BERT (the default here: nothing is downloaded):
                    the trained re-ranker's own context Transformer (masked mean), i.e. a
                    dual-encoder first stage.
Indexes are saved under `<workdir>/index/{text,image}` with a fingerprint of what they hold
(the embedder's weights, the training data, the image features, and `retrieval.index_key`:
the index kind, the distance and the index code), and reloaded when the fingerprint matches.

Batch features (L = data.max_len, R = data.max_response_len, F = image feature dim):
  context_tokens int32[L], context_mask int32[L]    [CLS] {speaker} text-or-[IMG] [SEP] ... [AGENT]
  response_tokens int32[R], response_mask int32[R]
  image_features float32[F], has_image bool[]        the latest image in the window (multimodal)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from typing import Optional

import grain
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jddc import metrics as metrics_lib
from jddc import evaluation, predict_inputs, retrieval
from jddc.data import pipeline
from jddc.data.errors import DataError
from jddc.models import transresnet
from jddc.tasks import base


class RetrievalFeatures(grain.transforms.Map):
  """A response example -> the batch features of the module docstring."""

  def __init__(self, tokenizer, config: pipeline.PipelineConfig, feature_table=None, feature_dim: int = 0):
    self.tokenizer, self.config = tokenizer, config
    self.feature_table, self.feature_dim = feature_table, feature_dim

  def map(self, example: dict) -> dict:
    cfg, tok = self.config, self.tokenizer
    window = dataclasses.replace(cfg, max_response_len=0, max_images=1)
    tokens, _, kept = pipeline.encode_dialogue(example, tok, window, with_response=False)
    response = tok.encode(pipeline.as_text(example.get("response", "")))[:cfg.max_response_len]
    out = {"context_tokens": _pad(tokens, cfg.max_len), "context_mask": _pad([1] * len(tokens), cfg.max_len),
           "response_tokens": _pad(response, cfg.max_response_len),
           "response_mask": _pad([1] * len(response), cfg.max_response_len)}
    if self.feature_dim:
      features = np.zeros((self.feature_dim,), np.float32)
      if kept:
        index, table = self.feature_table
        name = kept[-1][1]
        if name not in index:
          session = pipeline.as_text(example.get("session_id", "")) or "?"
          raise DataError("image features", None, f"no cached feature for image {name!r} (session {session})",
                          "image_missing")
        features = table[index[name]]
      out["image_features"], out["has_image"] = features, np.bool_(bool(kept))
    return out


def _pad(values: list[int], length: int) -> np.ndarray:
  out = np.zeros((length,), np.int32)
  out[:len(values)] = values[:length]
  return out


class RetrievalTask(base.Task):
  metric = "bleu"
  metric_mode = "max"
  dialogue_fields = ("context_",)  # what `predict` reads, as the generative response row
  predict_groups = dialogue_fields

  def prepare(self) -> None:
    self.prepare_data("response", image_features=self.multimodal)
    r = self.config.retrieval
    if r.embedder not in ("context_encoder", "bert"):
      raise ValueError(f"retrieval.embedder {r.embedder!r}: expected 'context_encoder' or 'bert'")
    self._bert = None
    if r.embedder == "bert":
      from jddc.models import convert

      if not r.bert_init_from:
        raise ValueError("retrieval.embedder='bert' needs retrieval.bert_init_from=<a BERT folder in the "
                         "Hugging Face layout> (and data.tokenizer set to the same folder)")
      with base.stage("pretrained BERT embedder"):
        self._bert = convert.bert_from_pretrained(r.bert_init_from)  # frozen; built outside the run's mesh
    self._bank = None

  def pipeline_config(self, **kw) -> pipeline.PipelineConfig:
    d = self.config.data
    kw.setdefault("batch_size", self.config.train.batch_size)
    return pipeline.PipelineConfig(max_len=d.max_len, max_response_len=d.max_response_len, max_images=1,
                                   image_size=0, seed=self.config.seed, worker_count=d.worker_count, **kw)

  def features(self, config: pipeline.PipelineConfig) -> RetrievalFeatures:
    dim = self.config.model.image_feature_dim
    return RetrievalFeatures(self.tokenizer, config, self.feature_table, dim)

  def train_dataset(self, process_index: int, process_count: int) -> grain.IterDataset:
    config = self.pipeline_config(process_index=process_index, process_count=process_count)
    return pipeline.make_dataset(self.sources["train"], self.features(config), config)

  def _image_args(self, batch) -> tuple:
    return (batch["image_features"][:, None], batch["has_image"][:, None]) if self.multimodal else ()

  def loss(self, model, batch, rng):
    rngs = nnx.Rngs(dropout=rng)
    dialogues = model.encode_dialogue(batch["context_tokens"], batch["context_mask"], *self._image_args(batch),
                                      deterministic=False, rngs=rngs)
    responses = model.encode_responses(batch["response_tokens"], batch["response_mask"], deterministic=False,
                                       rngs=rngs)
    loss, correct = transresnet.in_batch_loss(dialogues, responses)
    n = jnp.float32(loss.shape[0])
    return (loss.sum(), n), {"in_batch_loss": (loss.sum(), n), "in_batch_hits1": (100.0 * correct.sum(), n)}

  # -- evaluation ------------------------------------------------------------

  def _encode_all(self, fn, examples: list[dict]) -> dict[str, np.ndarray]:
    """Runs `fn(batch) -> {name: [B, ...]}` over examples in fixed-size batches (one compilation)."""
    config = self.pipeline_config(shuffle=False, num_epochs=1, drop_remainder=False)
    return evaluation.map_batches(lambda b: fn({k: jnp.asarray(v) for k, v in b.items()}), self.features(config).map,
                                  examples, self.config.eval.batch_size)

  @functools.cached_property
  def _jitted(self) -> dict:
    """The model functions of evaluation, jitted once per task (`evaluation.jit_model`)."""
    return {"bert_embedding": evaluation.jit_model(lambda m, t, k: m.mean_embedding(t, attention_mask=k)),
            "context_embedding": evaluation.jit_model(lambda m, t, k: m(t, k)),
            "responses": evaluation.jit_model(lambda m, t, k: m.encode_responses(t, k)),
            "dialogues": evaluation.jit_model(lambda m, *a: m.encode_dialogue(*a))}

  def _embedder(self, model):
    """batch -> float32[B, D] context embeddings for the text index, and a fingerprint of its weights."""
    if self._bert is not None:
      embed = self._jitted["bert_embedding"]
      path = os.path.abspath(self.config.retrieval.bert_init_from)
      return (lambda b: embed(self._bert, b["context_tokens"], b["context_mask"])), f"bert:{path}"
    encoder = model.context_encoder
    embed = self._jitted["context_embedding"]
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(nnx.state(encoder, nnx.Param)):
      digest.update(np.asarray(leaf).tobytes())
    return (lambda b: embed(encoder, b["context_tokens"], b["context_mask"])), digest.hexdigest()[:16]

  def _index(self, name: str, vectors_fn, fingerprint: str):
    """The `retrieval.index` kind of index over `vectors_fn()`, reloaded from `<workdir>/index/<name>`
    when saved from the same vectors (`fingerprint`), kind, distance and index code."""
    r = self.config.retrieval
    folder = os.path.join(self.workdir, "index", name)
    fingerprint = f"{fingerprint}:{retrieval.index_key(r.index, r.distance)}"
    index = retrieval.load_index(folder, fingerprint, r.index, r.distance)
    if index is None:
      index = retrieval.build_index(vectors_fn(), r.distance, r.index)
      if jax.process_index() == 0:
        index.save(folder, fingerprint)
    return index

  def candidates(self, embed, weights: str, encoded: dict[str, np.ndarray]) -> list[list[int]]:
    """Per example, ids into the training responses (`self._bank["responses"]`) of its candidates.

    `embed`/`weights`: the context embedder and its fingerprint (`_embedder`); `encoded`: the
    examples' context embeddings `q` float32[N, D] and, multimodal, their latest image `f`, `h`.
    """
    r = self.config.retrieval
    train = self._bank["examples"]
    data = f"{len(train)}:{self._bank['digest']}"
    text_index = self._index("text", lambda: self._encode_all(lambda b: {"v": embed(b)}, train)["v"],
                             f"{weights}:{data}:{self.config.data.max_len}")
    lists = [[ids] for ids in text_index.search(encoded["q"], r.text_candidates)[0]]
    if self.multimodal and r.image_candidates:
      image_rows = np.flatnonzero(self._bank["has_image"])
      if len(image_rows):
        image_vectors = np.ascontiguousarray(self._bank["image_features"][image_rows])
        image_digest = hashlib.sha256(image_vectors.tobytes()).hexdigest()[:16]  # the features, not their names
        image_index = self._index("image", lambda: image_vectors, f"image:{data}:{image_digest}")
        found = image_index.search(encoded["f"], r.image_candidates)[0]
        for row, (ids, has_image) in enumerate(zip(found, encoded["h"])):
          if has_image:
            lists[row].append(image_rows[ids])
    responses = self._bank["response_ids"]
    out = []
    for neighbour_lists in lists:
      seen, ids = set(), []
      for neighbours in neighbour_lists:
        for i in neighbours:
          rid = int(responses[int(i)])
          if rid not in seen:
            seen.add(rid)
            ids.append(rid)
      out.append(ids)
    return out

  def _build_bank(self) -> None:
    """The training examples, their unique responses, and (multimodal) their latest image features."""
    examples = base.first_examples(self.sources["train"], 0)
    texts = [pipeline.as_text(e["response"]) for e in examples]
    unique = sorted(set(texts))
    position = {t: i for i, t in enumerate(unique)}
    digest = hashlib.sha256()  # what the indexes' vectors are computed from, besides the weights
    for e in examples:
      digest.update(repr(sorted(e.items())).encode())
    bank = {"examples": examples, "responses": unique, "response_ids": np.asarray([position[t] for t in texts]),
            "digest": digest.hexdigest()[:16]}
    if self.multimodal:
      f = self._encode_all(lambda b: {"f": b["image_features"], "h": b["has_image"]}, examples)
      bank["image_features"], bank["has_image"] = f["f"], f["h"].astype(bool)
    self._bank = bank

  def select(self, model, examples: list[dict]) -> tuple[list[str], list[list[int]]]:
    """(chosen response per example, candidate ids per example)."""
    if self._bank is None:
      self._build_bank()
    embed, weights = self._embedder(model)
    encode_r, encode_d = self._jitted["responses"], self._jitted["dialogues"]

    def encode_examples(b):  # one pass over the examples: first-stage query, re-ranker vector, image
      out = {"q": embed(b), "d": encode_d(model, b["context_tokens"], b["context_mask"], *self._image_args(b))}
      if self.multimodal:
        out.update(f=b["image_features"], h=b["has_image"])
      return out

    encoded = self._encode_all(encode_examples, examples)
    cands = self.candidates(embed, weights, encoded)
    responses = self._bank["responses"]
    response_rows = [{"response": t, "context_texts": [], "context_images": [], "context_speakers": []}
                     for t in responses]
    r_vecs = self._encode_all(lambda b: {"v": encode_r(model, b["response_tokens"], b["response_mask"])},
                              response_rows)["v"]
    d_vecs = encoded["d"]
    chosen = [responses[ids[int(np.argmax(r_vecs[ids] @ d))]] for d, ids in zip(d_vecs, cands)]
    return chosen, cands

  def evaluate(self, model, split: str, out_dir: Optional[str]) -> dict[str, float]:
    examples = base.first_examples(self.sources[split], self.config.eval.max_examples)
    hyps, cands = self.select(model, examples)
    refs = [pipeline.as_text(e["response"]) for e in examples]
    responses = self._bank["responses"]
    scores = metrics_lib.response_metrics(hyps, refs)
    recalled = [ref in {responses[i] for i in ids} for ref, ids in zip(refs, cands)]
    scores["candidate_recall"] = 100.0 * float(np.mean(recalled)) if examples else 0.0
    scores["candidates_per_example"] = float(np.mean([len(c) for c in cands])) if examples else 0.0
    scores["exact_match"] = 100.0 * float(np.mean([h == r for h, r in zip(hyps, refs)])) if examples else 0.0
    scores["examples"] = float(len(examples))
    evaluation.write_predictions(out_dir, split, (
        {"session_id": pipeline.as_text(ex["session_id"]), "index": int(ex["index"]), "reference": ref,
         "prediction": hyp, "gold_in_candidates": ref in {responses[i] for i in ids},
         "candidates": [responses[i] for i in ids[:5]]} for ex, hyp, ref, ids in zip(examples, hyps, refs, cands)))
    return scores

  def predict(self, model, examples: list[dict]) -> list[dict]:
    """Examples in `jddc.predict_inputs`'s format -> each with `prediction`, the chosen training response."""
    predict_inputs.check_task_inputs(self, examples)
    if not examples:
      return []
    hyps, _ = self.select(model, [{**e, "response": ""} for e in examples])
    return [{**e, "prediction": p} for e, p in zip(examples, hyps)]
