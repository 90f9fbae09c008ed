"""Checks of a generated corpus: what a native reader or the images would contradict.

Each check reads a release folder the generator wrote and returns human-readable
violations (where, the text, what is wrong); an empty list means the corpus passes.

- `measure_words`: the measure word (量词) before a product name is the product's, and has a
  determiner before it (一台, 这台; not 您收到的台).
- `repeated_words`: no word said twice in a row (物流物流异常, 您的您的订单, 我买的购买的), but
  the reduplications people type (好的好的, 可以可以).
- `fact_consistency`: within a session the images, the texts and the SKU agree on which
  product the session is about and on the colour of the customer's own item.
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterator, Optional, Union

from jddc.data import release as release_lib
from jddc.data import schema
from jddc.data.synth import catalogue, facts, generate

# Measure words a product name may follow besides its own: 款 (a model) fits every product, and
# 一条连衣裙 is as standard as 一件连衣裙.
ALWAYS_ALLOWED = frozenset("款")
ALSO_ALLOWED = {"dress": frozenset("条")}
# Measure words whose use before a product name is checked: the products' own and the other
# common ones a writer might slip into (一只电饭煲, 一把吹风机).
_CHECKED_MEASURE_WORDS = "".join(sorted(set(facts.MEASURE_WORDS.values()) | set("只把部套张")))
_DETERMINERS = r"(?:[一两二三四五六七八九十几每这那哪另某]|\[数字x\])"
_COLOUR_WORDS = tuple(name for name, _ in facts.COLOURS.values())
_BRANDS = tuple(b for brands in catalogue.BRANDS.values() for b in brands)
# What may stand between the measure word and the name without the measure word belonging to
# something else: 新的, a colour, a brand, 同款, 的 (得 is a customer's slip for 的).
_MODIFIER = "(?:(?:全新|新|同款|一样|{})[的得]?|[的得])".format("|".join(map(re.escape, _COLOUR_WORDS + _BRANDS)))
_NAME_TO_PRODUCT = {name: product for product, name in facts.PRODUCT_NAMES.items()}
_NAMES = "|".join(map(re.escape, sorted(_NAME_TO_PRODUCT, key=len, reverse=True)))
_MEASURED_NAME = re.compile(f"{_DETERMINERS}([{_CHECKED_MEASURE_WORDS}]){_MODIFIER}{{0,3}}({_NAMES})")
# A measure word with no determiner, after 的 or at a clause's start: 您收到的台电风扇.
_BARE_MEASURED_NAME = re.compile(
    f"(?:^|(?<=[的，。！？、,.!?~～ ]))([{_CHECKED_MEASURE_WORDS}]){_MODIFIER}{{0,3}}({_NAMES})")
_ANY_NAME = re.compile(_NAMES)
_ANY_COLOUR = re.compile("|".join(_COLOUR_WORDS))
# Colours listed together (这款只有红色、黑色): what a product comes in, not what an item is.
_COLOUR_LIST = re.compile("(?:{0})(?:[、/](?:{0}))+".format("|".join(_COLOUR_WORDS)))
_COLOUR_OF_WORD = {name: colour for colour, (name, _) in facts.COLOURS.items()}

#: image categories showing the customer's own item (what they bought): their product and
#: colour are the order's. The other categories with a product (a product page, a photo of
#: something to buy, two products side by side) show what a pre-sales customer asks about,
#: which may come in any colour.
OWN_ITEM_CATEGORIES = frozenset({
    "photo_damaged_appearance", "photo_malfunction", "photo_missing_items", "photo_installation",
    "screenshot_product_order"})
_COLOUR_FACTS = ("colour", "colour_right")


def _as_release(release: Union[str, schema.Release]) -> schema.Release:
  """A release read from a folder (images not opened: no check looks at them), or as given."""
  return release_lib.read_release(release, check_images=False) if isinstance(release, str) else release


def _annotation_texts(release: schema.Release) -> dict[str, list[tuple[str, str]]]:
  """Session id -> its summary and rewrite texts, with where they are."""
  out: dict[str, list[tuple[str, str]]] = {}
  for summary in release.summaries:
    out.setdefault(summary.session_id, []).append(("summary", summary.summary))
  for rewrite in release.rewrites:
    if rewrite.rewrite:
      out.setdefault(rewrite.session_id, []).append(("rewrite", rewrite.rewrite))
  return out


def _session_texts(session: schema.Session,
                   annotation_texts: list[tuple[str, str]]) -> Iterator[tuple[str, str, Optional[int]]]:
  """(where, text, message index or None) of a session's messages, then its annotations."""
  for index, message in zip(session.indices, session.messages):
    if message.text:
      yield f"message {index} ({'agent' if message.is_agent else 'customer'})", message.text, index
  for where, text in annotation_texts:
    yield where, text, None


