"""Multimodal GPT-2 rewritten-query generation: Table 7, "Multimodal GPT".

    python -m jddc.main --config=configs/rewrite_gen_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_gen_mm.py:tiny     # seconds

The GPT-2 of configs/response_mm.py (ResNet-18 features through Linear(512 -> d_model) at
each `[IMG]`) reading the context and the multimodal query and writing its text rewrite
(jddc/tasks/rewrite_gen.py). Trained and evaluated on the rewritable queries
(can_rewrite = 1), as Table 7. Model selection on valid BLEU.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_gen", arg)
  config.model = common.gpt2(config.size, image_feature_dim=512)
  config.features = common.image_features(config.size)
  config.decode = common.decoding(config.size)
  common.short_gpt2_schedule(config)
  config.eval.metric = "bleu"
  return config
