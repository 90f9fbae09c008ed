"""A dialogue script under construction: messages made of EDUs, images, and what depends on what.

Scenarios (`scenarios.py`) write sessions through `Script`. Every EDU records its parent
EDU and discourse relation, and every agent EDU the latent facts its wording depends on,
so the discourse annotation and the image-dependence figure are correct by construction.

A fact is addressed by a key `"<image slot>.<fact name>"`, e.g. `"p1.defect"`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from jddc.data.synth import facts as facts_lib
from jddc.data.synth import phrasing
from jddc.data.synth.phrasing import Sub

FILLERS_BEFORE = ("", "", "", "", "嗯，", "那个，", "额，", "哦，", "亲，")
FILLERS_AFTER = ("", "", "", "", "啊", "呀", "哈", "呢")
ENDINGS = ("", "。", "！", "～", "?", "??", "。。。")
# Common slips of Chinese typing (homophones picked by the input method).
AGENT_TAILS = ("{请您|您}放心<p>", "感谢{您|<you>}的{耐心等待|理解}", "有{任何|什么}问题{随时|可以}联系{我|我们}<p>",
               "给您带来{不便|麻烦}{敬请谅解|还请见谅}", "我们会尽快{处理|跟进}的<p>")
_MARKS = "，。！？?!～~ 、"  # what may end an EDU before the next one in the same message
TYPOS = {"的": "得", "在": "再", "吗": "嘛", "已经": "以经", "收到": "收倒", "怎么": "咋么", "那": "哪", "做": "作"}


# Agent personas: how one agent addresses the customer and softens a sentence, the whole session
# long. Each value is a pattern (`phrasing`), drawn afresh at each use.
AGENT_PERSONAS = (
    {"you": Sub("{亲|亲|您}"), "dear": Sub("{亲|亲亲}"), "dear_": Sub("{亲，|亲亲，}"), "p": Sub("{哦|哦|呢|～|}"), "sorry": Sub("{非常抱歉|实在抱歉|真的很抱歉|给您添麻烦了}"),
     "hi": Sub("{亲，您好|您好亲|亲亲您好|您好，很高兴为您服务}"), "ok": Sub("{好的亲|嗯嗯|好哒|收到}"),
     "wait": Sub("{稍等哦|您稍等|稍等一下下|请稍等片刻}"), "tail": Sub("{～|哦～|呢|}")},
    {"you": Sub("您"), "dear": Sub(""), "dear_": Sub(""), "p": Sub(""), "sorry": Sub("{非常抱歉|抱歉给您带来不便|很抱歉给您带来困扰}"),
     "hi": Sub("{您好|您好，请问有什么可以帮您|您好，欢迎光临}"), "ok": Sub("{好的|明白|了解}"),
     "wait": Sub("{请您稍等|麻烦您稍等|这边为您查询，请稍候}"), "tail": Sub("{。|}")},
    {"you": Sub("{您|亲}"), "dear": Sub("{亲|}"), "dear_": Sub("{亲，|}"), "p": Sub("{|哈|啊}"), "sorry": Sub("{不好意思|抱歉抱歉|sorry}"),
     "hi": Sub("{在的|您好|在呢}"), "ok": Sub("{好|行|OK|没问题}"), "wait": Sub("{稍等|等下|我看下}"),
     "tail": Sub("{|~|哈}")},
    {"you": Sub("{亲|您}"), "dear": Sub("{亲爱的|亲}"), "dear_": Sub("{亲爱的，|亲，}"), "p": Sub("{呢|哦|呀|}"), "sorry": Sub("{万分抱歉|太抱歉了|让您久等了，抱歉}"),
     "hi": Sub("{亲爱的您好|您好呀|欢迎光临，亲}"), "ok": Sub("{好的呢|好哒|嗯嗯好的}"),
     "wait": Sub("{麻烦您稍等一下哦|您稍等，我马上查|稍等片刻呢}"), "tail": Sub("{呢～|哦|～}")},
)
# Customer personas: how much a customer says beyond the point (rambling), how often they
# slip or correct themselves, and how they acknowledge.
CUSTOMER_PERSONAS = (
    {"ramble": 0.18, "typo": 0.05, "ok": Sub("{好|嗯|行|好的}")},
    {"ramble": 0.4, "typo": 0.08, "ok": Sub("{好的好的|嗯嗯好的|行吧|那好吧|可以可以}")},
    {"ramble": 0.6, "typo": 0.12, "ok": Sub("{好的，麻烦你了|行，那就这样吧|嗯嗯，知道了|好吧好吧}")},
)
# What a rambling customer adds to a message: circumstances, feelings, masked figures.
RAMBLES = {  # by what the session is about; "any" fits every session
    "any": ("{能不能|麻烦}{快点|尽快}{处理|回复}[一下]", "我{下午|晚上}<time>{以后|前}{都|}在家", "{我电话|手机号}是<phone>",
            "{说实话|真的}有点{着急|急}", "{这都|已经}是第<num>次{问|联系}了", "{买给|送给}{我妈|朋友|孩子}的"),
    "after_sales": ("{我|}{昨天|前天|<date>|上周}{才|刚}{收到|拿到}{的|}", "{家里|我}{急着用|等着用}", "{订单号是|单号}<order>",
                    "{说实话|真的}有点{失望|无语}", "{我|}{都|已经}等了<num>天了", "{第一次|好几次}在你们家买{了|}"),
    "pre_sales": ("{我|}{看了|比较了}{好几家|好久}", "{想|打算}{这周|<date>}{买|下单}", "{朋友|同事}推荐的", "{预算|价格}{有限|别太贵}"),
}


P_JOIN = 0.75  # a speaker's next text joins their message just before

# An agent message that starts with one of these gets no extra address ("亲，") in front.
AGENT_OPENERS = ("您好", "亲", "在", "好", "收到", "嗯", "明白", "了解", "不客气", "没问题", "OK", "行", "可以")


@dataclasses.dataclass
class ScriptEdu:
  is_agent: bool
  text: Optional[str]  # None for an image
  image_slot: Optional[str]  # image slot for an image EDU
  parent: Optional[int]
  relation: Optional[str]
  uses: frozenset  # fact keys the wording depends on (agent EDUs)


@dataclasses.dataclass
class ScriptImage:
  slot: str
  category: str
  facts: dict[str, str]
  degraded: bool  # drawn blurred and dark: its facts cannot be read


class Script:
  """Builds one session: call `say` and `show` in dialogue order."""

  def __init__(self, rng: np.random.Generator, known_facts: Sequence[str] = ()):
    self.rng = rng
    self.edus: list[ScriptEdu] = []
    self.messages: list[list[int]] = []  # EDU indices per message
    self.message_texts: list[Optional[str]] = []
    self.images: dict[str, ScriptImage] = {}
    self.image_messages: list[tuple[int, str]] = []  # (message index, slot)
    self.known = set(known_facts)  # keys stated in customer text or given by the SKU's knowledge
    self.shown: set[str] = set()  # keys an image has shown so far
    self.reply_meta: list[dict] = []  # one per agent text message
    self.topic: Optional[tuple[str, list[str]]] = None  # (phrase, fact keys): what the session is about
    self.kind = "any"  # "after_sales" | "pre_sales": what the customer's rambles may be about
    self.rambled: set[str] = set()  # ramble patterns used: a customer does not repeat one
    self.agent = AGENT_PERSONAS[int(rng.integers(len(AGENT_PERSONAS)))]
    self.customer = CUSTOMER_PERSONAS[int(rng.integers(len(CUSTOMER_PERSONAS)))]

  # -- wording -------------------------------------------------------------
  def x(self, pattern: str, **slots: str) -> "Phrase":
    """One realisation of a `phrasing` pattern: the agent persona's slots (<you>, <p>, <sorry>...),
    fact keys (<p1.defect> is that fact's word, <p1.product#mw> its measure word, #use its verb) and `slots`.
    The result remembers the fact keys it names (`Phrase.uses`)."""
    text, used = phrasing.expand_tracked(pattern, self.rng, _Slots(self, slots))
    return Phrase(text, frozenset(k.partition("#")[0] for k in used if "." in k))

  def cx(self, pattern: str, **slots: str) -> "Phrase":
    """A customer's realisation: the customer persona's <ok>, and no agent slots."""
    return self.x(pattern, ok=self.customer["ok"], **slots)

  # -- facts ---------------------------------------------------------------
  def add_image(self, slot: str, category: str, facts: dict[str, str], degraded: bool = False) -> None:
    self.images[slot] = ScriptImage(slot, category, dict(facts), degraded)

  def value(self, key: str) -> str:
    slot, name = key.split(".")
    return self.images[slot].facts[name]

  def word(self, key: str) -> str:
    return facts_lib.fact_word(key.split(".")[1], self.value(key))

  def state(self, *keys: str) -> None:
    """Marks facts as stated in the customer's text."""
    self.known.update(keys)

  # -- messages ------------------------------------------------------------
  def say(self, is_agent: bool, *parts: tuple, merge: bool = True) -> list[int]:
    """Adds one text message made of EDUs.

    Each part is (text, parent EDU or None, relation or None[, fact keys used]); parent -1
    means the EDU just before. Agent messages sometimes get a courtesy tail EDU. When the
    message before is the same speaker's text, the EDUs usually join it (`P_JOIN`: people
    type on in one message, as the paper's 14 utterances to 22.6 EDUs a dialogue show),
    unless `merge` is False.
    Returns the indices of the EDUs made from `parts` (not the tail).
    """
    ids = []
    tail = is_agent and not str(parts[-1][0]).rstrip("<p>～~ ").endswith(("？", "?", "吗", "呢")) and self.chance(0.12)
    if tail:
      parts = parts + ((self.x(self.pick(AGENT_TAILS)) + "。", -1, "social"),)
    for part in parts:
      text, parent, relation = part[:3]
      if not str(text).strip():
        raise AssertionError(f"an empty EDU (relation {relation}) in message {len(self.messages)}")
      if parent == -1:  # attach to the EDU just before
        parent = len(self.edus) - 1
      uses = frozenset(part[3]) if len(part) > 3 else frozenset()
      uses |= getattr(text, "uses", frozenset())
      if not is_agent:
        text = self.noisy(text)
      ids.append(self._add_edu(ScriptEdu(is_agent, text, None, parent, relation, uses)))
    if is_agent and not self.edus[ids[0]].text.startswith(AGENT_OPENERS) and self.chance(0.25):
      self.edus[ids[0]].text = self.x("{<dear_>|嗯嗯，|好的<dear>，|<dear_>这边}") + self.edus[ids[0]].text
    text = self.edus[ids[0]].text
    for i in ids[1:]:  # EDUs of one message: a comma where one ends without a mark (联系我们，我们会)
      text += ("" if text[-1] in _MARKS else "，") + self.edus[i].text
    all_ids = ids
    if merge and self.messages and self.message_texts[-1] is not None and \
        self.edus[self.messages[-1][0]].is_agent == is_agent and self.chance(P_JOIN):
      all_ids = self.messages.pop() + ids
      before = self.message_texts.pop()
      if is_agent:
        self.reply_meta.pop()
      joiner = "" if before[-1] in _MARKS else self.pick(("，", " ", "。") if is_agent else (" ", "  ", "，", "。"))
      text = before + joiner + text
    if is_agent:
      self._record_reply(all_ids, text)
    self.messages.append(all_ids)
    self.message_texts.append(text)
    return ids[:-1] if tail else ids

  def show(self, slot: str, parent: Optional[int], relation: Optional[str]) -> int:
    """Adds the customer's image message for `slot`; returns its EDU index."""
    image = self.images[slot]
    edu = self._add_edu(ScriptEdu(False, None, slot, parent, relation, frozenset()))
    self.image_messages.append((len(self.messages), slot))
    self.messages.append([edu])
    self.message_texts.append(None)
    if not image.degraded:
      self.shown.update(f"{slot}.{name}" for name in image.facts)
    self.shown.add(f"{slot}.legibility")
    return edu

  def _add_edu(self, edu: ScriptEdu) -> int:
    if edu.parent is not None and not 0 <= edu.parent < len(self.edus):
      raise AssertionError(f"parent {edu.parent} is not an earlier EDU")
    self.edus.append(edu)
    return len(self.edus) - 1

  def _record_reply(self, ids: list[int], text: str) -> None:
    uses = frozenset().union(*(self.edus[i].uses for i in ids))
    image_only = sorted(k for k in uses if k in self.shown and k not in self.known)
    earlier = "".join(t for t in self.message_texts if t)
    strict = [k for k in image_only if k.endswith(".legibility") or self.word(k) not in earlier]
    self.reply_meta.append({
        "message": len(self.messages),
        "uses": sorted(uses),
        "image_only": image_only,
        "image_dependent": bool(image_only),
        "image_dependent_strict": bool(strict),
    })

  # -- language noise --------------------------------------------------------
  def pick(self, options: Sequence[str]) -> str:
    return options[int(self.rng.integers(len(options)))]

  def chance(self, p: float) -> bool:
    return bool(self.rng.random() < p)

  def noisy(self, text: str) -> str:
    """Customer text with fillers, a changed ending, sometimes a rambling clause and a typo."""
    text = self.pick(FILLERS_BEFORE) + str(text)
    if len(text) > 1 and text[-1] in "。！？?!～" and text[-2] not in "。！？?!～":
      text = text[:-1] + self.pick(FILLERS_AFTER) + self.pick(ENDINGS)
    rambles = self.chance(self.customer["ramble"]) + self.chance(self.customer["ramble"] / 2) if self.messages else 0
    for _ in range(rambles):
      fresh = [r for r in RAMBLES["any"] + RAMBLES.get(self.kind, ()) if r not in self.rambled]
      if fresh:
        pattern = self.pick(fresh)
        self.rambled.add(pattern)
        extra = self.x(pattern)
        if any(extra[i:i + 3] in text for i in range(len(extra) - 2)):
          continue  # it would say again what the message says (我等着用，我等着用)
        text = (extra + self.pick(("，", "，", " ", "  ", "。"))) + text if self.chance(0.4) else \
            text + self.pick(("，", " ", "  ", "。")) + extra
    if self.chance(self.customer["typo"]):
      candidates = [k for k in TYPOS if k in text]
      if candidates:
        k = self.pick(candidates)
        text = text.replace(k, TYPOS[k], 1)
    if not text.strip():
      raise AssertionError("customer noise emptied a message")
    return text


class Phrase(str):
  """Text made by `Script.x`, with the fact keys its wording names."""

  def __new__(cls, text: str, uses: frozenset = frozenset()):
    obj = super().__new__(cls, text)
    obj.uses = uses
    return obj

  def __add__(self, other):
    return Phrase(str(self) + str(other), self.uses | getattr(other, "uses", frozenset()))

  def __radd__(self, other):
    return Phrase(str(other) + str(self), self.uses | getattr(other, "uses", frozenset()))


class _Slots:
  """The slot mapping of `Script.x`: explicit values, fact keys, then the agent persona."""

  def __init__(self, script: Script, explicit: dict):
    self.script, self.explicit = script, explicit

  def _fact(self, name: str) -> Optional[str]:
    key, _, suffix = name.partition("#")
    if "." not in key:
      return None
    slot, fact = key.split(".", 1)
    image = self.script.images.get(slot)
    if image is None or fact not in image.facts:
      return None
    if suffix == "mw":
      return facts_lib.MEASURE_WORDS[image.facts[fact]]
    if suffix == "use":
      return facts_lib.USE_VERBS[image.facts[fact]]
    return self.script.word(key)

  def __contains__(self, name: str) -> bool:
    return name in self.explicit or self._fact(name) is not None or name in self.script.agent

  def __getitem__(self, name: str):
    if name in self.explicit:
      return self.explicit[name]
    fact = self._fact(name)
    if fact is not None:
      return fact
    return self.script.agent[name]
