"""Lead on CSDS (real JD customer-service dialogues; Lin et al. 2021) against their overall summaries.

    python -m jddc.main --config=configs/summary_lead_csds.py     # reads ../shared/data/csds

configs/summary_lead.py on `data.corpus = "csds"` (`jddc.data.corpora.csds`): a dialogue's
overall summary is its topic QA summaries joined; with only `val.json` present its dialogues
are split 80/10/10 by hash, N is the mean summary length of that train part, and the
evaluation covers the test part. Utterances keep CSDS's speaker prefixes (`用户:` / `客服:`)
as the dialogue text there is written. Compare with the CSDS README's overall-summary rows
(Longest, LexPageRank; `../shared/data/README.md`), which are on the CSDS test set.
"""

import os

from configs import common, summary_lead


def on_csds(config):
  """An extractive summary config, read on CSDS with its speaker prefixes kept."""
  config.data.corpus = "csds"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "csds")
  config.model.speaker_prefixes = True
  return config


def get_config(arg: str = "small"):
  return on_csds(summary_lead.get_config(arg))
