"""Faiss indexes ("faiss_hnsw", "faiss_ivfpq"; the paper's library) with `jddc.retrieval.EmbeddingIndex`'s interface.

    index = FaissIndex.build(vectors float32[N, D], distance="squared_l2", kind="faiss_hnsw")
    ids, distances = index.search(queries float32[Q, D], k)      # int32[Q, k'], float32[Q, k'], k' = min(k, N)
    index.save(folder, fingerprint="...")
    index = FaissIndex.load(folder, fingerprint="...", kind="faiss_hnsw")   # None when absent or stale

faiss-cpu is an optional dependency (the `bench` and `test` extras of pyproject.toml); without it
these kinds fail with an ImportError that names the extra (and config validation refuses them first).

The kinds, their parameters (`hnsw_params` / `ivfpq_params` give them for N vectors of D dims;
every one is recorded in `index_info.json` and printed by benchmarks/retrieval_index.py):
  faiss_hnsw   `IndexHNSWFlat(D, M)`: M = 32 links per node, efConstruction = 80 (Faiss's
               default is 40), efSearch = 128 candidates kept while searching (Faiss uses
               max(efSearch, k)). Full float32 vectors, exact distances.
  faiss_ivfpq  `index_factory(D, "IVF{nlist},PQ{m}x{nbits},RFlat")`, i.e. an `IndexIVFPQ` (no
               polysemous training) inside an `IndexRefineFlat`: nlist = 4 sqrt(N)
               coarse cells (Faiss's rule of thumb), at most N / 39 so that each has training
               points, trained on a fixed sample of 40 points per cell; m sub-quantisers (the
               largest divisor of D up to min(64, D / 4): 64 bytes per vector at D = 512),
               nbits = 8 (fewer when N < 256); nprobe = nlist / 32 cells visited (at least 8);
               the top k x k_factor (8) candidates are re-scored with the full vectors, so
               distances are exact and recall is that of the candidates.
Distances as ScaNN's: squared L2 (`METRIC_L2`, which Faiss returns squared), or the dot
product (`METRIC_INNER_PRODUCT`, descending). A query for which the index finds fewer than
k' neighbours (an IVF probe of small cells) is answered by exact search over the stored
vectors, so every id is a real row (never Faiss's -1).

Saved as `faiss.index` (`faiss.write_index`, Faiss's own binary format: no pickle) and
`index_info.json` with the kind and parameters; `load` refuses (None) another kind or
distance, and an index file whose size, dimension or metric is not what the info says.
Faiss's reader runs no code from the file (unlike a pickle), but it is C++ that was not
written for hostile input: a crafted file from a foreign run folder may crash it.
"""

from __future__ import annotations

import math
import os
from typing import Optional

import numpy as np

from jddc import fsutil
from jddc import retrieval_common as common

INDEX_FILE = "faiss.index"
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128
IVF_TRAIN_PER_CELL, IVFPQ_K_FACTOR = 40, 8
EXTRA = "bench"  # the pyproject.toml extra that installs faiss-cpu (also in `test`)


def import_faiss():
  """The faiss module, or an ImportError naming the extra that installs it."""
  try:
    import faiss
  except ImportError as e:
    raise ImportError(f"retrieval.index {common.FAISS_KINDS} needs faiss-cpu, an optional dependency: "
                      f"pip install -e '.[{EXTRA}]' (or faiss-cpu==1.15.1; scripts/setup.sh --extra={EXTRA})") from e
  return faiss


def hnsw_params(n: int, dim: int) -> dict:
  del n, dim
  return {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}


