"""Runs every system of the paper and writes Tables 5-9 with our numbers beside the paper's.

    python -m jddc.reproduce --preset=small --out=repro/small      # every row, 3 seeds
    python -m jddc.reproduce --preset=small --out=repro/small --jobs=1   # one run at a time
    python -m jddc.reproduce --preset=tiny --out=/tmp/t --rows=response_text,summary_lead
    python -m jddc.reproduce --preset=base --release=/data/jddc21 --out=repro/real \
        [--features=RUN_OR_WEIGHTS] [--config.train.steps=20000 ...]   # a real release, every row

`--release` points every row at a JDDC-layout release (`data.release`); `--features` gives the
multimodal rows' image features: a finished image_category run folder (`features.checkpoint`)
or ResNet-18 weights (a torchvision `.pth` or a Hugging Face folder, e.g. ImageNet's: the
default extractor starts from them, `features.init_from`); any `--config.KEY=VALUE` is passed
to every row. OUT holds one setting: `OUT/reproduce.json` records the preset and these
overrides, and an OUT made with others is refused (its finished runs are another setting's).

Each (row, seed) is one `python -m jddc.main` run in its own process, in
`OUT/runs/<row>_seed<seed>/`; a run whose `results.json` is the test-split result of a
completed run (valid JSON, `"split": "test"`, a `best_step`) is not run again, so an
interrupted reproduction resumes where it stopped (and a half-finished run resumes from
its own checkpoint); any other `results.json` (corrupt, another split, an older format)
is not "done": the run is started again, and still such a file after it is an error
naming the file. A run folder whose `config.json` differs from its row's config as it is
now (a config file edited after the run) is an error naming the folder and the keys, before
anything runs: its figures are not the current config's. Runs go `--jobs` at a time, each pinned to its share of the CPU cores:
small models use two threads poorly, so on 2 cores two one-core runs finish the table in
about three quarters of the time of one two-core run at a time. The data (corpus, shards,
tokenizers, image features) is prepared first, one row at a time, so runs never race to
write it. Written to OUT (each file atomically):
  tables.md      Tables 5-9: ours (mean ± sd over seeds) beside the paper's, the checks
                 of the paper's claims on our numbers, and wall time per row;
  tables.csv     one line per (row, metric): table, row, label, metric, ours, sd, paper;
  results.json   row -> {metric -> mean}, with `_sd`, `_seeds` and `_wall_s` entries;
  text_vs_mm.png the main metric of each text-only / multimodal pair, with sd error bars.
XLA's persistent compilation cache lives in OUT/xla_cache, so seeds after the first of a
row skip compilation.
A row whose config does not exist yet is reported as missing, never filled in.
"""

from __future__ import annotations

import concurrent.futures
import csv
import glob
import io
import math
import os
import subprocess
import sys
import time
from typing import Optional, Sequence

from absl import app, flags

from jddc import fsutil
from jddc import paper_tables as pt

PRESETS = {"tiny": (0,), "small": (0, 1, 2), "base": (0, 1, 2)}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


SETTINGS_FILE = "reproduce.json"  # OUT/: the preset and overrides its runs were made with


def define_flags() -> None:
  flags.DEFINE_enum("preset", "small", sorted(PRESETS), "Config size of every row.")
  flags.DEFINE_string("release", None, "A JDDC-layout release folder for every row (default: the embedded corpus).")
  flags.DEFINE_string("features", None, "Multimodal rows' image features: an image_category run folder, or "
                      "ResNet-18 weights (torchvision .pth, Hugging Face folder) the extractor starts from.")
  flags.DEFINE_string("out", None, "Output folder (runs, logs, tables).")
  flags.DEFINE_list("rows", [], "Only these rows (default: all).")
  flags.DEFINE_list("seeds", [], "Seeds of trained rows (default: the preset's).")
  flags.DEFINE_boolean("report_only", False, "Write the tables from finished runs; run nothing.")
  flags.DEFINE_integer("jobs", 0, "Runs at a time, each on cores/jobs CPU cores (0: one per core, at most "
                       "4, on a machine without a GPU or TPU; else 1).")
  flags.mark_flags_as_required(["out"])


def config_path(row: pt.Row) -> str:
  return os.path.join(REPO, "configs", f"{row.name}.py")


def run_dir(out: str, row: pt.Row, seed: int) -> str:
  return os.path.join(out, "runs", f"{row.name}_seed{seed}")


