"""Side exchanges of the embedded corpus: the detours between a session's problem and its close.

They give sessions the paper's length (about 22 EDUs) and most of Table 12's question,
answer and expansion relations. Each exchange is a dialogue move whose links follow its
content, not its position: a question answered after a hold or a clarifying question
(the answer's parent is the question), two questions in one message answered in one
message, a second concern started mid-dialogue and carried on between turns of the
first, corrections and completions of what a customer said several turns back, a
customer's evaluation of the agent's solution. Wording comes from `side_phrases`.

Agent answers here often name what the session is about (`Script.topic`, via `_about`),
and then depend on the facts behind it, which keeps replies image-dependent.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Optional

from jddc.data.synth import facts as facts_lib
from jddc.data.synth import side_phrases as P
from jddc.data.synth.script import Phrase, Script

PRE_SALES_CATEGORIES = frozenset({"photo_purchase_consultation", "photo_recommendation_comparison",
                                  "screenshot_product"})
# Agent EDUs that say something a customer reacts to (not greetings, tails or holds).
CONTENT_RELATIONS = frozenset({"solution", "promise", "affirmation", "deny", "elaboration", "recommend", "hold",
                               "restatement", "cause", "suggestion", "concession"})
RESOLUTION_RELATIONS = frozenset({"solution", "promise", "recommend"})
P_ABOUT = 0.85  # an agent answer names what the session is about
P_SUMMARY = 0.04  # the paper: summary is 0.14% of links
P_ANYTHING_ELSE = 0.3
P_BACK_TO_PROMISE = 0.4  # the closing thanks accept the promise made before the side exchanges
SIDE_COUNTS = (1, 2, 2, 2, 3)  # side exchanges before the close


@dataclasses.dataclass
class _Side:
  """What the side exchanges of one session share: the script, its kind, the topics asked."""

  s: Script
  kind: str  # "after", "pre" or "screen"
  detail: str  # the main picture's category for after-sales and screen sessions, else "pre"
  shop: Optional[str]
  product_slot: Optional[str]  # an image slot whose facts include the product
  agreed: str = ""  # what the session's problem ended with (wrap_up's summary text)
  asked: set = dataclasses.field(default_factory=set)
  about_forms: dict = dataclasses.field(default_factory=dict)  # `_about` form -> times used

  @classmethod
  def of(cls, s: Script, agreed: str = "") -> "_Side":
    first = next(iter(s.images.values()))
    kind = ("pre" if first.category in PRE_SALES_CATEGORIES else
            "after" if first.category.startswith("photo_") and first.category != "photo_user_screen" else "screen")
    product_slot = next((slot for slot, im in s.images.items() if "product" in im.facts), None)
    shop = facts_lib.PRODUCT_SHOP.get(s.images[product_slot].facts["product"]) if product_slot else None
    return cls(s, kind, first.category if kind != "pre" else "pre", shop, product_slot, str(agreed))

  def x(self, pattern: str, **slots) -> Phrase:
    """The agent's realisation of a pattern; `<P.` names the session's product image."""
    return self.s.x(self._bind(pattern), **slots)

  def cx(self, pattern: str, **slots) -> Phrase:
    return self.s.cx(self._bind(pattern), **slots)

  def _bind(self, pattern: str) -> str:
    return pattern.replace("<P.", f"<{self.product_slot}.") if self.product_slot else pattern

  def topic(self, need: Callable[[P.SideTopic], object] = lambda t: True) -> Optional[P.SideTopic]:
    """A side topic that fits the session, has `need`, and was not asked yet (marked asked)."""
    fits = [t for t in P.TOPICS if (self.kind in t.kinds or self.detail in t.kinds) and t.name not in self.asked
            and need(t) and (t.shop is None or t.shop == self.shop) and (self.product_slot or not t.needs_product)
            and (t.agreed is None or self.kind != "after" or re.search(t.agreed, self.agreed))]
    if not fits:
      return None
    chosen = fits[int(self.s.rng.integers(len(fits)))]
    self.asked.add(chosen.name)
    return chosen


# ---------------------------------------------------------------------------
# Where a move attaches
# ---------------------------------------------------------------------------

def _main_query(s: Script) -> int:
  """The customer's text EDU that goes with the session's first picture."""
  image = next((i for i, e in enumerate(s.edus) if e.text is None), 0)
  texts = [i for i, e in enumerate(s.edus) if not e.is_agent and e.text is not None and e.relation != "background"]
  if not texts:
    return len(s.edus) - 1
  return min(texts, key=lambda i: (abs(i - image), -i))


def _agent_content(s: Script, last: int, relations=CONTENT_RELATIONS) -> int:
  """The latest agent EDU, up to `last`, saying something of `relations` (else `last`)."""
  for i in range(last, -1, -1):
    e = s.edus[i]
    if e.is_agent and e.relation in relations:
      return i
  return last


def _resolution(s: Script, last: int) -> int:
  """The agent's solution or promise of the main problem (else its latest content EDU)."""
  found = _agent_content(s, last, RESOLUTION_RELATIONS)
  return found if s.edus[found].relation in RESOLUTION_RELATIONS else _agent_content(s, last)


