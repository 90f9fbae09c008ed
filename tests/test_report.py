"""`python -m jddc.report`: the page of tiny real runs, loaded in a real headless browser.

Three tiny runs (`response_text`, `response_mm`, `discourse_text`, 3 steps each) are reported;
Debian's `chromium` (installed by `scripts/setup.sh --test`) loads each page from `file://`,
runs its script and dumps the DOM, which is parsed here: example rows, both runs' predictions,
decoded images (the page writes `naturalWidth` into `data-natural-width`), the filters set by
the URL hash, and one SVG arc per predicted discourse link. A screenshot is kept under pytest's
tmp path. Without chromium the browser tests fail, unless JDDC_SKIP_BROWSER=1 (then they skip).
"""

import html.parser
import json
import os
import shutil
import subprocess
import sys

import pytest

from jddc import configuration

SHORT = {"train.steps": 3, "train.eval_every": 3, "train.checkpoint_every": 3, "train.log_every": 1,
         "eval.max_examples": 12, "decode.max_new_tokens": 6}


def _chromium() -> str:
  path = shutil.which("chromium")
  if path:
    return path
  if os.environ.get("JDDC_SKIP_BROWSER") == "1":
    pytest.skip("no chromium (JDDC_SKIP_BROWSER=1)")
  pytest.fail("chromium is not installed: run `bash scripts/setup.sh --test` as root (apt-get install chromium), "
              "or set JDDC_SKIP_BROWSER=1 to skip the browser checks")


def _browser(page: str, *args: str, fragment: str = "") -> str:
  """What headless chromium prints for `file://page#fragment` with `args` (e.g. --dump-dom)."""
  out = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                        *args, f"file://{os.path.abspath(page)}" + (f"#{fragment}" if fragment else "")],
                       capture_output=True, text=True, timeout=90, check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  return out.stdout


class _Dom(html.parser.HTMLParser):
  """The dumped DOM's example rows, images, predictions and discourse arcs."""

  def __init__(self, text: str):
    super().__init__()
    self.rows, self.images, self.arcs, self.curves, self._chart = [], [], [], [], None
    self.predictions = 0
    self.feed(text)

  def handle_starttag(self, tag, attrs):
    a = dict(attrs)
    classes = (a.get("class") or "").split()
    if tag == "tr" and "example" in classes:
      self.rows.append(a)
    elif tag == "img":
      self.images.append(a)
    elif tag == "td" and "prediction" in classes:
      self.predictions += 1
    elif tag == "svg" and "curve-chart" in classes:
      self._chart = a["data-metric"]
    elif tag == "polyline" and "curve" in classes:
      self.curves.append((self._chart, a["data-run"], len(a["points"].split())))
    elif tag == "path" and "arc" in classes:
      self.arcs.append((len(self.rows), classes, int(a["data-parent"]), int(a["data-child"])))


def _visible(dom: _Dom) -> list[dict]:
  return [r for r in dom.rows if "hidden" not in r]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_release, copy_tiny_features):
  """{config name: a finished 3-step tiny run folder}, trained once for the module."""
  from jddc import train
  root = tmp_path_factory.mktemp("report")
  cache = root / "data_cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(str(cache))  # the session's feature extractor, for response_mm
  out = {}
  for name in ("response_text", "response_mm", "discourse_text", "summary_lead"):
    config = configuration.load_config(f"configs/{name}.py:tiny")
    with config.unlocked():
      config.data.cache_dir = str(cache)
      for key, value in SHORT.items():
        section, field = key.split(".")
        if section in config:
          config[section][field] = value
    out[name] = str(root / name)
    train.train_and_evaluate(config, out[name])
  return out