def completed_results(path: str) -> tuple[Optional[dict], str]:
  """(results, "") if `path` holds the test-split results of a completed run, else (None, why)."""
  if not os.path.isfile(path):
    return None, f"{path}: missing"
  try:
    results = fsutil.read_json(path)
  except ValueError as e:
    return None, str(e)
  if not isinstance(results, dict) or "best_step" not in results:
    return None, f"{path}: not the results of a completed run (no best_step)"
  if results.get("split") != "test":
    return None, f"{path}: results of split {results.get('split', '(not recorded)')!r}, not 'test'"
  return results, ""


def is_done(workdir: str) -> bool:
  return completed_results(os.path.join(workdir, "results.json"))[0] is not None


def row_config(row: pt.Row, preset: str, seed: int, overrides: Sequence[str] = ()):
  """The config `run_row` would train `row` with: its file at `preset`, `--config.seed`, the overrides."""
  from ml_collections import config_flags

  if REPO not in sys.path:
    sys.path.insert(0, REPO)  # the config files import `configs.common`
  argv = ["reproduce", f"--config={config_path(row)}:{preset}", f"--config.seed={seed}", *overrides]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "", flag_values=values, sys_argv=argv)  # overrides read from argv
  values(argv)
  return values.config


def stale_runs(out: str, runs: Sequence[tuple[pt.Row, int]], preset: str, overrides: Sequence[str] = ()) -> list[str]:
  """One line per run folder of `runs` trained with another config than the row's current one.

  A row's config file edited after its runs finished would otherwise have their figures
  reported as the new config's. Keys of `run_identity.RUNTIME_KEYS` may differ.
  """
  from jddc import run_identity

  lines = []
  for row, seed in runs:
    workdir = run_dir(out, row, seed)
    trained = run_identity.trained_config(workdir)
    if trained is None:
      continue
    current = run_identity.as_json(row_config(row, preset, seed, overrides))
    diffs = run_identity.differences(trained, current, run_identity.RUNTIME_KEYS)
    if diffs:
      lines.append(f"{workdir}: {run_identity.describe(diffs)}")
  return lines


def row_of(key: str) -> str:
  """The row of a timing key: "<row>_seed<k>" or "<row>_prepare"."""
  return key.rsplit("_seed", 1)[0].rsplit("_prepare", 1)[0]


def default_jobs() -> int:
  """One run per CPU core (at most 4), or 1 where an accelerator is visible (runs would share it)."""
  if glob.glob("/dev/nvidia[0-9]*") or glob.glob("/dev/accel[0-9]*") or glob.glob("/dev/vfio/[0-9]*"):
    return 1
  return max(1, min(4, len(os.sched_getaffinity(0))))


def core_slots(jobs: int) -> list[Optional[set[int]]]:
  """The CPU cores of each of `jobs` concurrent runs (None: no pinning, for a single job)."""
  if jobs <= 1:
    return [None]
  cores = sorted(os.sched_getaffinity(0))
  per = max(1, len(cores) // jobs)
  return [set(cores[k * per:(k + 1) * per]) or {cores[k % len(cores)]} for k in range(jobs)]


def overrides_for(release: Optional[str] = None, features: Optional[str] = None,
                  passed: Sequence[str] = ()) -> list[str]:
  """The `--config.KEY=VALUE` arguments every row gets: the release, the features, then `passed`.

  Raises:
    ValueError: a passed argument that is not `--config.KEY=VALUE`, or a path that does not exist.
  """
  out = []
  if release:
    if not os.path.isdir(release):
      raise ValueError(f"--release={release}: no such folder")
    out.append(f"--config.data.release={os.path.abspath(release)}")
  if features:
    if not os.path.exists(features):
      raise ValueError(f"--features={features}: no such file or folder")
    is_run = os.path.isfile(os.path.join(features, "config.json")) and os.path.isdir(os.path.join(features, "best"))
    out.append(f"--config.features.{'checkpoint' if is_run else 'init_from'}={os.path.abspath(features)}")
  for arg in passed:
    if not (arg.startswith("--config.") and "=" in arg):
      raise ValueError(f"{arg}: pass config values as --config.KEY=VALUE")
    out.append(arg)
  return out


def check_settings(out: str, preset: str, overrides: Sequence[str]) -> None:
  """Records the preset and overrides of OUT's runs in `OUT/reproduce.json` on first use; later
  invocations must match, or finished runs of one setting would be reported as another's.

  Raises:
    ValueError: OUT was made with another preset or other overrides, naming both.
  """
  path = os.path.join(out, SETTINGS_FILE)
  settings = {"preset": preset, "overrides": list(overrides)}
  if not os.path.isfile(path):
    os.makedirs(out, exist_ok=True)
    fsutil.write_json(path, settings)
    return
  before = fsutil.read_json(path)
  if before != settings:
    raise ValueError(f"{out} holds runs of preset {before.get('preset')!r} with overrides "
                     f"{before.get('overrides')}; this invocation asks for preset {preset!r} with {list(overrides)}: "
                     "use another --out (or delete that one)")


def run_row(out: str, row: pt.Row, seed: int, preset: str, cores: Optional[set[int]] = None,
            mode: str = "train", overrides: Sequence[str] = ()) -> tuple[str, float]:
  """Trains and evaluates one (row, seed) in a subprocess -> (status, wall seconds).

  `cores`: pin the run to these CPU cores; `mode="prepare"` only builds the row's data;
  `overrides`: `--config.KEY=VALUE` arguments (`overrides_for`).
  """
  workdir = run_dir(out, row, seed) if mode == "train" else os.path.join(out, "prepare", row.name)
  if mode == "train" and is_done(workdir):
    return "done before", 0.0
  os.makedirs(os.path.join(out, "logs"), exist_ok=True)
  log_path = os.path.join(out, "logs", f"{row.name}_seed{seed}.log" if mode == "train" else f"{row.name}_prepare.log")
  command = [sys.executable, "-m", "jddc.main", f"--config={config_path(row)}:{preset}",
             f"--config.seed={seed}", f"--workdir={os.path.abspath(workdir)}", f"--mode={mode}", *overrides]
  # Seeds of a row compile the same programs: XLA's persistent cache serves them after the first.
  env = dict(os.environ)
  env.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.abspath(os.path.join(out, "xla_cache")))
  env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
  start = time.perf_counter()
  with open(log_path, "a", encoding="utf-8") as log:
    log.write(" ".join(command) + "\n")
    log.flush()
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    code = subprocess.call(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin)
  wall = time.perf_counter() - start
  return ("ok" if code == 0 else f"failed (exit {code}; see {log_path})"), wall


