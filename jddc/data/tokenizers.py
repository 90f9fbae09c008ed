"""One interface over the project's two tokenizers: a trained SentencePiece model and a BERT vocab.

`SentencePieceTokenizer` is trained on the training split by `train_sentencepiece`
(byte fallback, identity normalisation, digits split, the special tokens of
`SPECIAL_TOKENS` as single pieces). Its round trip is exact: `decode(encode(t)) == t`
for any text, with one exception: U+2581 (`▁`, SentencePiece's whitespace mark) in the
input comes back as a space.

`BertVocabTokenizer` reads the `vocab.txt` of the Chinese BERT checkpoints
(bert-base-chinese, uer/gpt2-chinese; 21,128 entries) and tokenizes exactly as
`transformers.BertTokenizer` does, in plain Python. Its round trip is lossy; see the
class docstring for what is lost.

Both expose the same ids: `pad_id`, `unk_id`, `bos_id`, `eos_id`, `sep_id`, `cls_id`,
`image_id` (the `[IMG]` placeholder where an image embedding goes), `customer_id`
(`[USER]`) and `agent_id` (`[AGENT]`). `encode` adds no bos/eos; `decode` drops pad, bos
and eos ids. `save(directory)` writes a folder that `load_tokenizer` restores.
"""

from __future__ import annotations

import io
import json
import os
import re
import unicodedata
from typing import Iterable, Optional, Sequence

import sentencepiece as spm

from jddc import fsutil
from jddc.data import word_tokenizer
from jddc.data.tokenizer_base import (  # noqa: F401  (re-exported: the names every caller uses)
    AGENT_TOKEN, CLS_TOKEN, CUSTOMER_TOKEN, IMAGE_TOKEN, MASK_PLACEHOLDERS, SEP_TOKEN, SPECIAL_TOKENS, Tokenizer)

SP_MODEL_FILE = "spm.model"
BERT_VOCAB_FILE = "vocab.txt"
BERT_OPTIONS_FILE = "bert_tokenizer.json"
SP_MODEL_TYPES = ("unigram", "bpe", "char")


# ------------------------------------------------------------------------------------
# SentencePiece
# ------------------------------------------------------------------------------------


class SentencePieceTokenizer(Tokenizer):
  """A SentencePiece model trained by `train_sentencepiece`.

  Ids: pad 0, unk 1, bos 2 (`<s>`), eos 3 (`</s>`), then `SPECIAL_TOKENS` from 4
  (`[IMG]` 4, `[USER]` 5, `[AGENT]` 6, `[SEP]` 7, `[CLS]` 8, masks after), then the 256
  byte pieces, then the learned pieces. `sep_id`/`cls_id` are the `[SEP]`/`[CLS]`
  pieces, distinct from eos/bos. Picklable (for data-loader workers).
  """

  def __init__(self, model_proto: bytes):
    """Loads a serialized model; it must contain every entry of `SPECIAL_TOKENS`."""
    self._proto = bytes(model_proto)
    self._sp = spm.SentencePieceProcessor(model_proto=self._proto)
    self.pad_id = self._sp.pad_id()
    self.unk_id = self._sp.unk_id()
    self.bos_id = self._sp.bos_id()
    self.eos_id = self._sp.eos_id()
    missing = [t for t in SPECIAL_TOKENS if self._sp.id_to_piece(self._sp.piece_to_id(t)) != t]
    if missing or min(self.pad_id, self.bos_id, self.eos_id) < 0:
      raise ValueError(f"not a jddc SentencePiece model: missing pad/bos/eos or {missing}")
    self.sep_id = self._sp.piece_to_id(SEP_TOKEN)
    self.cls_id = self._sp.piece_to_id(CLS_TOKEN)
    self.image_id = self._sp.piece_to_id(IMAGE_TOKEN)
    self.customer_id = self._sp.piece_to_id(CUSTOMER_TOKEN)
    self.agent_id = self._sp.piece_to_id(AGENT_TOKEN)

  @classmethod
  def from_file(cls, path: str | os.PathLike) -> SentencePieceTokenizer:
    with open(path, "rb") as f:
      return cls(f.read())

  @property
  def model_proto(self) -> bytes:
    return self._proto

  @property
  def vocab_size(self) -> int:
    return self._sp.get_piece_size()

  def encode(self, text: str) -> list[int]:
    return self._sp.encode(text, out_type=int)

  def decode(self, ids: Sequence[int]) -> str:
    return self._sp.decode([int(i) for i in ids])

  def id_to_piece(self, token_id: int) -> str:
    return self._sp.id_to_piece(int(token_id))

  def piece_to_id(self, piece: str) -> int:
    return self._sp.piece_to_id(piece)

  def save(self, directory: str | os.PathLike) -> str:
    path = os.path.join(directory, SP_MODEL_FILE)
    fsutil.atomic_write_bytes(path, self._proto)
    return path

  def __getstate__(self):
    return {"model_proto": self._proto}

  def __setstate__(self, state):
    self.__init__(state["model_proto"])


