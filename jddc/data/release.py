"""Format parsing, in one place: the JDDC release layout read and written, and JDDC 2019.

Release folder (documented in the README; a differing copy needs one adapter here):

    <root>/dialogues/{train,valid,test}.tsv   session_id, shop_type, sku, text, is_agent
    <root>/images/<md5>.jpg                   an image message's text is its file name
    <root>/knowledge.tsv                      sku, entity_type, relation, value
    <root>/annotations/image_categories.jsonl {session_id, message, image, category}
    <root>/annotations/rewrites.jsonl         {session_id, messages, can_rewrite, rewrite}
    <root>/annotations/discourse.jsonl        {session_id, edus: [{message, text|image}], relations: [{x, y, type}]}
    <root>/annotations/summaries.jsonl        {session_id, summary}

Messages are numbered from 0 in file order within their session; annotations refer to
them by that index. A row skipped under `on_error="skip"` keeps its number (the next
message is not renumbered) and an annotation referring to it is skipped too. A first
line that looks like a header must be the header above; lines end in LF or CRLF. Every
file is optional except the dialogues; a missing split file means an empty split. Bad
input raises `DataError` naming file and line, or, with `on_error="skip"`, is counted
and reported (`Release.skipped`). Images are decoded in full (`jddc.data.images`).
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Iterable, Iterator, Optional

from jddc.data import schema
from jddc.data.errors import DataError, ErrorPolicy
from jddc.data.images import check_image_file, load_image, resolve_image  # noqa: F401 (re-exported)

DIALOGUE_FIELDS = ("session_id", "shop_type", "sku", "text", "is_agent")
KNOWLEDGE_FIELDS = ("sku", "entity_type", "relation", "value")
JDDC2019_FIELDS = ("session_id", "user_id", "is_agent", "is_transfer", "is_repeat", "sku", "text")
ANNOTATION_FILES = {
    "image_categories": "image_categories.jsonl",
    "rewrites": "rewrites.jsonl",
    "discourse": "discourse.jsonl",
    "summaries": "summaries.jsonl",
}
_IMAGE_NAME = re.compile(r"^\S+\.(?:jpg|jpeg|png)$", re.IGNORECASE)
_IMAGE_WITH_TEXT = re.compile(r"^[0-9a-f]{32}\.(?:jpg|jpeg|png)\s+\S", re.IGNORECASE)
_EMPTY_SKUS = ("", "nan", "null", "none")


# ---------------------------------------------------------------------------
# Line-level reading
# ---------------------------------------------------------------------------

def _lines(path: str) -> Iterator[tuple[int, str, Optional[DataError]]]:
  """(1-based line number, line without its LF or CRLF, error or None) for every non-blank line.

  A bad line (not UTF-8, a carriage return inside it) comes with its error and the line
  decoded with replacement characters, so a caller can still tell which session it was in.
  """
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      error = None
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        line = raw.decode("utf-8", errors="replace")
        error = DataError(path, lineno, f"not valid UTF-8 ({e.reason} at byte {e.start})", "non_utf8")
      line = line[:-1] if line.endswith("\n") else line
      line = line[:-1] if line.endswith("\r") else line
      if lineno == 1 and line.startswith("\ufeff"):
        line = line[1:]
      if error is None and "\r" in line:
        error = DataError(path, lineno, "a carriage return inside the line (lone-CR line endings?): lines must "
                          "end in LF or CRLF", "bad_line_ending")
      if line.strip():
        yield lineno, line, error


def iter_lines(path: str, policy: ErrorPolicy) -> Iterator[tuple[int, str]]:
  """Yields (1-based line number, decoded line without its newline); skips blank lines."""
  for lineno, line, error in _lines(path):
    if error is not None:
      policy.handle(error)
      continue
    yield lineno, line


def _is_header(cols: list[str], fields: tuple[str, ...]) -> bool:
  names = [c.strip().lower() for c in cols]
  return names[0] == fields[0] or sum(n in fields for n in names) >= 2


def _tsv_rows(path: str, fields: tuple[str, ...], policy: ErrorPolicy,
              on_bad_row: Optional[Callable[[int, list[str]], None]] = None) -> Iterator[tuple[int, list[str]]]:
  """Yields (line number, fields) of every well-formed row of a TSV file.

  A first line that looks like a header must be exactly `fields` and end in LF or CRLF
  (errors even under on_error="skip": every row would be misread, or the whole file is one
  line of lone-CR endings); a file may also have no header. A bad row
  is handled by `policy`, then passed to `on_bad_row` with its (replacement-decoded) fields.
  """
  first = True
  for lineno, line, error in _lines(path):
    cols = line.split("\t")
    if first and _is_header(cols, fields):
      first = False
      if error is not None and error.reason == "bad_line_ending":
        raise error  # lone-CR line endings: the whole file is one line
      if error is None and tuple(c.strip().lower() for c in cols) != fields:
        raise DataError(path, lineno, f"header {line!r} is not the expected {chr(9).join(fields)!r} "
                        f"({', '.join(fields)}, tab-separated, in this order)", "bad_header")
      if error is None:
        continue
    first = False
    if error is None and len(cols) != len(fields):
      error = DataError(path, lineno, f"expected {len(fields)} tab-separated fields ({', '.join(fields)}), "
                        f"got {len(cols)}", "wrong_field_count")
    if error is not None:
      policy.handle(error)
      if on_bad_row is not None:
        on_bad_row(lineno, cols)
      continue
    yield lineno, cols


def _jsonl_records(path: str, policy: ErrorPolicy) -> Iterator[tuple[int, dict]]:
  for lineno, line in iter_lines(path, policy):
    try:
      record = json.loads(line)
    except json.JSONDecodeError as e:
      policy.handle(DataError(path, lineno, f"not valid JSON: {e.msg}", "bad_json"))
      continue
    if not isinstance(record, dict):
      policy.handle(DataError(path, lineno, "expected a JSON object", "bad_json"))
      continue
    yield lineno, record


# ---------------------------------------------------------------------------
# Images (decoding and checks in `jddc.data.images`)
# ---------------------------------------------------------------------------

def is_image_reference(text: str) -> bool:
  """Whether a message's text names an image file rather than being an utterance."""
  return bool(_IMAGE_NAME.match(text.strip()))


