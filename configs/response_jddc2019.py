"""Text-only GPT-2 response generation on real JD dialogues: the JDDC 2019 chat log.

    python -m jddc.main --config=configs/response_jddc2019.py          # small: a CPU run
    python -m jddc.main --config=configs/response_jddc2019.py:tiny     # seconds

`configs/response_text.py` (Table 5's "Text-only GPT") pointed at `../shared/data/jddc2019`
(994 sessions; `--config.data.corpus_path=` a full copy's folder). Sessions are split
80 / 10 / 10 by a hash of their id (`jddc/data/corpora/jddc2019.py`); BLEU etc. on the
held-out test sessions' agent replies.
"""

import os

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("response", arg)
  config.data.corpus = "jddc2019"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "jddc2019")
  # real Chinese text: about 2,000 characters reach SentencePiece's 99.95% coverage, so the
  # vocabulary must be larger than the embedded corpus's
  config.data.vocab_size = {"tiny": 3000, "small": 4000, "base": 8000}[config.size]
  config.model = common.gpt2(config.size, image_feature_dim=0)
  config.decode = common.decoding(config.size)
  config.eval.metric = "bleu"
  return config
