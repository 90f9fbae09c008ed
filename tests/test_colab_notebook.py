"""launch/colab_restore.ipynb: its code cells, run in order as a kernel runs them
(`launch/notebook_cells.execute`), restore a tiny run and decode, from a working directory
that is not the repository.

Three paths: no run folder given (the notebook trains a tiny multimodal run itself and picks a
release image), a text run (`response_text`) and a multimodal run (`response_mm`: the notebook
extracts the customer's image with the extractor the run keeps); the multimodal reply must equal
what `--mode=predict` gives for the same dialogue. The committed notebook is the generator's
(`launch/notebook_cells.py`) and carries the outputs of a top-to-bottom run.
"""

import copy
import importlib.util
import json
import os

import numpy as np
import pytest

from jddc import configuration

NOTEBOOK = os.path.join(configuration.REPO_ROOT, "launch", "colab_restore.ipynb")


def _cells_module():
  spec = importlib.util.spec_from_file_location("notebook_cells", os.path.join(configuration.REPO_ROOT, "launch",
                                                                               "notebook_cells.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _committed() -> dict:
  with open(NOTEBOOK, encoding="utf-8") as f:
    notebook = json.load(f)
  assert notebook["nbformat"] == 4
  return notebook


def test_the_notebook_is_its_generators_and_keeps_its_outputs():
  committed, generated = _committed(), _cells_module().notebook()
  assert [(c["cell_type"], c["source"]) for c in committed["cells"]] == \
      [(c["cell_type"], c["source"]) for c in generated["cells"]], "run launch/notebook_cells.py --execute"
  code = [c for c in committed["cells"] if c["cell_type"] == "code"]
  assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
  assert all(c["outputs"] for c in code), "every code cell has its saved output"
  (shown,) = [o for o in code[-1]["outputs"] if o["output_type"] == "display_data"]
  assert '<img src="data:image/' in shown["data"]["text/html"]


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory, tiny_release, copy_tiny_features):
  cache = tmp_path_factory.mktemp("data_cache")
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(cache)  # the session's feature extractor
  return cache


def _tiny_run(name: str, cache, run_dir):
  from jddc import train
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.train.steps = 3
    config.train.eval_every = 3
    config.train.checkpoint_every = 3
    config.eval.max_examples = 2
    config.decode.max_new_tokens = 6
  train.train_and_evaluate(config, str(run_dir))
  assert (run_dir / "config.json").exists() and (run_dir / "tokenizer").is_dir()
  return config


def _run_notebook(run_dir, image, monkeypatch, cwd, cache=None) -> tuple[dict, str, list]:
  """(the notebook's namespace, its printed output, its rich outputs), run in `cwd`."""
  for name, value in (("JDDC_RUN", run_dir), ("JDDC_IMAGE", image), ("JDDC_CACHE", cache)):
    if value is None:
      monkeypatch.delenv(name, raising=False)
    else:
      monkeypatch.setenv(name, str(value))
  monkeypatch.chdir(cwd)  # nothing may depend on the repository as working directory
  notebook = _cells_module().execute(copy.deepcopy(_committed()))
  outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
  printed = "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream")
  return notebook["_namespace"], printed, [o for o in outputs if o["output_type"] == "display_data"]


def test_notebook_trains_a_tiny_run_when_given_none(data_cache, tmp_path, monkeypatch):
  namespace, printed, shown = _run_notebook(None, None, monkeypatch, tmp_path, cache=data_cache)
  assert "trained configs/response_mm.py:tiny in" in printed and "multimodal=True" in printed
  assert namespace["RUN_DIR"] == str(tmp_path / "runs" / "notebook_tiny")
  assert os.path.isdir(os.path.join(namespace["RUN_DIR"], "extractor"))
  (page,) = shown
  assert '<img src="data:image/' in page["data"]["text/html"] and "agent (model):" in page["data"]["text/html"]
  assert namespace["result"]["context_images"][1] == os.path.basename(namespace["IMAGE"])


def test_notebook_restores_a_run_and_decodes(data_cache, tmp_path, monkeypatch):
  run_dir = tmp_path / "run"
  _tiny_run("response_text", data_cache, run_dir)
  image = sorted((data_cache / "jddc_tiny_seed0" / "images").iterdir())[0]
  namespace, printed, _ = _run_notebook(run_dir, image, monkeypatch, tmp_path)
  assert "devices:" in printed and "response (gpt2, tiny)" in printed and "multimodal=False" in printed
  result = namespace["result"]
  assert isinstance(result["prediction"], str) and "agent (model):" in printed
  assert result["context_images"][1] == image.name
  # A remote run folder (gs://) is read through a local copy of its config and tokenizer.
  from jddc import inference
  from jddc.data import tokenizers
  copy = inference.local_run_files(str(run_dir), remote=True)
  assert copy != str(run_dir) and (run_dir / "config.json").read_bytes() == open(f"{copy}/config.json", "rb").read()
  text = "你好，我买的水壶有问题"
  assert tokenizers.load_tokenizer(f"{copy}/tokenizer").encode(text) == \
      tokenizers.load_tokenizer(str(run_dir / "tokenizer")).encode(text)
  assert inference.local_run_files(str(run_dir)) == str(run_dir)


def test_notebook_decodes_a_multimodal_run_with_its_own_image_features(data_cache, tmp_path, monkeypatch, capsys):
  from jddc import features, predict, train
  run_dir = tmp_path / "run"
  config = _tiny_run("response_mm", data_cache, run_dir)
  image = sorted((data_cache / "jddc_tiny_seed0" / "images").iterdir())[0]
  namespace, printed, _ = _run_notebook(run_dir, image, monkeypatch, tmp_path)
  assert "response (gpt2, tiny)" in printed and "multimodal=True" in printed
  result, task = namespace["result"], namespace["task"]
  assert isinstance(result["prediction"], str) and result["prediction"] and "agent (model):" in printed
  index, table = task.feature_table  # the notebook's: this image, through the run's extractor
  assert list(index) == [image.name] and table.shape == (1, config.features.dim)
  cached_index, cached_table = train.image_features(config)  # what the run trained and evaluated with
  np.testing.assert_allclose(table[0], cached_table[cached_index[image.name]], rtol=1e-5, atol=1e-5)
  inputs = tmp_path / "dialogue.jsonl"
  dialogue = {k: result[k] for k in ("context_texts", "context_images", "context_speakers")}
  inputs.write_text(json.dumps(dialogue, ensure_ascii=False) + "\n", encoding="utf-8")
  predict.run(config, str(run_dir), str(inputs))  # --mode=predict
  (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
  assert row == result
  from jddc import inference
  from jddc.data.errors import DataError
  with pytest.raises(DataError, match=r"image 'lost\.jpg' not found"):
    inference.image_features(features.extractor_workdir(config), [str(tmp_path / "lost.jpg")])
  (tmp_path / "fake.jpg").write_bytes(b"not an image at all")
  with pytest.raises(DataError, match=r"image 'fake\.jpg' is corrupt"):
    inference.image_features(features.extractor_workdir(config), [str(tmp_path / "fake.jpg")])
