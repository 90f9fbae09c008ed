"""Nearest-neighbour indexes at corpus scale: ScaNN vs exact search vs Faiss HNSW and IVF-PQ (issue 17 item 6).

    python benchmarks/retrieval_index.py [--quick] [--sizes=100000,1000000] [--dims=300,512]
        [--queries=1000] [--threads=N] [--distance=squared_l2] [--target_recall=0.95] [--json]

The paper's corpus has about 246k sessions and 1.5M agent replies; the retrieval rows index
one vector per training example. For each dimension (`--dims`: 300 = the TransResNet context
embedding at `base`, `common.transresnet`; 512 = the ResNet-18 image features; 128 is the
`small` text embedding and 768 the paper's BERT embedder) and database size (`--sizes`;
`--quick` = 20k), every index is built over the same vectors and searched with the same
batch of queries, all on `--threads` threads (numpy's OpenBLAS, ScaNN's `set_num_threads`
and training threads, `faiss.omp_set_num_threads`):

  numpy        exact float32 search by blocked matmul: the ground truth of every recall
  exact        `retrieval.index=exact`: ScaNN's brute force
  faiss_flat   Faiss `IndexFlat` (exact)
  scann        the project's ScaNN tree + asymmetric hashing + re-scoring, its own parameters
               (`jddc.retrieval.EmbeddingIndex.build(exact=False)`, which `retrieval.index=scann`
               uses from 50k vectors); `scann_tuned`: the same index, the cheapest
               (leaves_to_search, reorder) of a grid reaching `--target_recall` on the tuning queries
  faiss_hnsw   `retrieval.index=faiss_hnsw` (`jddc.retrieval_faiss`: M, efConstruction, efSearch
               printed); `faiss_hnsw_tuned`: the smallest efSearch reaching the target
  faiss_ivfpq  `retrieval.index=faiss_ivfpq` (nlist, m, nbits, nprobe, k_factor printed; the top
               k x k_factor candidates re-scored exactly); `_tuned`: the cheapest (nprobe, k_factor)

Figures per index: recall@10 against numpy's exact neighbours (over the evaluation queries,
which tuning never saw), queries/s (one batched call of all queries; median of `--repeats`
calls after one untimed call) and queries per CPU-second of the process (robust to other load
on the machine), speedup over the fastest exact row, build seconds (wall and CPU), the
serialized index (the bytes `save` writes; numpy: the matrix) and the process's RSS growth
(with the index alive after the build, and its peak during the build from VmHWM). The verdict
line per setting names the fastest index at or above the target recall and whether ScaNN
reaches it at >= 10x exact: if Faiss is faster at the target, `retrieval.index` selects it.

The vectors are embedding-like, not i.i.d. Gaussian (on isotropic random data every
approximate index loses recall, STACK.md, and real embeddings are nothing like it): a fixed
distribution of 2,000 topics with Zipf(0.7) popularity (a few reply types dominate a
customer-service corpus, a long tail follows), topic centres in a 64-dimensional subspace
with a decaying spectrum (embeddings concentrate in few directions), a shared offset (the
anisotropy of mean-pooled encoder states), a 16-dimensional local subspace per topic for its
variations, small isotropic noise, and then unit norm (so squared L2 and dot product rank
alike). The database and the queries are independent draws from it: no query is in the
database. Each setting prints its relative contrast (mean distance to a random row / to the
10th neighbour) and the share of the 10 neighbours from the query's own topic, to say how
hard it was.

The float32 matmul peak is `benchmarks/vs_pytorch.py --only=peak` (its `bench_peak`, run as a
subprocess so that torch's and Faiss's OpenMP runtimes never share this process; skipped
with a note when torch is absent); the CPU model, core count and load average are printed
beside it. With `--json`, one JSON object of named figures is printed instead of the table
(keys `<index>_<figure>_d<dim>_<size>`, e.g. `scann_recall_at_10_d512_1000000`,
`scann_speedup_vs_exact_d512_1000000`, `faiss_hnsw_tuned_params_d512_1000000`; the data's
`data_relative_contrast_10_d512_1000000`; the verdict's `verdict_fastest_at_target_d512_1000000`,
`verdict_scann_meets_goal_...`, `verdict_faiss_beats_scann_at_target_...`; the machine's
`cpu_model`, `cpu_count`, `threads`, `matmul_peak_gflops`, ...).
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv() -> int:
  """--threads before numpy is imported (OpenBLAS reads its thread count at load)."""
  for arg in sys.argv[1:]:
    if arg.startswith("--threads="):
      return int(arg.split("=", 1)[1])
  return len(os.sched_getaffinity(0))


THREADS = _threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
  os.environ[_var] = str(THREADS)

import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jddc import retrieval, retrieval_faiss  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "20k vectors, 500 queries, 2 repeats (checks the script; small, noisy).")
flags.DEFINE_list("sizes", None, "Database sizes (default 100000,1000000; --quick 20000).")
flags.DEFINE_list("dims", ["300", "512"], "Vector dimensions (300 base text embedding, 512 image features).")
flags.DEFINE_integer("queries", 0, "Evaluation queries, and as many tuning queries (0: 1000, --quick 500).")
flags.DEFINE_integer("threads", THREADS, "Threads of every library (default: the cores this process may use).")
flags.DEFINE_integer("repeats", 0, "Timed search calls per index, median reported (0: 3, --quick 2).")
flags.DEFINE_enum("distance", "squared_l2", list(retrieval.DISTANCES), "The distance of every index.")
flags.DEFINE_float("target_recall", 0.95, "Recall@10 the tuned variants must reach on the tuning queries.")
flags.DEFINE_bool("peak", True, "Measure the float32 matmul peak (benchmarks/vs_pytorch.py --only=peak).")
flags.DEFINE_bool("json", False, "Print one JSON object of named figures instead of the table.")
flags.DEFINE_integer("seed", 0, "Seed of the vectors.")

K = 10
TOPICS, TOPIC_RANK, LOCAL_RANK, ZIPF = 2000, 64, 16, 0.7
EXACT_ROWS = ("numpy", "exact", "faiss_flat")


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

def embedding_like(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(float32[n, dim] unit vectors, int32[n] their topics): the distribution of the module docstring."""
  rng = np.random.default_rng([seed, dim])
  rank = min(dim, TOPIC_RANK)
  spectrum = np.arange(1, rank + 1) ** -0.5
  basis = rng.standard_normal((rank, dim)) * (spectrum / np.sqrt((spectrum**2).sum() * dim))[:, None]
  centres = (rng.standard_normal((TOPICS, rank)) @ basis).astype(np.float32)  # E|c|^2 = 1
  offset = (rng.standard_normal(dim) / np.sqrt(dim)).astype(np.float32)  # |offset| ~ 1
  local_rank = min(dim, LOCAL_RANK)
  popularity = np.arange(1, TOPICS + 1) ** -ZIPF
  topics = rng.choice(TOPICS, size=n, p=popularity / popularity.sum()).astype(np.int32)
  out = np.empty((n, dim), np.float32)
  order = np.argsort(topics, kind="stable")
  bounds = np.searchsorted(topics[order], np.arange(TOPICS + 1))
  for t in range(TOPICS):
    rows = order[bounds[t]:bounds[t + 1]]
    if not len(rows):
      continue
    local = rng.standard_normal((local_rank, dim), dtype=np.float32) * np.float32(0.5 / np.sqrt(dim))
    z = rng.standard_normal((len(rows), local_rank), dtype=np.float32)
    out[rows] = offset + centres[t] + z @ local  # within-topic spread |.| ~ 0.5
  for start in range(0, n, 100_000):  # isotropic noise |.| ~ 0.25, then unit norm
    block = out[start:start + 100_000]
    block += rng.standard_normal(block.shape, dtype=np.float32) * np.float32(0.25 / np.sqrt(dim))
    block /= np.linalg.norm(block, axis=1, keepdims=True)
  return out, topics