def train_sentencepiece(
    texts: Iterable[str],
    out_dir: str | os.PathLike,
    vocab_size: int,
    model_type: str = "unigram",
    seed: int = 0,
    character_coverage: float = 0.9995,
    input_sentence_size: int = 0,
    num_threads: int = 1,
) -> SentencePieceTokenizer:
  """Trains a SentencePiece model in-process and writes it to `out_dir/spm.model`.

  `vocab_size` is an upper bound (`hard_vocab_limit=False`): a corpus too small to
  support it yields a smaller vocabulary; read the result's `vocab_size`. It must
  exceed the 4 + len(SPECIAL_TOKENS) + 256 reserved pieces.

  The same texts and arguments give the same model bytes. The unigram model depends on
  `num_threads` (float sums in a different order), hence 1 by default.

  Args:
    texts: training sentences, e.g. one message each.
    out_dir: folder for `spm.model` (created if needed).
    vocab_size: the most pieces the model may have.
    model_type: one of `SP_MODEL_TYPES`.
    seed: seeds SentencePiece's generator, used when sampling `input_sentence_size`.
    character_coverage: share of characters that get their own piece; the rest are
      spelled in byte pieces.
    input_sentence_size: train on a random sample of this many sentences (0: all).
    num_threads: trainer threads.

  Returns:
    The trained tokenizer.
  """
  if model_type not in SP_MODEL_TYPES:
    raise ValueError(f"model_type must be one of {SP_MODEL_TYPES}, got {model_type!r}")
  reserved = 4 + len(SPECIAL_TOKENS) + 256
  if vocab_size <= reserved:
    raise ValueError(f"vocab_size must exceed the {reserved} reserved pieces, got {vocab_size}")
  spm.set_random_generator_seed(seed)
  writer = io.BytesIO()
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(texts),
      model_writer=writer,
      model_type=model_type,
      vocab_size=vocab_size,
      hard_vocab_limit=False,
      character_coverage=character_coverage,
      byte_fallback=True,
      normalization_rule_name="identity",
      add_dummy_prefix=False,
      remove_extra_whitespaces=False,
      split_digits=True,
      user_defined_symbols=list(SPECIAL_TOKENS),
      pad_id=0,
      unk_id=1,
      bos_id=2,
      eos_id=3,
      input_sentence_size=input_sentence_size,
      shuffle_input_sentence=True,
      num_threads=num_threads,
      minloglevel=2,
  )
  tokenizer = SentencePieceTokenizer(writer.getvalue())
  tokenizer.save(out_dir)
  return tokenizer


# ------------------------------------------------------------------------------------
# BERT vocab
# ------------------------------------------------------------------------------------

BERT_LEADING_ENTRIES = (
    ("[PAD]",) + tuple(f"[unused{i}]" for i in range(1, 100)) + ("[UNK]", "[CLS]", "[SEP]", "[MASK]"))

# Tokens with no entry of their own in the Chinese BERT vocabs take reserved slots:
# [IMG] -> [unused1], [USER] -> [unused2], [AGENT] -> [unused3], then MASK_PLACEHOLDERS
# in order from [unused4] ([数字x] -> [unused4], [订单x] -> [unused5], ...).
BERT_SLOT_TOKENS = (IMAGE_TOKEN, CUSTOMER_TOKEN, AGENT_TOKEN) + MASK_PLACEHOLDERS
BERT_SLOTS = {token: f"[unused{i}]" for i, token in enumerate(BERT_SLOT_TOKENS, start=1)}

_MAX_WORD_CHARS = 100
# As the tokenizers library (transformers): Extension E from U+2B920, not Google BERT's U+2B820.
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def _is_cjk(c: str) -> bool:
  cp = ord(c)
  return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(c: str) -> bool:
  cp = ord(c)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(c).startswith("P")


