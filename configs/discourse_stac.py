"""Deep Sequential on STAC (English multi-party chat, 16 SDRT relations): train -> dev.

    python -m jddc.main --config=configs/discourse_stac.py          # small: a CPU run
    python -m jddc.main --config=configs/discourse_stac.py:tiny     # seconds

configs/discourse_text.py pointed at `../shared/data/stac` (947 train / 103 dev dialogues;
`--config.data.corpus_path=` a full copy, whose `test.json` then becomes the test split).
The shared copy has no test split, so the checkpoint is picked on dev and reported on dev
(`eval.split = "valid"`), unlike the published test figures (73.2 link / about 55.7 link &
relation F1, Shi & Huang 2019 with GloVe). No GloVe here: a SentencePiece vocabulary trained
on STAC train with randomly initialised embeddings. Up to 6 speakers share a game: 8 slots.
Training dialogues are cut to `max_edus` EDUs (small: 32, losing 737 of 10,454 EDUs; base: 112,
none); dev dialogues are parsed whole.
"""

import os

from configs import common, discourse_text


def get_config(arg: str = "small"):
  config = discourse_text.get_config(arg)
  config.data.corpus = "stac"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "stac")
  config.model.max_speakers = 8
  config.model.max_edus = {"tiny": 32, "small": 32, "base": 112}[config.size]
  config.eval.split = "valid"
  return config
