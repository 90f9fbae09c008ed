"""A session's product knowledge (its SKUs' triples) as model input, and the replies that state it.

The examples carry the knowledge as `entity type|relation|value` lines (`examples.knowledge_lines`,
in knowledge.tsv's order). `linearise` turns them into token ids under a budget:

    entity type ： relation value ； relation value ； ...

the entity type once (a session's SKUs share one product type here; a new type is written
again where it changes), whole triples only, in the file's order, until `budget` ids: a
triple that does not fit ends the list, so the model never sees half a value. Colour
triples come last: which colour the customer's item is, their picture says.

`stated_values` finds the knowledge values a reply states (two or more characters, so 有
and 无 do not count; colours not at all), which is what attribute accuracy is measured on.
"""

from __future__ import annotations

from typing import Sequence

COLOUR_RELATION = "颜色"


def parse(lines: Sequence[str | bytes]) -> list[tuple[str, str, str]]:
  """`entity type|relation|value` lines -> (entity type, relation, value) triples."""
  out = []
  for line in lines:
    line = line.decode("utf-8") if isinstance(line, bytes) else str(line)
    entity_type, relation, value = line.split("|", 2)
    out.append((entity_type, relation, value))
  return out


def linearise(lines: Sequence[str | bytes], tok, budget: int) -> list[int]:
  """The knowledge lines as at most `budget` token ids (module docstring); [] for budget 0."""
  if budget <= 0:
    return []
  triples = parse(lines)
  triples = [t for t in triples if t[1] != COLOUR_RELATION] + [t for t in triples if t[1] == COLOUR_RELATION]
  ids: list[int] = []
  entity_type = None
  for kind, relation, value in triples:
    piece = ("；" if ids and kind == entity_type else "") + (f"{kind}：" if kind != entity_type else "")
    piece_ids = tok.encode(piece + f"{relation} {value}")
    if len(ids) + len(piece_ids) > budget:
      break
    ids += piece_ids
    entity_type = kind
  return ids


def stated_values(text: str, lines: Sequence[str | bytes]) -> list[str]:
  """The knowledge values (not colours, 2+ characters) that `text` states."""
  return sorted({v for _, r, v in parse(lines) if r != COLOUR_RELATION and len(v) >= 2 and v in text})


def attribute_figures(hyps: Sequence[str], refs: Sequence[str], knowledge: Sequence[Sequence[str]],
                      bleu) -> dict[str, float]:
  """Figures on the replies whose reference states a knowledge value.

  Returns {'knowledge_examples': how many, 'knowledge_bleu': `bleu(hyps, refs)` on them,
  'attribute_accuracy': percent of them whose hypothesis states every value the reference
  states}; zeros when there are none.
  """
  picked = [(h, r, stated_values(r, k)) for h, r, k in zip(hyps, refs, knowledge)]
  picked = [(h, r, values) for h, r, values in picked if values]
  if not picked:
    return {"knowledge_examples": 0.0, "knowledge_bleu": 0.0, "attribute_accuracy": 0.0}
  right = sum(all(v in h for v in values) for h, _, values in picked)
  return {"knowledge_examples": float(len(picked)),
          "knowledge_bleu": bleu([h for h, _, _ in picked], [r for _, r, _ in picked]),
          "attribute_accuracy": 100.0 * right / len(picked)}
