"""JDDC 2019 (the JD Dialogue Challenge's chat log), real text-only sessions -> response examples.

Layout: one or more seven-column TSV chat logs, read in name order:

    <root>/chat*.txt    session_id, user_id, is_agent, is_transfer, is_repeat, sku, text

(`../shared/data/jddc2019/chat_0.1per.txt` is a 0.1% sample; the full log is `chat.txt`.)
Parsing is `jddc.data.release.read_jddc2019`; examples are `jddc.data.examples
.response_examples` (one per agent message after a customer message), so they are built
exactly as for a release. The corpus has no images, shop types or knowledge: images are "",
`shop_type` is "", `knowledge` [].

Splits: by session, from a hash of the session id (`common.hashed_split`: 80 / 10 / 10), so
a session's examples never straddle splits and the split does not depend on file order.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Iterator

from jddc.data import examples as examples_lib
from jddc.data import release, schema
from jddc.data.corpora import common
from jddc.data.errors import DataError, ErrorPolicy

FILE_PATTERN = "chat*.txt"


def files(root: str) -> list[str]:
  common.require_dir(root)
  found = sorted(glob.glob(os.path.join(glob.escape(root), FILE_PATTERN)))
  if not found:
    raise DataError(root, None, f"no JDDC 2019 chat logs: expected {FILE_PATTERN}", "missing_file")
  return found


def read_sessions(root: str, policy: ErrorPolicy) -> dict[str, schema.Session]:
  """Every session of the folder, its `split` carved by session id, `shop_type` ""."""
  sessions: dict[str, schema.Session] = {}
  for path in files(root):
    found, file_policy = release.read_jddc2019(path, on_error=policy.on_error)
    for reason, n in file_policy.counts.items():
      policy.counts[reason] += n
      policy.examples.setdefault(reason, []).extend(file_policy.examples.get(reason, []))
    for session_id, session in found.items():
      if session_id in sessions:
        policy.handle(DataError(path, None, f"session {session_id!r} appears in two chat logs", "duplicate_session"))
        continue
      sessions[session_id] = dataclasses.replace(session, split=common.hashed_split(session_id),
                                                 shop_type=common.NO_SHOP_TYPE)
  return sessions


def _release(root: str, policy: ErrorPolicy) -> schema.Release:
  return schema.Release(root=root, sessions=read_sessions(root, policy), knowledge={}, image_dir="",
                        image_categories=[], rewrites=[], discourse=[], summaries=[])


def examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]:
  """Response examples of `split`: the context so far and the agent's reply."""
  READER.check_kind(kind)
  common.check_split(split)
  r = _release(root, policy)
  for name in (common.SPLITS if split == common.ALL else (split,)):
    yield from examples_lib.response_examples(r, name)


def texts(root: str, policy: ErrorPolicy) -> Iterator[str]:
  """Every message of the train sessions, once (response examples repeat their contexts)."""
  for session in read_sessions(root, policy).values():
    if session.split == "train":
      yield from (m.text for m in session.messages if m.text)


READER = common.Reader(name="jddc2019", kinds=("response",), files=files, examples=examples, texts=texts,
                       description="JDDC 2019 customer-service chat log, text-only response examples")
