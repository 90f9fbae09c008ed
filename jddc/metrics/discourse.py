"""Discourse parsing: the micro link and link&relation F1 of Deep Sequential (Shi & Huang 2019)."""

from __future__ import annotations

from typing import Hashable, Sequence

from jddc.metrics.text import _f1

GoldLinks = Sequence[tuple[int, int, Hashable]]
PredLinks = Sequence[tuple[int, Hashable]]


def discourse_f1(gold: Sequence[GoldLinks], pred: Sequence[PredLinks], max_distance: int = 20) -> dict[str, float]:
  """Micro link and link&relation P/R/F1 of Deep Sequential (`Model.step` of Shi & Huang 2019).

  Gold counts every relation plus one root link per EDU without a gold parent; predictions
  count one link per EDU j >= 1 plus one root link (EDU 0) per dialogue. The EDU 0 root link is
  correct for both scores when EDU 0 has no gold parent. A predicted link is correct when a gold
  relation joins the same pair (and, for link&rel, has the same type). A repeated (parent,
  child) pair keeps its first relation, as the original `load_data` does.

  Args:
    gold: per dialogue, gold links (parent, child, relation) over EDU indices from 0.
    pred: per dialogue, for EDUs 1..n-1 in order, the predicted (parent, relation); a dialogue
      with n EDUs has n - 1 entries.
    max_distance: the parser's longest link (child - parent), for the reachability figures.

  Returns:
    {'link_p', 'link_r', 'link_f1', 'link_rel_p', 'link_rel_r', 'link_rel_f1'} in percent;
    counts 'gold', 'pred', 'link_correct', 'link_rel_correct'; 'unreachable': gold relations a
    left-to-right parser within max_distance can never predict (backward, self or too long);
    'oracle_link_recall': the best link recall any such parser (one parent per EDU) can reach.
  """
  if len(gold) != len(pred):
    raise ValueError(f"{len(gold)} gold dialogues but {len(pred)} predicted")
  n_gold = n_pred = link_ok = rel_ok = unreachable = oracle = 0
  for d, (links, parents) in enumerate(zip(gold, pred)):
    num_edus = len(parents) + 1
    relation: dict[tuple[int, int], Hashable] = {}
    for x, y, r in links:
      if not (0 <= x < num_edus and 0 <= y < num_edus):
        raise ValueError(f"dialogue {d}: gold link ({x}, {y}) outside its {num_edus} EDUs")
      relation.setdefault((x, y), r)
    has_parent = [False] * num_edus
    reachable = [False] * num_edus
    for x, y in relation:
      has_parent[y] = True
      if 0 < y - x <= max_distance:
        reachable[y] = True
      else:
        unreachable += 1
    n_gold += len(relation) + has_parent.count(False)
    n_pred += len(parents) + 1
    root_ok = not has_parent[0]
    oracle += root_ok + sum(reachable[1:])
    link_ok += root_ok
    rel_ok += root_ok
    for j, (i, r) in enumerate(parents, start=1):
      if not 0 <= i < num_edus:
        raise ValueError(f"dialogue {d}: EDU {j} has predicted parent {i} outside its {num_edus} EDUs")
      if (i, j) in relation:
        link_ok += 1
        rel_ok += relation[(i, j)] == r
  out: dict[str, float] = {}
  for name, correct in (("link", link_ok), ("link_rel", rel_ok)):
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_gold if n_gold else 0.0
    out.update({f"{name}_p": 100.0 * p, f"{name}_r": 100.0 * r, f"{name}_f1": 100.0 * _f1(p, r)})
  out.update({"gold": n_gold, "pred": n_pred, "link_correct": link_ok, "link_rel_correct": rel_ok,
              "unreachable": unreachable, "oracle_link_recall": 100.0 * oracle / n_gold if n_gold else 0.0})
  return out
