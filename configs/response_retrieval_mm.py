"""Multimodal retrieval (Table 5, "Multimodal Retrieval"): text + image candidates, TransResNet re-ranker.

    python -m jddc.main --config=configs/response_retrieval_mm.py

As `response_retrieval_text.py`, plus: 10 more candidates, the responses of the training
dialogues whose latest image is nearest by frozen ResNet-18 feature (512-d, from
configs/image_category.py, trained on first use), and the re-ranker adds the image
encoding (BatchNorm -> Dropout -> Linear(512 -> hidden)) to the context encoding
(ParlAI's "sum" fusion).
"""

from configs import common
from configs import response_retrieval_text


def get_config(arg: str = "small"):
  config = response_retrieval_text.get_config(arg)
  config.model.image_feature_dim = 512
  config.features = common.image_features(config.size)
  return config