def _about(side: _Side, text: Phrase, parent: int, relation: str, answer: bool = False, uses: tuple = ()) -> tuple:
  """An agent reply's part that, more often than not, names what the session is about, in a
  form the session has used at most once before (`answer`: the part answers a side topic).
  `uses`: fact keys the part depends on anyway."""
  s = side.s
  forms = P.ABOUT_ANY + P.ABOUT_KIND[side.kind]
  if answer:
    forms += P.ABOUT_ANSWER[side.kind] + (P.ABOUT_AFTER[side.kind] if relation == "affirmation" else ())
  fresh = [f for f in forms if side.about_forms.get(f, 0) < 2]
  if not s.topic or not fresh or not s.chance(P_ABOUT):
    return (text, parent, relation, list(uses))
  least = min(side.about_forms.get(f, 0) for f in fresh)
  form = s.pick([f for f in fresh if side.about_forms.get(f, 0) == least])
  side.about_forms[form] = side.about_forms.get(form, 0) + 1
  phrase, topic_uses = s.topic
  named = s.x(form, topic=str(phrase))
  if form.startswith("，"):  # after the reply, before its closing punctuation
    body = str(text).rstrip("，。；")
    text = Phrase(body, getattr(text, "uses", frozenset())) + named + str(text)[len(body):]
  else:
    text = named + text
  return (text, parent, relation, list(uses) + list(topic_uses))


def _ask(side: _Side, topic: P.SideTopic, lead: str = P.ASK_LEAD) -> tuple[Phrase, str]:
  """(the customer's question on a side topic, its relation: yes_no or 5w1h)."""
  relation, pattern = side.s.pick(topic.asks)
  return side.cx(lead + pattern), relation


def _pick_answer(side: _Side, topic: P.SideTopic) -> tuple[str, str, Optional[str]]:
  """(relation, pattern, fact key) of an answer: one that a fact of the session's pictures
  decides (the key of that fact) if there is one, else one that holds whatever they show."""
  shown = {value: f"{slot}.{name}" for slot, image in side.s.images.items() for name, value in image.facts.items()}
  decided = [(a[0], a[1], next(key for value, key in shown.items() if value in a[2]))
             for a in topic.answers if len(a) > 2 and any(value in a[2] for value in shown)]
  general = [(a[0], a[1], None) for a in topic.answers if len(a) == 2]
  return side.s.pick(decided or general)


def _answer(side: _Side, topic: P.SideTopic, question: int, about: bool = True, more: float = 0.6) -> list[tuple]:
  """The agent's answer to `question` (parent: the question), sometimes with an EDU on it."""
  s = side.s
  relation, pattern, key = _pick_answer(side, topic)
  follow = topic.more and s.chance(more)
  text = side.x(pattern) + (s.x("{，|。}") if follow else "")
  uses = (key,) if key else ()
  parts = [_about(side, text, question, relation, answer=True, uses=uses) if about else
           (text, question, relation, list(uses))]
  if follow:
    relation, pattern = s.pick(topic.more)
    parts.append((side.x(pattern), -1, relation))
  return parts


def _react(side: _Side, answer: int, feedback: float, evaluation: float, concession: float = 0.06) -> None:
  """Sometimes the customer acknowledges an answer (feedback), judges it (evaluation) or
  puts up with it (concession)."""
  r = side.s.rng.random()
  if r < feedback:
    side.s.say(False, (side.cx(P.FEEDBACK_CUSTOMER), answer, "feedback"))
  elif r < feedback + evaluation and side.s.edus[answer].relation in P.EVALUATE_ANSWER:
    side.s.say(False, (side.cx(P.EVALUATE_ANSWER[side.s.edus[answer].relation]), answer, "evaluation"))
  elif r < feedback + evaluation + concession:
    side.s.say(False, (side.cx(P.CUSTOMER_CONCEDE), answer, "concession"))


# ---------------------------------------------------------------------------
# Moves: (side, last EDU) -> the EDU the dialogue goes on from
# ---------------------------------------------------------------------------

