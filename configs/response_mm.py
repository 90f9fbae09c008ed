"""Multimodal GPT-2 response generation: Table 5, "Multimodal GPT".

    python -m jddc.main --config=configs/response_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/response_mm.py:tiny     # seconds
    python -m jddc.main --config=configs/response_mm.py:base --config.data.release=/path/to/jddc21

Each image's frozen ResNet-18 pooled feature (512-d, from configs/image_category.py,
trained and extracted on first use) goes through Linear(512 -> d_model) into one embedding
at the image's `[IMG]` place in the dialogue, excluded from the loss (docs/baselines.md §3).
Input `[CLS] [USER] text [SEP] [AGENT] text [SEP] ...`; context truncated from the left;
loss on the response only.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("response", arg)
  config.model = common.gpt2(config.size, image_feature_dim=512)
  config.features = common.image_features(config.size)
  config.decode = common.decoding(config.size)
  config.eval.metric = "bleu"
  return config