# ---------------------------------------------------------------------------
# Dialogues
# ---------------------------------------------------------------------------

class _SessionAccumulator:
  """Groups consecutive TSV rows into sessions, checking contiguity and consistency.

  Every row of a session, read or skipped, takes the next message index (annotations refer
  to messages by it), so a skipped row never shifts the messages after it: `Session.indices`
  holds the index of each message kept, `skipped_rows` where each skipped one was. A row
  whose session is unknown (no session id) inside a session is that session's; at a session
  boundary it may have opened the next session, whose numbering is then `uncertain`.
  """

  def __init__(self, policy: ErrorPolicy):
    self.policy = policy
    self.sessions: dict[str, schema.Session] = {}
    self.skipped_rows: dict[str, dict[int, str]] = {}  # session id -> message index -> "path:line"
    self.dropped: dict[str, str] = {}  # session id -> "path:line" of a session skipped whole
    self.uncertain: dict[str, str] = {}  # session id -> "path:line" of the row of unknown session before it
    self._seen_at: dict[str, str] = {}
    self._current: Optional[dict] = None
    self._orphan: Optional[str] = None  # "path:line" of a row of unknown session just read

  def add(self, path: str, lineno: int, session_id: str, shop_type: Optional[str],
          message: Optional[schema.Message], split: str) -> None:
    """Appends a row to its session; `message=None` is a skipped row, `shop_type=None` an unknown one."""
    cur = self._current
    orphan, self._orphan = self._orphan, None
    if cur is None or cur["id"] != session_id or cur["path"] != path:
      self.flush()
      if session_id in self._seen_at:
        self.policy.handle(DataError(
            path, lineno, f"session {session_id!r} appears again after it ended ({self._seen_at[session_id]}); "
            "a session's rows must be contiguous", "session_not_contiguous"))
        return
      cur = self._current = {"id": session_id, "path": path, "line": lineno, "shop": shop_type, "split": split,
                             "messages": [], "indices": [], "skus": [], "rows": 0, "skipped": {}}
      if orphan is not None:
        self.uncertain[session_id] = orphan
    elif orphan is not None:
      cur["skipped"][cur["rows"]] = orphan
      cur["rows"] += 1
    if cur["shop"] is None:
      cur["shop"] = shop_type
    elif shop_type is not None and shop_type != cur["shop"]:
      self.policy.handle(DataError(
          path, lineno, f"session {session_id!r} changes shop type from {cur['shop']!r} to {shop_type!r}",
          "inconsistent_session"))
      message = None
    index, cur["rows"] = cur["rows"], cur["rows"] + 1
    if message is None:
      cur["skipped"][index] = f"{path}:{lineno}"
      return
    cur["messages"].append(message)
    cur["indices"].append(index)
    if message.sku and message.sku not in cur["skus"]:
      cur["skus"].append(message.sku)

  def add_orphan(self, path: str, lineno: int) -> None:
    """A skipped row whose session cannot be told (no session id)."""
    self._orphan = f"{path}:{lineno}"

  def flush(self) -> None:
    cur, self._current, self._orphan = self._current, None, None
    if cur is None:
      return
    self._seen_at[cur["id"]] = f"{cur['path']}:{cur['line']}"
    if cur["skipped"]:
      self.skipped_rows[cur["id"]] = cur["skipped"]
    if not cur["messages"]:
      self.dropped[cur["id"]] = f"{cur['path']}:{cur['line']}"
      self.policy.handle(DataError(cur["path"], cur["line"], f"session {cur['id']!r} is empty", "empty_session"))
      return
    self.sessions[cur["id"]] = schema.Session(
        session_id=cur["id"], shop_type=cur["shop"], skus=tuple(cur["skus"]),
        messages=tuple(cur["messages"]), split=cur["split"], indices=tuple(cur["indices"]))