def _rows(path: str) -> list[dict]:
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def test_two_runs_side_by_side_in_a_browser(runs, tmp_path):
  from jddc import report
  page = report.write([runs["response_text"], runs["response_mm"]], str(tmp_path / "report.html"))
  text_rows = _rows(os.path.join(runs["response_text"], "predictions_test.jsonl"))
  mm_rows = _rows(os.path.join(runs["response_mm"], "predictions_test.jsonl"))
  dom = _Dom(_browser(page, "--dump-dom"))
  assert len(dom.rows) == len(text_rows) == len(mm_rows) == SHORT["eval.max_examples"]
  assert dom.predictions == 2 * len(dom.rows)  # one cell per run per example
  assert {r["data-key"] for r in dom.rows} == {f"{r['session_id']} / {r['index']}" for r in text_rows}
  with open(page, encoding="utf-8") as f:
    source = f.read()
  for row in text_rows + mm_rows:  # both runs' predictions, as the page escapes them
    assert html.escape(row["prediction"], quote=True) in source
  names = [os.path.basename(runs[n]) for n in ("response_text", "response_mm")]
  assert [(run, n) for chart, run, n in dom.curves if chart == "train/loss"] == [(names[0], 3), (names[1], 3)]
  assert {chart for chart, _, _ in dom.curves} >= {"train/loss", "valid/bleu", "valid/rougeL"}
  decoded = [img for img in dom.images if int(img.get("data-natural-width", 0)) > 0]
  assert decoded and all(int(img["data-natural-height"]) > 0 for img in decoded)
  assert len(decoded) == len(dom.images)  # every embedded image decodes
  assert all(r["data-has-image"] == ("1" if any(x["images"] for x in text_rows if
                                                  f"{x['session_id']} / {x['index']}" == r["data-key"]) else "0")
             for r in dom.rows)

  with_image = _Dom(_browser(page, "--dump-dom", fragment="has_image=1"))
  assert [r["data-key"] for r in _visible(with_image)] == [r["data-key"] for r in dom.rows
                                                         if r["data-has-image"] == "1"]
  without = _Dom(_browser(page, "--dump-dom", fragment="has_image=0"))
  assert [r["data-key"] for r in _visible(without)] == [r["data-key"] for r in dom.rows if r["data-has-image"] == "0"]
  # a category some rows show and others not: exactly those rows stay visible
  counts = {}
  for r in dom.rows:
    for c in r["data-categories"].split():
      counts[c] = counts.get(c, 0) + 1
  category = next(c for c, n in sorted(counts.items()) if 0 < n < len(dom.rows))
  filtered = _Dom(_browser(page, "--dump-dom", fragment=f"category={category}"))
  assert 0 < len(_visible(filtered)) < len(dom.rows)
  assert all(category in r["data-categories"].split() for r in _visible(filtered))

  shot = tmp_path / "report.png"
  _browser(page, f"--screenshot={shot}", "--window-size=1280,1600")
  print(f"report screenshot: {shot}", file=sys.stderr)
  with open(shot, "rb") as f:
    head = f.read(8)
  assert head == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_discourse_page_draws_one_arc_per_predicted_link(runs, tmp_path):
  from jddc import report
  page = report.write([runs["discourse_text"]], str(tmp_path / "discourse.html"))
  dom = _Dom(_browser(page, "--dump-dom"))
  rows = _rows(os.path.join(runs["discourse_text"], "predictions_test.jsonl"))
  assert len(dom.rows) == len(rows) > 0
  by_key = {r["session_id"]: r for r in rows}
  for k, tr in enumerate(dom.rows, start=1):
    row = by_key[tr["data-key"]]
    predicted = sorted((p, c) for _, classes, p, c in (a for a in dom.arcs if a[0] == k) if "pred" in classes)
    gold = [a for a in dom.arcs if a[0] == k and "gold" in a[1]]
    assert predicted == sorted((p, c) for p, c, _ in row["prediction"])
    assert len(predicted) == len(row["edus"]) - 1 and len(gold) == len(row["gold"])


def test_summary_rows_show_the_dialogue_beside_reference_and_prediction(runs, tmp_path):
  from jddc import metrics, report
  page = report.write([runs["summary_lead"]], str(tmp_path / "summary.html"))
  with open(page, encoding="utf-8") as f:
    source = f.read()
  rows = _rows(os.path.join(runs["summary_lead"], "predictions_test.jsonl"))
  dom = _Dom(source)
  assert [r["data-key"] for r in dom.rows] == [r["session_id"] for r in rows]
  for tr_html, row in zip(source.split('<tr class="example"')[1:], rows):
    assert tr_html.count('<div class="msg ') == len(row["dialogue"])
    for text in (row["reference"], row["prediction"]):
      assert html.escape(text, quote=True) in tr_html
    assert f'rougeL {metrics.rouge([row["prediction"]], [row["reference"]])["rougeL"]:.2f}' in tr_html


