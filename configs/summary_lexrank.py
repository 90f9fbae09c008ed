"""LexRank: Table 9, "LexRank" (no training; evaluation only).

    python -m jddc.main --config=configs/summary_lexrank.py       # small: the embedded corpus
    python -m jddc.main --config=configs/summary_lexrank.py:tiny

sumy's LexRank (threshold 0.1, power iteration with epsilon 0.1, no damping; docs/baselines.md §5)
over the dialogue's text messages, terms = characters (the paper does not say how it
tokenised Chinese); the most central utterances are kept, in dialogue order, until they reach
N characters, N = the mean summary length of the train split. ROUGE as in summary_lead.py.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("summary_extractive", arg)
  config.model = common.lexrank()
  config.train.steps = 0  # nothing to train
  config.eval.max_examples = 0  # every example of the split
  config.eval.metric = "rougeL"
  return config