def exact_search(db: np.ndarray, queries: np.ndarray, k: int, distance: str) -> np.ndarray:
  """int64[Q, k] exact neighbours by float32 matmul over blocks of the database."""
  best_s = np.full((len(queries), 0), np.inf, np.float32)
  best_i = np.zeros((len(queries), 0), np.int64)
  for start in range(0, len(db), 50_000):
    block = db[start:start + 50_000]
    scores = -2.0 * (queries @ block.T) + (block * block).sum(1)[None] if distance == "squared_l2" else -(
        queries @ block.T)
    kk = min(k, block.shape[0])
    part = np.argpartition(scores, kk - 1, axis=1)[:, :kk]
    best_s = np.concatenate([best_s, np.take_along_axis(scores, part, 1)], 1)
    best_i = np.concatenate([best_i, part + start], 1)
    keep = np.argsort(best_s, axis=1, kind="stable")[:, :k]
    best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
  return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
  return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / truth.shape[1] for a, b in zip(found, truth)]))


# ---------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------

def _status_kb(field: str) -> int:
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith(field + ":"):
        return int(line.split()[1]) * 1024
  return 0


def _reset_peak() -> bool:
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    return True
  except OSError:
    return False


def measured_build(build):
  """(index, {build_s, build_cpu_s, rss_growth_bytes, peak_rss_growth_bytes}) of `build()`."""
  gc.collect()
  before = _status_kb("VmRSS")
  peak_ok = _reset_peak()
  wall, cpu = time.perf_counter(), time.process_time()
  index = build()
  wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
  gc.collect()
  return index, {"build_s": wall, "build_cpu_s": cpu, "rss_growth_bytes": _status_kb("VmRSS") - before,
                 "peak_rss_growth_bytes": _status_kb("VmHWM") - before if peak_ok else None}