def _ask_parts(side: _Side, topic: P.SideTopic, last: int) -> list[tuple]:
  """The customer's question on the agent's latest point, sometimes with why they ask, or
  correcting the day it names."""
  s = side.s
  text, relation = _ask(side, topic)
  parts = [(text, _agent_content(s, last), relation)]
  if re.search("今天|明天|周末", text) and s.chance(0.3):
    parts.append((side.cx(P.SELF_CORRECTION), -1, "correction"))
  elif s.chance(0.2):
    why_relation, why = s.pick(P.ASK_BACKGROUND[side.kind])
    parts.append((side.cx(why), -1, why_relation))
  return parts


def _question(side: _Side, last: int) -> int:
  """A side question answered at once, sometimes followed up within its thread."""
  s = side.s
  topic = side.topic()
  if topic is None:
    return _restatement(side, last)
  q = s.say(False, *_ask_parts(side, topic, last))[0]
  answer = s.say(True, *_answer(side, topic, q))
  last = answer[-1]
  if topic.follow and s.chance(0.5):
    relation, pattern, answer_relation, answer_pattern = topic.follow
    (f,) = s.say(False, (side.cx(pattern), answer[0], relation))
    (last,) = s.say(True, _about(side, side.x(answer_pattern), f, answer_relation))
  _react(side, last, 0.3, 0.15)
  return last


def _checked_question(side: _Side, last: int) -> int:
  """The agent says the question back (restatement) and, once confirmed, answers the question."""
  s = side.s
  topic = side.topic()
  if topic is None:
    return _restatement(side, last)
  q = s.say(False, *_ask_parts(side, topic, last))[0]
  (r,) = s.say(True, _about(side, side.x(P.RESTATE_QUESTION, gist=side.x(topic.gist)), q, "restatement"))
  s.say(False, (side.cx(P.RESTATE_CONFIRMED), r, "affirmation"))
  answer = s.say(True, *_answer(side, topic, q))
  _react(side, answer[0], 0.3, 0.15)
  return answer[-1]


def _late_answer(side: _Side, last: int) -> int:
  """A question the agent looks into first (suspend, or asking for the order), answered later
  with the question as parent."""
  s = side.s
  topic = side.topic(lambda t: t.lookup)
  if topic is None:
    return _question(side, last)
  q = s.say(False, *_ask_parts(side, topic, last))[0]
  if s.chance(0.3):
    (ask,) = s.say(True, _about(side, s.x(P.REQUEST_ORDER), q, "request"))
    (given,) = s.say(False, (side.cx(P.ORDER_GIVEN), ask, "suggestion_acceptance"))
    if s.chance(0.5):
      s.say(True, (s.x(P.OK_AGENT + "，" + P.WAIT), given, "suspend"))
  else:
    (hold,) = s.say(True, _about(side, s.x(P.WAIT), q, "suspend"))
    r = s.rng.random()
    if r < 0.25:
      s.say(False, (side.cx(P.WAIT_CUSTOMER), hold, "feedback"))
    elif r < 0.45:
      s.say(False, (side.cx(P.ORDER_COMPLETION), q, "completion"))
    elif r < 0.6:
      (c,) = s.say(False, (side.cx(P.CONTACT), hold, "contact"))
      if s.chance(0.25):
        s.say(True, (s.x(P.CONFIRM), c, "confirm"))
  answer = s.say(True, *_answer(side, topic, q))
  _react(side, answer[0], 0.3, 0.15)
  return answer[-1]


def _clarified(side: _Side, last: int) -> int:
  """The agent asks back first (request, 5w1h, choice); then answers the original question."""
  s = side.s
  topic = side.topic(lambda t: t.clarify)
  if topic is None:
    return _question(side, last)
  q = s.say(False, *_ask_parts(side, topic, last))[0]
  ask_relation, ask_pattern, reply_pattern, reply_relation = topic.clarify
  (c,) = s.say(True, (side.x(ask_pattern), q, ask_relation))
  (r,) = s.say(False, (side.cx(reply_pattern), c, reply_relation))
  if topic.lookup and s.chance(0.4):
    s.say(True, (s.x(P.OK_AGENT + "，" + P.WAIT), r, "suspend"))
  parts = [(side.x(P.OK_AGENT + "，"), r, "feedback")] if s.chance(0.4) else []
  ids = s.say(True, *parts, *_answer(side, topic, q))
  _react(side, ids[-1], 0.25, 0.1)
  return ids[-1]


