"""Multimodal Deep Sequential discourse parsing: Table 8, "Multimodal Deep Sequential".

    python -m jddc.main --config=configs/discourse_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/discourse_mm.py:tiny     # seconds

The twin of configs/discourse_text.py in which an image EDU's sentence representation h_s
is its frozen ResNet-18 pooled feature (512-d, from configs/image_category.py, trained and
extracted on first use) through tanh(Linear(512 -> num_units)), in place of the token
BiGRU; it then enters the dialogue GRU, the structured encoder and the pair heads like any
EDU (the paper: "fed into the Deep Sequential model through a feed-forward layer").
"""

from configs import common, discourse_text


def get_config(arg: str = "small"):
  config = discourse_text.get_config(arg)
  config.model.image_feature_dim = 512
  config.features = common.image_features(config.size)
  return config
