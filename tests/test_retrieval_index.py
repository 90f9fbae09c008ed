"""The index kinds of `retrieval.index` (ScaNN, exact, Faiss HNSW and IVF-PQ): neighbours, both
distances, save/load and what load refuses, faiss as an optional import, the config key, one
tiny run with a Faiss index, and benchmarks/retrieval_index.py's --json output."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from configs import common
from jddc import configuration, retrieval, retrieval_faiss

REPO = configuration.REPO_ROOT
APPROXIMATE = ("faiss_hnsw", "faiss_ivfpq")


def _clustered(n, dim, seed, centres=50):
  rng = np.random.default_rng(seed)
  means = rng.normal(size=(centres, dim))
  return (means[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


def _exact(db, queries, k, distance):
  scores = ((queries[:, None] - db[None]) ** 2).sum(-1) if distance == "squared_l2" else -(queries @ db.T)
  ids = np.argsort(scores, axis=1, kind="stable")[:, :k]
  return ids, np.take_along_axis(scores, ids, axis=1)


@pytest.fixture(scope="module")
def easy_set():
  """2,000 clustered vectors and 100 queries from the same clusters (not in the database)."""
  return _clustered(2000, 16, 0), _clustered(100, 16, 1)


@pytest.mark.parametrize("distance", retrieval.DISTANCES)
@pytest.mark.parametrize("kind", retrieval.INDEX_KINDS)
def test_every_kind_finds_the_neighbours(easy_set, kind, distance):
  db, queries = easy_set
  index = retrieval.build_index(db, distance, kind)
  assert index.kind == kind and index.distance == distance and (index.size, index.dim) == (2000, 16)
  ids, dist = index.search(queries, 10)
  assert ids.dtype == np.int32 and dist.dtype == np.float32 and ids.shape == dist.shape == (100, 10)
  truth, truth_scores = _exact(db, queries, 10, distance)
  recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
  assert recall >= (0.9 if kind in APPROXIMATE else 1.0), recall
  # every kind returns the true distance of each id it finds (ScaNN's convention), nearest first
  scores = np.take_along_axis(((queries[:, None] - db[None]) ** 2).sum(-1) if distance == "squared_l2"
                              else -(queries @ db.T), ids.astype(np.int64), axis=1)
  np.testing.assert_allclose(dist if distance == "squared_l2" else -dist, scores, rtol=1e-4, atol=1e-3)
  assert (np.diff(scores, axis=1) >= -1e-3).all()
  if kind not in APPROXIMATE:
    np.testing.assert_array_equal(ids, truth)
  assert index.search(queries[:0], 10)[0].shape == (0, 10)
  assert index.search(queries[:2], 5000)[0].shape == (2, 2000)  # k beyond the database: all of it


@pytest.mark.parametrize("kind", retrieval.INDEX_KINDS)
def test_save_load_round_trip_and_what_load_refuses(easy_set, tmp_path, kind):
  db, queries = easy_set
  distance = "dot_product" if kind == "faiss_ivfpq" else "squared_l2"
  index = retrieval.build_index(db, distance, kind)
  folder = str(tmp_path / "index")
  index.save(folder, "weights-a")
  info = json.load(open(os.path.join(folder, retrieval.INFO)))
  assert (info["kind"], info["distance"], info["size"], info["dim"]) == (kind, distance, 2000, 16)
  reloaded = retrieval.load_index(folder, "weights-a", kind, distance)
  assert type(reloaded) is type(index) and reloaded.kind == kind
  np.testing.assert_array_equal(reloaded.search(queries, 10)[0], index.search(queries, 10)[0])
  assert retrieval.load_index(folder, "weights-a", kind) is not None  # distance None: the saved one
  assert retrieval.load_index(folder, "weights-b", kind, distance) is None  # other vectors: stale
  other_distance = [d for d in retrieval.DISTANCES if d != distance][0]
  assert retrieval.load_index(folder, "weights-a", kind, other_distance) is None
  for other in retrieval.INDEX_KINDS:  # an index of another kind is never loaded as this one
    if other != kind:
      assert retrieval.load_index(folder, "weights-a", other, distance) is None, other
  assert retrieval.load_index(str(tmp_path / "missing"), "weights-a", kind, distance) is None
  with open(os.path.join(folder, "extra.pkl"), "wb") as f:
    f.write(b"not read")
  with pytest.raises(retrieval.UnsafeIndexError, match=r"extra\.pkl: a pickle in a saved index"):
    retrieval.load_index(folder, "weights-a", kind, distance)


def test_the_fingerprint_key_covers_kind_distance_and_code():
  keys = {retrieval.index_key(k, d) for k in retrieval.INDEX_KINDS for d in retrieval.DISTANCES}
  assert len(keys) == len(retrieval.INDEX_KINDS) * len(retrieval.DISTANCES)
  assert retrieval.index_key("faiss_hnsw", "dot_product").startswith("faiss_hnsw:dot_product:")
  with pytest.raises(ValueError, match="index kind 'annoy'"):
    retrieval.index_key("annoy", "squared_l2")


def test_a_faiss_index_whose_file_disagrees_with_its_info_is_stale(easy_set, tmp_path):
  db, _ = easy_set
  folder = str(tmp_path / "index")
  retrieval.build_index(db, "squared_l2", "faiss_hnsw").save(folder, "w")
  path = os.path.join(folder, retrieval.INFO)
  info = json.load(open(path))
  json.dump({**info, "size": 1999}, open(path, "w"))
  assert retrieval.load_index(folder, "w", "faiss_hnsw", "squared_l2") is None


def test_ivf_probes_that_find_too_few_fall_back_to_exact_search(easy_set):
  db, queries = easy_set
  index = retrieval.build_index(db, "squared_l2", "faiss_ivfpq")
  index.set_search_params(nprobe=1)
  ids, _ = index.search(queries, 300)  # more than one cell holds: Faiss alone would pad with -1
  assert (ids >= 0).all() and all(len(set(row)) == 300 for row in ids)


def test_tiny_databases_build_every_kind():
  db = _clustered(3, 8, 0)
  for kind in retrieval.INDEX_KINDS:
    for n in (1, 3):
      ids, _ = retrieval.build_index(db[:n], "squared_l2", kind).search(db, 10)
      assert ids.shape == (3, n) and (ids >= 0).all(), (kind, n)


def test_without_faiss_the_error_names_the_extra(monkeypatch):
  monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now raises ImportError
  with pytest.raises(ImportError, match=r"needs faiss-cpu.*\.\[bench\]"):
    retrieval.build_index(_clustered(20, 4, 0), "squared_l2", "faiss_hnsw")
  retrieval.build_index(_clustered(20, 4, 0), "squared_l2", "scann")  # ScaNN needs no faiss
  import importlib.util
  real = importlib.util.find_spec
  monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faiss" else real(name, *a))
  config = _retrieval_config(index="faiss_ivfpq")
  with pytest.raises(configuration.ConfigError, match=r"retrieval.index 'faiss_ivfpq' needs faiss-cpu.*\[bench\]"):
    configuration.validate(config, common.reference(config))


def _retrieval_config(**retrieval_keys):
  config = configuration.load_config("configs/response_retrieval_text.py:tiny")
  with config.unlocked():
    for key, value in retrieval_keys.items():
      config.retrieval[key] = value
  return config


def test_config_validation_names_the_key_of_an_unknown_kind():
  config = _retrieval_config()
  assert config.retrieval.index == "scann"  # the default: today's behaviour
  for kind in retrieval.INDEX_KINDS:
    config = _retrieval_config(index=kind)
    configuration.validate(config, common.reference(config))
  config = _retrieval_config(index="faiss_flat")
  with pytest.raises(configuration.ConfigError, match=r"retrieval.index: 'faiss_flat' is not allowed"):
    configuration.validate(config, common.reference(config))


def test_a_tiny_run_builds_and_saves_the_configured_faiss_index(tiny_release, tmp_path):
  from jddc import train

  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  config = _retrieval_config(index="faiss_hnsw")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.train.steps = 10
    config.train.eval_every = 10
    config.train.checkpoint_every = 10
  configuration.validate(config, common.reference(config))
  workdir = tmp_path / "run"
  results = train.train_and_evaluate(config, str(workdir))
  assert 0.0 < results["candidates_per_example"] <= config.retrieval.text_candidates
  folder = workdir / "index" / "text"
  info = json.load(open(folder / retrieval.INFO))
  assert info["kind"] == "faiss_hnsw" and info["distance"] == "squared_l2"
  assert info["fingerprint"].endswith(retrieval.index_key("faiss_hnsw", "squared_l2"))
  assert (folder / retrieval_faiss.INDEX_FILE).is_file() and not (folder / retrieval.ASSETS).exists()
  assert json.load(open(workdir / "config.json"))["retrieval"]["index"] == "faiss_hnsw"
  index = retrieval.load_index(str(folder), info["fingerprint"], "faiss_hnsw", "squared_l2")
  assert isinstance(index, retrieval_faiss.FaissIndex) and index.size == info["size"]


def test_the_benchmark_prints_one_json_object_of_named_figures():
  out = subprocess.run(
      [sys.executable, os.path.join(REPO, "benchmarks", "retrieval_index.py"), "--sizes=3000", "--dims=16",
       "--queries=50", "--repeats=1", "--nopeak", "--json"], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert out.returncode == 0, out.stderr[-2000:]
  figures = json.loads(out.stdout.strip().splitlines()[-1])
  rows = ("numpy", "exact", "faiss_flat", "scann", "scann_tuned", "faiss_hnsw", "faiss_hnsw_tuned", "faiss_ivfpq",
          "faiss_ivfpq_tuned")
  for row in rows:
    for figure in ("recall_at_10", "queries_per_s", "queries_per_cpu_s", "speedup_vs_exact", "build_s",
                   "serialized_bytes", "rss_growth_bytes", "params"):
      assert f"{row}_{figure}_d16_3000" in figures, (row, figure)
    assert 0.0 <= figures[f"{row}_recall_at_10_d16_3000"] <= 1.0
    assert figures[f"{row}_queries_per_s_d16_3000"] > 0
  assert figures["exact_recall_at_10_d16_3000"] > 0.99 and figures["faiss_flat_recall_at_10_d16_3000"] > 0.99
  assert figures["faiss_hnsw_params_d16_3000"]["M"] == retrieval_faiss.HNSW_M
  assert "nprobe" in figures["faiss_ivfpq_tuned_params_d16_3000"]
  assert {"cpu_model", "cpu_count", "threads", "matmul_peak_gflops", "data_relative_contrast_10_d16_3000",
          "verdict_fastest_at_target_d16_3000", "verdict_faiss_beats_scann_at_target_d16_3000"} <= set(figures)


def test_a_run_made_before_the_index_key_reads_as_scann():
  """run_identity.ADDED_KEYS: a config.json without retrieval.index is the default's run, not another's."""
  from jddc import run_identity

  current = {"retrieval": {"index": "scann", "distance": "squared_l2"}, "seed": 0}
  before = {"retrieval": {"distance": "squared_l2"}, "seed": 0}
  assert run_identity.differences(before, current) == []
  faiss = {"retrieval": {"index": "faiss_hnsw", "distance": "squared_l2"}, "seed": 0}
  assert run_identity.differences(before, faiss) == [("retrieval.index", "scann", "faiss_hnsw")]
  assert run_identity.differences({"seed": 0}, {"seed": 0}) == []  # rows without the section gain nothing
