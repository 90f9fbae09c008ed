"""Nearest-neighbour search over embeddings with ScaNN, saved with a run and reloaded.

    index = EmbeddingIndex.build(vectors float32[N, D], distance="squared_l2")
    ids, distances = index.search(queries float32[Q, D], k)      # int32[Q, k], float32[Q, k]
    index.save(folder, fingerprint="...")
    index = EmbeddingIndex.load(folder, fingerprint="...")       # None when absent or stale

Below `EXACT_BELOW` vectors the searcher is ScaNN's brute force (exact: the paper's Faiss
`IndexFlatL2`); above, a partitioning tree with asymmetric hashing and exact re-scoring of
the top candidates, which kept recall@10 above 0.99 on embedding-like data here (STACK.md).
`fingerprint` names what the vectors were computed from (a checkpoint, a feature file), so
a saved index is reused only for the same vectors.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Optional

import numpy as np

EXACT_BELOW = 50_000
DISTANCES = ("squared_l2", "dot_product")


class EmbeddingIndex:
  """A ScaNN searcher over float32[N, D] vectors; row i of the database has id i."""

  def __init__(self, searcher, size: int, dim: int, distance: str):
    self.searcher, self.size, self.dim, self.distance = searcher, size, dim, distance

  @classmethod
  def build(cls, vectors: np.ndarray, distance: str = "squared_l2", exact: Optional[bool] = None) -> "EmbeddingIndex":
    import scann  # heavy; only retrieval rows need it

    if distance not in DISTANCES:
      raise ValueError(f"distance {distance!r}: expected one of {DISTANCES}")
    vectors = np.ascontiguousarray(vectors, np.float32)
    if vectors.ndim != 2 or not len(vectors):
      raise ValueError(f"an index needs float32[N>0, D] vectors, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
      raise ValueError("index vectors contain NaN or infinity")
    n = len(vectors)
    builder = scann.scann_ops_pybind.builder(vectors, min(10, n), distance)
    if exact if exact is not None else n < EXACT_BELOW:
      builder = builder.score_brute_force()
    else:
      leaves = int(np.sqrt(n))
      builder = (builder.tree(num_leaves=leaves, num_leaves_to_search=max(1, leaves // 4), training_sample_size=n)
                 .score_ah(2, anisotropic_quantization_threshold=0.2).reorder(250))
    return cls(builder.build(), n, vectors.shape[1], distance)

  def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """float32[Q, D] -> (ids int32[Q, k'], distances float32[Q, k']), k' = min(k, N), nearest first."""
    queries = np.ascontiguousarray(queries, np.float32)
    if queries.ndim != 2 or queries.shape[1] != self.dim:
      raise ValueError(f"queries of shape {queries.shape} for an index of dimension {self.dim}")
    k = min(k, self.size)
    if not len(queries):
      return np.zeros((0, k), np.int32), np.zeros((0, k), np.float32)
    ids, distances = self.searcher.search_batched(queries, final_num_neighbors=k)
    return np.asarray(ids, np.int32), np.asarray(distances, np.float32)

  def save(self, folder: str, fingerprint: str) -> None:
    if os.path.isdir(folder):
      shutil.rmtree(folder)
    os.makedirs(folder)
    self.searcher.serialize(folder)
    with open(os.path.join(folder, "index_info.json"), "w", encoding="utf-8") as f:
      json.dump({"fingerprint": fingerprint, "size": self.size, "dim": self.dim, "distance": self.distance}, f)

  @classmethod
  def load(cls, folder: str, fingerprint: str) -> Optional["EmbeddingIndex"]:
    """The index saved in `folder` if it was built from `fingerprint`'s vectors, else None."""
    info_path = os.path.join(folder, "index_info.json")
    if not os.path.isfile(info_path):
      return None
    with open(info_path, encoding="utf-8") as f:
      info = json.load(f)
    if info["fingerprint"] != fingerprint:
      return None
    import scann

    searcher = scann.scann_ops_pybind.load_searcher(folder)
    return cls(searcher, info["size"], info["dim"], info["distance"])

