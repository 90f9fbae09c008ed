"""Lead: Table 9, "Lead" (no training; evaluation only).

    python -m jddc.main --config=configs/summary_lead.py          # small: the embedded corpus
    python -m jddc.main --config=configs/summary_lead.py:tiny

The first N characters of the dialogue's text messages joined in order (no speaker
prefixes, images skipped), N = the mean summary length of the train split in characters
(`model.length` overrides it). ROUGE-1/2/L on characters; ROUGE-L summary-level (CSDS).
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("summary_extractive", arg)
  config.model = common.lead()
  config.train.steps = 0  # nothing to train
  config.eval.max_examples = 0  # every example of the split
  config.eval.metric = "rougeL"
  return config