def timed_search(search, queries: np.ndarray, repeats: int) -> tuple[np.ndarray, dict]:
  """(ids of the untimed first call, {queries_per_s, queries_per_cpu_s}) over `repeats` timed calls."""
  ids = search(queries)
  walls, cpus = [], []
  for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    search(queries)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
  return ids, {"queries_per_s": len(queries) / statistics.median(walls),
               "queries_per_cpu_s": len(queries) / max(statistics.median(cpus), 1e-9)}


def saved_bytes(index) -> int:
  with tempfile.TemporaryDirectory() as tmp:
    index.save(os.path.join(tmp, "index"), "benchmark")
    folder = os.path.join(tmp, "index")
    return sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder) if n != retrieval.INFO)


def _scann_searcher(index: retrieval.EmbeddingIndex, leaves=None, reorder=None):
  def search(q):
    return np.asarray(index.searcher.search_batched_parallel(q, final_num_neighbors=K, leaves_to_search=leaves,
                                                            pre_reorder_num_neighbors=reorder)[0])
  return search


def _faiss_searcher(index: retrieval_faiss.FaissIndex, **params):
  def search(q):
    index.set_search_params(**params)
    return index.search(q, K)[0]
  return search


def tune(candidates, search_fn, tune_queries, tune_truth, target: float):
  """The fastest of `candidates` (lists of params, cheapest first, one list per second parameter)
  reaching `target` on the tuning queries: the first of each list that does, then timed once.

  Returns (params, met): `met` False with the highest-recall params when none reaches it.
  """
  reached, best = [], (-1.0, None)
  limit = None
  for chain in candidates:
    for i, params in enumerate(chain if limit is None else chain[:limit]):
      r = recall(search_fn(**params)(tune_queries), tune_truth)
      best = max(best, (r, params), key=lambda b: b[0])
      if r >= target:
        reached.append(params)
        limit = i  # with a larger second parameter, only fewer of the first can be a better trade
        break
  if not reached:
    return best[1], False
  if len(reached) == 1:
    return reached[0], True
  times = []
  for params in reached:
    start = time.perf_counter()
    search_fn(**params)(tune_queries)
    times.append(time.perf_counter() - start)
  return reached[int(np.argmin(times))], True


# ---------------------------------------------------------------------------------------
# One setting: a dimension and a database size
# ---------------------------------------------------------------------------------------

