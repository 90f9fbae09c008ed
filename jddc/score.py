"""`python -m jddc.score`: score anyone's line-aligned outputs with our metrics.

    python -m jddc.score --pred=preds.txt --ref=refs.txt [--metrics=rouge,bleu,distinct] [--json]
    python -m jddc.score --pred=p.txt --ref=gold.txt --metrics=rouge --csds --strip_markers  # CSDS's scorer
    python -m jddc.score --pred=p.txt --ref=r1.txt --ref=r2.txt --ref=r3.txt --metrics=bleu  # 3 references

Line k of `--pred` is scored against line k of every `--ref` (what files2rouge and ad-hoc
BLEU scripts do). All metrics are character-level and in percent (`jddc.metrics`):

- rouge: `rouge1`, `rouge2`, `rougeL` (per-sample F, averaged). ROUGE-L is the LCS of the whole
  texts, or, with `--csds`, the CSDS convention: a sentence break after each "。" and
  ROUGE-1.5.5's summary-level (union) LCS. One reference file only.
- bleu: `bleu` (corpus BLEU-4, the main figure), `bleu1`, `bleu2`, `sentence_bleu4` (mean
  sentence BLEU-4); NLTK's formulas, `--smoothing` method1 (epsilon 0.1, the default) or none;
  several `--ref` files are several references per line.
- distinct: `distinct1`, `distinct2` over all predictions.

Lines are split on "\\n" only (a final newline ends the last line; blank lines are kept as empty
outputs; "\\r\\n" ends are accepted, a lone "\\r" inside a line is refused), whitespace is ignored
inside a line, and `--strip_markers` drops PreSumm's `<q>`. A file named `*.jsonl` is JSON
lines, one object a line, as a run's `predictions_<split>.jsonl`: `--pred` reads its
"prediction" field, `--ref` its "reference" field. Nothing to score (two empty files) is an
error, as are a folder, a missing file and a bad JSON line (named `file:line`).
With `--json`, one JSON object of metric name -> percent is printed; otherwise a table.
"""

from __future__ import annotations

import json
import sys
from typing import Sequence

from absl import app, flags

from jddc import metrics as metrics_lib

METRIC_GROUPS = ("rouge", "bleu", "distinct")
FLAGS = flags.FLAGS


class ScoreError(ValueError):
  """Inputs that cannot be scored (files of different lengths, unknown metric, ...)."""


JSONL_FIELDS = {"pred": "prediction", "ref": "reference"}


