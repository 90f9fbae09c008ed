"""`jddc.reproduce`: tables from finished runs, the paper's claims checked, resume, one real tiny row."""

import csv
import json
import os
import re

import pytest

from jddc import paper_tables as pt
from jddc import reproduce


def _fake_run(out, row, seed, **metrics):
  path = reproduce.run_dir(out, pt.ROW_INDEX[row], seed)
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "results.json"), "w") as f:
    json.dump({"split": "test", "best_step": 10, **metrics}, f)


def test_every_row_has_a_table_and_paper_numbers():
  assert len(pt.ROWS) == 15 and {r.table for r in pt.ROWS} == {5, 6, 7, 8, 9}
  for row in pt.ROWS:
    assert set(row.paper) == {k for _, k in pt.TABLES[row.table].columns}, row.name
  for mm, text in pt.TWINS:
    assert pt.ROW_INDEX[mm].table == pt.ROW_INDEX[text].table


def test_tables_from_finished_runs(tmp_path):
  out = str(tmp_path)
  for seed, (text, mm) in enumerate([(20.0, 25.0), (21.0, 26.0), (22.0, 27.0)]):
    _fake_run(out, "response_text", seed, bleu=text, rougeL=30.0, distinct1=1.0, distinct2=5.0)
    _fake_run(out, "response_mm", seed, bleu=mm, rougeL=31.0, distinct1=1.0, distinct2=5.0)
  _fake_run(out, "summary_lead", 0, rouge1=17.0, rouge2=2.0, rougeL=15.0)
  _fake_run(out, "summary_lexrank", 0, rouge1=16.0, rouge2=2.0, rougeL=14.0)
  summaries = reproduce.reproduce(out, "small", report_only=True)

  assert summaries["response_mm"]["bleu"] == pytest.approx(26.0)
  assert summaries["response_mm"]["bleu_sd"] == pytest.approx(1.0)
  assert summaries["response_mm"]["_seeds"] == 3 and summaries["summary_lead"]["_seeds"] == 1
  tables = open(os.path.join(out, "tables.md"), encoding="utf-8").read()
  assert "| Multimodal GPT (`response_mm`) | 26.00 ± 1.00 | 31.00 ± 0.00 |" in tables
  assert "| 10.21 | 22.14 | 0.25 | 3.27 |" in tables  # the paper's figures beside ours
  assert "response_mm beats response_text on bleu by more than the seed spread: **holds" in tables
  assert "LexRank beats Lead: **fails" in tables  # our fake LexRank is worse: reported, not hidden
  assert "abstractive summarizers beat extractive ones: **n/a" in tables
  with open(os.path.join(out, "tables.csv"), encoding="utf-8") as f:
    lines = list(csv.DictReader(f))
  assert len(lines) == sum(len(pt.TABLES[r.table].columns) for r in pt.ROWS)
  lead = [l for l in lines if l["row"] == "summary_lead" and l["metric"] == "rouge2"][0]
  assert float(lead["ours"]) == 2.0 and float(lead["paper"]) == 1.64
  with open(os.path.join(out, "text_vs_mm.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_unknown_row_is_an_error(tmp_path):
  with pytest.raises(ValueError, match="unknown rows"):
    reproduce.reproduce(str(tmp_path), "tiny", rows=["response_gpt9"])


@pytest.mark.slow
def test_tiny_row_runs_once_and_resumes(tmp_path):
  out = str(tmp_path)
  summaries = reproduce.reproduce(out, "tiny", rows=["response_text"])
  assert 0.0 <= summaries["response_text"]["bleu"] <= 100.0
  assert summaries["response_text"]["_wall_s"] > 0
  first = os.path.getmtime(os.path.join(reproduce.run_dir(out, pt.ROW_INDEX["response_text"], 0), "results.json"))
  reproduce.reproduce(out, "tiny", rows=["response_text"])  # done: not run again
  assert os.path.getmtime(os.path.join(reproduce.run_dir(out, pt.ROW_INDEX["response_text"], 0),
                                       "results.json")) == first
  assert "Text-only GPT (`response_text`) |" in open(os.path.join(out, "tables.md"), encoding="utf-8").read()


def test_core_slots_split_the_cores():
  slots = reproduce.core_slots(2)
  assert len(slots) == 2 and all(slots)
  if len(os.sched_getaffinity(0)) >= 2:
    assert not slots[0] & slots[1]
  assert reproduce.core_slots(1) == [None]


@pytest.mark.slow
def test_concurrent_runs_prepare_their_data_first(tmp_path):
  out = str(tmp_path)
  summaries = reproduce.reproduce(out, "tiny", rows=["summary_lead", "summary_lexrank"], jobs=2)
  assert summaries["summary_lexrank"]["rougeL"] > 0 and summaries["summary_lead"]["rougeL"] > 0
  for name in ("summary_lead", "summary_lexrank"):
    assert os.path.isfile(os.path.join(out, "logs", f"{name}_prepare.log"))
  timings = json.load(open(os.path.join(out, "timings.json")))
  assert set(timings) == {"summary_lead_prepare", "summary_lexrank_prepare", "summary_lead_seed0", "summary_lexrank_seed0"}
  assert "## Wall time (2 run(s) at a time" in open(os.path.join(out, "tables.md"), encoding="utf-8").read()


@pytest.mark.parametrize("content, why", [
    ('{"bleu": 20.0, "split": "test", "best', "not valid JSON"),  # truncated
    ('{"bleu": 20.0, "split": "valid", "best_step": 10}', "split 'valid', not 'test'"),  # --mode=eval --split=valid
    ('{"bleu": 20.0, "best_step": 10}', "split '(not recorded)'"),  # written before results recorded their split
    ('{"bleu": 20.0, "split": "test"}', "no best_step"),
])
def test_only_a_complete_test_split_result_counts_as_done(tmp_path, content, why):
  out = str(tmp_path)
  row = pt.ROW_INDEX["response_text"]
  path = os.path.join(reproduce.run_dir(out, row, 0), "results.json")
  os.makedirs(os.path.dirname(path))
  with open(path, "w") as f:
    f.write(content)
  assert not reproduce.is_done(reproduce.run_dir(out, row, 0))
  with pytest.raises(ValueError, match=f"{re.escape(path)}.*{re.escape(why)}"):
    reproduce.read_results(out, row, (0,))
  with pytest.raises(ValueError, match=re.escape(why)):
    reproduce.reproduce(out, "tiny", rows=["response_text"], report_only=True)
  _fake_run(out, "response_text", 0, bleu=20.0)
  assert reproduce.is_done(reproduce.run_dir(out, row, 0))
  assert reproduce.run_row(out, row, 0, "tiny") == ("done before", 0.0)


def test_an_out_folder_holds_one_setting(tmp_path):
  """Finished runs of one preset or set of overrides are never reported as another's."""
  out = str(tmp_path)
  _fake_run(out, "summary_lead", 0, rouge1=17.0, rouge2=2.0, rougeL=15.0)
  reproduce.reproduce(out, "tiny", rows=["summary_lead"], report_only=True)
  reproduce.reproduce(out, "tiny", rows=["summary_lead"], report_only=True)  # the same setting again
  with pytest.raises(ValueError, match=r"preset 'tiny' with overrides \[\].*asks for preset 'small'"):
    reproduce.reproduce(out, "small", rows=["summary_lead"], report_only=True)
  with pytest.raises(ValueError, match="use another --out"):
    reproduce.reproduce(out, "tiny", rows=["summary_lead"], report_only=True,
                        overrides=["--config.eval.max_examples=4"])


def test_a_run_trained_with_another_config_than_its_rows_file_is_refused(tmp_path):
  """A config file edited after its runs finished: their figures are not the new config's."""
  from jddc import run_identity

  out, row = str(tmp_path), pt.ROW_INDEX["summary_pgn"]
  _fake_run(out, "summary_pgn", 0, rouge1=40.0, rouge2=30.0, rougeL=38.0)
  config = reproduce.row_config(row, "tiny", 0, ["--config.train.log_every=3"])
  assert config.seed == 0 and config.train.log_every == 3  # the seed and the overrides as run_row passes them
  trained = run_identity.as_json(config)
  with open(os.path.join(reproduce.run_dir(out, row, 0), run_identity.CONFIG_FILE), "w") as f:
    json.dump(trained, f)
  reproduce.reproduce(out, "tiny", rows=["summary_pgn"], seeds=[0], report_only=True)  # only a runtime key differs
  trained["optim"]["lr"] = trained["optim"]["lr"] * 2
  with open(os.path.join(reproduce.run_dir(out, row, 0), run_identity.CONFIG_FILE), "w") as f:
    json.dump(trained, f)
  with pytest.raises(ValueError, match=r"summary_pgn_seed0: optim.lr .* \(trained\) vs .* \(now\)"):
    reproduce.reproduce(out, "tiny", rows=["summary_pgn"], seeds=[0], report_only=True)


def test_release_features_and_config_values_become_every_rows_overrides(tmp_path):
  release, run, weights = tmp_path / "release", tmp_path / "extractor_run", tmp_path / "resnet18.pth"
  release.mkdir()
  (run / "best").mkdir(parents=True)
  (run / "config.json").write_text("{}")
  weights.write_bytes(b"weights")
  assert reproduce.overrides_for(str(release), str(run), ["--config.train.steps=5"]) == [
      f"--config.data.release={release}", f"--config.features.checkpoint={run}", "--config.train.steps=5"]
  assert reproduce.overrides_for(features=str(weights)) == [f"--config.features.init_from={weights}"]
  with pytest.raises(ValueError, match="no such folder"):
    reproduce.overrides_for(str(tmp_path / "nowhere"))
  with pytest.raises(ValueError, match="--config.KEY=VALUE"):
    reproduce.overrides_for(passed=["--train.steps=5"])


@pytest.mark.slow
def test_the_command_line_passes_config_values_to_every_row(tmp_path):
  import subprocess
  import sys
  out = tmp_path / "out"
  command = [sys.executable, "-m", "jddc.reproduce", "--preset=tiny", f"--out={out}", "--rows=summary_lead",
             "--jobs=1", "--config.eval.max_examples=4"]
  proc = subprocess.run(command, cwd=reproduce.REPO, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  workdir = reproduce.run_dir(str(out), pt.ROW_INDEX["summary_lead"], 0)
  with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
    assert json.load(f)["eval"]["max_examples"] == 4
  with open(os.path.join(workdir, "predictions_test.jsonl"), encoding="utf-8") as f:
    assert len(f.readlines()) == 4
  proc = subprocess.run(command[:-1] + ["--config.eval.max_examples=5"], cwd=reproduce.REPO, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode != 0 and "use another --out" in proc.stderr
