"""Text-only GPT-2 response generation grounded in the product knowledge (beyond the paper).

    python -m jddc.main --config=configs/response_kb_text.py          # small: a CPU run

`configs/response_text.py` with the session's SKU triples (knowledge.tsv) put before the
dialogue: `[CLS] 电饭煲：品牌 美的；容量 5L；... [SEP] [USER] ...`, whole triples in the file's
order (colours last) up to `data.knowledge_budget` tokens (`jddc.data.knowledge`); the
context keeps what is left of the window. The paper gives every task the knowledge K but
no baseline reads it. Evaluation adds, on the test replies that state a value of their
session's knowledge, `knowledge_bleu` and `attribute_accuracy` (the reply states every
value the reference states), which the row without K also reports.
"""

from configs import response_text


def get_config(arg: str = "small"):
  config = response_text.get_config(arg)
  config.data.knowledge_budget = {"tiny": 16, "small": 32, "base": 96}[config.size]
  return config