def _normalise_sku(sku: str) -> str:
  sku = sku.strip()
  return "" if sku.lower() in _EMPTY_SKUS else sku


def _parse_message(path: str, lineno: int, text: str, is_agent: str, sku: str, image_dir: Optional[str],
                   check_images: bool) -> schema.Message:
  if is_agent not in ("0", "1"):
    raise DataError(path, lineno, f"is_agent must be 0 or 1, got {is_agent!r}", "bad_field")
  text = text.strip()
  if not text:
    raise DataError(path, lineno, "empty message text", "empty_message")
  agent = is_agent == "1"
  if image_dir is not None and _IMAGE_WITH_TEXT.match(text):
    raise DataError(path, lineno, f"message {text!r} names an image file and has text after it: an image "
                    "message is the file name alone", "image_with_text")
  if image_dir is not None and is_image_reference(text):
    file_path = resolve_image(image_dir, text, path, lineno)
    if check_images:
      check_image_file(file_path, text, path, lineno)
    return schema.Message(is_agent=agent, image=text, sku=sku)
  return schema.Message(is_agent=agent, text=text, sku=sku)


def _attribute_bad_row(acc: _SessionAccumulator, path: str, split: str) -> Callable[[int, list[str]], None]:
  """Gives a malformed row its session (by its first field), so it takes that session's next index."""
  def on_bad_row(lineno: int, cols: list[str]) -> None:
    session_id = cols[0].strip() if cols else ""
    if session_id:
      acc.add(path, lineno, session_id, None, None, split)
    else:
      acc.add_orphan(path, lineno)
  return on_bad_row


