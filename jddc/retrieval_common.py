"""What every nearest-neighbour index kind shares: names, input checks, the saved `index_info.json`.

The kinds (`INDEX_KINDS`, `retrieval.index` in configs/common.py):
  "scann"        ScaNN (jddc.retrieval): brute force below `EXACT_BELOW` vectors, above it a
                 partitioning tree with asymmetric hashing and exact re-scoring (the default);
  "exact"        ScaNN's brute force at every size (exact float32 scores);
  "faiss_hnsw"   Faiss `IndexHNSWFlat` (jddc.retrieval_faiss), a graph over the full vectors;
  "faiss_ivfpq"  Faiss `IndexIVFPQ` (inverted lists of product-quantised codes) whose top
                 candidates are re-scored exactly (`IndexRefineFlat`).
Every kind supports both `DISTANCES`: "squared_l2" (ascending; Faiss `METRIC_L2`, which
also returns squared distances) and "dot_product" (the inner product, descending; Faiss
`METRIC_INNER_PRODUCT`). Ids are row numbers of the database, int32.

A saved index is a folder of the kind's own files and `index_info.json`:
  {"fingerprint", "kind", "distance", "size", "dim", ...the kind's parameters}
`read_info` returns it only when the fingerprint, kind and distance are the ones asked for
(anything else is stale: None, and the caller rebuilds). A folder holding a pickle is refused
outright (`UnsafeIndexError`): jddc never unpickles what a run folder holds.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from jddc import fsutil

DISTANCES = ("squared_l2", "dot_product")
INDEX_KINDS = ("scann", "exact", "faiss_hnsw", "faiss_ivfpq")
FAISS_KINDS = ("faiss_hnsw", "faiss_ivfpq")
INFO = "index_info.json"
#: the modules whose code decides what an index holds (part of a saved index's cache key)
INDEX_CODE = ("jddc.retrieval", "jddc.retrieval_common", "jddc.retrieval_faiss")


class UnsafeIndexError(ValueError):
  """A saved index that cannot be loaded without trusting its folder (a pickle, escaping paths)."""


def check_kind(kind: str, distance: str) -> None:
  if kind not in INDEX_KINDS:
    raise ValueError(f"index kind {kind!r}: expected one of {INDEX_KINDS}")
  if distance not in DISTANCES:
    raise ValueError(f"distance {distance!r}: expected one of {DISTANCES}")


def database(vectors: np.ndarray) -> np.ndarray:
  """float32[N>0, D] contiguous, finite; anything else is a ValueError."""
  vectors = np.ascontiguousarray(vectors, np.float32)
  if vectors.ndim != 2 or not len(vectors):
    raise ValueError(f"an index needs float32[N>0, D] vectors, got shape {vectors.shape}")
  if not np.isfinite(vectors).all():
    raise ValueError("index vectors contain NaN or infinity")
  return vectors


def queries_for(queries: np.ndarray, dim: int) -> np.ndarray:
  """float32[Q, dim] contiguous; another shape is a ValueError."""
  queries = np.ascontiguousarray(queries, np.float32)
  if queries.ndim != 2 or queries.shape[1] != dim:
    raise ValueError(f"queries of shape {queries.shape} for an index of dimension {dim}")
  return queries


def empty_result(k: int) -> tuple[np.ndarray, np.ndarray]:
  """(int32[0, k], float32[0, k]): the answer to no queries."""
  return np.zeros((0, k), np.int32), np.zeros((0, k), np.float32)


def refuse_pickles(folder: str) -> None:
  """Raises UnsafeIndexError when `folder` holds a `*.pkl` / `*.pickle` (nothing is read)."""
  pickles = sorted(n for n in os.listdir(folder) if n.endswith((".pkl", ".pickle")))
  if pickles:
    raise UnsafeIndexError(
        f"{os.path.join(folder, pickles[0])}: a pickle in a saved index (an older ScaNN save with doc ids); "
        "jddc never reads pickles from a run folder (loading one can run arbitrary code). Delete "
        f"{folder} to rebuild the index from the checkpoint")


def write_info(folder: str, fingerprint: str, kind: str, distance: str, size: int, dim: int, **params) -> None:
  fsutil.write_json(os.path.join(folder, INFO), {"fingerprint": fingerprint, "kind": kind, "distance": distance,
                                                 "size": size, "dim": dim, **params})


def read_info(folder: str, fingerprint: str, kinds: tuple[str, ...], distance: Optional[str] = None) -> Optional[dict]:
  """`index_info.json` of `folder` if it holds an index of `fingerprint`'s vectors, else None.

  Args:
    folder: a saved index.
    fingerprint: what the vectors were computed from.
    kinds: the kinds the caller can load (an info file without "kind" is a "scann" save,
      written before the kinds existed).
    distance: the distance asked for; None accepts the saved one.

  Raises:
    UnsafeIndexError: the folder holds a pickle.
  """
  path = os.path.join(folder, INFO)
  if not os.path.isfile(path):
    return None
  refuse_pickles(folder)
  try:
    info = fsutil.read_json(path)
  except ValueError:
    return None  # a torn info file: rebuild
  if not isinstance(info, dict) or info.get("fingerprint") != fingerprint:
    return None
  if info.get("kind", "scann") not in kinds or (distance is not None and info.get("distance") != distance):
    return None  # another kind or distance: stale, as another fingerprint
  if info.get("distance") not in DISTANCES or not isinstance(info.get("size"), int) or not isinstance(
      info.get("dim"), int):
    return None
  return info
