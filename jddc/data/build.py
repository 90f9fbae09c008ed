"""`python -m jddc.data.build`: the data job — corpus, TFDS shards of every task, statistics.

With no `--release`, generates the embedded corpus (`--size`, `--seed`) under `--out`
unless an identical one is already there; with `--release=PATH`, reads a real release in
the documented layout; with `--corpus=NAME --corpus_path=PATH`, shards a public corpus
(`jddc.data.corpora`) instead. Then writes the `array_record` shards of the five example types and
prints the statistics of `jddc.data.stats` and the time of each stage.
"""

from __future__ import annotations

import os
import time

from absl import app, flags

from jddc.data import examples, stats, tfds_builder
from jddc.data.synth import generate

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("release", None, "A release folder to use instead of generating the embedded corpus.")
  flags.DEFINE_enum("size", "default", list(generate.SIZES), "Embedded corpus size.")
  flags.DEFINE_integer("seed", 0, "Embedded corpus seed.")
  flags.DEFINE_string("out", "data_cache", "Folder for the generated corpus and the TFDS shards.")
  flags.DEFINE_enum("on_error", "raise", ["raise", "skip"], "Bad input: raise, or skip and report.")
  flags.DEFINE_string("corpus", "jddc", "A public corpus of jddc.data.corpora.READERS to shard instead "
                      "(with --corpus_path); 'jddc' is the release above.")
  flags.DEFINE_string("corpus_path", None, "The public corpus's folder, e.g. ../shared/data/csds.")


def build_corpus() -> None:
  """Shards every example type of public corpus --corpus and prints the counts."""
  from jddc.data import corpora
  from jddc.data.corpora import builder

  if not FLAGS.corpus_path:
    raise app.UsageError(f"--corpus={FLAGS.corpus} needs --corpus_path=FOLDER")
  data_dir = os.path.join(FLAGS.out, "tfds")
  print(f"Examples per split (array_record shards under "
        f"{builder.shard_dir(FLAGS.corpus, FLAGS.corpus_path, data_dir, FLAGS.on_error)})")
  for kind in corpora.get_reader(FLAGS.corpus).kinds:
    start = time.perf_counter()
    sources = builder.data_sources(FLAGS.corpus, FLAGS.corpus_path, kind, data_dir, FLAGS.on_error)
    counts = "  ".join(f"{split} {len(src):>7,}" for split, src in sources.items())
    print(f"  {kind:<16}{counts}  ({time.perf_counter() - start:.1f} s)")


def main(argv):
  del argv
  if FLAGS.corpus != "jddc":
    build_corpus()
    return
  timings = {}
  start = time.perf_counter()
  if FLAGS.release:
    release_dir = FLAGS.release
  else:
    release_dir, generated = generate.ensure_corpus(FLAGS.out, FLAGS.size, FLAGS.seed)
    timings["generate corpus" if generated else "corpus (already there)"] = time.perf_counter() - start
  counts = {}
  for kind in examples.EXAMPLE_TYPES:
    t = time.perf_counter()
    sources = tfds_builder.data_sources(release_dir, kind, os.path.join(FLAGS.out, "tfds"), FLAGS.on_error)
    counts[kind] = {split: len(src) for split, src in sources.items()}
    timings[f"tfds {kind}"] = time.perf_counter() - t
  t = time.perf_counter()
  report = stats.format_report(stats.compute(release_dir, FLAGS.on_error))
  timings["statistics"] = time.perf_counter() - t
  print(report)
  print("\nExamples per split (array_record shards under "
        f"{tfds_builder.shard_dir(release_dir, os.path.join(FLAGS.out, 'tfds'), FLAGS.on_error)})")
  for kind, c in counts.items():
    print(f"  {kind:<16}" + "  ".join(f"{split} {n:>7,}" for split, n in c.items()))
  print("\nStages")
  for stage, seconds in timings.items():
    print(f"  {stage:<28}{seconds:8.1f} s")
  print(f"  {'total':<28}{time.perf_counter() - start:8.1f} s")


if __name__ == "__main__":
  define_flags()
  app.run(main)
