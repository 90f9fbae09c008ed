"""An evaluation prompt's context: with `decode.prompt_reserve` 1 (the REWRITE rows) it fills the
window as the longest training example does (issue 13's prompt bug); the response rows reserve
`max_new_tokens`, so that replies are generated where training put them."""

import pytest

from configs import common
from jddc import configuration
from jddc.data import pipeline
from jddc.data.word_tokenizer import build_word_tokenizer

WORDS = [f"w{i}" for i in range(200)]


def _rewrite_example(context_words: int, rewrite: str) -> dict:
  """A REWRITE-like example: two context utterances of `context_words` words in all, a 4-word query."""
  half = context_words // 2
  return {"context_texts": [" ".join(WORDS[:half]), " ".join(WORDS[half:context_words])],
          "context_images": ["", ""], "context_speakers": [0, 1],
          "query_texts": ["w190 w191 w192 w193"], "query_images": [""], "query_speakers": [0],
          "rewrite": rewrite}


@pytest.fixture(scope="module")
def tok():
  return build_word_tokenizer([" ".join(WORDS)], vocab_size=len(WORDS))


def _config(max_len=64, max_response_len=32, prompt_reserve=1):
  return pipeline.PipelineConfig(max_len=max_len, max_response_len=max_response_len, max_images=4, image_size=0,
                                 dialogue_fields=("context_", "query_"), target_field="rewrite", target_marker="bos",
                                 prompt_reserve=prompt_reserve)


def test_a_long_context_keeps_what_the_training_window_gives_it(tok):
  config = _config()  # configs/rewrite_gen_restoration.py at small: max_len 64, max_response_len 32
  example = _rewrite_example(100, "w0 w190 w191 w192 w193")
  prompt, first, _ = pipeline.encode_dialogue(example, tok, config, with_response=False)
  # [CLS] context... [SEP] [USER] query [SEP] <bos>: 61 dialogue tokens, 63 in all (the old budget kept 29 + 2)
  assert len(prompt) == config.max_len - 1 == first and prompt[0] == tok.cls_id and prompt[-1] == tok.bos_id
  context = [tok.customer_id] + tok.encode(example["context_texts"][0]) + [tok.sep_id]
  context += [tok.agent_id] + tok.encode(example["context_texts"][1]) + [tok.sep_id]
  context += [tok.customer_id] + tok.encode(example["query_texts"][0]) + [tok.sep_id]
  assert prompt[1:-1] == context[-(config.max_len - 3):]  # cut from the left only
  # the training example of the same line holds no more context than the prompt does
  tokens, train_first, _ = pipeline.encode_dialogue(example, tok, config)
  train_context = tokens[1:train_first - 1]
  assert len(tokens) == config.max_len and len(train_context) == config.max_len - 1 - 7  # <bos>, 5 words, [SEP]
  assert prompt[1:-1][-len(train_context):] == train_context


def test_a_short_context_is_the_training_prompt(tok):
  config = _config()
  example = _rewrite_example(10, "w0 w190 w191 w192 w193")
  prompt, first, _ = pipeline.encode_dialogue(example, tok, config, with_response=False)
  tokens, train_first, _ = pipeline.encode_dialogue(example, tok, config)
  assert prompt == tokens[:train_first] and first == train_first == len(prompt) == 10 + 10 + 1 + 1


def test_every_generation_config_fits_a_full_prompt_and_its_new_tokens():
  for path in configuration.available_configs():
    for size in ("tiny", "small", "base"):
      config = configuration.load_config(f"{path}:{size}")
      if common.TASKS[config.task].one_window and "decode" in config:
        assert config.data.max_len - 1 + config.decode.max_new_tokens <= config.model.n_positions, (path, size)
  config = configuration.load_config("configs/rewrite_gen_restoration.py:small")
  with config.unlocked():
    config.decode.max_new_tokens = 200
  with pytest.raises(configuration.ConfigError, match="data.max_len 64 - 1 \\+ decode.max_new_tokens 200 exceeds "
                                                      "model.n_positions 256"):
    configuration.validate(config, common.reference(config))


def test_a_reserve_leaves_the_window_room_for_the_generated_reply(tok):
  config = _config(prompt_reserve=32)
  example = _rewrite_example(100, "w0 w190 w191 w192 w193")
  prompt, first, _ = pipeline.encode_dialogue(example, tok, config, with_response=False)
  assert len(prompt) == config.max_len - 32 == first and prompt[-1] == tok.bos_id
  assert len(prompt) + 32 == config.max_len  # every generated token at a position training used
  full, _, _ = pipeline.encode_dialogue(example, tok, _config(), with_response=False)
  assert prompt[1:-1] == full[1:-1][-(config.max_len - 34):]  # the same context, cut further from the left
  with pytest.raises(ValueError, match="prompt_reserve 0"):
    pipeline.encode_dialogue(example, tok, _config(prompt_reserve=0), with_response=False)


def test_the_response_rows_reserve_their_new_tokens_and_the_rewrite_rows_keep_context():
  for size in ("tiny", "small", "base"):
    for row in ("response_text", "response_mm", "rewrite_gen_text", "rewrite_gen_mm"):
      config = configuration.load_config(f"configs/{row}.py:{size}")
      assert config.decode.prompt_reserve == config.decode.max_new_tokens, (row, size)
    for row in ("rewrite_gen_restoration", "rewrite_copy_restoration"):
      assert configuration.load_config(f"configs/{row}.py:{size}").decode.prompt_reserve == 1
  config = configuration.load_config("configs/response_text.py:small")
  with config.unlocked():
    config.decode.prompt_reserve = config.data.max_len - 2
  with pytest.raises(configuration.ConfigError, match="decode.prompt_reserve 126 leaves no context"):
    configuration.validate(config, common.reference(config))