def run_setting(dim: int, n: int, n_queries: int, repeats: int, distance: str, target: float) -> dict:
  import faiss
  vectors, topics = embedding_like(n + 2 * n_queries, dim, FLAGS.seed)
  db, tune_q, eval_q = vectors[:n], vectors[n:n + n_queries], vectors[n + n_queries:]
  eval_topics = topics[n + n_queries:]
  db_topics = topics[:n]
  del vectors
  rows = {}

  def add(name, ids, speed, build, size, params=None, met=None):
    rows[name] = {"recall_at_10": recall(ids, truth), **speed, **build, "serialized_bytes": size,
                  "params": params, "target_met": met}

  # numpy: the ground truth (and its own figures)
  truth, speed = timed_search(lambda q: exact_search(db, q, K, distance), eval_q, repeats)
  tune_truth = exact_search(db, tune_q, K, distance)
  add("numpy", truth, speed, {"build_s": 0.0, "build_cpu_s": 0.0, "rss_growth_bytes": 0,
                              "peak_rss_growth_bytes": 0}, db.nbytes)
  rows["numpy"]["gflops"] = 2.0 * n * dim * speed["queries_per_s"] / 1e9
  far = np.linalg.norm(eval_q[:, None] - db[np.random.default_rng(1).integers(0, n, 100)][None], axis=-1).mean()
  tenth = np.linalg.norm(eval_q - db[truth[:, -1]], axis=-1).mean()
  hardness = {"relative_contrast_10": float(far / max(tenth, 1e-12)),
              "own_topic_share_10": float((db_topics[truth] == eval_topics[:, None]).mean())}

  index, build = measured_build(lambda: retrieval.build_index(db, distance, "exact"))
  index.searcher.set_num_threads(FLAGS.threads)
  ids, speed = timed_search(_scann_searcher(index), eval_q, repeats)
  add("exact", ids, speed, build, saved_bytes(index))
  del index

  flat_type = faiss.IndexFlatL2 if distance == "squared_l2" else faiss.IndexFlatIP
  index, build = measured_build(lambda: _flat(flat_type, db))
  ids, speed = timed_search(lambda q: index.search(q, K)[1], eval_q, repeats)
  add("faiss_flat", ids, speed, build, int(faiss.serialize_index(index).nbytes))
  del index

  def scann_build():
    return retrieval.EmbeddingIndex.build(db, distance, exact=False, training_threads=FLAGS.threads)

  index, build = measured_build(scann_build)
  index.searcher.set_num_threads(FLAGS.threads)
  size = saved_bytes(index)
  leaves = int(np.sqrt(n))
  default = {"num_leaves": leaves, "leaves_to_search": max(1, leaves // 4), "reorder": 250}
  ids, speed = timed_search(_scann_searcher(index), eval_q, repeats)
  add("scann", ids, speed, build, size, default)
  fractions = (64, 32, 16, 8, 4, 2, 1)
  chains = [[{"leaves": max(1, leaves // f), "reorder": r} for f in fractions] for r in (100, 250, 500, 1000)]
  params, met = tune(chains, lambda **p: _scann_searcher(index, p["leaves"], max(K, p["reorder"])), tune_q,
                     tune_truth, target)
  ids, speed = timed_search(_scann_searcher(index, params["leaves"], params["reorder"]), eval_q, repeats)
  add("scann_tuned", ids, speed, build, size,
      {"num_leaves": leaves, "leaves_to_search": params["leaves"], "reorder": params["reorder"]}, met)
  del index

  for kind in ("faiss_hnsw", "faiss_ivfpq"):
    index, build = measured_build(lambda: retrieval.build_index(db, distance, kind))
    size = index.serialized_bytes()
    default = dict(index.params)
    ids, speed = timed_search(_faiss_searcher(index), eval_q, repeats)
    add(kind, ids, speed, build, size, default)
    if kind == "faiss_hnsw":
      chains = [[{"ef_search": e} for e in (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)]]
    else:
      nlist = default["nlist"]
      probes = sorted({min(nlist, 2**i) for i in range(0, nlist.bit_length() + 1)})
      chains = [[{"nprobe": p, "k_factor": f} for p in probes] for f in (2, 4, 8, 16, 32, 64)]
    params, met = tune(chains, lambda **p: _faiss_searcher(index, **p), tune_q, tune_truth, target)
    ids, speed = timed_search(_faiss_searcher(index, **params), eval_q, repeats)
    add(f"{kind}_tuned", ids, speed, build, size, {**default, **params}, met)
    index.set_search_params(**default)
    del index
  fastest_exact = max(rows[r]["queries_per_s"] for r in EXACT_ROWS)
  for row in rows.values():
    row["speedup_vs_exact"] = row["queries_per_s"] / fastest_exact
  return {"rows": rows, "hardness": hardness}


def _flat(index_type, db):
  index = index_type(db.shape[1])
  index.add(db)
  return index


def verdict(rows: dict, target: float) -> dict:
  """Which tuned index is fastest at or above the target recall on the evaluation queries."""
  approximate = [r for r in rows if r not in EXACT_ROWS]
  at_target = [r for r in approximate if rows[r]["recall_at_10"] >= target]
  fastest = max(at_target, key=lambda r: rows[r]["queries_per_s"]) if at_target else None
  scann = [r for r in at_target if r.startswith("scann")]
  best_scann = max(scann, key=lambda r: rows[r]["queries_per_s"]) if scann else None
  faiss_rows = [r for r in at_target if r.startswith("faiss")]
  best_faiss = max(faiss_rows, key=lambda r: rows[r]["queries_per_s"]) if faiss_rows else None
  return {"fastest_at_target": fastest, "scann_at_target": best_scann,
          "scann_meets_goal": bool(best_scann and rows[best_scann]["speedup_vs_exact"] >= 10.0),
          "faiss_beats_scann_at_target": bool(best_faiss and (best_scann is None or rows[best_faiss]["queries_per_s"]
                                                              > rows[best_scann]["queries_per_s"]))}


# ---------------------------------------------------------------------------------------
# The machine, the table, the JSON object
# ---------------------------------------------------------------------------------------

def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  import platform
  return platform.processor() or "unknown"


def matmul_peak() -> tuple[float | None, str]:
  """(GFLOP/s or None, a note): the larger of jnp.dot's and torch.mm's float32 peak from vs_pytorch.py."""
  script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vs_pytorch.py")
  try:
    out = subprocess.run([sys.executable, script, "--only=peak", "--quick"], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
  except (OSError, subprocess.TimeoutExpired) as e:
    return None, f"matmul peak not measured ({e})"
  found = re.search(r"matmul peak \(f32, best of N\)\s+([\d,.]+)\s+([\d,.]+)\s+GFLOP/s", out.stdout)
  if not found:
    last = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"matmul peak not measured (benchmarks/vs_pytorch.py --only=peak: {last})"
  jax_peak, torch_peak = (float(g.replace(",", "")) for g in found.groups())
  return max(jax_peak, torch_peak), f"float32 matmul peak {max(jax_peak, torch_peak):,.0f} GFLOP/s " \
                                    f"(vs_pytorch.py bench_peak: jnp.dot {jax_peak:,.0f}, torch.mm {torch_peak:,.0f})"


def _mb(value) -> str:
  return "-" if value is None else f"{value / 2**20:,.0f}"


def _params(params) -> str:
  return "" if not params else " ".join(f"{k}={v}" for k, v in params.items() if k != "train_size")


def print_table(dim: int, n: int, result: dict, target: float) -> None:
  rows, h = result["rows"], result["hardness"]
  print(f"\n{n:,} vectors x {dim} dims, {FLAGS.distance}, k={K}; relative contrast {h['relative_contrast_10']:.2f}, "
        f"{100 * h['own_topic_share_10']:.0f}% of the 10 neighbours from the query's topic; numpy's exact search "
        f"at {rows['numpy']['gflops']:,.0f} GFLOP/s")
  print(f"{'index':<18} {'recall@10':>9} {'queries/s':>10} {'q/CPU-s':>9} {'vs exact':>8} {'build s':>8} "
        f"{'build CPU':>9} {'saved MB':>8} {'RSS+ MB':>8} {'peak+ MB':>8}  parameters")
  for name, r in rows.items():
    flag = "" if r["target_met"] is None or r["target_met"] else " (target missed on tuning queries)"
    print(f"{name:<18} {r['recall_at_10']:>9.4f} {r['queries_per_s']:>10,.0f} {r['queries_per_cpu_s']:>9,.0f} "
          f"{r['speedup_vs_exact']:>7.1f}x {r['build_s']:>8.1f} {r['build_cpu_s']:>9.1f} "
          f"{_mb(r['serialized_bytes']):>8} {_mb(r['rss_growth_bytes']):>8} {_mb(r['peak_rss_growth_bytes']):>8}  "
          f"{_params(r['params'])}{flag}")
  v = result["verdict"]
  scann = v["scann_at_target"]
  print(f"fastest at recall@10 >= {target}: {v['fastest_at_target'] or 'none'}; ScaNN: "
        + (f"{scann} {rows[scann]['speedup_vs_exact']:.1f}x exact ({'meets' if v['scann_meets_goal'] else 'misses'} "
           ">= 10x)" if scann else "never reaches the target")
        + ("; Faiss beats ScaNN at equal recall: choose it with --config.retrieval.index"
           if v["faiss_beats_scann_at_target"] else ""))


def flat_json(machine: dict, results: dict) -> dict:
  out = dict(machine)
  for (dim, n), result in results.items():
    tag = f"d{dim}_{n}"
    for name, row in result["rows"].items():
      for figure, value in row.items():
        out[f"{name}_{figure}_{tag}"] = value
    for figure, value in result["hardness"].items():
      out[f"data_{figure}_{tag}"] = value
    for figure, value in result["verdict"].items():
      out[f"verdict_{figure}_{tag}"] = value
  return out


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Faiss's loader logs its CPU probing at INFO
  import faiss
  faiss.omp_set_num_threads(FLAGS.threads)
  sizes = [int(s) for s in FLAGS.sizes] if FLAGS.sizes else ([20_000] if FLAGS.quick else [100_000, 1_000_000])
  dims = [int(d) for d in FLAGS.dims]
  n_queries = FLAGS.queries or (500 if FLAGS.quick else 1000)
  repeats = FLAGS.repeats or (2 if FLAGS.quick else 3)
  peak, peak_note = matmul_peak() if FLAGS.peak else (None, "matmul peak not measured (--nopeak)")
  machine = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
             "threads": FLAGS.threads, "matmul_peak_gflops": peak, "load_average_start": os.getloadavg()[0],
             "version_numpy": np.__version__, "version_scann": importlib.metadata.version("scann"),
             "version_faiss": faiss.__version__, "distance": FLAGS.distance, "queries": n_queries, "k": K,
             "target_recall": FLAGS.target_recall, "repeats": repeats}
  if not FLAGS.json:
    print(f"{machine['cpu_model']}, {machine['cpu_count']} cores ({machine['cores_usable']} usable), "
          f"{FLAGS.threads} threads in every library; {peak_note}; load average {machine['load_average_start']:.1f}")
    print(f"numpy {np.__version__}, scann {machine['version_scann']}, faiss {faiss.__version__}; {n_queries} "
          f"queries per batch (and as many for tuning), median of {repeats} calls")
  results = {}
  for dim in dims:
    for n in sizes:
      result = run_setting(dim, n, n_queries, repeats, FLAGS.distance, FLAGS.target_recall)
      result["verdict"] = verdict(result["rows"], FLAGS.target_recall)
      results[(dim, n)] = result
      if not FLAGS.json:
        print_table(dim, n, result, FLAGS.target_recall)
  machine["load_average_end"] = os.getloadavg()[0]
  if FLAGS.json:
    print(json.dumps(flat_json(machine, results), sort_keys=True))
  else:
    print(f"\nload average at the end {machine['load_average_end']:.1f} (other processes slow every index; "
          "queries per CPU-second are the robust figure under load)")


if __name__ == "__main__":
  app.run(main)
