"""The cells of launch/colab_restore.ipynb, and a runner that executes them and saves their outputs.

    python launch/notebook_cells.py --write            # regenerate the notebook from CELLS (no outputs)
    python launch/notebook_cells.py --execute [--cwd=DIR]   # run every cell, save the outputs into it

The notebook is the source users open; this file keeps its cells reviewable as code and lets
the saved outputs be refreshed by running it top to bottom in a clean directory, as a fresh
Colab runtime would (`tests/test_colab_notebook.py` executes the committed cells the same way).
Outside IPython, `display(HTML(...))` is recorded as the notebook's rich output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import types

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "colab_restore.ipynb")

INTRO = """# Restore a jddc run and decode a response

Loads the best checkpoint of a run folder (local, or `gs://` in Colab) onto whatever devices this
notebook has (CPU, one GPU, a TPU VM's chips), rebuilds the model from the `config.json` the run saved,
and decodes the agent's reply to a dialogue whose customer sends an image, shown inline.

Run the cells top to bottom. On a fresh Colab runtime the first cell installs the project from
`REPO_URL` (the one place to edit: your fork, or a release); with no run folder given, a cell
trains a `tiny` multimodal run first (a few minutes on a CPU). For `gs://` run folders,
authenticate first (`from google.colab import auth; auth.authenticate_user()`)."""

INSTALL = '''# Install the project unless it is already importable (a fresh Colab runtime is Python 3.12).
import importlib.util
import os
import subprocess
import sys

# the one place to edit: where your copy of this repository is (a fork, a mirror; or pip a wheel instead)
REPO_URL = os.environ.get("JDDC_REPO_URL", "https://github.com/jddc-project/jddc")
if importlib.util.find_spec("jddc") is None:
  subprocess.check_call(["git", "clone", "-q", REPO_URL, "jddc"])
  subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "-e", "jddc"])  # add [tpu] / [gpu]
  sys.path.insert(0, os.path.abspath("jddc"))  # this kernel started before the install
import jddc
print("jddc from", os.path.dirname(os.path.dirname(jddc.__file__)))'''

WHERE = """## Where things are
`RUN_DIR`: a run folder (`runs/<config>_<size>_seed<seed>` of `python -m jddc.main`, local or `gs://`);
empty, the next cell trains `CONFIG` there first. A multimodal run keeps the image-feature extractor it
was trained with in `RUN_DIR/extractor/`. `IMAGE`: the customer's image file; empty, one of the
run's release images. A `tiny` run trains for seconds and its replies are not meaningful: point
`RUN_DIR` at a trained run (`small` or `base`) for real ones."""

SETTINGS = '''RUN_DIR = os.environ.get("JDDC_RUN", "")  # "" = train CONFIG below
CONFIG = os.environ.get("JDDC_CONFIG", "configs/response_mm.py:tiny")
CACHE_DIR = os.environ.get("JDDC_CACHE", "data_cache")  # corpus, shards, tokenizer, extractor
IMAGE = os.environ.get("JDDC_IMAGE", "")
print("RUN_DIR:", RUN_DIR or f"(none: the next cell trains {CONFIG})", "| IMAGE:", IMAGE or "(one of the release's)")'''

TRAIN = '''import time

from jddc import configuration, train

if not RUN_DIR:
  RUN_DIR = os.path.abspath("runs/notebook_tiny")
  config = configuration.load_config(CONFIG)
  with config.unlocked():
    config.data.cache_dir = CACHE_DIR
  start = time.perf_counter()
  results = train.train_and_evaluate(config, RUN_DIR)
  shown = {k: v for k, v in results.items() if k in ("split", "best_step", "bleu", "rougeL", "accuracy", "f1")}
  print(f"trained {CONFIG} in {time.perf_counter() - start:.0f} s:", shown)
print("run folder:", RUN_DIR)'''

LOAD = '''import jax
from flax import nnx

from jddc import inference

print("devices:", jax.devices())
task, model = inference.load_run(RUN_DIR)
config = task.config
n_params = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
print(f"{config.task} ({config.model.name}, {config.size}): {n_params:,} parameters, "
      f"multimodal={bool(config.model.get('image_feature_dim', 0))}")'''

DIALOGUE = '''# A customer's dialogue: text, then an image, then a question that only the image answers.
from jddc.tasks import base

if not IMAGE:
  images = os.path.join(base.release_dir(config), "images")
  IMAGE = os.path.join(images, sorted(os.listdir(images))[0])
image_name = os.path.basename(IMAGE)
dialogue = {
    "context_texts":    ["你好，我买的水壶有问题", "", "这个怎么回事？"],
    "context_images":   ["", image_name, ""],
    "context_speakers": [0, 0, 0],  # 0 = customer, 1 = agent
}
if config.model.get("image_feature_dim", 0):
  task.feature_table = inference.image_features(inference.run_extractor(RUN_DIR), [IMAGE])
  print(f"image features of {image_name} by {inference.run_extractor(RUN_DIR)}: {task.feature_table[1].shape}")
else:
  print(f"a text-only run: {image_name} is an image message without content")'''

DECODE = '''import base64
import html

(result,) = task.predict(model, [dialogue])


def bubble(speaker: str, inner: str) -> str:
  return f"<p><b>{speaker}:</b> {inner}</p>"


with open(IMAGE, "rb") as f:
  picture = base64.b64encode(f.read()).decode()
mime = "image/png" if IMAGE.lower().endswith(".png") else "image/jpeg"
page = "".join(bubble("customer", f'<img src="data:{mime};base64,{picture}" width="160">' if image
                      else html.escape(text))
               for text, image in zip(dialogue["context_texts"], dialogue["context_images"]))
page += bubble("agent (model)", html.escape(result["prediction"]))
try:
  from IPython.display import HTML, display
except ImportError:  # a plain Python session: print the markup
  print(page)
else:
  display(HTML(page))
print("agent (model):", result["prediction"])'''

CELLS = [("markdown", INTRO), ("code", INSTALL), ("markdown", WHERE), ("code", SETTINGS), ("code", TRAIN),
         ("code", LOAD), ("code", DIALOGUE), ("code", DECODE)]


def _cell(kind: str, source: str) -> dict:
  cell = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
  if kind == "code":
    cell.update(execution_count=None, outputs=[])
  return cell


def notebook() -> dict:
  return {"cells": [_cell(kind, source) for kind, source in CELLS],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 4}


def write(nb: dict, path: str = NOTEBOOK) -> None:
  with open(path, "w", encoding="utf-8") as f:
    json.dump(nb, f, ensure_ascii=False, indent=1)
    f.write("\n")


class _Recorder:
  """Stands in for IPython.display outside a kernel: `display(HTML(x))` becomes an output."""

  def __init__(self):
    self.outputs: list[dict] = []

  def module(self) -> types.ModuleType:
    module = types.ModuleType("IPython.display")
    module.HTML = lambda markup: {"text/html": markup}
    module.display = lambda obj: self.outputs.append(
        {"output_type": "display_data", "data": obj, "metadata": {}})
    return module


def execute(nb: dict) -> dict:
  """Runs the code cells in order in one namespace, as a kernel would; fills their outputs.

  A cell that imports `IPython.display` gets a stand-in that records `display(HTML(...))`,
  only while it runs (libraries imported earlier, such as treescope, saw no IPython)."""
  recorder = _Recorder()
  package = types.ModuleType("IPython")
  package.display = recorder.module()
  namespace = {"__name__": "__main__"}
  count = 0
  for cell in nb["cells"]:
    if cell["cell_type"] != "code":
      continue
    count += 1
    recorder.outputs = []
    source = "".join(cell["source"])
    fake = "IPython.display" in source and "IPython" not in sys.modules
    if fake:
      sys.modules["IPython"], sys.modules["IPython.display"] = package, package.display
    stdout = io.StringIO()
    try:
      with contextlib.redirect_stdout(stdout):
        exec(compile(source, f"<cell {count}>", "exec"), namespace)  # pylint: disable=exec-used
    finally:
      if fake:
        del sys.modules["IPython"], sys.modules["IPython.display"]
    text = stdout.getvalue()
    cell["execution_count"] = count
    cell["outputs"] = ([{"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)}]
                       if text else []) + recorder.outputs
  nb["_namespace"] = namespace
  return nb


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--write", action="store_true", help="write the notebook from CELLS, without outputs")
  parser.add_argument("--execute", action="store_true", help="run every cell and save the outputs")
  parser.add_argument("--cwd", default="", help="working directory to run in (default: a new temporary one)")
  args = parser.parse_args()
  nb = notebook()
  if args.execute:
    import tempfile
    cwd = args.cwd or tempfile.mkdtemp(prefix="jddc_notebook_")
    os.makedirs(cwd, exist_ok=True)
    os.chdir(cwd)
    start = time.perf_counter()
    nb = execute(nb)
    del nb["_namespace"]
    print(f"executed every cell in {cwd} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
  if args.write or args.execute:
    write(nb)


if __name__ == "__main__":
  main()
