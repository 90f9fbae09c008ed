"""Text-only GPT-2 rewritten-query generation: Table 7, "Text-only GPT".

    python -m jddc.main --config=configs/rewrite_gen_text.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_gen_text.py:tiny     # seconds

The twin of configs/rewrite_gen_mm.py with the images left out: an image message of the
context or the query is its `[IMG]` token and nothing else.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_gen", arg)
  config.model = common.gpt2(config.size, image_feature_dim=0)
  config.decode = common.decoding(config.size)
  common.short_gpt2_schedule(config)
  config.eval.metric = "bleu"
  return config
