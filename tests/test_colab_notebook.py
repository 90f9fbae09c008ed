"""launch/colab_restore.ipynb: its code cells, run in order, restore a tiny run and decode."""

import json
import os

import pytest

from jddc import configuration

NOTEBOOK = os.path.join(configuration.REPO_ROOT, "launch", "colab_restore.ipynb")


def code_cells(path: str) -> list[str]:
  with open(path, encoding="utf-8") as f:
    notebook = json.load(f)
  assert notebook["nbformat"] == 4
  return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_notebook_restores_a_run_and_decodes(tiny_release, tmp_path, monkeypatch, capsys):
  from jddc import train
  cache = tmp_path / "data_cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.train.steps = 3
    config.eval.max_examples = 2
    config.decode.max_new_tokens = 6
  run_dir = tmp_path / "run"
  train.train_and_evaluate(config, str(run_dir))
  assert (run_dir / "config.json").exists() and (run_dir / "tokenizer").is_dir()
  image = sorted((cache / "jddc_tiny_seed0" / "images").iterdir())[0]
  monkeypatch.setenv("JDDC_RUN", str(run_dir))
  monkeypatch.setenv("JDDC_IMAGE", str(image))
  monkeypatch.chdir(tmp_path)  # nothing may depend on the repository as working directory
  capsys.readouterr()
  namespace = {"__name__": "__main__"}
  for source in code_cells(NOTEBOOK):
    exec(compile(source, NOTEBOOK, "exec"), namespace)  # pylint: disable=exec-used
  printed = capsys.readouterr().out
  assert "devices:" in printed and "response (gpt2, tiny)" in printed
  assert f"customer: <image {image.name}>" in printed
  result = namespace["result"]
  assert isinstance(result["prediction"], str) and "agent (model):" in printed
  assert result["context_images"][1] == image.name
