"""Multimodal BERTSUMABS: Table 9, "Multimodal BERTSUMABS".

    python -m jddc.main --config=configs/summary_mm.py

As `summary_text.py`, plus each image's frozen ResNet-18 feature (512-d, from
configs/image_category.py, trained on first use) through Linear(512 -> d_model) in place of
its `[IMG]` token's word embedding in the encoder input (the paper: "image features as
extra encoder inputs"; the same form as the multimodal GPT-2).
"""

from configs import common
from configs import summary_text


def get_config(arg: str = "small"):
  config = summary_text.get_config(arg)
  config.model.image_feature_dim = 512
  config.features = common.image_features(config.size)
  return config