def read_dialogue_file(path: str, split: str, image_dir: str, acc: _SessionAccumulator,
                       check_images: bool = True) -> None:
  """Reads one JDDC 2.0-layout dialogue TSV into `acc`."""
  for lineno, cols in _tsv_rows(path, DIALOGUE_FIELDS, acc.policy, _attribute_bad_row(acc, path, split)):
    session_id, shop, sku, text, is_agent = (c.strip() for c in cols)
    shop_type = schema.SHOP_TYPE_ALIASES.get(shop.lower())
    try:
      if not session_id:
        raise DataError(path, lineno, "empty session_id", "bad_field")
      if shop_type is None:
        raise DataError(path, lineno, f"unknown shop type {shop!r}; expected one of "
                        f"{sorted(schema.SHOP_TYPE_ALIASES)}", "bad_field")
      message = _parse_message(path, lineno, text, is_agent, _normalise_sku(sku), image_dir, check_images)
    except DataError as e:
      acc.policy.handle(e)
      message = None
      if not session_id:
        acc.add_orphan(path, lineno)
        continue
    acc.add(path, lineno, session_id, shop_type, message, split)
  acc.flush()


def dialogue_path(root: str, split: str) -> Optional[str]:
  for candidate in (os.path.join(root, "dialogues", f"{split}.tsv"), os.path.join(root, f"{split}.tsv")):
    if os.path.isfile(candidate):
      return candidate
  return None


def read_jddc2019(path: str, split: str = "train", on_error: str = "raise") -> tuple[dict[str, schema.Session], ErrorPolicy]:
  """Reads the JDDC 2019 seven-column TSV as text-only sessions (shop type "unknown").

  Fields: session_id, user_id, is_agent, is_transfer, is_repeat, sku, text.
  """
  policy = ErrorPolicy(on_error)
  acc = _SessionAccumulator(policy)
  for lineno, cols in _tsv_rows(path, JDDC2019_FIELDS, policy, _attribute_bad_row(acc, path, split)):
    session_id, _, is_agent, _, _, sku, text = cols
    try:
      message = _parse_message(path, lineno, text, is_agent.strip(), _normalise_sku(sku), None, False)
    except DataError as e:
      policy.handle(e)
      message = None
    acc.add(path, lineno, session_id.strip(), "unknown", message, split)
  acc.flush()
  return acc.sessions, policy


# ---------------------------------------------------------------------------
# Knowledge and annotations
# ---------------------------------------------------------------------------

def read_knowledge(path: str, policy: ErrorPolicy) -> dict[str, tuple[schema.KnowledgeTriple, ...]]:
  by_sku: dict[str, list[schema.KnowledgeTriple]] = {}
  for lineno, cols in _tsv_rows(path, KNOWLEDGE_FIELDS, policy):
    triple = schema.KnowledgeTriple(*(c.strip() for c in cols))
    if not all((triple.sku, triple.relation, triple.value)):
      policy.handle(DataError(path, lineno, "knowledge triple with an empty sku, relation or value", "bad_field"))
      continue
    by_sku.setdefault(triple.sku, []).append(triple)
  return {k: tuple(v) for k, v in by_sku.items()}


def _require(record: dict, key: str, kind: type | tuple, path: str, lineno: int):
  if key not in record:
    raise DataError(path, lineno, f"missing field {key!r}", "bad_field")
  value = record[key]
  if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
    raise DataError(path, lineno, f"field {key!r} has the wrong type ({type(value).__name__})", "bad_field")
  return value


class _AnnotationContext:
  """Resolves references from an annotation record to sessions and messages (by message index)."""

  def __init__(self, sessions: dict[str, schema.Session], path: str,
               acc: Optional[_SessionAccumulator] = None):
    self.sessions = sessions
    self.path = path
    self.skipped_rows = acc.skipped_rows if acc else {}
    self.dropped = acc.dropped if acc else {}
    self.uncertain = acc.uncertain if acc else {}

  def session(self, record: dict, lineno: int) -> schema.Session:
    sid = _require(record, "session_id", str, self.path, lineno)
    if sid in self.dropped:
      raise DataError(self.path, lineno, f"session {sid!r} was skipped ({self.dropped[sid]})", "skipped_reference")
    if sid not in self.sessions:
      raise DataError(self.path, lineno, f"unknown session {sid!r}", "unknown_reference")
    if sid in self.uncertain:
      raise DataError(self.path, lineno, f"the messages of session {sid!r} cannot be numbered: the skipped row "
                      f"before it ({self.uncertain[sid]}) has no session id and may have been its first",
                      "skipped_reference")
    return self.sessions[sid]

  def message(self, session: schema.Session, index, lineno: int) -> schema.Message:
    valid = isinstance(index, int) and not isinstance(index, bool)
    position = session.position(index) if valid else None
    if position is not None:
      return session.messages[position]
    skipped = self.skipped_rows.get(session.session_id, {})
    if valid and index in skipped:
      raise DataError(self.path, lineno, f"message {index} of session {session.session_id!r} was skipped "
                      f"({skipped[index]})", "skipped_reference")
    rows = len(session.messages) + len(skipped)
    raise DataError(self.path, lineno, f"session {session.session_id!r} has no message {index!r} "
                    f"(it has {rows})", "unknown_reference")


