"""The copying GPT-2 rewriter, multimodal: Table 7's "Multimodal GPT" row with a copy head.

    python -m jddc.main --config=configs/rewrite_copy_mm.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_copy_mm.py:tiny     # seconds

`configs/rewrite_gen_mm.py` (ResNet-18 features through Linear(512 -> d_model) at each
`[IMG]`, on the embedded corpus's rewritable queries) with `model.name = "copy_gpt2"`
(`jddc/models/copy_gpt2.py`) and character tokens, as `configs/rewrite_copy_restoration.py`.
Image positions are never copy sources (`copy_gpt2.copy_source_mask`): a picture's words
must be generated. Selected on exact match as RUN computes it (`run_em`) on the valid split.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_gen", arg)
  config.data.tokenizer = "char"
  config.data.vocab_size = 6000  # a cap on the characters of the training texts
  config.model = common.copy_gpt2(config.size, image_feature_dim=512)
  config.features = common.image_features(config.size)
  config.decode = common.decoding(config.size)
  common.short_gpt2_schedule(config)
  config.eval.metric = "run_em"
  return config
