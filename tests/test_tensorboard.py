"""TensorBoard event files a researcher can use: read back with TensorBoard's own reader, they
hold the training scalars, the run's config as hparams and decoded validation examples."""

import glob
import os

import pytest

from jddc import configuration


def train_task_lr(config, step: int) -> float:
  from jddc.tasks import get_task
  return get_task(config.task)(config, "").learning_rates(step)["lr"]


def test_tensorboard_reads_scalars_hparams_and_validation_examples(tiny_release, tmp_path):
  from tensorboard.backend.event_processing import event_accumulator  # the tensorboard extra (setup.sh --test)

  from jddc import train
  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.train.steps, config.train.log_every = 4, 2
    config.train.eval_every = config.train.checkpoint_every = 2
    config.eval.max_examples = 4
    config.decode.max_new_tokens = 6
  run = tmp_path / "run"
  train.train_and_evaluate(config, str(run))
  (events,) = glob.glob(str(run / "tensorboard" / "events.out.tfevents.*"))
  acc = event_accumulator.EventAccumulator(events, size_guidance={"tensors": 0, "scalars": 0})
  acc.Reload()
  tags = acc.Tags()
  assert [e.step for e in acc.Scalars("train/loss")] == [2, 4]
  assert [e.value for e in acc.Scalars("train/lr")] == pytest.approx([train_task_lr(config, s) for s in (2, 4)])
  assert [e.step for e in acc.Scalars("valid/bleu")] == [2, 4]
  text = [t for t in tags["tensors"] if t.startswith("valid/examples")]
  assert text, tags
  (first, second) = acc.Tensors(text[0])
  assert (first.step, second.step) == (2, 4)
  markdown = first.tensor_proto.string_val[0].decode()
  assert markdown.count("**example") == train.VALID_EXAMPLES and "| prediction |" in markdown
  plugins = acc.PluginTagToContent("hparams")
  assert "_hparams_/session_start_info" in plugins
  start = plugins["_hparams_/session_start_info"].decode("latin-1")
  assert "optim.lr" in start and "model.n_layer" in start


def test_the_logged_learning_rate_is_the_one_each_optimizer_applies():
  """Task.learning_rates(step) follows the schedule the task's optimizer steps through: AdamW's
  warmup and decay, the SGD recipe's per-epoch decay, BERTSUMABS' two Noam schedules."""
  import numpy as np
  from jddc.tasks import get_task

  def applied_rate(tx, step):  # |update| of a constant unit gradient at `step`: Adam's m/sqrt(v) is 1
    params = {"w": np.zeros((2, 2), np.float32)}
    grads = {"w": np.ones((2, 2), np.float32)}
    state = tx.init(params)
    for _ in range(step):
      updates, state = tx.update(grads, state, params)
    return -float(np.asarray(updates["w"])[0, 0])

  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.optim.weight_decay, config.optim.clip = 0.0, 0.0
  task = get_task(config.task)(config, "")
  adamw = task.optimizer()
  for step in (1, 3, config.optim.warmup_steps + 2, config.train.steps):
    rates = task.learning_rates(step)
    assert set(rates) == {"lr"} and rates["lr"] >= 0
    assert abs(applied_rate(adamw, step) - rates["lr"]) <= 1e-4 * rates["lr"]  # float32 bias corrections
  assert task.learning_rates(1)["lr"] < task.learning_rates(config.optim.warmup_steps + 1)["lr"]
  stac = configuration.load_config("configs/discourse_stac.py:small")
  discourse = get_task(stac.task)(stac, "")
  discourse.steps_per_epoch = lambda: 10
  sgd = discourse.optimizer()
  for step in (1, 10, 11, 35):
    assert abs(applied_rate(sgd, step) - discourse.learning_rates(step)["lr"]) < 1e-6
  assert discourse.learning_rates(11)["lr"] == stac.optim.lr * stac.optim.decay_per_epoch
