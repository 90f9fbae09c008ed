"""`python -m jddc.data.stats DIR [--json]`: the paper's Tables 2 and 3 for any release folder.

Prints, per split and shop type, sessions, messages, images and their averages (Table 2);
for the annotated subset, dialogues, turns, EDUs and relations (Table 3); the
distributions over the 15 image subcategories and the 33 third-level relations; rewrite,
summary and knowledge-base figures; and, for a generated corpus, the image dependence of
the agent's replies.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys
from typing import Optional

from absl import app, flags

from jddc.data import release as release_lib
from jddc.data import schema
from jddc.data.synth import generate as synth_generate

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_bool("json", False, "Print one JSON object instead of tables.")
  flags.DEFINE_string("corpus", None, "A public corpus instead of DIR: jddc2019 reads "
                      "$JDDC_SHARED_DATA/jddc2019/chat_0.1per.txt (real JD customer service).")
  flags.DEFINE_enum("on_error", "raise", ["raise", "skip"], "Bad input: raise, or skip and report.")


def _turns(session: schema.Session) -> int:
  """Speaker turns: maximal runs of consecutive messages from one speaker."""
  return sum(1 for i, m in enumerate(session.messages) if i == 0 or m.is_agent != session.messages[i - 1].is_agent)


def _group_figures(sessions: list[schema.Session]) -> dict:
  n = len(sessions)
  messages = sum(len(s.messages) for s in sessions)
  images = sum(s.num_images for s in sessions)
  texts = [m.text for s in sessions for m in s.messages if not m.is_image]
  return {
      "dialogues": n,
      "utterances": messages,
      "avg_utterances_per_dialogue": round(messages / n, 2) if n else 0.0,
      "images": images,
      "avg_images_per_dialogue": round(images / n, 2) if n else 0.0,
      "avg_text_message_chars": round(sum(map(len, texts)) / len(texts), 2) if texts else 0.0,
  }


def table2(release: schema.Release) -> dict:
  """Figures of Table 2 for columns total, and split/shop type."""
  sessions = list(release.sessions.values())
  columns = {"total": _group_figures(sessions)}
  shops = sorted({s.shop_type for s in sessions}, key=lambda x: (x not in schema.SHOP_TYPES, x))
  for split in schema.SPLITS:
    for shop in shops:
      group = [s for s in sessions if s.split == split and s.shop_type == shop]
      if group:
        columns[f"{split}/{shop}"] = _group_figures(group)
  return columns


def table3(release: schema.Release) -> dict:
  """Figures of Table 3 over the discourse-annotated sessions, by split."""
  out = {}
  for split in ("total",) + schema.SPLITS:
    anns = [a for a in release.discourse if split == "total" or release.sessions[a.session_id].split == split]
    out[split] = {
        "dialogues": len(anns),
        "turns": sum(_turns(release.sessions[a.session_id]) for a in anns),
        "edus": sum(len(a.edus) for a in anns),
        "image_edus": sum(1 for a in anns for e in a.edus if e.image is not None),
        "relations": sum(len(a.links) for a in anns),
    }
  return out


def distributions(release: schema.Release) -> dict:
  categories = collections.Counter(a.category for a in release.image_categories)
  relations = {split: collections.Counter() for split in schema.SPLITS}
  for a in release.discourse:
    relations[release.sessions[a.session_id].split].update(l.relation for l in a.links)
  return {
      "image_subcategories": {name: categories.get(name, 0) for name in schema.IMAGE_CATEGORY_NAMES},
      "relations": {name: {split: relations[split].get(name, 0) for split in schema.SPLITS}
                    for name in schema.RELATION_NAMES},
  }


def annotation_figures(release: schema.Release) -> dict:
  can = sum(r.can_rewrite for r in release.rewrites)
  summaries = [len(s.summary) for s in release.summaries]
  entity_types = {t.entity_type for ts in release.knowledge.values() for t in ts}
  relations = {t.relation for ts in release.knowledge.values() for t in ts}
  return {
      "image_category_annotations": len(release.image_categories),
      "rewrites": len(release.rewrites),
      "rewrites_cannot_rewrite_pct": round(100 * (len(release.rewrites) - can) / len(release.rewrites), 2)
      if release.rewrites else 0.0,
      "summaries": len(summaries),
      "avg_summary_chars": round(sum(summaries) / len(summaries), 2) if summaries else 0.0,
      "knowledge_skus": len(release.knowledge),
      "knowledge_entity_types": len(entity_types),
      "knowledge_relations": len(relations),
      "knowledge_triples": sum(len(v) for v in release.knowledge.values()),
  }


def image_dependence(root: str) -> Optional[dict]:
  """For a generated corpus: how many agent replies depend on a fact only an image shows.

  `image_dependent`: the reply's wording depends on a fact shown by an image earlier in
  the session that the customer never stated in text and the SKU's knowledge does not give.
  `image_dependent_strict`: additionally, the fact's word appears in no earlier message.
  `summary_facts_image_only_pct`: of the image facts the sessions' summaries name, the share
  whose word no message of the session says (only the picture shows it).
  """
  path = os.path.join(root, synth_generate.META_FILE)
  if not os.path.isfile(path):
    return None
  total = dep = strict = after_image = after_image_dep = summary_facts = summary_image_only = 0
  with open(path, encoding="utf-8") as f:
    for line in f:
      meta = json.loads(line)
      summary_facts += len(meta.get("summary_facts", ()))
      summary_image_only += len(meta.get("summary_image_only_facts", ()))
      for reply in meta["replies"]:
        total += 1
        dep += reply["image_dependent"]
        strict += reply["image_dependent_strict"]
        if any(k.split(".")[0] for k in reply["uses"]):
          after_image += 1
          after_image_dep += reply["image_dependent"]
  pct = lambda a, b: round(100 * a / b, 2) if b else 0.0
  return {
      "agent_replies": total,
      "image_dependent_pct": pct(dep, total),
      "image_dependent_strict_pct": pct(strict, total),
      "content_replies": after_image,
      "image_dependent_of_content_replies_pct": pct(after_image_dep, after_image),
      "summary_facts": summary_facts,
      "summary_facts_image_only_pct": pct(summary_image_only, summary_facts),
  }


#: a release with a single split (the JDDC 2019 sample) is carved for the seen-in-train figure:
#: the sessions whose md5(id) mod 10 is 0 are its test part.
CARVED_TEST_MOD = 10


def _test_of_one_split(session_id: str) -> bool:
  return int(hashlib.md5(session_id.encode()).hexdigest(), 16) % CARVED_TEST_MOD == 0


NGRAM = 4  # `test_agent_4grams_seen_in_train_pct`


def language_figures(release: schema.Release) -> dict:
  """How varied the text is: what makes a generated corpus rank models as real data does.

  `agent_distinct_pct`: distinct agent text messages over all of them (exact string match);
  `test_agent_seen_in_train_pct`: test agent messages whose exact text is an agent message of
  train (for a release with one split, a carved tenth stands in for test: CARVED_TEST_MOD);
  `test_agent_4grams_seen_in_train_pct`: of the character 4-grams of those test messages (each
  occurrence), the share that occur in a train agent message: how much of a reply is phrases
  seen before, which whole-message distinctness does not show (what retrieval lives on);
  the same distinctness for customer messages, mean characters per text message, EDUs per
  discourse-annotated dialogue and characters per summary.
  """
  sessions = list(release.sessions.values())
  one_split = len({s.split for s in sessions}) == 1
  is_test = (lambda s: _test_of_one_split(s.session_id)) if one_split else (lambda s: s.split == "test")
  is_train = (lambda s: not _test_of_one_split(s.session_id)) if one_split else (lambda s: s.split == "train")
  agent = [m.text for s in sessions for m in s.messages if m.is_agent and not m.is_image]
  customer = [m.text for s in sessions for m in s.messages if not m.is_agent and not m.is_image]
  train_agent = {m.text for s in sessions if is_train(s) for m in s.messages if m.is_agent and not m.is_image}
  test_agent = [m.text for s in sessions if is_test(s) for m in s.messages if m.is_agent and not m.is_image]
  pct = lambda a, b: round(100 * a / b, 2) if b else 0.0
  grams = lambda t: (t[i:i + NGRAM] for i in range(len(t) - NGRAM + 1))
  train_grams = {g for t in train_agent for g in grams(t)}
  test_grams = [g for t in test_agent for g in grams(t)]
  mean = lambda xs: round(sum(xs) / len(xs), 2) if xs else 0.0
  return {
      "agent_messages": len(agent),
      "agent_distinct_pct": pct(len(set(agent)), len(agent)),
      "test_agent_seen_in_train_pct": pct(sum(t in train_agent for t in test_agent), len(test_agent)),
      "test_agent_4grams_seen_in_train_pct": pct(sum(g in train_grams for g in test_grams), len(test_grams)),
      "customer_messages": len(customer),
      "customer_distinct_pct": pct(len(set(customer)), len(customer)),
      "mean_agent_message_chars": mean([len(t) for t in agent]),
      "mean_customer_message_chars": mean([len(t) for t in customer]),
      "edus_per_annotated_dialogue": mean([len(a.edus) for a in release.discourse]),
      "mean_summary_chars": mean([len(s.summary) for s in release.summaries]),
  }


def read_any(path: str, on_error: str = "raise") -> schema.Release:
  """A release folder, or a JDDC 2019 seven-column TSV file (text-only, all in `train`)."""
  if os.path.isfile(path):
    sessions, policy = release_lib.read_jddc2019(path, on_error=on_error)
    return schema.Release(root=path, sessions=sessions, knowledge={}, image_dir="", image_categories=[],
                          rewrites=[], discourse=[], summaries=[], skipped=dict(policy.counts))
  return release_lib.read_release(path, on_error=on_error)


def compute(root: str, on_error: str = "raise") -> dict:
  release = read_any(root, on_error)
  out = {
      "release": root,
      "table2": table2(release),
      "table3": table3(release),
      **distributions(release),
      "annotations": annotation_figures(release),
      "language": language_figures(release),
      "skipped": release.skipped,
  }
  dependence = image_dependence(root) if os.path.isdir(root) else None
  if dependence is not None:
    out["image_dependence"] = dependence
  return out


def _format_table(title: str, rows: dict[str, dict]) -> str:
  columns = list(rows)
  keys = list(next(iter(rows.values())))
  width = max(len(k) for k in keys) + 2
  colw = max(12, max(len(c) for c in columns) + 2)
  lines = [title, "".ljust(width) + "".join(c.rjust(colw) for c in columns)]
  for k in keys:
    lines.append(k.ljust(width) + "".join(f"{rows[c][k]:,}".rjust(colw) if isinstance(rows[c][k], int)
                                          else f"{rows[c][k]:.2f}".rjust(colw) for c in columns))
  return "\n".join(lines)


def format_report(stats: dict) -> str:
  t2 = stats["table2"]
  parts = [f"release: {stats['release']}", "",
           _format_table("Table 2: dialogues, utterances and images", t2), "",
           _format_table("Table 3: discourse parsing (annotated sessions)",
                         {k: v for k, v in stats["table3"].items()}), ""]
  cats = stats["image_subcategories"]
  total = sum(cats.values()) or 1
  parts.append("Image subcategories (Table 4)")
  parts += [f"  {name:<34}{n:>8,}{100 * n / total:>8.2f}%" for name, n in cats.items()]
  parts += ["", "Third-level discourse relations (Table 12)        train    valid     test"]
  parts += [f"  {name:<44}" + "".join(f"{c[s]:>9,}" for s in schema.SPLITS)
            for name, c in stats["relations"].items()]
  parts += ["", "Language (how varied the text is; `--corpus=jddc2019` gives the real sample's)"]
  parts += [f"  {k:<36}{v}" for k, v in stats["language"].items()]
  parts += ["", "Annotations and knowledge"] + [f"  {k:<36}{v}" for k, v in stats["annotations"].items()]
  if "image_dependence" in stats:
    parts += ["", "Image dependence of agent replies (generated corpus; the paper reports 74%)"]
    parts += [f"  {k:<42}{v}" for k, v in stats["image_dependence"].items()]
  if stats["skipped"]:
    parts += ["", f"skipped bad input: {stats['skipped']}"]
  return "\n".join(parts)


def public_corpus_path(name: str) -> str:
  if name != "jddc2019":
    raise app.UsageError(f"--corpus={name}: only jddc2019 (real JD customer service, text) is a dialogue corpus "
                         "to compare the embedded one with")
  from configs import common  # the shared-data location, one definition
  return os.path.join(common.SHARED_DATA, "jddc2019", "chat_0.1per.txt")


def main(argv):
  if FLAGS.corpus and len(argv) == 1:
    path = public_corpus_path(FLAGS.corpus)
  elif len(argv) == 2 and not FLAGS.corpus:
    path = argv[1]
  else:
    raise app.UsageError("usage: python -m jddc.data.stats DIR|JDDC2019_TSV [--json], or --corpus=jddc2019")
  stats = compute(path, FLAGS.on_error)
  if FLAGS.json:
    json.dump(stats, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
  else:
    print(format_report(stats))


if __name__ == "__main__":
  define_flags()
  app.run(main)