def _parse_image_category(ctx: _AnnotationContext, record: dict, lineno: int) -> schema.ImageCategoryAnnotation:
  session = ctx.session(record, lineno)
  index = _require(record, "message", int, ctx.path, lineno)
  message = ctx.message(session, index, lineno)
  image = _require(record, "image", str, ctx.path, lineno)
  if message.image != image:
    raise DataError(ctx.path, lineno, f"message {index} of session {session.session_id!r} is not image {image!r}",
                    "unknown_reference")
  category = _require(record, "category", str, ctx.path, lineno)
  if category not in schema.IMAGE_CATEGORY_INDEX:
    raise DataError(ctx.path, lineno, f"unknown image category {category!r}; expected one of "
                    f"{', '.join(schema.IMAGE_CATEGORY_NAMES)}", "unknown_label")
  return schema.ImageCategoryAnnotation(session.session_id, index, image, category)


def _parse_rewrite(ctx: _AnnotationContext, record: dict, lineno: int) -> schema.RewriteAnnotation:
  session = ctx.session(record, lineno)
  indices = _require(record, "messages", list, ctx.path, lineno)
  if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
    raise DataError(ctx.path, lineno, f"messages {indices!r} are not all message indices (integers)", "bad_field")
  if not indices or indices != sorted(set(indices)):
    raise DataError(ctx.path, lineno, "messages must be a non-empty increasing list of indices", "bad_field")
  if indices != list(range(indices[0], indices[0] + len(indices))):
    raise DataError(ctx.path, lineno, f"messages {indices} are not consecutive: a query is a run of messages",
                    "bad_field")
  for index in indices:
    if ctx.message(session, index, lineno).is_agent:
      raise DataError(ctx.path, lineno, f"message {index} is the agent's, not part of a customer query",
                      "unknown_reference")
  can_rewrite = _require(record, "can_rewrite", bool, ctx.path, lineno)
  rewrite = _require(record, "rewrite", str, ctx.path, lineno)
  if can_rewrite != bool(rewrite.strip()):
    raise DataError(ctx.path, lineno, "rewrite must be non-empty exactly when can_rewrite is true", "bad_field")
  return schema.RewriteAnnotation(session.session_id, tuple(indices), can_rewrite, rewrite)


def _parse_edus(ctx: _AnnotationContext, session: schema.Session, record: dict, lineno: int) -> list[schema.Edu]:
  """The EDUs of a discourse record, in message order; a message's text EDUs are its spans in order."""
  edus: list[schema.Edu] = []
  span_end = 0  # where the previous EDU's span ended in the text of the same message
  for k, raw in enumerate(_require(record, "edus", list, ctx.path, lineno)):
    if not isinstance(raw, dict):
      raise DataError(ctx.path, lineno, f"EDU {k} is not an object", "bad_field")
    message = ctx.message(session, raw.get("message"), lineno)
    index = raw["message"]
    same_message = bool(edus) and edus[-1].message == index
    if edus and index < edus[-1].message:
      raise DataError(ctx.path, lineno, f"EDU {k} (message {index}) comes after EDU {k - 1} (message "
                      f"{edus[-1].message}): EDUs must be listed in message order", "bad_order")
    if message.is_image:
      if raw.get("image") != message.image:
        raise DataError(ctx.path, lineno, f"EDU {k} should name image {message.image!r} of message {index}",
                        "unknown_reference")
      if same_message:
        raise DataError(ctx.path, lineno, f"EDU {k} repeats image message {index}", "bad_order")
      edus.append(schema.Edu(index, image=message.image))
      continue
    text = raw.get("text")
    if not isinstance(text, str) or not text or text not in message.text:
      raise DataError(ctx.path, lineno, f"EDU {k} text {text!r} is not a span of message {index}",
                      "unknown_reference")
    start = message.text.find(text, span_end if same_message else 0)
    if start < 0:
      raise DataError(ctx.path, lineno, f"EDU {k} text {text!r} does not follow EDU {k - 1}'s span in message "
                      f"{index}: EDUs must be listed in text order", "bad_order")
    span_end = start + len(text)
    edus.append(schema.Edu(index, text=text))
  if not edus:
    raise DataError(ctx.path, lineno, "a discourse annotation needs at least one EDU", "bad_field")
  return edus


