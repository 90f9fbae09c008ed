"""`python -m jddc.score`: the CSDS official outputs through the CLI, file handling, errors."""

import json
import subprocess
import sys

import pytest

from jddc import metrics as m
from jddc import score
from jddc.configuration import REPO_ROOT
from tests.conftest import shared_path


def _cli(*args):
  return subprocess.run([sys.executable, "-m", "jddc.score", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def test_cli_reproduces_the_csds_published_rouge():
  # CSDS README, PGN overall summary: R-1 / R-2 / R-L 55.58 / 39.19 / 53.46 (ROUGE-1.5.5).
  out = _cli(f"--pred={shared_path('csds', 'official_outputs', 'PGN_preds.txt')}",
             f"--ref={shared_path('csds', 'official_outputs', 'gold_refs.txt')}", "--metrics=rouge", "--csds", "--json")
  assert out.returncode == 0, out.stderr
  scores = json.loads(out.stdout)
  assert list(scores) == ["rouge1", "rouge2", "rougeL"]
  assert scores["rouge1"] == pytest.approx(55.58, abs=0.05)
  assert scores["rouge2"] == pytest.approx(39.19, abs=0.05)
  assert scores["rougeL"] == pytest.approx(53.46, abs=0.1)


def test_cli_line_count_mismatch_names_files_and_counts(tmp_path):
  pred, ref = tmp_path / "pred.txt", tmp_path / "ref.txt"
  pred.write_text("好的\n稍等\n", encoding="utf-8")
  ref.write_text("好的\n", encoding="utf-8")
  out = _cli(f"--pred={pred}", f"--ref={ref}")
  assert out.returncode != 0
  assert f"{pred} has 2 lines, {ref} has 1" in out.stderr
  out = _cli(f"--pred={pred}", f"--ref={ref}", "--metrics=rouge,meteor")
  assert out.returncode != 0 and "unknown ['meteor']" in out.stderr


def test_score_files_agree_with_the_metric_functions(tmp_path):
  preds = ["您好，请问有什么可以帮您", "", "好的 <q> 稍等"]
  refs = ["您好，有什么可以帮您的吗", "请稍等", "好的，请稍等"]
  second = ["您好", "稍等", "好的"]
  (tmp_path / "p.txt").write_text("\n".join(preds) + "\n", encoding="utf-8")  # a blank line is an output
  (tmp_path / "r.txt").write_text("\r\n".join(refs), encoding="utf-8")  # CRLF, no final newline
  (tmp_path / "r2.txt").write_text("\n".join(second) + "\n", encoding="utf-8")
  got = score.score_files(str(tmp_path / "p.txt"), [str(tmp_path / "r.txt")], score.METRIC_GROUPS)
  assert got["bleu"] == pytest.approx(m.corpus_bleu(preds, refs))
  assert got["sentence_bleu4"] == pytest.approx(m.mean_sentence_bleu(preds, refs))
  assert got["rouge2"] == pytest.approx(m.rouge(preds, refs)["rouge2"])
  assert got["distinct2"] == pytest.approx(m.distinct_n(preds, 2))
  assert got["rouge1"] != score.score(preds, [refs], ["rouge"], strip_markers=True)["rouge1"]
  multi = score.score_files(str(tmp_path / "p.txt"), [str(tmp_path / "r.txt"), str(tmp_path / "r2.txt")], ["bleu"])
  assert multi["bleu"] == pytest.approx(m.corpus_bleu(preds, [list(p) for p in zip(refs, second)]))
  with pytest.raises(score.ScoreError, match="ROUGE takes one reference file"):
    score.score_files(str(tmp_path / "p.txt"), [str(tmp_path / "r.txt")] * 2, ["rouge"])
  (tmp_path / "bad.txt").write_bytes("好\n".encode() * 2 + b"\xff\n")
  with pytest.raises(score.ScoreError, match=r"bad\.txt:3: not valid UTF-8"):
    score.read_lines(str(tmp_path / "bad.txt"))
