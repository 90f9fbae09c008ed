"""Lead on CSDS (real JD customer-service dialogues; Lin et al. 2021) against their overall summaries.

    python -m jddc.main --config=configs/summary_lead_csds.py     # reads ../shared/data/csds

configs/summary_lead.py on `data.corpus = "csds"` (`jddc.data.corpora.csds`): a dialogue's
overall summary is its topic QA summaries joined; with only `val.json` present its dialogues
are split 80/10/10 by hash, N is the mean summary length of that train part, and the
evaluation covers the test part (a tenth of CSDS's val set; CSDS's own test set is not shared).
Utterances keep CSDS's speaker prefixes (`用户:` / `客服:`) as the dialogue text there is written,
and the summary puts "。" after each utterance but the last, as CSDS's published extractive
outputs do (`../shared/data/csds/official_outputs/`); N does not count those separators.
`--config.model.separator=""` gives the plain first N characters (the README's figures before
2026-12-02). CSDS publishes no Lead row; its nearest is Longest (`../shared/data/README.md`).
"""

import os

from configs import common, summary_lead

CSDS_SEPARATOR = "。"  # after each extracted utterance but the last, as CSDS's lex_preds / longest_preds


def on_csds(config):
  """An extractive summary config, read on CSDS with its speaker prefixes and sentence ends."""
  config.data.corpus = "csds"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "csds")
  config.model.speaker_prefixes = True
  config.model.separator = CSDS_SEPARATOR
  return config


def get_config(arg: str = "small"):
  return on_csds(summary_lead.get_config(arg))
