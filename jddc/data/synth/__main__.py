"""`python -m jddc.data.synth --size=tiny|default|large --seed=N --out=DIR`: writes the embedded corpus."""

import time

from absl import app, flags

from jddc.data.synth import generate

FLAGS = flags.FLAGS
flags.DEFINE_enum("size", "default", list(generate.SIZES), "Corpus size.")
flags.DEFINE_integer("sessions", None, "Number of sessions (overrides --size).")
flags.DEFINE_integer("seed", 0, "Random seed; the same seed gives byte-identical output.")
flags.DEFINE_string("out", None, "Output release folder: new, empty, or a corpus this generator wrote (then replaced); "
                    "a folder holding anything else is refused.", required=True)
flags.DEFINE_integer("workers", 0, "Worker processes (0: one per CPU core).")


def main(argv):
  del argv
  start = time.perf_counter()
  try:
    info = generate.generate(FLAGS.out, FLAGS.sessions or generate.SIZES[FLAGS.size], FLAGS.seed, FLAGS.workers)
  except FileExistsError as e:
    raise SystemExit(f"error: --out={FLAGS.out}: {e}") from None
  print(f"wrote {info['sessions']} sessions ({info['annotated_sessions']} annotated) to {FLAGS.out} "
        f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  app.run(main)
