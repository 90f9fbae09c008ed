"""LexRank on CSDS (real JD customer-service dialogues; Lin et al. 2021) against their overall summaries.

    python -m jddc.main --config=configs/summary_lexrank_csds.py     # reads ../shared/data/csds

configs/summary_lexrank.py on `data.corpus = "csds"` (`jddc.data.corpora.csds`): a dialogue's
overall summary is its topic QA summaries joined, as in configs/summary_lead_csds.py
(splits, length budget, speaker prefixes). Compare with the CSDS README's LexPageRank row.
"""

from configs import summary_lexrank
from configs.summary_lead_csds import on_csds


def get_config(arg: str = "small"):
  return on_csds(summary_lexrank.get_config(arg))
