"""Task examples built from a release: response, rewrite, discourse, summary, image_category.

Every example is a flat dict of numpy-friendly values (str, int, lists of them), the form
the TFDS builders store. Messages are named by their index in the session
(`schema.Session.indices`: the row in the dialogue file), never by their position after
skipped rows. A dialogue (or part of one) is three parallel lists:
`texts` (the message text, "" for an image), `images` (the image file name, "" for text)
and `speakers` (0 customer, 1 agent).
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from jddc.data import schema
from jddc.data.errors import DataError

EXAMPLE_TYPES = ("response", "rewrite", "discourse", "summary", "image_category")
CUSTOMER, AGENT = 0, 1


class GroupKeys(NamedTuple):
  """The keys of one message group's three parallel lists in an example."""
  texts: str
  images: str
  speakers: str


def group_keys(prefix: str = "") -> GroupKeys:
  """The keys of message group `prefix` ("" for a whole dialogue, "context_", "query_"):
  `{prefix}texts`, `{prefix}images`, `{prefix}speakers`."""
  return GroupKeys(f"{prefix}texts", f"{prefix}images", f"{prefix}speakers")


def group_messages(example: dict, prefix: str = "") -> Iterator[tuple]:
  """(text, image, speaker) of each message of group `prefix` of an example, in order."""
  keys = group_keys(prefix)
  return zip(example[keys.texts], example[keys.images], example[keys.speakers])


def dialogue_fields(messages, prefix: str = "") -> dict:
  """Parallel lists for a run of messages, under `group_keys(prefix)`."""
  keys = group_keys(prefix)
  return {
      keys.texts: [m.text or "" for m in messages],
      keys.images: [m.image or "" for m in messages],
      keys.speakers: [AGENT if m.is_agent else CUSTOMER for m in messages],
  }


def knowledge_lines(release: schema.Release, session: schema.Session) -> list[str]:
  """The session's product knowledge as `entity type|relation|value` lines."""
  return [f"{t.entity_type}|{t.relation}|{t.value}" for sku in session.skus for t in release.knowledge.get(sku, ())]


def response_examples(release: schema.Release, split: str) -> Iterator[dict]:
  """One example per agent text message that follows at least one customer message."""
  for session in release.split(split):
    knowledge = knowledge_lines(release, session)
    for n, message in enumerate(session.messages):
      if not message.is_agent or message.is_image or not any(not m.is_agent for m in session.messages[:n]):
        continue
      yield {"session_id": session.session_id, "index": session.indices[n], "shop_type": session.shop_type,
             **dialogue_fields(session.messages[:n], "context_"), "response": message.text,
             "knowledge": knowledge}


def _annotated(release: schema.Release, annotations: list, split: str):
  for a in annotations:
    session = release.sessions[a.session_id]
    if session.split == split:
      yield a, session


def rewrite_examples(release: schema.Release, split: str) -> Iterator[dict]:
  for a, session in _annotated(release, release.rewrites, split):
    first = session.position(a.messages[0])
    yield {"session_id": a.session_id, "index": a.messages[0], "shop_type": session.shop_type,
           **dialogue_fields(session.messages[:first], "context_"),
           **dialogue_fields([session.message(i) for i in a.messages], "query_"),
           "can_rewrite": int(a.can_rewrite), "rewrite": a.rewrite,
           "knowledge": knowledge_lines(release, session)}


def discourse_examples(release: schema.Release, split: str) -> Iterator[dict]:
  """EDUs with their speaker and turn, and every link as (parent, child, relation id)."""
  for a, session in _annotated(release, release.discourse, split):
    turns, turn, prev = [], -1, None
    for e in a.edus:
      speaker = session.message(e.message).is_agent
      if speaker != prev:
        turn, prev = turn + 1, speaker
      turns.append(turn)
    yield {"session_id": a.session_id, "shop_type": session.shop_type,
           "edu_texts": [e.text or "" for e in a.edus], "edu_images": [e.image or "" for e in a.edus],
           "edu_speakers": [AGENT if session.message(e.message).is_agent else CUSTOMER for e in a.edus],
           "edu_turns": turns, "edu_messages": [e.message for e in a.edus],
           "link_parents": [l.parent for l in a.links], "link_children": [l.child for l in a.links],
           "link_relations": [schema.RELATION_INDEX[l.relation] for l in a.links]}


def summary_examples(release: schema.Release, split: str) -> Iterator[dict]:
  for a, session in _annotated(release, release.summaries, split):
    yield {"session_id": a.session_id, "shop_type": session.shop_type, **dialogue_fields(session.messages),
           "summary": a.summary}


def image_category_examples(release: schema.Release, split: str) -> Iterator[dict]:
  for a, session in _annotated(release, release.image_categories, split):
    yield {"session_id": a.session_id, "index": a.message, "image": a.image,
           "label": schema.IMAGE_CATEGORY_INDEX[a.category]}


BUILDERS = {
    "response": response_examples,
    "rewrite": rewrite_examples,
    "discourse": discourse_examples,
    "summary": summary_examples,
    "image_category": image_category_examples,
}


def require_every_split(release: schema.Release, kind: str, splits=schema.SPLITS) -> None:
  """Raises DataError naming the first split with no `kind` examples (TFDS cannot build an empty split)."""
  if kind not in BUILDERS:
    raise ValueError(f"unknown example type {kind!r}; expected one of {EXAMPLE_TYPES}")
  for split in splits:
    if next(iter(BUILDERS[kind](release, split)), None) is None:
      detail = f"{len(release.split(split))} session(s) in it"
      if release.split(split) and kind != "response":
        detail += f", none with a {kind} annotation"
      raise DataError(release.root, None, f"split {split!r} of the release has no {kind} examples ({detail}); "
                      "every split needs at least one", "empty_split")
