"""Text-only BERT: can the multimodal query be rewritten as text? Table 6, "Text-only BERT".

    python -m jddc.main --config=configs/rewrite_cls_text.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_cls_text.py:tiny     # seconds
    python -m jddc.main --config=configs/rewrite_cls_text.py:base \\
        --config.model.init_from=/path/to/bert-base-chinese --config.data.tokenizer=/path/to/bert-base-chinese

`[CLS] context [SEP] query [SEP]` -> pooled [CLS] -> Linear(2) (docs/baselines.md §2), an image
being its `[IMG]` token only. At tiny and small the BERT is trained from scratch on our
SentencePiece vocabulary (no pretrained weights here); `model.init_from` with the
checkpoint's own vocab as `data.tokenizer` starts from bert-base-chinese. Model selection
on valid macro F1 (jddc/tasks/rewrite_cls.py says why not positive-class F1).
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_cls", arg)
  config.model = common.bert(config.size)
  # small: the text-only classifier has no signal beyond the prior (only the picture tells
  # whether it can be read), and the multimodal one reaches ~91 macro F1 by step 100
  config.train.steps = {"tiny": 40, "small": 300, "base": 100_000}[config.size]
  config.train.eval_every = {"tiny": 20, "small": 150, "base": 5000}[config.size]
  config.train.checkpoint_every = {"tiny": 20, "small": 150, "base": 2500}[config.size]
  config.optim.warmup_steps = {"tiny": 5, "small": 30, "base": 4000}[config.size]
  config.eval.metric = "f1"
  return config
