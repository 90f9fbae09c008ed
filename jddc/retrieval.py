"""Nearest-neighbour search over embeddings (ScaNN here, Faiss in `jddc.retrieval_faiss`), saved and reloaded.

    index = build_index(vectors float32[N, D], distance="squared_l2", kind="scann")
    ids, distances = index.search(queries float32[Q, D], k)      # int32[Q, k], float32[Q, k]
    index.save(folder, fingerprint="...")
    index = load_index(folder, fingerprint="...", kind="scann", distance="squared_l2")  # None when absent or stale

`kind` is `retrieval.index` of the config (`INDEX_KINDS`, jddc/retrieval_common.py):
"scann" and "exact" are `EmbeddingIndex` below, "faiss_hnsw" and "faiss_ivfpq"
`jddc.retrieval_faiss.FaissIndex` (faiss-cpu, an optional dependency). Distances are
ScaNN's: squared L2 (ascending) or the dot product (descending), for every kind.

"scann": below `EXACT_BELOW` vectors the searcher is ScaNN's brute force (exact: the paper's
Faiss `IndexFlatL2`); above, a partitioning tree with asymmetric hashing and exact
re-scoring of the top candidates, which kept recall@10 above 0.99 on embedding-like data
here (STACK.md). "exact" is the brute force at every size. `fingerprint` names what the
vectors were computed from (a checkpoint, a feature file), so a saved index is reused only
for the same vectors; `index_key(kind, distance)` is what a caller adds to it so that it also
covers the kind, the distance and this code.

A saved ScaNN index is ScaNN's own assets (`scann_assets.pbtxt`, `scann_config.pb`, `.npy`
arrays, paths relative to the folder) and `index_info.json` (which records the kind); ids
are row numbers, so no doc id file is written. ScaNN's `load_searcher` unpickles a
`scann_docids.pkl` when one is there: a run folder from elsewhere could execute code that
way, so `load` never calls it, refuses a folder holding a pickle, and refuses asset paths
that leave the folder.
"""

from __future__ import annotations

import os
import re
from typing import Optional

import numpy as np

from jddc import fsutil
from jddc import retrieval_common as common
from jddc.retrieval_common import DISTANCES, INDEX_KINDS, INFO, UnsafeIndexError  # noqa: F401  (public names)

EXACT_BELOW = 50_000
ASSETS = "scann_assets.pbtxt"
SCANN_KINDS = ("scann", "exact")


def index_key(kind: str, distance: str) -> str:
  """What a saved index's fingerprint must hold besides its vectors' origin: kind, distance, code."""
  common.check_kind(kind, distance)
  return f"{kind}:{distance}:{fsutil.code_fingerprint(*common.INDEX_CODE)}"


def build_index(vectors: np.ndarray, distance: str = "squared_l2", kind: str = "scann"):
  """An index of `kind` over float32[N, D] `vectors` (an `EmbeddingIndex` or a `FaissIndex`)."""
  common.check_kind(kind, distance)
  if kind in common.FAISS_KINDS:
    from jddc import retrieval_faiss  # faiss only where asked for
    return retrieval_faiss.FaissIndex.build(vectors, distance, kind)
  return EmbeddingIndex.build(vectors, distance, exact=True if kind == "exact" else None)


def load_index(folder: str, fingerprint: str, kind: str = "scann", distance: Optional[str] = None):
  """The index of `kind` saved in `folder` from `fingerprint`'s vectors (and `distance`), else None.

  A saved index of another kind or distance is refused as stale (None: the caller rebuilds it).

  Raises:
    UnsafeIndexError: the folder holds a pickle or (ScaNN) assets outside itself.
  """
  common.check_kind(kind, distance or DISTANCES[0])
  if kind in common.FAISS_KINDS:
    from jddc import retrieval_faiss
    return retrieval_faiss.FaissIndex.load(folder, fingerprint, kind, distance)
  return EmbeddingIndex.load(folder, fingerprint, kind, distance)


class EmbeddingIndex:
  """A ScaNN searcher over float32[N, D] vectors; row i of the database has id i.

  `kind` is "scann" (tree + hashing from `EXACT_BELOW` vectors, or forced with exact=False)
  or "exact" (brute force).
  """

  def __init__(self, searcher, size: int, dim: int, distance: str, kind: str = "scann"):
    self.searcher, self.size, self.dim, self.distance, self.kind = searcher, size, dim, distance, kind

  @classmethod
  def build(cls, vectors: np.ndarray, distance: str = "squared_l2", exact: Optional[bool] = None,
            training_threads: int = 0) -> "EmbeddingIndex":
    """exact: True brute force ("exact"), False the tree at any size, None by `EXACT_BELOW` ("scann").

    training_threads: ScaNN's threads for training the tree and hashing (0: its default).
    """
    import scann  # heavy; only retrieval rows need it

    common.check_kind("scann", distance)
    vectors = common.database(vectors)
    n = len(vectors)
    builder = scann.scann_ops_pybind.builder(vectors, min(10, n), distance)
    if exact if exact is not None else n < EXACT_BELOW:
      builder = builder.score_brute_force()
    else:
      leaves = int(np.sqrt(n))
      builder = (builder.tree(num_leaves=leaves, num_leaves_to_search=max(1, leaves // 4), training_sample_size=n)
                 .score_ah(2, anisotropic_quantization_threshold=0.2).reorder(250))
    if training_threads:
      builder = builder.set_n_training_threads(training_threads)
    return cls(builder.build(), n, vectors.shape[1], distance, "exact" if exact else "scann")

  def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """float32[Q, D] -> (ids int32[Q, k'], distances float32[Q, k']), k' = min(k, N), nearest first."""
    queries = common.queries_for(queries, self.dim)
    k = min(k, self.size)
    if not len(queries):
      return common.empty_result(k)
    ids, distances = self.searcher.search_batched(queries, final_num_neighbors=k)
    return np.asarray(ids, np.int32), np.asarray(distances, np.float32)

  def save(self, folder: str, fingerprint: str) -> None:
    """Writes the index to `folder` (replacing it as a whole: a killed save leaves the old one)."""
    with fsutil.atomic_dir(folder, replace=True) as tmp:
      self.searcher.searcher.serialize(tmp, True)  # the pybind searcher: assets relative, no docid pickle
      common.write_info(tmp, fingerprint, self.kind, self.distance, self.size, self.dim)

  @classmethod
  def load(cls, folder: str, fingerprint: str, kind: Optional[str] = None,
           distance: Optional[str] = None) -> Optional["EmbeddingIndex"]:
    """The index saved in `folder` if it was built from `fingerprint`'s vectors, else None.

    kind / distance: what the caller wants ("scann" or "exact"; None: either, the saved
    distance); a save of another kind (a Faiss index included) or distance is stale: None.

    Raises:
      UnsafeIndexError: the folder holds a pickle (`scann_docids.pkl` or any `*.pkl`) or
        assets outside itself; nothing in it is read then.
    """
    if kind is not None and kind not in SCANN_KINDS:
      raise ValueError(f"EmbeddingIndex holds a ScaNN index ({SCANN_KINDS}), not {kind!r}: use load_index")
    info = common.read_info(folder, fingerprint, (kind,) if kind else SCANN_KINDS, distance)
    if info is None:
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
    return cls(searcher, info["size"], info["dim"], info["distance"], info.get("kind", "scann"))