def _texts(release: schema.Release) -> Iterator[tuple[str, str]]:
  """Every message text, summary and rewrite of a release, with where it is."""
  annotation_texts = _annotation_texts(release)
  for session in release.sessions.values():
    for where, text, _ in _session_texts(session, annotation_texts.get(session.session_id, [])):
      yield f"session {session.session_id} ({session.split}) {where}", text


def measure_word_errors(text: str) -> list[str]:
  """The wrong measure words before product names in one text, each as a message."""
  errors = []
  for match in _MEASURED_NAME.finditer(text):
    word, name = match.group(1), match.group(2)
    product = _NAME_TO_PRODUCT[name]
    right = facts.MEASURE_WORDS[product]
    if word != right and word not in ALWAYS_ALLOWED and word not in ALSO_ALLOWED.get(product, ()):
      errors.append(f"「{match.group(0)}」 uses {word}: {name} takes {right}")
  for match in _BARE_MEASURED_NAME.finditer(text):
    errors.append(f"「{match.group(0)}」: the measure word {match.group(1)} needs a determiner (一/这/那) before it")
  return errors


def measure_words(release: Union[str, schema.Release]) -> list[str]:
  """Violations: a measure word before a product name that is not the product's.

  Matched: a determiner (一/两/这/那/哪/每/几... or [数字x]), a measure word, at most three
  modifiers (新的, a colour, a brand, 同款, 的) and a product name of `facts.PRODUCTS`, e.g.
  一台新的电饭煲, 这条黑色的牛仔裤. Anything else between (这个图片里的连衣裙) is not matched: there
  the measure word belongs to another noun. A measure word with no determiner after 的 or at
  a clause's start (您收到的台电风扇) is a violation too. `release` is a folder or a read release.
  """
  out = []
  for where, text in _texts(_as_release(release)):
    out += [f"{where}: {text!r}: {error}" for error in measure_word_errors(text)]
  return out


# ---------------------------------------------------------------------------
# Repeated words
# ---------------------------------------------------------------------------

#: what customers and agents do say twice in a row
REDUPLICATIONS = frozenset({"好的", "好吧", "可以", "抱歉", "在的", "不对", "谢谢", "是的", "对的", "嗯嗯", "哈哈", "麻烦",
                            "快点", "看看"})
_REPEATED = re.compile(r"([\u4e00-\u9fff]{2,8})\1")
# the same verb of having an item twice: 我买的购买的, 我收到的收到的, 我买的收到的
_DOUBLE_HAVING = re.compile("(?:买的|收到的)(?:购买的|收到的|买的)")


def repeated_word_errors(text: str) -> list[str]:
  """The words said twice in a row in one text (not `REDUPLICATIONS`), each as a message."""
  errors = [f"「{m.group(0)}」 says {m.group(1)} twice" for m in _REPEATED.finditer(text)
            if m.group(1) not in REDUPLICATIONS]
  return errors + [f"「{m.group(0)}」 says how the item was had twice" for m in _DOUBLE_HAVING.finditer(text)]


def repeated_words(release: Union[str, schema.Release]) -> list[str]:
  """Violations: a word or phrase repeated at once (物流物流异常) in a message, summary or rewrite."""
  out = []
  for where, text in _texts(_as_release(release)):
    out += [f"{where}: {text!r}: {error}" for error in repeated_word_errors(text)]
  return out


# ---------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------

