"""Text-only GPT-2 response generation: Table 5, "Text-only GPT".

    python -m jddc.main --config=configs/response_text.py          # small: a CPU run
    python -m jddc.main --config=configs/response_text.py:tiny     # seconds
    python -m jddc.main --config=configs/response_text.py:base \
        --config.model.init_from=/path/to/gpt2-chinese-cluecorpussmall \
        --config.data.tokenizer=/path/to/gpt2-chinese-cluecorpussmall   # from the public checkpoint

The twin of configs/response_mm.py with the images left out: an image message is its
`[IMG]` token and nothing else.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("response", arg)
  config.model = common.gpt2(config.size, image_feature_dim=0)
  config.decode = common.decoding(config.size)
  config.eval.metric = "bleu"
  return config
