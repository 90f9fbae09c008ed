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

A saved index is ScaNN's own assets (`scann_assets.pbtxt`, `scann_config.pb`, `.npy`
arrays, paths relative to the folder) and `index_info.json`; ids are row numbers, so no doc
id file is written. ScaNN's `load_searcher` unpickles a `scann_docids.pkl` when one is
there: a run folder from elsewhere could execute code that way, so `load` never calls it,
refuses a folder holding a pickle, and refuses asset paths that leave the folder.
"""

from __future__ import annotations

import json
import os
import re
from typing import Optional

import numpy as np

from jddc import fsutil

EXACT_BELOW = 50_000
DISTANCES = ("squared_l2", "dot_product")
INFO = "index_info.json"
ASSETS = "scann_assets.pbtxt"


class UnsafeIndexError(ValueError):
  """A saved index that cannot be loaded without trusting its folder (a pickle, escaping paths)."""


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
    """Writes the index to `folder` (replacing it as a whole: a killed save leaves the old one)."""
    with fsutil.atomic_dir(folder, replace=True) as tmp:
      self.searcher.searcher.serialize(tmp, True)  # the pybind searcher: assets relative, no docid pickle
      fsutil.write_json(os.path.join(tmp, INFO), {"fingerprint": fingerprint, "size": self.size, "dim": self.dim,
                                                  "distance": self.distance})

  @classmethod
  def load(cls, folder: str, fingerprint: str) -> Optional["EmbeddingIndex"]:
    """The index saved in `folder` if it was built from `fingerprint`'s vectors, else None.

    Raises:
      UnsafeIndexError: the folder holds a pickle (`scann_docids.pkl` or any `*.pkl`) or
        assets outside itself; nothing in it is read then.
    """
    info_path = os.path.join(folder, INFO)
    if not os.path.isfile(info_path):
      return None
    pickles = sorted(n for n in os.listdir(folder) if n.endswith((".pkl", ".pickle")))
    if pickles:
      raise UnsafeIndexError(
          f"{os.path.join(folder, pickles[0])}: a pickle in a saved index (an older ScaNN save with doc ids); "
          "jddc never reads pickles from a run folder (loading one can run arbitrary code). Delete "
          f"{folder} to rebuild the index from the checkpoint")
    try:
      info = fsutil.read_json(info_path)
    except ValueError:
      return None  # a torn info file: rebuild
    if not isinstance(info, dict) or info.get("fingerprint") != fingerprint:
      return None
    assets_path = os.path.join(folder, ASSETS)
    if not os.path.isfile(assets_path):
      return None  # not a complete save (ScaNN's own loader would rewrite the folder here)
    with open(assets_path, encoding="utf-8") as f:
      assets = f.read()
    for path in re.findall(r'asset_path:\s*"([^"]*)"', assets):
      if os.path.isabs(path) or os.path.normpath(path).startswith("..") or "/" in path or "\\" in path:
        raise UnsafeIndexError(f"{assets_path}: asset path {path!r} lies outside the index folder; delete {folder} "
                               "to rebuild the index")
    import scann  # noqa: F401  (puts scann_pybind on sys.path)
    import scann_pybind
    from scann.scann_ops.py import scann_ops_pybind

    searcher = scann_ops_pybind.ScannSearcher(scann_pybind.ScannNumpy(os.path.abspath(folder), assets), None)
    return cls(searcher, info["size"], info["dim"], info["distance"])