def _two_questions(side: _Side, last: int) -> int:
  """Two questions in one message (coordinate), answered in one message, either order."""
  s = side.s
  first, second = side.topic(), side.topic()
  if first is None or second is None:
    return _question(side, last)
  text1, relation1 = _ask(side, first)
  text2, _ = _ask(side, second, lead=P.SECOND_QUESTION_LEAD)
  q1, q2 = s.say(False, (text1, _agent_content(s, last), relation1), (text2, -1, "coordinate"))
  answers = [_answer(side, first, q1, about=False, more=0.3), _answer(side, second, q2, about=False, more=0.3)]
  if s.chance(0.35):
    answers.reverse()
  answers[0][0] = _about(side, *answers[0][0][:3], answer=True, uses=tuple(answers[0][0][3]))
  answers[0][-1] = (answers[0][-1][0] + s.x("{；|。|，}"),) + answers[0][-1][1:]
  ids = s.say(True, *answers[0], *answers[1])
  _react(side, ids[-1], 0.3, 0.1)
  return ids[-1]


def _second_thread(side: _Side, last: int) -> int:
  """A new concern mid-dialogue; the first thread is taken up in between; each EDU stays in its thread."""
  s = side.s
  topic = side.topic(lambda t: t.follow)
  if topic is None:
    return _question(side, last)
  text, _ = _ask(side, topic, lead=P.NEW_THREAD_LEAD)
  (qb,) = s.say(False, (text, _main_query(s), "coordinate"))
  answer_b = s.say(True, *_answer(side, topic, qb, more=0.3))[0]
  last = answer_b
  if s.chance(0.7):
    (relation, pattern), answer_relation, answer_pattern = P.MAIN_FOLLOWUPS[side.kind]
    (qa,) = s.say(False, (side.cx(pattern), _resolution(s, answer_b - 1), relation))
    (last,) = s.say(True, _about(side, side.x(answer_pattern), qa, answer_relation))
  relation, pattern, answer_relation, answer_pattern = topic.follow
  (qf,) = s.say(False, (side.cx(pattern), answer_b, relation))
  (af,) = s.say(True, _about(side, side.x(answer_pattern), qf, answer_relation))
  return af


def _correction(side: _Side, last: int) -> int:
  """A customer corrects what they said turns ago (else the agent corrects a figure it gave)."""
  s = side.s
  found = [(i, pattern) for i, e in enumerate(s.edus) if not e.is_agent and e.text
           for needle, pattern in P.CORRECTIONS if re.search(needle, e.text)]
  if found:
    target, pattern = found[int(s.rng.integers(len(found)))]
    (c,) = s.say(False, (side.cx(pattern), target, "correction"))
    (n,) = s.say(True, _about(side, s.x(P.CORRECTION_NOTED), c, "feedback"))
    return n
  figures = [i for i, e in enumerate(s.edus) if e.is_agent and e.text and "[数字x]" in e.text]
  if figures:
    (c,) = s.say(True, (s.x(P.AGENT_CORRECTION), figures[-1], "correction"))
    _react(side, c, 0.5, 0.0)
    return c
  return _completion(side, last)


def _completion(side: _Side, last: int) -> int:
  """The customer adds to their first message (or backs it up); the agent notes it."""
  s = side.s
  if side.detail not in P.COMPLETE:
    return _restatement(side, last)
  relation, pattern = s.pick(P.COMPLETE[side.detail])
  (c,) = s.say(False, (side.cx(pattern), _main_query(s), relation))
  (n,) = s.say(True, _about(side, s.x(P.NOTED), c, "feedback"))
  return n


def _evaluation(side: _Side, last: int) -> int:
  """The customer judges the agent's solution; the agent thanks, concedes or apologises."""
  s = side.s
  praise, complaint, concession = P.EVALUATE[side.kind]
  good = s.chance(0.45)
  conceding = not good and s.chance(0.4)
  text = side.cx(praise if good else complaint)
  parts = [(text, _resolution(s, last), "evaluation")]
  if conceding:
    parts.append((side.cx(P.EVALUATE_CONCEDE), -1, "concession"))
  (e, *_) = s.say(False, *parts)
  if good:
    reply = (s.x(P.THANK_EVALUATION), e, "social")
  elif s.chance(0.6):
    reply = _about(side, s.x(concession), e, "concession")
  else:
    reply = (s.x(P.APOLOGISE_TO_COMPLAINT), e, "social")
  (a,) = s.say(True, reply)
  return a


