"""launch/colab_restore.ipynb: its code cells, run in order, restore a tiny run and decode.

The text path (`response_text`) and the multimodal path (`response_mm`: the notebook extracts
the customer's image with the run's own feature extractor) are both run; the multimodal
reply must equal what `--mode=predict` gives for the same dialogue.
"""

import json
import os

import numpy as np
import pytest

from jddc import configuration

NOTEBOOK = os.path.join(configuration.REPO_ROOT, "launch", "colab_restore.ipynb")


def code_cells(path: str) -> list[str]:
  with open(path, encoding="utf-8") as f:
    notebook = json.load(f)
  assert notebook["nbformat"] == 4
  return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


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


def _run_notebook(run_dir, image, monkeypatch, capsys, cwd) -> tuple[dict, str]:
  monkeypatch.setenv("JDDC_RUN", str(run_dir))
  monkeypatch.setenv("JDDC_IMAGE", str(image))
  monkeypatch.chdir(cwd)  # nothing may depend on the repository as working directory
  capsys.readouterr()
  namespace = {"__name__": "__main__"}
  for source in code_cells(NOTEBOOK):
    exec(compile(source, NOTEBOOK, "exec"), namespace)  # pylint: disable=exec-used
  return namespace, capsys.readouterr().out


def test_notebook_restores_a_run_and_decodes(data_cache, tmp_path, monkeypatch, capsys):
  run_dir = tmp_path / "run"
  _tiny_run("response_text", data_cache, run_dir)
  image = sorted((data_cache / "jddc_tiny_seed0" / "images").iterdir())[0]
  namespace, printed = _run_notebook(run_dir, image, monkeypatch, capsys, tmp_path)
  assert "devices:" in printed and "response (gpt2, tiny)" in printed and "multimodal=False" in printed
  assert f"customer: <image {image.name}>" in printed
  result = namespace["result"]
  assert isinstance(result["prediction"], str) and "agent (model):" in printed
  assert result["context_images"][1] == image.name


def test_notebook_decodes_a_multimodal_run_with_its_own_image_features(data_cache, tmp_path, monkeypatch, capsys):
  from jddc import features, predict, train
  run_dir = tmp_path / "run"
  config = _tiny_run("response_mm", data_cache, run_dir)
  image = sorted((data_cache / "jddc_tiny_seed0" / "images").iterdir())[0]
  namespace, printed = _run_notebook(run_dir, image, monkeypatch, capsys, tmp_path)
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
