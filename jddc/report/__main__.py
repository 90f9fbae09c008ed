"""`python -m jddc.report RUN [RUN ...] --out=report.html [--split=test] [--max_examples=N]`."""

from __future__ import annotations

import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("out", "report.html", "The HTML file to write.")
  flags.DEFINE_string("split", None, "Whose predictions (default: each run's config.eval.split).")
  flags.DEFINE_integer("max_examples", 200, "Show at most this many examples (after sorting); 0 = all.", lower_bound=0)


def main(argv):
  from jddc import report
  run_dirs = argv[1:]
  if not run_dirs:
    raise app.UsageError("give one or more run folders: python -m jddc.report RUN [RUN ...] --out=report.html")
  try:
    out = report.write(run_dirs, FLAGS.out, FLAGS.split, FLAGS.max_examples)
  except (FileNotFoundError, ValueError) as e:
    print(f"jddc.report: {e}", file=sys.stderr)
    sys.exit(1)
  print(f"wrote {out}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