def _restatement(side: _Side, last: int) -> int:
  """The customer says again what the agent said, to make sure; the agent confirms."""
  s = side.s
  (r,) = s.say(False, (side.cx(P.RESTATE[side.kind]), _agent_content(s, last), "restatement"))
  more = s.chance(0.5)
  parts = [(s.x(P.CONFIRM_RESTATEMENT) + ("，" if more else ""), r, "affirmation")]
  if more:
    parts.append(_about(side, s.x(P.RESTATE_MORE[side.kind]), -1, "elaboration"))
  return s.say(True, *parts)[-1]


def _contact(side: _Side, last: int) -> int:
  """A side question, then the customer checks the agent is there; the agent answers both."""
  s = side.s
  topic = side.topic()
  if topic is None:
    return _restatement(side, last)
  q = s.say(False, *_ask_parts(side, topic, last))[0]
  (c,) = s.say(False, (side.cx(P.CONTACT), q, "contact"))
  r = s.rng.random()  # the agent says it is there, says sorry for the wait, or just answers
  parts = ([(s.x(P.CONFIRM) + "，", c, "confirm")] if r < 0.25 else
           [(s.x(P.SORRY_WAIT) + "，", c, "social")] if r < 0.6 else [])
  ids = s.say(True, *parts, *_answer(side, topic, q))
  return ids[-1]


def _suggestion(side: _Side, last: int) -> int:
  """The agent suggests something; the customer accepts or, now and then, declines."""
  s = side.s
  (g,) = s.say(True, _about(side, s.x(s.pick(P.SUGGEST[side.kind])), _agent_content(s, last), "suggestion"))
  if s.chance(0.88):
    s.say(False, (side.cx(P.ACCEPT), g, "suggestion_acceptance"))
    return g
  (r,) = s.say(False, (side.cx(P.REJECT), g, "suggestion_rejection"))
  (a,) = s.say(True, (s.x(P.AFTER_REJECT), r, "feedback"))
  return a


def _cause(side: _Side, last: int) -> int:
  """The customer asks why; the agent gives the cause; the customer may concede."""
  s = side.s
  cause = P.CAUSE.get(side.detail)
  if cause is None:
    return _hold(side, last)
  ask = P.PRE_CAUSE_ASK if side.kind == "pre" else P.CAUSE_ASK
  parent = _resolution(s, last) if side.kind == "pre" else _agent_content(s, last)
  (q,) = s.say(False, (side.cx(ask), parent, "5w1h"))
  (a,) = s.say(True, _about(side, s.x(cause), q, "cause"))
  if s.chance(0.4):
    s.say(False, (side.cx(P.CUSTOMER_CONCEDE), a, "concession"))
  return a


def _hold(side: _Side, last: int) -> int:
  """A question about the solution the agent cannot answer yet."""
  s = side.s
  (q,) = s.say(False, (side.cx(P.HOLD_ASK), _resolution(s, last), "5w1h"))
  (a,) = s.say(True, _about(side, s.x(P.HOLD_ANSWER), q, "hold"))
  _react(side, a, 0.4, 0.2)
  return a


MOVES = ((10, _question), (9, _checked_question), (12, _late_answer), (7, _clarified), (5, _two_questions),
         (4, _second_thread), (3, _correction), (4, _completion), (9, _evaluation), (9, _restatement),
         (10, _contact), (4, _suggestion), (5, _cause), (1, _hold))


def side_exchanges(s: Script, last: int, count: int, agreed: str = "") -> int:
  """`count` side exchanges after EDU `last`; returns the EDU the dialogue goes on from.
  `agreed` (what the problem ended with) rules out side topics that do not fit it."""
  side = _Side.of(s, agreed)
  weights = [w for w, _ in MOVES]
  for _ in range(count):
    r, k = s.rng.random() * sum(weights), 0
    while r >= weights[k]:
      r -= weights[k]
      k += 1
    last = MOVES[k][1](side, last)
    if MOVES[k][1] is not _question:  # one of each other move per session
      weights[k] = 0
  return last


def wrap_up(s: Script, last: int, summary_text: str, uses: list[str]) -> int:
  """Side exchanges, then sometimes the agent's summary of what was agreed or a last question.

  After a promise, the customer's closing words sometimes accept it across the side exchanges."""
  promise = last if s.edus[last].is_agent and s.edus[last].relation == "promise" else None
  last = side_exchanges(s, last, int(s.pick(SIDE_COUNTS)), summary_text)
  if s.chance(P_SUMMARY):
    (last,) = s.say(True, (s.x(P.SUMMARY, summary=str(summary_text)), last, "summary", uses))
  elif s.chance(P_ANYTHING_ELSE):
    (last,) = s.say(True, (s.x(P.ANYTHING_ELSE), last, "yes_no"))
  elif promise is not None and s.chance(P_BACK_TO_PROMISE):
    last = promise
  return last
