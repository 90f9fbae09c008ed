"""Paraphrase grammars: how the embedded corpus says one thing in many ways.

A pattern is text with three constructs, nested freely:

    {a|b|c}     one of the alternatives, uniformly
    [x]         x or nothing, each half of the time ([a|b] is [{a|b}])
    <name>      the value of slot `name` (a keyword of `expand`, or one of the persona's)

e.g. ``"{您好|亲，您好}，[我]{看到|收到}您发的<product>图片了"``. A slot's value is inserted
as is (a product name, a masked token ``[订单x]``), unless it is a `Sub`: a pattern of its own,
expanded afresh at each use (how a persona's address and particles vary inside one session).
Every draw comes from the generator passed in, so a session's text is a function of its seed.

Masked tokens are the real JDDC release's (`MASKED`): personal and incidental figures appear as
``[订单x]``, ``[数字x]``, ``[日期x]``..., as in `../shared/data/jddc2019`.
"""

from __future__ import annotations

import functools
from typing import Union

import numpy as np

#: slot -> the real release's mask for it
MASKED = {
    "order": "[订单x]", "num": "[数字x]", "date": "[日期x]", "time": "[时间x]", "name": "[姓名x]",
    "site": "[站点x]", "money": "[金额x]", "phone": "[电话x]", "addr": "[地址x]", "link": "[链接x]",
}

class Sub(str):
  """A slot value that is itself a pattern, expanded afresh at each use (a persona's particle, say)."""


Node = Union[str, tuple]  # text | ("alt", [seq, ...]) | ("opt", seq) | ("slot", name); seq = tuple of nodes


class PatternError(ValueError):
  pass


@functools.lru_cache(maxsize=None)
def parse(pattern: str) -> tuple:
  """The pattern as a sequence of nodes; raises PatternError naming the pattern on bad syntax."""
  seq, end = _parse_seq(pattern, 0, "")
  if end != len(pattern):
    raise PatternError(f"unbalanced {pattern[end]!r} at {end} in pattern {pattern!r}")
  return seq


def _parse_alternatives(p: str, i: int, closer: str) -> tuple[tuple, int]:
  """The "|"-separated sequences from `i` up to `closer`; returns them and the index after it."""
  alts = []
  while True:
    seq, i = _parse_seq(p, i, "|" + closer)
    alts.append(seq)
    if i >= len(p):
      raise PatternError(f"unclosed {'{' if closer == '}' else '['!r} in pattern {p!r}")
    i += 1
    if p[i - 1] == closer:
      return tuple(alts), i


def _parse_seq(p: str, i: int, closers: str) -> tuple[tuple, int]:
  nodes, text = [], []

  def flush():
    if text:
      nodes.append("".join(text))
      text.clear()

  while i < len(p):
    c = p[i]
    if c in closers:
      break
    if c == "{":
      flush()
      alts, i = _parse_alternatives(p, i + 1, "}")
      nodes.append(("alt", alts))
    elif c == "[":
      flush()
      alts, i = _parse_alternatives(p, i + 1, "]")
      nodes.append(("opt", alts[0] if len(alts) == 1 else (("alt", alts),)))
    elif c == "<":
      flush()
      j = p.find(">", i)
      if j < 0:
        raise PatternError(f"unclosed '<' in pattern {p!r}")
      nodes.append(("slot", p[i + 1:j]))
      i = j + 1
    elif c in "|}]>" and c not in closers:
      raise PatternError(f"stray {c!r} at {i} in pattern {p!r}")
    else:
      text.append(c)
      i += 1
  flush()
  return tuple(nodes), i


def expand(pattern: str, rng: np.random.Generator, slots) -> str:
  """One realisation of `pattern`, slots filled from the mapping `slots` (and `MASKED`)."""
  return expand_tracked(pattern, rng, slots)[0]


def expand_tracked(pattern: str, rng: np.random.Generator, slots) -> tuple[str, set[str]]:
  """(one realisation, the names of the slots it filled): what its wording depends on."""
  out: list[str] = []
  used: set[str] = set()
  _emit(parse(pattern), rng, slots, out, pattern, used)
  return "".join(out), used


def _emit(seq: tuple, rng, slots, out: list, pattern: str, used: set) -> None:
  for node in seq:
    if isinstance(node, str):
      out.append(node)
    elif node[0] == "alt":
      alts = node[1]
      _emit(alts[int(rng.integers(len(alts)))], rng, slots, out, pattern, used)
    elif node[0] == "opt":
      if rng.random() < 0.5:
        _emit(node[1], rng, slots, out, pattern, used)
    else:
      name = node[1]
      if name in slots:
        used.add(name)
        value = slots[name]
        if isinstance(value, Sub):
          _emit(parse(value), rng, slots, out, value, used)
        else:
          out.append(value)
      elif name in MASKED:
        out.append(MASKED[name])
      else:
        raise KeyError(f"slot <{name}> of pattern {pattern!r} has no value")


def variants(pattern: str) -> int:
  """How many distinct realisations the pattern's structure allows (slots count once)."""
  return _count(parse(pattern))


def _count(seq: tuple) -> int:
  n = 1
  for node in seq:
    if isinstance(node, tuple) and node[0] == "alt":
      n *= sum(_count(a) for a in node[1])
    elif isinstance(node, tuple) and node[0] == "opt":
      n *= _count(node[1]) + 1
  return n