def read_lines(path: str, field: str = "") -> list[str]:
  """The lines of a UTF-8 file, without their line ends; a file ending in "\\n" has no extra empty line.

  Args:
    path: a text file, or JSON lines when it ends in ".jsonl".
    field: for JSON lines, the string field each line gives (default: JSONL_FIELDS["pred"]).
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
  except FileNotFoundError as e:
    raise ScoreError(f"no such file: {path}") from e
  except IsADirectoryError as e:
    raise ScoreError(f"{path} is a folder; give a file of one output per line") from e
  except OSError as e:
    raise ScoreError(f"cannot read {path}: {e.strerror}") from e
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    line = data[:e.start].count(b"\n") + 1
    raise ScoreError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from e
  text = text.removeprefix("\ufeff")
  if not text:
    return []
  lines = text.split("\n")
  if lines[-1] == "":
    lines.pop()
  lines = [line.removesuffix("\r") for line in lines]
  for number, line in enumerate(lines, start=1):
    if "\r" in line:
      raise ScoreError(f"{path}:{number}: a carriage return inside a line (lone-CR line endings?); "
                       "lines must end with \\n or \\r\\n")
  if path.endswith(".jsonl"):
    return [_json_field(line, path, number, field or JSONL_FIELDS["pred"]) for number, line in enumerate(lines, 1)]
  return lines


def _json_field(line: str, path: str, number: int, field: str) -> str:
  """The string `field` of one JSON-lines row."""
  try:
    row = json.loads(line)
  except json.JSONDecodeError as e:
    raise ScoreError(f"{path}:{number}: not valid JSON ({e.msg} at column {e.colno})") from None
  if not isinstance(row, dict) or field not in row:
    raise ScoreError(f"{path}:{number}: expected a JSON object with a {field!r} field")
  if not isinstance(row[field], str):
    raise ScoreError(f"{path}:{number}: {field!r} must be a string, got {type(row[field]).__name__}")
  return row[field]


def parse_metrics(spec: str) -> list[str]:
  groups = [g.strip() for g in spec.split(",") if g.strip()]
  unknown = [g for g in groups if g not in METRIC_GROUPS]
  if unknown or not groups:
    raise ScoreError(f"--metrics: unknown {unknown or spec!r}; choose from {', '.join(METRIC_GROUPS)}")
  return groups


def score(preds: Sequence[str], refs: Sequence[Sequence[str]], groups: Sequence[str] = METRIC_GROUPS,
          csds: bool = False, strip_markers: bool = False, smoothing: str = "method1") -> dict[str, float]:
  """Scores predictions against one or more aligned reference lists.

  Args:
    preds: one prediction per line.
    refs: reference lists, each aligned with `preds` (refs[j][k] is reference j of line k).
    groups: metric groups, from `METRIC_GROUPS`.
    csds: ROUGE-L with CSDS's convention (sentence breaks after "。", summary-level LCS).
    strip_markers: drop "<q>" sentence markers before tokenising.
    smoothing: BLEU smoothing, "method1" or "none".

  Returns:
    Metric name -> value in percent, in the order of `groups`.
  """
  if not refs:
    raise ScoreError("no reference list given")
  if not preds:
    raise ScoreError("nothing to score: no predictions")
  for j, ref in enumerate(refs):
    if len(ref) != len(preds):
      raise ScoreError(f"{len(preds)} predictions but {len(ref)} references in reference list {j}")
  tokenize = lambda text: metrics_lib.char_tokens(text, strip_markers=strip_markers)  # noqa: E731
  per_line = [list(r) for r in zip(*refs)] if len(refs) > 1 else list(refs[0])
  out: dict[str, float] = {}
  for group in groups:
    if group == "rouge":
      if len(refs) > 1:
        raise ScoreError("ROUGE takes one reference file; give one --ref or drop rouge from --metrics")
      out.update(metrics_lib.rouge(preds, refs[0], tokenize=tokenize))
      if csds:
        out["rougeL"] = metrics_lib.rouge_l_summary_level(preds, refs[0], tokenize=tokenize)
    elif group == "bleu":
      for name, n in (("bleu", 4), ("bleu1", 1), ("bleu2", 2)):
        out[name] = metrics_lib.corpus_bleu(preds, per_line, n, smoothing, tokenize)
      out["sentence_bleu4"] = metrics_lib.mean_sentence_bleu(preds, per_line, 4, smoothing, tokenize)
    elif group == "distinct":
      out["distinct1"] = metrics_lib.distinct_n(preds, 1, tokenize)
      out["distinct2"] = metrics_lib.distinct_n(preds, 2, tokenize)
    else:
      raise ScoreError(f"unknown metric group {group!r}; choose from {', '.join(METRIC_GROUPS)}")
  return out


def score_files(pred_path: str, ref_paths: Sequence[str], groups: Sequence[str], **kwargs) -> dict[str, float]:
  """`score` on files; a line-count mismatch names the files and their counts."""
  preds = read_lines(pred_path, JSONL_FIELDS["pred"])
  refs = [read_lines(p, JSONL_FIELDS["ref"]) for p in ref_paths]
  for path, ref in zip(ref_paths, refs):
    if len(ref) != len(preds):
      raise ScoreError(f"line counts differ: {pred_path} has {len(preds)} lines, {path} has {len(ref)}; "
                       "prediction and reference files must be line-aligned")
  if not preds:
    raise ScoreError(f"nothing to score: {pred_path} and {', '.join(ref_paths)} have no lines")
  return score(preds, refs, groups, **kwargs)


def define_flags() -> None:
  flags.DEFINE_string("pred", None, "Predictions, one a line.", required=True)
  flags.DEFINE_multi_string("ref", None, "References, line-aligned with --pred; repeat for several (BLEU).",
                            required=True)
  flags.DEFINE_string("metrics", ",".join(METRIC_GROUPS), f"Comma-separated groups from {METRIC_GROUPS}.")
  flags.DEFINE_boolean("json", False, "Print one JSON object of metric name -> percent.")
  flags.DEFINE_boolean("csds", False, "ROUGE-L with CSDS's convention: a sentence break after each 。, "
                       "ROUGE-1.5.5 summary-level LCS.")
  flags.DEFINE_boolean("strip_markers", False, "Drop PreSumm's <q> sentence markers.")
  flags.DEFINE_enum("smoothing", "method1", ["method1", "none"], "BLEU smoothing (NLTK SmoothingFunction).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    scores = score_files(FLAGS.pred, FLAGS.ref, parse_metrics(FLAGS.metrics), csds=FLAGS.csds,
                         strip_markers=FLAGS.strip_markers, smoothing=FLAGS.smoothing)
  except ScoreError as e:
    sys.exit(f"jddc.score: error: {e}")
  if FLAGS.json:
    print(json.dumps(scores))
  else:
    print("\n".join(f"{name:<16}{value:8.2f}" for name, value in scores.items()))


if __name__ == "__main__":
  define_flags()
  app.run(main)
