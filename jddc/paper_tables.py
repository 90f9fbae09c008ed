"""The paper's Tables 5-9: every system as a row config, its columns, and the published numbers.

A column maps a header of the paper's table to the key of our `results.json` that holds the
same metric (percent). `TWINS` pairs each multimodal row with its text-only twin, and
`CLAIMS` lists the orderings the paper reports, which `jddc.reproduce` checks on our numbers.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Table:
  number: int
  title: str
  columns: tuple[tuple[str, str], ...]  # (header, results.json key)
  main: str  # the results.json key of the table's main metric


@dataclasses.dataclass(frozen=True)
class Row:
  name: str  # the config file configs/<name>.py
  table: int
  label: str  # the paper's row label
  paper: dict[str, float]  # results.json key -> published value (%)
  seeded: bool = True  # False: deterministic (no training), run once


_GENERATION = (("BLEU", "bleu"), ("RG-L", "rougeL"), ("Dt-1", "distinct1"), ("Dt-2", "distinct2"))

TABLES = {
    5: Table(5, "Multimodal dialogue response generation", _GENERATION, "bleu"),
    6: Table(6, "Can the multimodal query be rewritten? (macro F1; always 'yes' scores ~93 positive-class F1 here)",
             (("F1", "f1"),), "f1"),
    7: Table(7, "Rewritten query generation", _GENERATION, "bleu"),
    8: Table(8, "Dialogue discourse parsing (micro F1)", (("Link", "link_f1"), ("Link & Rel", "link_rel_f1")),
             "link_rel_f1"),
    9: Table(9, "Dialogue summarization", (("RG-1", "rouge1"), ("RG-2", "rouge2"), ("RG-L", "rougeL")), "rougeL"),
}


def _gen(bleu, rl, d1, d2):
  return {"bleu": bleu, "rougeL": rl, "distinct1": d1, "distinct2": d2}


ROWS = (
    Row("response_retrieval_text", 5, "Text-only Retrieval", _gen(5.73, 14.45, 0.45, 6.65)),
    Row("response_retrieval_mm", 5, "Multimodal Retrieval", _gen(5.99, 14.71, 0.46, 6.89)),
    Row("response_text", 5, "Text-only GPT", _gen(9.62, 21.40, 0.23, 2.86)),
    Row("response_mm", 5, "Multimodal GPT", _gen(10.21, 22.14, 0.25, 3.27)),
    Row("rewrite_cls_text", 6, "Text-only BERT", {"f1": 88.42}),
    Row("rewrite_cls_mm", 6, "Multimodal TransResNet", {"f1": 89.64}),
    Row("rewrite_gen_text", 7, "Text-only GPT", _gen(2.38, 19.57, 1.54, 6.15)),
    Row("rewrite_gen_mm", 7, "Multimodal GPT", _gen(5.45, 26.45, 3.19, 22.86)),
    Row("discourse_text", 8, "Text-only Deep Sequential", {"link_f1": 77.37, "link_rel_f1": 57.01}),
    Row("discourse_mm", 8, "Multimodal Deep Sequential", {"link_f1": 78.12, "link_rel_f1": 57.77}),
    Row("summary_lead", 9, "Lead", {"rouge1": 17.39, "rouge2": 1.64, "rougeL": 13.98}, seeded=False),
    Row("summary_lexrank", 9, "LexRank", {"rouge1": 25.68, "rouge2": 10.14, "rougeL": 21.94}, seeded=False),
    Row("summary_pgn", 9, "Pointer-Generator", {"rouge1": 38.91, "rouge2": 23.81, "rougeL": 37.86}),
    Row("summary_text", 9, "Text-only BERTSUMABS", {"rouge1": 49.71, "rouge2": 29.97, "rougeL": 44.64}),
    Row("summary_mm", 9, "Multimodal BERTSUMABS", {"rouge1": 50.31, "rouge2": 29.76, "rougeL": 44.71}),
)
ROW_INDEX = {row.name: row for row in ROWS}
assert all(set(r.paper) <= {k for _, k in TABLES[r.table].columns} for r in ROWS)

# (multimodal row, text-only twin): the multimodal row must win on the table's main metric
TWINS = (
    ("response_retrieval_mm", "response_retrieval_text"),
    ("response_mm", "response_text"),
    ("rewrite_cls_mm", "rewrite_cls_text"),
    ("rewrite_gen_mm", "rewrite_gen_text"),
    ("discourse_mm", "discourse_text"),
    ("summary_mm", "summary_text"),
)

# (description, better rows, worse rows, metric): every better row beats every worse row
CLAIMS = (
    ("LexRank beats Lead", ("summary_lexrank",), ("summary_lead",), "rougeL"),
    ("abstractive summarizers beat extractive ones", ("summary_pgn", "summary_text", "summary_mm"),
     ("summary_lead", "summary_lexrank"), "rougeL"),
    ("generative response models beat retrieval on BLEU", ("response_text", "response_mm"),
     ("response_retrieval_text", "response_retrieval_mm"), "bleu"),
    ("text-only GPT beats text-only retrieval on BLEU", ("response_text",), ("response_retrieval_text",), "bleu"),
    ("multimodal GPT beats multimodal retrieval on BLEU", ("response_mm",), ("response_retrieval_mm",), "bleu"),
)
