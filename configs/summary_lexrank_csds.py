"""LexRank on CSDS (real JD customer-service dialogues; Lin et al. 2021) against their overall summaries.

    python -m jddc.main --config=configs/summary_lexrank_csds.py     # reads ../shared/data/csds

configs/summary_lexrank.py on `data.corpus = "csds"` (`jddc.data.corpora.csds`): a dialogue's
overall summary is its topic QA summaries joined, as in configs/summary_lead_csds.py
(splits, length budget, speaker prefixes, "。" after each extracted utterance but the last).
The most central utterances are kept while they fit in N characters (`model.length_rule="fit"`),
as CSDS's published LexPageRank outputs (`official_outputs/lex_preds.txt`: never over 83
characters, counted without the separators). Compare with the CSDS README's LexPageRank row
(their test set). `--config.model.separator="" --config.model.length_rule=reach` gives the
earlier behaviour (utterances joined without separators until they reach N).
"""

from configs import summary_lexrank
from configs.summary_lead_csds import on_csds


def get_config(arg: str = "small"):
  config = on_csds(summary_lexrank.get_config(arg))
  config.model.length_rule = "fit"
  return config