def _is_removed(c: str) -> bool:
  return c in "\0\ufffd" or (c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs"))


def _is_word_char(c: str) -> bool:
  return c.isalnum() and not _is_cjk(c)


class BertVocabTokenizer(Tokenizer):
  """Character-level tokenizer over a BERT `vocab.txt`, equal to `transformers.BertTokenizer`.

  Text is split first on special tokens written in it, which stay one id: `[PAD]`,
  `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`, `[IMG]`, `[USER]`, `[AGENT]` and
  `MASK_PLACEHOLDERS` (the last two groups through `BERT_SLOTS` when the vocab has no
  entry of their own). The rest, as BERT: control characters dropped, whitespace
  folded, each CJK character its own word, accents stripped and lowercased (when
  `lowercase`), punctuation split off, each word through WordPiece (greedy longest
  match first, `##` continuations; a word with no full match is one `[UNK]`).

  Ids equal `transformers.BertTokenizer(vocab=path).encode(text, add_special_tokens=False)`
  on text without slot tokens, except for characters whose Unicode category differs
  between Python's `unicodedata` and the older tables of the tokenizers library (a few
  scripts and symbols added after Unicode 9).

  `bos_id` = `cls_id` = `[CLS]`, `eos_id` = `sep_id` = `[SEP]`. `id_to_piece` gives the
  special token for a reserved slot (`id_to_piece(1) == "[IMG]"`).

  What `decode(encode(t))` loses:
    - case and accents (`lowercase`): `"iPhone Café"` -> `"iphone cafe"`; NFD also maps
      CJK compatibility ideographs to their unified forms and splits Hangul into jamo;
    - whitespace: a single space is kept only between two alphanumeric non-CJK pieces
      (`"ok thanks"`), all other whitespace (runs, tabs, newlines, spaces beside CJK or
      punctuation, leading/trailing) is lost: `"好的 , 谢谢\n"` -> `"好的,谢谢"`;
    - control, format, private-use and surrogate characters (Cc, Cf, Co, Cs: e.g. the
      zero-width joiner inside emoji sequences, BOM), NUL and U+FFFD are removed;
    - characters out of the vocab become `[UNK]`, and so does a whole non-CJK word
      (letters, digits, emoji... between whitespace, punctuation and CJK) that WordPiece
      cannot spell in full or that is over 100 characters: `"okay😊"` -> `"[UNK]"`;
    - `[PAD]`, `[CLS]` and `[SEP]` written in the text are dropped (pad, bos, eos).
  `[IMG]`, speaker tokens and masking placeholders come back as written.
  """

  def __init__(self, vocab: Sequence[str], lowercase: bool = True):
    """Builds the tokenizer from vocab entries in id order (line i of `vocab.txt` is id i)."""
    self._pieces = list(vocab)
    self._vocab = {piece: i for i, piece in enumerate(self._pieces)}
    self.lowercase = lowercase
    for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
      if token not in self._vocab:
        raise ValueError(f"BERT vocab has no {token}")
    self._special = {t: self._vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    for token in BERT_SLOT_TOKENS:
      piece = token if token in self._vocab else BERT_SLOTS[token]
      if piece not in self._vocab:
        raise ValueError(f"BERT vocab has neither {token} nor its slot {piece}")
      self._special[token] = self._vocab[piece]
    self._id_to_special = {i: t for t, i in self._special.items()}
    self._special_re = re.compile(
        "(" + "|".join(re.escape(t) for t in sorted(self._special, key=len, reverse=True)) + ")")
    self.pad_id = self._special["[PAD]"]
    self.unk_id = self._special["[UNK]"]
    self.cls_id = self.bos_id = self._special["[CLS]"]
    self.sep_id = self.eos_id = self._special["[SEP]"]
    self.image_id = self._special[IMAGE_TOKEN]
    self.customer_id = self._special[CUSTOMER_TOKEN]
    self.agent_id = self._special[AGENT_TOKEN]

  @classmethod
  def from_vocab_file(cls, path: str | os.PathLike, lowercase: bool = True) -> BertVocabTokenizer:
    """Reads `vocab.txt`, one entry a line; trailing whitespace is trimmed as transformers does."""
    with open(path, encoding="utf-8", newline="") as f:
      lines = f.read().split("\n")
    if lines and not lines[-1]:
      lines.pop()
    return cls([line.rstrip() for line in lines], lowercase=lowercase)

  @property
  def vocab_size(self) -> int:
    return len(self._pieces)

  def encode(self, text: str) -> list[int]:
    ids = []
    for i, part in enumerate(self._special_re.split(text)):
      if i % 2:
        ids.append(self._special[part])
      else:
        for word in self._words(part):
          ids.extend(self._wordpiece(word))
    return ids

  def _words(self, text: str) -> list[str]:
    """BERT's basic tokenizer: cleaned, normalised words and punctuation marks."""
    chars = []
    for c in text:
      if _is_removed(c):
        continue
      if c in "\t\n\r" or c.isspace():
        chars.append(" ")
      elif _is_cjk(c):
        chars.extend((" ", c, " "))
      else:
        chars.append(c)
    text = "".join(chars)
    if self.lowercase:
      text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
      text = "".join(c.lower() for c in text)
    words = []
    for token in text.split():
      start = 0
      for j, c in enumerate(token):
        if _is_punctuation(c):
          if j > start:
            words.append(token[start:j])
          words.append(c)
          start = j + 1
      if start < len(token):
        words.append(token[start:])
    return words

  def _wordpiece(self, word: str) -> list[int]:
    if len(word) > _MAX_WORD_CHARS:
      return [self.unk_id]
    ids = []
    start = 0
    while start < len(word):
      for end in range(len(word), start, -1):
        piece = word[start:end] if start == 0 else "##" + word[start:end]
        if piece in self._vocab:
          ids.append(self._vocab[piece])
          start = end
          break
      else:
        return [self.unk_id]
    return ids

  def decode(self, ids: Sequence[int]) -> str:
    out = []
    previous = ""
    for token_id in ids:
      token_id = int(token_id)
      if token_id in (self.pad_id, self.bos_id, self.eos_id):
        continue
      piece = self.id_to_piece(token_id)
      if piece.startswith("##") and len(piece) > 2:
        piece = piece[2:]
      elif previous and piece and _is_word_char(previous[-1]) and _is_word_char(piece[0]):
        piece = " " + piece
      out.append(piece)
      previous = piece or previous
    return "".join(out)

  def id_to_piece(self, token_id: int) -> str:
    token_id = int(token_id)
    if not 0 <= token_id < len(self._pieces):
      raise IndexError(f"id {token_id} is outside the vocab of {len(self._pieces)}")
    return self._id_to_special.get(token_id, self._pieces[token_id])

  def piece_to_id(self, piece: str) -> int:
    return self._special.get(piece, self._vocab.get(piece, self.unk_id))

  def save(self, directory: str | os.PathLike) -> str:
    path = os.path.join(directory, BERT_VOCAB_FILE)
    fsutil.atomic_write_text(path, "".join(p + "\n" for p in self._pieces))
    fsutil.atomic_write_text(os.path.join(directory, BERT_OPTIONS_FILE), json.dumps({"lowercase": self.lowercase}))
    return path


def _bert_lowercase(directory: str) -> Optional[bool]:
  """`lowercase` saved beside a vocab: ours, else a transformers checkpoint's `do_lower_case`."""
  for name, key in ((BERT_OPTIONS_FILE, "lowercase"), ("tokenizer_config.json", "do_lower_case")):
    path = os.path.join(directory, name)
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        value = json.load(f).get(key)
      if value is not None:
        return bool(value)
  return None


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
  """Restores a tokenizer from what `save` wrote, or from a model or vocab file.

  Args:
    path: a folder holding `spm.model` (SentencePiece), `vocab.txt` (BERT vocab, with
      `lowercase` from `bert_tokenizer.json` or a transformers `tokenizer_config.json`
      beside it, else True) or `words.txt` (`jddc.data.word_tokenizer`); or the `.model`,
      vocab or `words.txt` file itself.

  Returns:
    A `SentencePieceTokenizer`, a `BertVocabTokenizer` or a `WordTokenizer`.
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    names = (SP_MODEL_FILE, BERT_VOCAB_FILE, word_tokenizer.WORDS_FILE)
    present = [name for name in names if os.path.exists(os.path.join(path, name))]
    if len(present) > 1:
      raise ValueError(f"{path} holds {' and '.join(present)}; name the file")
    if not present:
      raise FileNotFoundError(f"{path} holds none of {', '.join(names)}")
    path = os.path.join(path, present[0])
  if path.endswith(".model"):
    return SentencePieceTokenizer.from_file(path)
  if os.path.basename(path) == word_tokenizer.WORDS_FILE:
    return word_tokenizer.WordTokenizer.from_file(path)
  lowercase = _bert_lowercase(os.path.dirname(path))
  return BertVocabTokenizer.from_vocab_file(path, lowercase=True if lowercase is None else lowercase)
