"""Multimodal TransResNet: can the multimodal query be rewritten as text? Table 6, "Multimodal TransResNet".

    python -m jddc.main --config=configs/rewrite_cls_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_cls_mm.py:tiny     # seconds

The text of `[CLS] context [SEP] query [SEP]` through a small Transformer (masked mean ->
Linear), plus the query images' frozen ResNet-18 features (configs/image_category.py,
trained on first use) through BatchNorm -> dropout -> Linear, summed, -> Linear(2)
(jddc/models/transresnet.py). Trained from scratch, Adam as the other rows (ParlAI's
TransResNet uses Adam at 5e-4). Model selection on valid macro F1.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_cls", arg)
  config.model = common.transresnet(config.size, image_feature_dim=512)
  config.features = common.image_features(config.size)
  # small: the text-only classifier has no signal beyond the prior (only the picture tells
  # whether it can be read), and the multimodal one reaches ~91 macro F1 by step 100
  config.train.steps = {"tiny": 40, "small": 300, "base": 100_000}[config.size]
  config.train.eval_every = {"tiny": 20, "small": 150, "base": 5000}[config.size]
  config.optim.warmup_steps = {"tiny": 5, "small": 30, "base": 4000}[config.size]
  config.eval.metric = "f1"
  return config
