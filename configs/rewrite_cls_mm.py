"""Multimodal TransResNet: can the multimodal query be rewritten as text? Table 6, "Multimodal TransResNet".

    python -m jddc.main --config=configs/rewrite_cls_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_cls_mm.py:tiny     # seconds

The text of `[CLS] context [SEP] query [SEP]` through a small Transformer (masked mean ->
Linear), plus the query images' frozen ResNet-18 features (configs/image_category.py,
trained on first use) through BatchNorm -> dropout -> Linear, summed, -> Linear(2)
(jddc/models/transresnet.py). Trained from scratch, Adam as the other rows (ParlAI's
TransResNet uses Adam at 5e-4), with the text-only twin's budget (lr and steps). Model selection on valid
macro F1.
"""

from configs import common, rewrite_cls_text


def get_config(arg: str = "small"):
  config = rewrite_cls_text.get_config(arg)
  config.model = common.transresnet(config.size, image_feature_dim=512)
  config.features = common.image_features(config.size)
  return config