def _parse_discourse(ctx: _AnnotationContext, record: dict, lineno: int) -> schema.DiscourseAnnotation:
  session = ctx.session(record, lineno)
  edus = _parse_edus(ctx, session, record, lineno)
  links, seen = [], set()
  for raw in _require(record, "relations", list, ctx.path, lineno):
    if not isinstance(raw, dict):
      raise DataError(ctx.path, lineno, "a relation is not an object", "bad_field")
    x, y, label = raw.get("x"), raw.get("y"), raw.get("type")
    valid = all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y))
    if not valid or not 0 <= x < y < len(edus):
      raise DataError(ctx.path, lineno, f"relation ({x!r}, {y!r}) does not link an earlier EDU to a later one "
                      f"of the {len(edus)} EDUs", "unknown_reference")
    if label not in schema.RELATION_INDEX:
      raise DataError(ctx.path, lineno, f"unknown relation {label!r}; expected one of "
                      f"{', '.join(schema.RELATION_NAMES)}", "unknown_label")
    if (x, y) in seen:
      raise DataError(ctx.path, lineno, f"relation ({x}, {y}) given twice", "bad_field")
    seen.add((x, y))
    links.append(schema.DiscourseLink(x, y, label))
  return schema.DiscourseAnnotation(session.session_id, tuple(edus), tuple(links))


def _parse_summary(ctx: _AnnotationContext, record: dict, lineno: int) -> schema.SummaryAnnotation:
  session = ctx.session(record, lineno)
  summary = _require(record, "summary", str, ctx.path, lineno).strip()
  if not summary:
    raise DataError(ctx.path, lineno, "empty summary", "bad_field")
  return schema.SummaryAnnotation(session.session_id, summary)


_ANNOTATION_PARSERS: dict[str, Callable] = {
    "image_categories": _parse_image_category,
    "rewrites": _parse_rewrite,
    "discourse": _parse_discourse,
    "summaries": _parse_summary,
}


def _annotation_key(annotation) -> tuple[str, str]:
  """What an annotation is about, (key, description): at most one annotation of a kind per key."""
  sid = annotation.session_id
  if isinstance(annotation, schema.ImageCategoryAnnotation):
    return f"{sid}/{annotation.message}", f"image message {annotation.message} of session {sid!r}"
  if isinstance(annotation, schema.RewriteAnnotation):
    first = annotation.messages[0]
    return f"{sid}/{first}", f"the query starting at message {first} of session {sid!r}"
  return sid, f"session {sid!r}"


def read_annotations(path: str, kind: str, sessions: dict[str, schema.Session], policy: ErrorPolicy,
                     acc: Optional[_SessionAccumulator] = None) -> list:
  """The valid annotations of one file; a second annotation of the same thing is an error."""
  ctx = _AnnotationContext(sessions, path, acc)
  parse = _ANNOTATION_PARSERS[kind]
  out, first_at = [], {}
  for lineno, record in _jsonl_records(path, policy):
    try:
      annotation = parse(ctx, record, lineno)
      key, what = _annotation_key(annotation)
      if key in first_at:
        raise DataError(path, lineno, f"a second {kind} annotation for {what}; the first is at "
                        f"{path}:{first_at[key]}", "duplicate_annotation")
      first_at[key] = lineno
      out.append(annotation)
    except DataError as e:
      policy.handle(e)
  return out


