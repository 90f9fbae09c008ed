"""Deep Sequential on MODDP (Chinese two-party dialogues, 16 relations): train -> eval.

    python -m jddc.main --config=configs/discourse_moddp.py          # small: a CPU run
    python -m jddc.main --config=configs/discourse_moddp.py:tiny     # seconds

configs/discourse_text.py pointed at `../shared/data/moddp` (604 train / 87 eval dialogues;
`--config.data.corpus_path=` another copy). The checkpoint is picked on a validation split
carved from train (10% of its dialogues by a hash of the id, `jddc/data/corpora/moddp.py`)
and reported on `eval.csv` (the test split). A SentencePiece vocabulary trained on MODDP
train (real Chinese text needs more pieces than the embedded corpus); random embeddings.
Training dialogues are cut to `max_edus` EDUs (small: 32, losing 229 of 11,338 EDUs; base:
64, none); test dialogues are parsed whole.
"""

import os

from configs import common, discourse_text


def get_config(arg: str = "small"):
  config = discourse_text.get_config(arg)
  config.data.corpus = "moddp"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "moddp")
  config.data.vocab_size = {"tiny": 3000, "small": 4000, "base": 8000}[config.size]
  config.model.max_edus = {"tiny": 32, "small": 32, "base": 64}[config.size]
  return config
