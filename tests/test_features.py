"""Image features as a prerequisite: which rows read them, the one rule that derives the
extractor's config, what `data.image_size` means, and the engine handing the table to the task."""

import glob
import json
import os

import numpy as np
import pytest

from jddc import configuration, features

CONFIGS = sorted(glob.glob(os.path.join(configuration.REPO_ROOT, "configs", "[a-z]*.py")))
CONFIGS = [p for p in CONFIGS if not p.endswith("common.py")]


def _config(name: str, **data):
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    for key, value in data.items():
      config.data[key] = value
  return config


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_a_row_reads_image_features_exactly_when_its_model_does(path):
  config = configuration.load_config(f"{path}:tiny")
  assert features.reads_image_features(config) == (config.model.get("image_feature_dim", 0) > 0)


def test_the_extractor_config_is_the_rows_data_but_its_text_keys():
  row = _config("summary_mm", release="/data/r", on_error="skip", image_size=48, worker_count=3, vocab_size=777)
  with row.unlocked():
    row.data.a_key_added_later = "x"
  ext = features.extractor_config(row)
  own = configuration.load_config(f"{row.features.extractor_config}:{row.features.size}")
  assert ext.task == "image_category" and ext.train.steps == own.train.steps
  for key, value in row.data.items():
    expected = own.data[key] if key in features.EXTRACTOR_OWN_DATA_KEYS else value
    assert ext.data[key] == expected, key
  assert set(ext.data) == set(own.data) | {"a_key_added_later"}
  assert ext.data.image_size == 48 and ext.data.vocab_size == own.data.vocab_size != 777
  assert ext.mesh.to_dict() == row.mesh.to_dict()


def test_rows_that_differ_only_in_text_keys_share_one_extractor(tiny_release, tmp_path):
  def workdir(name):
    return features.extractor_workdir(_config(name, release=tiny_release, cache_dir=str(tmp_path)))
  assert workdir("response_mm") == workdir("summary_mm") == workdir("discourse_mm")
  other = _config("response_mm", release=tiny_release, cache_dir=str(tmp_path), image_size=48)
  assert features.extractor_workdir(other) != workdir("response_mm"), "image_size is the extractor's"


def test_a_row_without_image_features_has_no_extractor():
  with pytest.raises(ValueError, match="reads no image features"):
    features.extractor_config(_config("response_text"))


def test_a_given_extractor_trained_at_another_image_size_is_refused(tmp_path, tiny_release):
  from configs import common
  run = tmp_path / "extractor"
  run.mkdir()
  (run / "config.json").write_text(json.dumps({"task": "image_category", "data": {"image_size": 64}}))
  config = _config("response_mm", release=tiny_release, cache_dir=str(tmp_path / "cache"))
  with config.unlocked():
    config.features.checkpoint = str(run)
  with pytest.raises(configuration.ConfigError, match=r"data.image_size 32 differs from 64, the size "
                     r"features.checkpoint .* was trained at \(its config.json\): set --config.data.image_size=64"):
    configuration.validate(config, common.reference(config))
  with pytest.raises(ValueError, match="data.image_size 32 differs from 64"):
    features.extractor_image_size(config, str(run))
  with config.unlocked():
    config.data.image_size = 64
  configuration.validate(config, common.reference(config))
  assert features.extractor_image_size(config, str(run)) == 64


def test_a_task_that_reads_image_features_needs_the_engine_to_hand_them(tmp_path):
  from jddc.tasks import get_task
  config = _config("rewrite_cls_mm", cache_dir=str(tmp_path))
  task = get_task(config.task)(config, str(tmp_path / "run"))
  with pytest.raises(ValueError, match=r"reads image features and has no feature_table: the engine resolves them "
                     r"before the task prepares"):
    task.prepare()
  assert not os.listdir(tmp_path), "refused before building anything"


def test_the_engine_hands_the_cached_table_to_the_task(copy_tiny_features, tiny_release, tmp_path):
  from jddc import train
  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(cache)
  config = _config("rewrite_cls_mm", cache_dir=str(cache))
  index, table = train.image_features(config)
  assert table.dtype == np.float32 and table.shape == (len(index), config.features.dim) and len(index) > 10
  assert sorted(index) == features.release_image_names(tiny_release)
  task = train.prepare_data(config, str(tmp_path / "run"))
  assert task.feature_table[0] == index and np.array_equal(task.feature_table[1], table)
  assert train.image_features(_config("rewrite_cls_text", cache_dir=str(cache))) is None


def test_a_run_keeps_its_extractor_and_is_evaluated_with_it_wherever_it_goes(copy_tiny_features, tiny_release,
                                                                             tmp_path, monkeypatch):
  """The run folder pins the extractor it trained with (`<run>/extractor`): moved to another
  place and evaluated from another working directory with a cache that has no extractor, it
  gives its training's results, and nothing retrains an extractor."""
  import shutil
  from jddc import inference, train
  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  copy_tiny_features(cache)
  config = _config("rewrite_cls_mm", cache_dir=str(cache))
  with config.unlocked():
    config.train.steps = config.train.eval_every = config.train.checkpoint_every = 3
    config.eval.max_examples = 8
  run = tmp_path / "run"
  trained = train.train_and_evaluate(config, str(run))
  (cached,) = glob.glob(str(cache / "feature_extractor" / "*-tiny"))
  pinned = features.pinned_extractor(str(run))
  assert pinned == inference.run_extractor(str(run)) == str(run / "extractor")
  assert features.extractor_identity(pinned) == features.extractor_identity(cached)
  moved = tmp_path / "elsewhere" / "run"
  shutil.move(str(run), moved)
  shutil.rmtree(cache / "feature_extractor")  # a cleaned cache, or one whose extractor was retrained
  shutil.rmtree(cache / "features")
  monkeypatch.chdir(tmp_path / "elsewhere")
  assert train.evaluate(config, str(moved), "test") == trained
  assert not (cache / "feature_extractor").exists(), "evaluation retrained an extractor"
  with pytest.raises(FileNotFoundError, match="holds no feature extractor"):
    inference.run_extractor(str(tmp_path / "cache"))


def test_the_extractor_starts_from_given_weights_and_its_key_covers_their_bytes(tiny_release, tmp_path):
  weights = tmp_path / "resnet18.pth"
  weights.write_bytes(b"one set of weights")
  plain = _config("response_mm", release=tiny_release, cache_dir=str(tmp_path))
  given = _config("response_mm", release=tiny_release, cache_dir=str(tmp_path))
  with given.unlocked():
    given.features.init_from = str(weights)
  assert features.extractor_config(given).model.init_from == str(weights)
  assert not features.extractor_config(plain).model.get("init_from")
  first = features.extractor_workdir(given)
  assert first != features.extractor_workdir(plain)
  weights.write_bytes(b"other weights at the same path")
  assert features.extractor_workdir(given) != first, "the key must cover the weights' bytes"