def read_results(out: str, row: pt.Row, seeds: Sequence[int]) -> list[dict]:
  """The test-split results of the row's completed runs; a run without `results.json` is skipped.

  Raises:
    ValueError: a `results.json` that is not the test-split result of a completed run, naming it.
  """
  found = []
  for seed in (seeds if row.seeded else seeds[:1]):
    path = os.path.join(run_dir(out, row, seed), "results.json")
    if not os.path.isfile(path):
      continue
    results, why = completed_results(path)
    if results is None:
      raise ValueError(f"{why} (delete it, or the run folder, and run again)")
    found.append(results)
  return found


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
  """Mean and sample standard deviation (0 for a single value)."""
  mean = sum(values) / len(values)
  if len(values) < 2:
    return mean, 0.0
  return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate(results: list[dict], keys: Sequence[str]) -> dict:
  """Per-seed results -> {key: mean, key_sd: sd, _seeds: n} over the keys every seed has."""
  summary = {"_seeds": len(results)}
  for key in keys:
    values = [float(r[key]) for r in results if key in r]
    if values:
      summary[key], summary[f"{key}_sd"] = mean_sd(values)
  return summary


def _fmt(summary: Optional[dict], key: str) -> str:
  if not summary or key not in summary:
    return "–"
  if summary["_seeds"] > 1:
    return f"{summary[key]:.2f} ± {summary[key + '_sd']:.2f}"
  return f"{summary[key]:.2f}"


def check_claims(summaries: dict[str, dict]) -> list[tuple[str, str]]:
  """Each of the paper's orderings on our numbers -> (claim, "holds" / "fails: ..." / "n/a: ...")."""
  checks = []
  for mm, text in pt.TWINS:
    metric = pt.TABLES[pt.ROW_INDEX[mm].table].main
    claim = f"{mm} beats {text} on {metric} by more than the seed spread"
    a, b = summaries.get(mm), summaries.get(text)
    if not a or not b or metric not in a or metric not in b:
      checks.append((claim, "n/a: not run"))
      continue
    margin = (a[metric] - a[metric + "_sd"]) - (b[metric] + b[metric + "_sd"])
    verdict = "holds" if margin > 0 else "fails"
    checks.append((claim, f"{verdict}: {_fmt(a, metric)} vs {_fmt(b, metric)}"))
  for claim, better, worse, metric in pt.CLAIMS:
    have = [r for r in better + worse if summaries.get(r) and metric in summaries[r]]
    if len(have) < len(better) + len(worse):
      checks.append((claim, f"n/a: missing {sorted(set(better + worse) - set(have))}"))
      continue
    low = min(summaries[r][metric] for r in better)
    high = max(summaries[r][metric] for r in worse)
    checks.append((claim, f"{'holds' if low > high else 'fails'}: worst better {low:.2f} vs best worse {high:.2f}"))
  return checks


