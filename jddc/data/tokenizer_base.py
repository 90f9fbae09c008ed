"""The interface every tokenizer implements and the special tokens they share.

Kept apart from `jddc.data.tokenizers` (the SentencePiece and BERT-vocab tokenizers and
`load_tokenizer`) so that a tokenizer in its own module (`jddc.data.word_tokenizer`) can
subclass it without an import cycle; `jddc.data.tokenizers` re-exports every name.
"""

from __future__ import annotations

import abc
import os
from typing import Sequence

IMAGE_TOKEN = "[IMG]"
CUSTOMER_TOKEN = "[USER]"
AGENT_TOKEN = "[AGENT]"
SEP_TOKEN = "[SEP]"
CLS_TOKEN = "[CLS]"

# Masked personal data and system markers of the real JD corpora, one token each. JDDC
# 2019 writes `[订单x]`; CSDS writes `[订单编号]`. Append only: the order fixes the ids
# (SentencePiece) and the `[unusedN]` slots (BERT vocab).
MASK_PLACEHOLDERS = (
    "[数字x]", "[订单x]", "[金额x]", "[姓名x]", "[日期x]", "[时间x]", "[站点x]",
    "[链接x]", "[地址x]", "[电话x]", "[组织机构x]", "[身份证号x]", "[邮箱x]", "[商品x]",
    "[数字]", "[订单编号]", "[金额]", "[姓名]", "[日期]", "[时间]", "[站点]",
    "[链接]", "[地址]", "[电话]", "[组织机构]", "[身份证号]", "[邮箱]", "[表情]",
    "[商品快照]",
)

# SentencePiece user-defined symbols, in id order from 4 (after pad, unk, bos, eos).
SPECIAL_TOKENS = (IMAGE_TOKEN, CUSTOMER_TOKEN, AGENT_TOKEN, SEP_TOKEN, CLS_TOKEN) + MASK_PLACEHOLDERS


class Tokenizer(abc.ABC):
  """Text <-> ids. Attributes are ids into a vocabulary of `vocab_size` pieces."""

  pad_id: int
  unk_id: int
  bos_id: int
  eos_id: int
  sep_id: int
  cls_id: int
  image_id: int
  customer_id: int
  agent_id: int

  @property
  @abc.abstractmethod
  def vocab_size(self) -> int:
    """Number of ids; every id is in [0, vocab_size)."""

  @abc.abstractmethod
  def encode(self, text: str) -> list[int]:
    """Ids of `text`, without bos/eos."""

  @abc.abstractmethod
  def decode(self, ids: Sequence[int]) -> str:
    """Text of `ids`; pad, bos and eos ids are dropped."""

  @abc.abstractmethod
  def id_to_piece(self, token_id: int) -> str:
    """The vocabulary entry of `token_id`."""

  @abc.abstractmethod
  def piece_to_id(self, piece: str) -> int:
    """The id of vocabulary entry `piece`, or `unk_id` when it has none."""

  @abc.abstractmethod
  def save(self, directory: str | os.PathLike) -> str:
    """Writes what `load_tokenizer(directory)` needs; returns the main file's path."""

  def speaker_id(self, is_agent: bool) -> int:
    """`agent_id` or `customer_id`."""
    return self.agent_id if is_agent else self.customer_id