def test_per_example_metrics_and_the_order_of_two_runs():
  from jddc.report import rows
  ref = "好的亲马上处理"
  a = [{"session_id": "s", "index": i, "context": ["你好", "<image x.jpg>"], "speakers": [0, 0], "reference": ref,
        "prediction": p} for i, p in enumerate([ref, "不", "好的亲马上"])]
  b = [dict(r, prediction=ref) for r in a]
  aligned = rows.order("response", rows.align("response", [a, b], ["a.jsonl", "b.jsonl"]))
  assert [slots[0].key for slots in aligned] == [("s", 1), ("s", 2), ("s", 0)]  # largest BLEU gap first
  assert aligned[2][0].metrics["bleu"] == pytest.approx(100.0) and aligned[0][0].metrics["rougeL"] == 0.0
  assert aligned[1][0].metrics["rougeL"] == pytest.approx(100 * 2 * 5 / 12)  # LCS 5 of 5 and 7 characters
  assert aligned[0][0].images == ["x.jpg"] and aligned[0][0].messages[1].text == ""
  # discourse: gold 0->1, 1->2; predicted 0->1, 0->2: root + (0, 1) right of 3 each way -> link F1 2/3
  d = [{"session_id": "d", "edus": ["a", "b", "c"], "gold": [[0, 1, "qa"], [1, 2, "ack"]],
        "prediction": [[0, 1, "qa"], [0, 2, "ack"]]}]
  (slots,) = rows.align("discourse", [d], ["d.jsonl"])
  assert slots[0].metrics["link_f1"] == pytest.approx(200 / 3)
  labels = rows.align("image_category", [[{"label": "x", "prediction": "x"}, {"label": "x", "prediction": "y"}]],
                      ["c.jsonl"])  # no session ids: aligned by position
  assert [(e.key, e.metrics["correct"]) for (e,) in labels] == [((0,), 100.0), ((1,), 0.0)]
  with pytest.raises(ValueError, match=r"a\.jsonl:2: example \('s', 0\) appears twice"):
    rows.align("response", [a[:1] + a[:1]], ["a.jsonl"])
  with pytest.raises(ValueError, match=r"a\.jsonl:1: a prediction row without \['reference'\]"):
    rows.align("response", [[{"session_id": "s", "index": 0, "prediction": ""}]], ["a.jsonl"])


def test_missing_image_is_a_placeholder_naming_it(tmp_path):
  from jddc.report import page, runs as runs_lib
  (tmp_path / "images").mkdir()
  thumbnails = runs_lib.Thumbnails(runs_lib.ImageSource(str(tmp_path / "images"), {}))
  cell = page.dialogue_html([page.rows_lib.Message("", 0, "gone.jpg")], thumbnails, {})
  assert 'class="missing-image"' in cell and f"image gone.jpg not found at {tmp_path / 'images' / 'gone.jpg'}" in cell
  assert thumbnails.missing == ["gone.jpg"]
  none = runs_lib.Thumbnails(runs_lib.ImageSource(None, {}, "release folder not found at /nowhere"))
  assert none.get("a.jpg") == (None, "image a.jpg: release folder not found at /nowhere")


def test_cli_errors_name_the_problem(runs, tmp_path):
  from jddc import report
  bare = tmp_path / "untrained"
  bare.mkdir()
  shutil.copy(os.path.join(runs["response_text"], "config.json"), bare / "config.json")
  with pytest.raises(FileNotFoundError, match=rf"{bare}/predictions_test\.jsonl: no predictions .*--mode=eval"):
    report.build([str(bare)])
  with pytest.raises(ValueError, match="runs of different tasks"):
    report.build([runs["response_text"], runs["discourse_text"]])
  with pytest.raises(ValueError, match="runs of different splits"):
    report.build([runs["response_text"], str(_copy_with_split(runs["response_mm"], tmp_path / "mm_valid"))])
  out = subprocess.run([sys.executable, "-m", "jddc.report", str(bare), f"--out={tmp_path / 'r.html'}"],
                       capture_output=True, text=True, check=False, cwd=configuration.REPO_ROOT,
                       env={**os.environ, "PYTHONPATH": configuration.REPO_ROOT})
  assert out.returncode == 1 and "predictions_test.jsonl: no predictions" in out.stderr
  assert not (tmp_path / "r.html").exists()


def _copy_with_split(run_dir: str, dst):
  """A copy of a run whose config evaluates `valid`, with its test predictions renamed to valid's."""
  shutil.copytree(run_dir, dst, ignore=shutil.ignore_patterns("checkpoints", "best", "tensorboard", "extractor"))
  with open(dst / "config.json", encoding="utf-8") as f:
    config = json.load(f)
  config["eval"]["split"] = "valid"
  with open(dst / "config.json", "w", encoding="utf-8") as f:
    json.dump(config, f)
  os.rename(dst / "predictions_test.jsonl", dst / "predictions_valid.jsonl")
  return dst
