"""Typed records of a JDDC 2.1 release: sessions, messages, knowledge and annotations.

Label sets come from the paper: the 15 image subcategories of Table 4 and the 33
third-level discourse relations of Table 12 (with their first and second levels).
Everything here is plain data; parsing lives in `jddc.data.release`.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Optional

SPLITS = ("train", "valid", "test")

SHOP_TYPES = ("home_appliances", "fashion")
# Spellings of the shop type accepted by the reader, mapped to the canonical name.
SHOP_TYPE_ALIASES = {
    "home_appliances": "home_appliances",
    "home appliances": "home_appliances",
    "appliances": "home_appliances",
    "家电": "home_appliances",
    "小家电": "home_appliances",
    "fashion": "fashion",
    "服装": "fashion",
    "服饰": "fashion",
    "鞋服": "fashion",
}


@dataclasses.dataclass(frozen=True)
class ImageCategory:
  """One of the 15 image subcategories of Table 4."""
  name: str  # identifier used in annotation files
  category: str  # "screenshot" or "photo"
  description: str  # the paper's wording


IMAGE_CATEGORIES: tuple[ImageCategory, ...] = (
    ImageCategory("screenshot_product", "screenshot", "Screenshot of product"),
    ImageCategory("screenshot_product_order", "screenshot", "Screenshot of product order"),
    ImageCategory("screenshot_logistics_order", "screenshot", "Screenshot of logistics order"),
    ImageCategory("screenshot_after_sales_order", "screenshot", "Screenshot of after-sales service order"),
    ImageCategory("screenshot_text_message", "screenshot", "Screenshot of text message"),
    ImageCategory("screenshot_user_comment", "screenshot", "Screenshot of user comment"),
    ImageCategory("screenshot_system_software", "screenshot", "Screenshot of system or software"),
    ImageCategory("screenshot_other", "screenshot", "Screenshot in other scenes"),
    ImageCategory("photo_purchase_consultation", "photo", "Photo for purchasing consultation"),
    ImageCategory("photo_damaged_appearance", "photo", "Photo of product with damaged appearance"),
    ImageCategory("photo_malfunction", "photo", "Photo of products with malfunction"),
    ImageCategory("photo_missing_items", "photo", "Photo of product with missing items"),
    ImageCategory("photo_recommendation_comparison", "photo", "Photo for product recommendation and comparison"),
    ImageCategory("photo_installation", "photo", "Photo for product installation"),
    ImageCategory("photo_user_screen", "photo", "Photo of user screen shot"),
)
IMAGE_CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in IMAGE_CATEGORIES)
IMAGE_CATEGORY_INDEX = {name: i for i, name in enumerate(IMAGE_CATEGORY_NAMES)}


@dataclasses.dataclass(frozen=True)
class DiscourseRelation:
  """A third-level discourse relation of Table 12, with its parents in the hierarchy."""
  name: str  # identifier used in annotation files (unique; Table 12 reuses some 3rd-level names)
  level1: str
  level2: str
  level3: str  # the paper's 3rd-level name
  explanation: str


def _rel(name, l1, l2, l3, explanation):
  return DiscourseRelation(name, l1, l2, l3, explanation)


DISCOURSE_RELATIONS: tuple[DiscourseRelation, ...] = (
    _rel("yes_no", "Question&Answer", "Question", "Yes/No", "Questions with WHETHER"),
    _rel("5w1h", "Question&Answer", "Question", "5W1H", "Questions with WHO, WHAT, WHEN, WHERE, WHY, HOW"),
    _rel("choice", "Question&Answer", "Question", "Choice", "Questions for choosing a correct answer"),
    _rel("affirmation", "Question&Answer", "Answer", "Affirmation", "Positive answer to a question"),
    _rel("deny", "Question&Answer", "Answer", "Deny", "Negative answer to a question"),
    _rel("hold", "Question&Answer", "Answer", "Hold", "Reply to a question without an explicit answer"),
    _rel("recommend", "Imperative", "Suggestion", "Recommend", "Recommend some products"),
    _rel("suggestion", "Imperative", "Suggestion", "Suggestion", "Suggestion for some actions"),
    _rel("request", "Imperative", "Suggestion", "Request", "Request for some actions"),
    _rel("suggestion_acceptance", "Imperative", "Reply to suggestion", "Acceptance", "Accept some suggestions"),
    _rel("suggestion_rejection", "Imperative", "Reply to suggestion", "Rejection", "Reject some suggestions"),
    _rel("promise", "Promise", "Promise", "Promise", "Make promise to do something"),
    _rel("promise_acceptance", "Promise", "Reply to promise", "Acceptance", "Accept some promise"),
    _rel("promise_rejection", "Promise", "Reply to promise", "Rejection", "Reject some promise"),
    _rel("social", "Communication", "Social", "Social", "Greet, introduce, apologize, thank, bye"),
    _rel("suspend", "Communication", "Time", "Suspend", "Interrupt the current dialogue session"),
    _rel("correction", "Communication", "Expansion", "Correction", "Correct the errors in another EDU"),
    _rel("completion", "Communication", "Expansion", "Completion", "Provide additional information towards another EDU"),
    _rel("contact", "Communication", "Contact", "Contact", "Ask whether somebody is online"),
    _rel("confirm", "Communication", "Contact", "Confirm", "Confirm somebody is online"),
    _rel("feedback", "Communication", "Feedback", "Feedback", "Interjection for response"),
    _rel("elaboration", "Contingency", "Contingency", "Elaboration", "Further explain the details in another EDU"),
    _rel("summary", "Contingency", "Contingency", "Summary", "Summarize the key points in another EDU"),
    _rel("restatement", "Contingency", "Contingency", "Restatement", "Say something again about another EDU"),
    _rel("background", "Contingency", "Contingency", "Background", "Introduce the background for another EDU"),
    _rel("evaluation", "Contingency", "Contingency", "Evaluation", "Evaluation and feeling towards another EDU"),
    _rel("proof", "Contingency", "Contingency", "Proof", "Proof for another EDU"),
    _rel("cause", "Contingency", "Contingency", "Cause", "Cause or result for another EDU"),
    _rel("condition", "Contingency", "Contingency", "Condition", "Condition of another EDU"),
    _rel("concession", "Contingency", "Contingency", "Concession", "Contrast, opposition, concession"),
    _rel("solution", "Contingency", "Contingency", "Solution", "Solutions to phenomena or faults in another EDU"),
    _rel("purpose", "Contingency", "Contingency", "Purpose", "Purpose or motivation of another EDU"),
    _rel("coordinate", "Contingency", "Contingency", "Coordinate", "On a par with another EDU"),
)
RELATION_NAMES: tuple[str, ...] = tuple(r.name for r in DISCOURSE_RELATIONS)
RELATION_INDEX = {name: i for i, name in enumerate(RELATION_NAMES)}


@dataclasses.dataclass(frozen=True)
class Message:
  """One message of a session: text, or an image (file name `<md5>.jpg`), never both."""
  is_agent: bool
  text: Optional[str] = None
  image: Optional[str] = None
  sku: str = ""

  @property
  def is_image(self) -> bool:
    return self.image is not None


@dataclasses.dataclass(frozen=True)
class Session:
  """A dialogue session.

  Annotations refer to a message by its index: its row within the session in the dialogue
  file, counting rows the reader skipped (`on_error="skip"`). `indices[k]` is the index of
  `messages[k]`; it defaults to 0..len(messages)-1 (no row skipped).
  """
  session_id: str
  shop_type: str  # one of SHOP_TYPES, or "unknown" for corpora without it (JDDC 2019)
  skus: tuple[str, ...]
  messages: tuple[Message, ...]
  split: str = "train"
  indices: tuple[int, ...] = ()

  def __post_init__(self):
    if not self.indices:
      object.__setattr__(self, "indices", tuple(range(len(self.messages))))
    elif len(self.indices) != len(self.messages) or list(self.indices) != sorted(set(self.indices)):
      raise ValueError(f"session {self.session_id!r}: indices {self.indices} are not {len(self.messages)} "
                       "increasing message indices")

  @property
  def num_images(self) -> int:
    return sum(m.is_image for m in self.messages)

  def position(self, index: int) -> Optional[int]:
    """The position in `messages` of the message with index `index`; None if there is none."""
    k = bisect.bisect_left(self.indices, index)
    return k if k < len(self.indices) and self.indices[k] == index else None

  def message(self, index: int) -> Message:
    """The message with index `index` (KeyError if there is none)."""
    k = self.position(index)
    if k is None:
      raise KeyError(f"session {self.session_id!r} has no message {index}")
    return self.messages[k]


@dataclasses.dataclass(frozen=True)
class KnowledgeTriple:
  """A product attribute: (sku, entity type, relation, value), as in Table 11."""
  sku: str
  entity_type: str
  relation: str
  value: str


@dataclasses.dataclass(frozen=True)
class ImageCategoryAnnotation:
  session_id: str
  message: int  # index of the image message in the session
  image: str
  category: str  # one of IMAGE_CATEGORY_NAMES


@dataclasses.dataclass(frozen=True)
class RewriteAnnotation:
  """A multimodal query (consecutive customer messages, at least one an image) and its rewrite."""
  session_id: str
  messages: tuple[int, ...]  # indices of the query's messages, increasing
  can_rewrite: bool
  rewrite: str  # "" when can_rewrite is False


@dataclasses.dataclass(frozen=True)
class Edu:
  """An elementary discourse unit: a span of a text message, or a whole image message."""
  message: int
  text: Optional[str] = None  # None for an image EDU
  image: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class DiscourseLink:
  parent: int  # EDU index (x), earlier than child
  child: int  # EDU index (y)
  relation: str  # one of RELATION_NAMES


@dataclasses.dataclass(frozen=True)
class DiscourseAnnotation:
  session_id: str
  edus: tuple[Edu, ...]
  links: tuple[DiscourseLink, ...]


@dataclasses.dataclass(frozen=True)
class SummaryAnnotation:
  session_id: str
  summary: str


@dataclasses.dataclass
class Release:
  """Everything read from a release folder. Images stay on disk under `image_dir`."""
  root: str
  sessions: dict[str, Session]  # by session id, in file order
  knowledge: dict[str, tuple[KnowledgeTriple, ...]]  # by sku
  image_dir: str
  image_categories: list[ImageCategoryAnnotation]
  rewrites: list[RewriteAnnotation]
  discourse: list[DiscourseAnnotation]
  summaries: list[SummaryAnnotation]
  skipped: dict[str, int] = dataclasses.field(default_factory=dict)  # reason -> count

  def split(self, name: str) -> list[Session]:
    return [s for s in self.sessions.values() if s.split == name]