# ---------------------------------------------------------------------------
# The whole release
# ---------------------------------------------------------------------------

def read_release(root: str, on_error: str = "raise", check_images: bool = True,
                 splits: Iterable[str] = schema.SPLITS) -> schema.Release:
  """Reads a release folder (layout in the module docstring).

  Args:
    root: the release folder.
    on_error: "raise" (the default) or "skip" (count and report bad items).
    check_images: check that every referenced image exists and is a complete JPEG/PNG.
    splits: which dialogue files to read.
  """
  if not os.path.isdir(root):
    raise DataError(root, None, "release folder not found", "missing_file")
  policy = ErrorPolicy(on_error)
  image_dir = os.path.join(root, "images")
  acc = _SessionAccumulator(policy)
  found = False
  for split in splits:
    path = dialogue_path(root, split)
    if path is not None:
      found = True
      read_dialogue_file(path, split, image_dir, acc, check_images)
  if not found:
    raise DataError(root, None, f"no dialogue files: expected dialogues/<split>.tsv for splits {list(splits)}",
                    "missing_file")
  sessions = acc.sessions
  knowledge_path = os.path.join(root, "knowledge.tsv")
  knowledge = read_knowledge(knowledge_path, policy) if os.path.isfile(knowledge_path) else {}
  annotations = {}
  for kind, name in ANNOTATION_FILES.items():
    path = os.path.join(root, "annotations", name)
    annotations[kind] = read_annotations(path, kind, sessions, policy, acc) if os.path.isfile(path) else []
  policy.log_report()
  return schema.Release(root=root, sessions=sessions, knowledge=knowledge, image_dir=image_dir,
                        skipped=dict(policy.counts), **annotations)


# ---------------------------------------------------------------------------
# Writing (used by the embedded corpus generator)
# ---------------------------------------------------------------------------

def _clean_field(value: str) -> str:
  if any(c in value for c in "\t\r\n"):
    raise ValueError(f"field contains a tab or newline: {value!r}")
  return value


def write_dialogues(path: str, sessions: Iterable[schema.Session]) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8", newline="\n") as f:
    f.write("\t".join(DIALOGUE_FIELDS) + "\n")
    for s in sessions:
      for m in s.messages:
        text = m.image if m.is_image else m.text
        row = (s.session_id, s.shop_type, m.sku, text, "1" if m.is_agent else "0")
        f.write("\t".join(_clean_field(v) for v in row) + "\n")


def write_knowledge(path: str, triples: Iterable[schema.KnowledgeTriple]) -> None:
  with open(path, "w", encoding="utf-8", newline="\n") as f:
    f.write("\t".join(KNOWLEDGE_FIELDS) + "\n")
    for t in triples:
      f.write("\t".join(_clean_field(v) for v in (t.sku, t.entity_type, t.relation, t.value)) + "\n")


def annotation_record(annotation) -> dict:
  """The JSON object written for one annotation."""
  if isinstance(annotation, schema.ImageCategoryAnnotation):
    return {"session_id": annotation.session_id, "message": annotation.message, "image": annotation.image,
            "category": annotation.category}
  if isinstance(annotation, schema.RewriteAnnotation):
    return {"session_id": annotation.session_id, "messages": list(annotation.messages),
            "can_rewrite": annotation.can_rewrite, "rewrite": annotation.rewrite}
  if isinstance(annotation, schema.DiscourseAnnotation):
    edus = [{"message": e.message, "image": e.image} if e.image is not None else {"message": e.message, "text": e.text}
            for e in annotation.edus]
    relations = [{"x": l.parent, "y": l.child, "type": l.relation} for l in annotation.links]
    return {"session_id": annotation.session_id, "edus": edus, "relations": relations}
  if isinstance(annotation, schema.SummaryAnnotation):
    return {"session_id": annotation.session_id, "summary": annotation.summary}
  raise TypeError(f"not an annotation: {type(annotation).__name__}")


def write_jsonl(path: str, records: Iterable[dict]) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8", newline="\n") as f:
    for r in records:
      f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