def ivfpq_params(n: int, dim: int) -> dict:
  """nlist, m, nbits, nprobe, k_factor, train_size for N = n vectors of `dim` dims (module docstring)."""
  nlist = max(1, min(round(4 * math.sqrt(n)), n // 39))
  m = max(d for d in range(1, max(1, min(64, dim // 4)) + 1) if dim % d == 0)
  nbits = max(1, min(8, int(math.log2(n))))
  return {"nlist": nlist, "m": m, "nbits": nbits, "nprobe": min(nlist, max(8, nlist // 32)),
          "k_factor": IVFPQ_K_FACTOR, "train_size": min(n, max(IVF_TRAIN_PER_CELL * nlist, 2 ** nbits * 39))}


def _metric(faiss, distance: str):
  return faiss.METRIC_L2 if distance == "squared_l2" else faiss.METRIC_INNER_PRODUCT


class FaissIndex:
  """A Faiss index over float32[N, D] vectors; row i of the database has id i.

  Attributes:
    index: the Faiss index (`IndexHNSWFlat` or `IndexRefineFlat` over `IndexIVFPQ`).
    kind, distance, size (N), dim (D), params: as recorded in `index_info.json`.
  """

  def __init__(self, index, kind: str, distance: str, size: int, dim: int, params: dict):
    self.index, self.kind, self.distance, self.size, self.dim = index, kind, distance, size, dim
    self.params = dict(params)
    self.set_search_params()

  @classmethod
  def build(cls, vectors: np.ndarray, distance: str = "squared_l2", kind: str = "faiss_hnsw",
            **overrides) -> "FaissIndex":
    """overrides: parameters to change from `hnsw_params` / `ivfpq_params` (benchmarks)."""
    common.check_kind(kind, distance)
    if kind not in common.FAISS_KINDS:
      raise ValueError(f"FaissIndex builds {common.FAISS_KINDS}, not {kind!r}")
    faiss = import_faiss()
    vectors = common.database(vectors)
    n, dim = vectors.shape
    metric = _metric(faiss, distance)
    if kind == "faiss_hnsw":
      params = {**hnsw_params(n, dim), **overrides}
      index = faiss.IndexHNSWFlat(dim, params["M"], metric)
      index.hnsw.efConstruction = params["ef_construction"]
    else:
      params = {**ivfpq_params(n, dim), **overrides}
      if dim % params["m"]:
        raise ValueError(f"faiss_ivfpq: m={params['m']} sub-quantisers must divide the dimension {dim}")
      index = faiss.index_factory(dim, f"IVF{params['nlist']},PQ{params['m']}x{params['nbits']},RFlat", metric)
      ivf = faiss.downcast_index(index.base_index)  # the IndexIVFPQ
      ivf.cp.min_points_per_centroid = 1  # small databases: no warning (sizes are chosen above)
      ivf.pq.cp.min_points_per_centroid = 1
      ivf.do_polysemous_training = False  # the factory's default; only polysemous search would use it (slow)
      rows = np.random.default_rng(0).choice(n, size=params["train_size"], replace=False)
      sample = vectors[np.sort(rows)]
      if len(sample) < 2 ** params["nbits"]:  # one vector: k-means needs as many points as centroids
        sample = np.resize(sample, (2 ** params["nbits"], dim))
      index.train(sample)
    index.add(vectors)
    return cls(index, kind, distance, n, dim, params)

  def set_search_params(self, **params) -> None:
    """Changes the search-time parameters (ef_search; nprobe, k_factor) and applies them."""
    self.params.update(params)
    faiss = import_faiss()
    if self.kind == "faiss_hnsw":
      self.index.hnsw.efSearch = int(self.params["ef_search"])
    else:
      faiss.extract_index_ivf(self.index).nprobe = int(self.params["nprobe"])
      self.index.k_factor = float(self.params["k_factor"])

  def _flat(self):
    """The exact index over the stored vectors (`IndexFlat`): HNSW's storage, the refinement's."""
    faiss = import_faiss()
    return faiss.downcast_index(self.index.storage if self.kind == "faiss_hnsw" else self.index.refine_index)

  def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """float32[Q, D] -> (ids int32[Q, k'], distances float32[Q, k']), k' = min(k, N), nearest first."""
    queries = common.queries_for(queries, self.dim)
    k = min(k, self.size)
    if not len(queries):
      return common.empty_result(k)
    distances, ids = self.index.search(queries, k)
    short = np.flatnonzero((ids < 0).any(axis=1))
    if len(short):  # fewer than k found (IVF cells too small): exact search for those queries
      distances[short], ids[short] = self._flat().search(queries[short], k)
    return ids.astype(np.int32), distances.astype(np.float32)

  def serialized_bytes(self) -> int:
    """The size of the index as `save` writes it (Faiss's format)."""
    return int(import_faiss().serialize_index(self.index).nbytes)

  def save(self, folder: str, fingerprint: str) -> None:
    """Writes the index to `folder` (replacing it as a whole: a killed save leaves the old one)."""
    faiss = import_faiss()
    with fsutil.atomic_dir(folder, replace=True) as tmp:
      faiss.write_index(self.index, os.path.join(tmp, INDEX_FILE))
      common.write_info(tmp, fingerprint, self.kind, self.distance, self.size, self.dim, params=self.params)

  @classmethod
  def load(cls, folder: str, fingerprint: str, kind: str, distance: Optional[str] = None) -> Optional["FaissIndex"]:
    """The `kind` index saved in `folder` from `fingerprint`'s vectors, else None (absent or stale).

    Reads Faiss's binary format only (no pickle); the file must agree with the info's size,
    dimension and metric. Raises UnsafeIndexError when the folder holds a pickle.
    """
    if kind not in common.FAISS_KINDS:
      raise ValueError(f"FaissIndex loads {common.FAISS_KINDS}, not {kind!r}")
    info = common.read_info(folder, fingerprint, (kind,), distance)
    path = os.path.join(folder, INDEX_FILE)
    if info is None or not os.path.isfile(path) or not isinstance(info.get("params"), dict):
      return None
    faiss = import_faiss()
    index = faiss.read_index(path)
    expected = faiss.IndexHNSWFlat if kind == "faiss_hnsw" else faiss.IndexRefineFlat
    if (not isinstance(index, expected) or index.ntotal != info["size"] or index.d != info["dim"]
        or index.metric_type != _metric(faiss, info["distance"])):
      return None
    return cls(index, kind, info["distance"], info["size"], info["dim"], info["params"])
