"""TensorBoard event files a researcher can use: read back with TensorBoard's own reader, they
hold the training scalars, the run's config as hparams and decoded validation examples."""

import glob
import os

from jddc import configuration


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