def read_meta(root: str) -> list[dict]:
  """The generator's per-session metadata (`generate.META_FILE`), in file order."""
  with open(os.path.join(root, generate.META_FILE), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def _knowledge_colours(triples: tuple[schema.KnowledgeTriple, ...]) -> set[str]:
  """The colour ids a SKU comes in, from its 颜色 triple."""
  words = [t.value for t in triples if t.relation == "颜色"]
  return {_COLOUR_OF_WORD[w] for value in words for w in value.split("/") if w in _COLOUR_OF_WORD}


def _stock(release: schema.Release, sku: str, products: set[str]) -> set[str]:
  """The colours the session's item may come in: its SKU's, or (no SKU, a pre-sales session)
  those of every SKU of the products its images show."""
  if sku in release.knowledge:
    return _knowledge_colours(release.knowledge[sku])
  names = {facts.PRODUCT_NAMES[p] for p in products}
  return {c for triples in release.knowledge.values() if triples and triples[0].entity_type in names
          for c in _knowledge_colours(triples)}


def session_fact_errors(release: schema.Release, session: schema.Session, meta: dict,
                        annotation_texts: list[tuple[str, str]] = ()) -> list[str]:
  """The fact inconsistencies of one session (rules in `fact_consistency`)."""
  errors = []
  images = meta["images"].values()
  products = {info["facts"]["product"] for info in images if "product" in info["facts"]}
  if len(products) > 1:
    errors.append(f"its images show different products {sorted(products)}")
  own = [info for info in images if info["category"] in OWN_ITEM_CATEGORIES]
  own_colours = {info["facts"]["colour"] for info in own if "colour" in info["facts"]}
  if len(own_colours) > 1:
    shown = ", ".join(f"{info['category']} {info['facts']['colour']}" for info in own if "colour" in info["facts"])
    errors.append(f"the customer's own item has different colours in its images ({shown})")
  sku = session.skus[0] if session.skus else ""
  stock = _stock(release, sku, products)
  if sku and sku not in release.knowledge:
    errors.append(f"SKU {sku} is not in knowledge.tsv")
  elif sku:
    kinds = {t.entity_type for t in release.knowledge[sku]}
    errors += [f"its images show {p} but SKU {sku} is a {'/'.join(sorted(kinds))}"
               for p in sorted(products) if facts.PRODUCT_NAMES[p] not in kinds]
    errors += [f"the customer's own item is {c} but SKU {sku} comes in {'/'.join(sorted(stock))}"
               for c in sorted(own_colours - stock)]
  if len(products) == 1:
    name = facts.PRODUCT_NAMES[next(iter(products))]
    for where, text, _ in _session_texts(session, annotation_texts):
      errors += [f"{where} {text!r} names {other}, but the session is about {name}"
                 for other in sorted(set(_ANY_NAME.findall(text)) - {name})]
  errors += _colour_word_errors(session, meta, own_colours, stock, annotation_texts)
  return errors


def _colour_word_errors(session: schema.Session, meta: dict, own_colours: set, stock: set,
                        annotation_texts: list[tuple[str, str]]) -> list[str]:
  """Colour words the agent (or an annotation) says that neither an image nor the stock backs."""
  images = meta["images"].values()
  other_colours = {info["facts"][f] for info in images if info["category"] not in OWN_ITEM_CATEGORIES
                   for f in _COLOUR_FACTS if f in info["facts"]}
  colour_keys = {i["message"]: any(k.rsplit(".", 1)[-1] in _COLOUR_FACTS for k in i["uses"]) for i in meta["replies"]}
  agent_messages = {index for index, m in zip(session.indices, session.messages) if m.is_agent}
  errors = []
  for where, text, index in _session_texts(session, annotation_texts):
    if index is not None and index not in agent_messages:
      continue  # the customer may name any colour
    for listing in _COLOUR_LIST.findall(text):
      for word in _ANY_COLOUR.findall(listing):
        if _COLOUR_OF_WORD[word] not in stock:
          errors.append(f"{where} {text!r} lists {word} among the colours in stock, which are "
                        f"{'/'.join(sorted(stock)) or 'unknown'}")
    for word in sorted(set(_ANY_COLOUR.findall(_COLOUR_LIST.sub("", text)))):
      colour = _COLOUR_OF_WORD[word]
      if colour in own_colours:
        continue
      if colour in other_colours and (index is None or colour_keys.get(index, False)):
        continue  # read off a picture of something else (a consultation about another colour)
      if own_colours:
        errors.append(f"{where} {text!r} says {word} of the customer's item, whose images show "
                      f"{'/'.join(sorted(own_colours))}")
      elif colour not in other_colours:
        errors.append(f"{where} {text!r} says {word}, a colour none of the session's images shows")
      else:
        errors.append(f"{where} {text!r} says {word}, an image's colour, but its meta uses no colour fact")
  return errors


def fact_consistency(release_path: str) -> list[str]:
  """Violations of the facts' agreement within each session of a generated corpus.

  Rules, from the generator (`scenarios.py`, `generate._materialise`):
  - every image with a `product` fact in a session shows the same product;
  - the customer's own item (`OWN_ITEM_CATEGORIES`: an after-sales photo, an order
    screenshot) has one colour in all its images, one the session's SKU comes in, and its
    product is the SKU's; a pre-sales session's pictures (`photo_purchase_consultation`,
    `photo_recommendation_comparison`, `screenshot_product`) may show other colours, since
    the customer asks about what they have not bought;
  - the session's SKU (dialogue file) is in knowledge.tsv;
  - a product name in any text of the session (messages, summary, rewrite) is the session's;
  - a colour word an agent says, or a summary or rewrite, is the own item's colour; any
    other colour must be one a non-own picture of the session shows (colour, colour_right),
    and an agent reply naming it must say it depends on a colour fact (the meta's `uses`).
    Colours listed together (这款只有红色、黑色) say what the product comes in: they must be
    the SKU's colours in knowledge.tsv (without a SKU, those of any SKU of the product).
    Customers' words are not checked: a customer may ask for any colour.
  """
  release = release_lib.read_release(release_path, check_images=False)
  annotation_texts = _annotation_texts(release)
  out = []
  for meta in read_meta(release_path):
    session = release.sessions.get(meta["session_id"])
    if session is None:
      out.append(f"{generate.META_FILE}: session {meta['session_id']} is in no dialogue file")
      continue
    errors = session_fact_errors(release, session, meta, annotation_texts.get(session.session_id, []))
    out += [f"session {session.session_id} ({meta['primary']}): {e}" for e in errors]
  return out