def write_tables(out: str, preset: str, summaries: dict[str, dict], walls: dict[str, float],
                 statuses: dict[str, str], jobs: int = 1, elapsed: float = 0.0) -> None:
  lines = [f"# Tables 5-9 on the embedded corpus, preset `{preset}`", "",
           "Ours: mean ± sample sd over seeds (one run for deterministic rows); paper: the published figure.", ""]
  rows_csv = io.StringIO(newline="")
  writer = csv.writer(rows_csv)
  writer.writerow(["table", "row", "label", "metric", "ours", "sd", "seeds", "paper"])
  for table in pt.TABLES.values():
    lines += [f"## Table {table.number}: {table.title}", ""]
    header = ["row"] + [f"{h} (ours)" for h, _ in table.columns] + [f"{h} (paper)" for h, _ in table.columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in (r for r in pt.ROWS if r.table == table.number):
      s = summaries.get(row.name)
      ours = [_fmt(s, k) for _, k in table.columns]
      paper = [f"{row.paper[k]:.2f}" if k in row.paper else "–" for _, k in table.columns]
      label = f"{row.label} (`{row.name}`)" + ("" if s else f" — {statuses.get(row.name, 'not run')}")
      lines.append("| " + " | ".join([label] + ours + paper) + " |")
      for header_name, key in table.columns:
        writer.writerow([table.number, row.name, row.label, key,
                         f"{s[key]:.4f}" if s and key in s else "", f"{s[key + '_sd']:.4f}" if s and key in s else "",
                         s["_seeds"] if s else 0, row.paper.get(key, "")])
    lines.append("")
  lines += ["## The paper's claims on our numbers", ""]
  lines += [f"- {claim}: **{verdict}**" for claim, verdict in check_claims(summaries)]
  lines += ["", f"## Wall time ({jobs} run(s) at a time; 0 = finished in an earlier invocation)", "",
            "Per row: its data preparation and the sum of its seeds' runs. Elapsed: this invocation, start to end.", "",
            "| row | seconds |", "|---|---|"]
  lines += [f"| {name} | {wall:.0f} |" for name, wall in walls.items()]
  lines.append(f"| sum of rows | {sum(walls.values()):.0f} |")
  lines.append(f"| elapsed | {elapsed:.0f} |")
  fsutil.atomic_write_text(os.path.join(out, "tables.csv"), rows_csv.getvalue())
  fsutil.atomic_write_text(os.path.join(out, "tables.md"), "\n".join(lines) + "\n")


def plot_twins(out: str, summaries: dict[str, dict]) -> str:
  """Bar chart of each text-only / multimodal pair's main metric -> the PNG's path."""
  import matplotlib

  matplotlib.use("Agg")
  from matplotlib import pyplot as plt

  pairs = [(mm, text) for mm, text in pt.TWINS if mm in summaries or text in summaries]
  fig, ax = plt.subplots(figsize=(1.8 * max(len(pairs), 1) + 2, 4))
  for i, (mm, text) in enumerate(pairs):
    metric = pt.TABLES[pt.ROW_INDEX[mm].table].main
    for offset, name, colour in ((-0.2, text, "#9aa5b1"), (0.2, mm, "#2f6fb0")):
      s = summaries.get(name)
      if s and metric in s:
        ax.bar(i + offset, s[metric], width=0.4, yerr=s[metric + "_sd"], color=colour, capsize=3,
               label=("text-only" if colour == "#9aa5b1" else "multimodal") if i == 0 else None)
  ax.set_xticks(range(len(pairs)))
  ax.set_xticklabels([f"T{pt.ROW_INDEX[mm].table} {pt.TABLES[pt.ROW_INDEX[mm].table].main}\n"
                      f"{mm.rsplit('_', 1)[0]}" for mm, _ in pairs], fontsize=8)
  ax.set_ylabel("score (%)")
  ax.set_title("Text-only vs multimodal (mean ± sd over seeds)")
  if pairs:
    ax.legend()
  fig.tight_layout()
  path = os.path.join(out, "text_vs_mm.png")
  with fsutil.atomic_file(path, "wb") as f:
    fig.savefig(f, dpi=120, format="png")
  plt.close(fig)
  return path


def reproduce(out: str, preset: str, rows: Sequence[str] = (), seeds: Sequence[int] = (),
              report_only: bool = False, jobs: int = 1, overrides: Sequence[str] = ()) -> dict:
  """Runs the rows (all by default) `jobs` at a time, each with `overrides` (`overrides_for`),
  then writes the tables; returns results.json's content."""
  started = time.perf_counter()
  unknown = sorted(set(rows) - set(pt.ROW_INDEX))
  if unknown:
    raise ValueError(f"unknown rows {unknown}; known: {[r.name for r in pt.ROWS]}")
  selected = [r for r in pt.ROWS if not rows or r.name in rows]
  seeds = tuple(seeds) or PRESETS[preset]
  check_settings(out, preset, overrides)
  stale = stale_runs(out, [(r, s) for r in selected if os.path.isfile(config_path(r))
                           for s in (seeds if r.seeded else seeds[:1])], preset, overrides)
  if stale:
    raise ValueError("run folders trained with another config than their row's config file now; their figures "
                     "are not this config's: delete them (or use another --out) and run again:\n  "
                     + "\n  ".join(stale))
  timings_path = os.path.join(out, "timings.json")
  walls = fsutil.read_json(timings_path) if os.path.isfile(timings_path) else {}
  statuses, failed = {}, []
  runs = []
  for row in selected:
    if not os.path.isfile(config_path(row)):
      statuses[row.name] = f"missing: configs/{row.name}.py does not exist yet"
      print(f"[{row.name}] {statuses[row.name]}", flush=True)
      continue
    if not report_only:
      runs += [(row, seed) for seed in (seeds if row.seeded else seeds[:1])
               if not is_done(run_dir(out, row, seed))]

  def record(key: str, status: str, wall: float) -> None:
    walls[key] = walls.get(key, 0.0) + wall
    fsutil.write_json(timings_path, walls)
    print(f"[{key}] {status} ({wall:.0f} s)", flush=True)
    if status.startswith("failed"):
      failed.append(key)
      statuses[row_of(key)] = status

  # Every row's first seed before any second one: later seeds then find its compiled programs.
  runs.sort(key=lambda run: (seeds.index(run[1]), pt.ROWS.index(run[0])))
  if jobs > 1 and runs:  # data first, one row at a time: concurrent runs must not race to write it
    for name in dict.fromkeys(row.name for row, _ in runs):
      row = pt.ROW_INDEX[name]
      record(f"{row.name}_prepare", *run_row(out, row, seeds[0], preset, mode="prepare", overrides=overrides))
  slots = core_slots(jobs)
  free = list(range(len(slots)))

  def run_on_a_slot(row: pt.Row, seed: int) -> tuple[str, str, float]:
    slot = free.pop()
    try:
      return (f"{row.name}_seed{seed}", *run_row(out, row, seed, preset, slots[slot], overrides=overrides))
    finally:
      free.append(slot)

  with concurrent.futures.ThreadPoolExecutor(max_workers=len(slots)) as pool:
    pending = [pool.submit(run_on_a_slot, row, seed) for row, seed in runs]
    for future in concurrent.futures.as_completed(pending):
      record(*future.result())
  summaries = {}
  for row in selected:
    found = read_results(out, row, seeds)
    if found:
      summaries[row.name] = aggregate(found, [k for _, k in pt.TABLES[row.table].columns])
  row_walls = {r.name: sum(v for k, v in walls.items() if row_of(k) == r.name) for r in selected}
  for name, wall in row_walls.items():
    if name in summaries:
      summaries[name]["_wall_s"] = round(wall, 1)
  write_tables(out, preset, summaries, row_walls, statuses, jobs, time.perf_counter() - started)
  fsutil.write_json(os.path.join(out, "results.json"), summaries)
  plot_twins(out, summaries)
  print(f"wrote {out}/tables.md, tables.csv, results.json, text_vs_mm.png")
  if failed:
    raise RuntimeError(f"{len(failed)} run(s) failed: {failed} (logs in {out}/logs)")
  return summaries


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parse of this module's flags; `--config.KEY=VALUE` arguments are kept apart for the rows."""
  passed = [a for a in argv[1:] if a.startswith("--config.")]
  rest = flags.FLAGS([argv[0]] + [a for a in argv[1:] if not a.startswith("--config.")])
  return rest + passed


def main(argv):
  FLAGS = flags.FLAGS
  passed = [a for a in argv[1:] if a.startswith("--config.")]
  if len(passed) != len(argv) - 1:
    raise app.UsageError(f"unexpected arguments {[a for a in argv[1:] if a not in passed]}")
  try:
    overrides = overrides_for(FLAGS.release, FLAGS.features, passed)
    reproduce(FLAGS.out, FLAGS.preset, FLAGS.rows, [int(s) for s in FLAGS.seeds], FLAGS.report_only,
              FLAGS.jobs or default_jobs(), overrides)
  except ValueError as e:
    sys.exit(f"jddc.reproduce: {e}")


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
