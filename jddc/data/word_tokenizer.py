"""A word-level tokenizer with the tokenisation and vocabulary rule of Deep Sequential.

Shi & Huang (2019), shizhouxing/DialogueDiscourseParsing, `utils.load_data` and
`utils.build_vocab`, applied to one text:

  1. every word holding "http" (from there to the next space) becomes ` [url] `;
  2. the characters `/ * > < $ | = @` are removed (the original's list also names `^`, but
     as the regular expression "^" its substitution removes nothing: a caret is kept);
  3. the text is split at the characters `' , ? . ! ( ) " :` and space; those marks are
     tokens themselves, spaces are not, and a mark equal to the token before it is dropped
     (`"?!!"` -> `?`, `!`; `"? ?"` -> `?`);
  4. tokens are lower-cased, and a token that starts with an ASCII digit is `[num]`.

Two differences, neither met on STAC (ASCII text without tabs or newlines): any whitespace
separates tokens (the original splits only at a space), and the special tokens of
`tokenizers.SPECIAL_TOKENS` (`[IMG]`, `[USER]`, ...) written in a text stay one id each, as
they do for the SentencePiece tokenizer.

Vocabulary (`build_word_tokenizer`): the training tokens by decreasing frequency (ties in
order of first appearance); the first `vocab_size` are kept, and of the rest every word
that has a pretrained vector. The original's `--vocab_size=1000` counts its three entries
UNK, PAD, EOS and keeps index 1000 too (`i > vocab_size`): 998 words, `vocab_size=998` here.

Ids: pad 0 (`<pad>`), unk 1 (`<unk>`), bos 2 (`<s>`), eos 3 (`</s>`), `SPECIAL_TOKENS` from
4 (`[IMG]` 4, `[USER]` 5, `[AGENT]` 6, `[SEP]` 7, `[CLS]` 8, masks after), as the
SentencePiece tokenizer lays them out; then the words. `save` writes `words.txt`, one
entry a line in id order (the reserved ones included); `load_tokenizer` reads it.

`decode` joins tokens with spaces: case, numbers (`[num]`), links (`[url]`), the removed
characters, repeated marks and unknown words (`<unk>`) do not come back.
"""

from __future__ import annotations

import collections
import os
import re
from typing import Collection, Iterable, Optional, Sequence

from jddc import fsutil
from jddc.data import tokenizer_base as tokenizers

WORDS_FILE = "words.txt"
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
RESERVED = (PAD, UNK, BOS, EOS) + tokenizers.SPECIAL_TOKENS
URL_TOKEN = "[url]"
NUMBER_TOKEN = "[num]"

_REMOVED = re.compile(r"[/*><$|=@]")
_MARKS = "',?.!()\":"
_SPLIT = re.compile("([" + re.escape(_MARKS) + r"]|\s+)")
_SPECIAL = re.compile("(" + "|".join(re.escape(t) for t in sorted(tokenizers.SPECIAL_TOKENS, key=len, reverse=True))
                      + ")")


def _replace_links(text: str) -> str:
  """Each "http..." up to the next space (that space included) -> " [url] ", as the original."""
  while (start := text.find("http")) >= 0:
    end = text.find(" ", start)
    text = text[:start] + f" {URL_TOKEN} " + (text[end + 1:] if end >= 0 else "")
  return text


def word_tokens(text: str) -> list[str]:
  """The original's tokens of one text without special tokens (module docstring, steps 1-4)."""
  text = _REMOVED.sub("", _replace_links(text))
  tokens: list[str] = []
  for piece in _SPLIT.split(text):
    if not piece or piece.isspace():
      continue
    if piece in _MARKS and tokens and tokens[-1] == piece:
      continue
    tokens.append(piece)
  return [NUMBER_TOKEN if re.match(r"[0-9]", t) else t.lower() for t in tokens]


def tokenize(text: str) -> list[str]:
  """Tokens of `text`: special tokens as written, the rest as `word_tokens`."""
  out: list[str] = []
  for i, part in enumerate(_SPECIAL.split(text)):
    if i % 2:
      out.append(part)
    elif part:
      out.extend(word_tokens(part))
  return out


class WordTokenizer(tokenizers.Tokenizer):
  """Words <-> ids over a fixed vocabulary (module docstring). Picklable."""

  def __init__(self, words: Sequence[str]):
    """`words`: every entry in id order, starting with `RESERVED` (as `words.txt` holds them)."""
    entries = list(words)
    if tuple(entries[:len(RESERVED)]) != RESERVED:
      raise ValueError(f"a word vocabulary must start with the {len(RESERVED)} reserved entries {RESERVED[:6]}...; "
                       f"got {entries[:6]}...")
    index: dict[str, int] = {}
    for i, word in enumerate(entries):
      if not word or any(c.isspace() for c in word):
        raise ValueError(f"vocabulary entry {i} ({word!r}) is empty or holds whitespace")
      if index.setdefault(word, i) != i:
        raise ValueError(f"vocabulary entry {i} ({word!r}) repeats entry {index[word]}")
    self._words = entries
    self._index = index
    self.pad_id, self.unk_id, self.bos_id, self.eos_id = (index[t] for t in (PAD, UNK, BOS, EOS))
    self.sep_id = index[tokenizers.SEP_TOKEN]
    self.cls_id = index[tokenizers.CLS_TOKEN]
    self.image_id = index[tokenizers.IMAGE_TOKEN]
    self.customer_id = index[tokenizers.CUSTOMER_TOKEN]
    self.agent_id = index[tokenizers.AGENT_TOKEN]

  @classmethod
  def from_file(cls, path: str | os.PathLike) -> WordTokenizer:
    """Reads `words.txt` (one entry a line, id order); a bad file raises naming it."""
    with open(path, encoding="utf-8", newline="") as f:
      lines = f.read().split("\n")
    if lines and not lines[-1]:
      lines.pop()
    try:
      return cls(lines)
    except ValueError as e:
      raise ValueError(f"{os.fspath(path)}: {e}") from e

  @property
  def words(self) -> list[str]:
    """Every entry in id order (V entries: the reserved ones, then the words)."""
    return list(self._words)

  @property
  def vocab_size(self) -> int:
    return len(self._words)

  def tokenize(self, text: str) -> list[str]:
    return tokenize(text)

  def encode(self, text: str) -> list[int]:
    return [self._index.get(t, self.unk_id) for t in tokenize(text)]

  def decode(self, ids: Sequence[int]) -> str:
    skip = (self.pad_id, self.bos_id, self.eos_id)
    return " ".join(self.id_to_piece(i) for i in ids if int(i) not in skip)

  def id_to_piece(self, token_id: int) -> str:
    token_id = int(token_id)
    if not 0 <= token_id < len(self._words):
      raise IndexError(f"id {token_id} is outside the vocabulary of {len(self._words)}")
    return self._words[token_id]

  def piece_to_id(self, piece: str) -> int:
    return self._index.get(piece, self.unk_id)

  def save(self, directory: str | os.PathLike) -> str:
    path = os.path.join(directory, WORDS_FILE)
    fsutil.atomic_write_text(path, "".join(w + "\n" for w in self._words))
    return path

  def __getstate__(self):
    return {"words": self._words}

  def __setstate__(self, state):
    self.__init__(state["words"])


def vocabulary(texts: Iterable[str], vocab_size: int,
               pretrained: Optional[Collection[str]] = None) -> list[str]:
  """The words kept from training texts (module docstring), most frequent first.

  Args:
    texts: the training texts.
    vocab_size: how many of the most frequent words are kept whatever their vectors.
    pretrained: the words that have a pretrained vector; each rarer word in it is kept too.
      None: only the `vocab_size` most frequent.

  Returns:
    The kept words (no reserved entries), by decreasing frequency.
  """
  if vocab_size < 1:
    raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
  counts: collections.Counter = collections.Counter()
  for text in texts:
    counts.update(t for t in tokenize(text) if t not in RESERVED)
  ranked = sorted(counts, key=counts.__getitem__, reverse=True)  # stable: first appearance breaks ties
  pretrained = pretrained if pretrained is not None else ()
  return [w for rank, w in enumerate(ranked) if rank < vocab_size or w in pretrained]


def build_word_tokenizer(texts: Iterable[str], vocab_size: int, pretrained: Optional[Collection[str]] = None,
                         out_dir: Optional[str | os.PathLike] = None) -> WordTokenizer:
  """A `WordTokenizer` over `vocabulary(texts, vocab_size, pretrained)`, saved to `out_dir` if given."""
  tokenizer = WordTokenizer(RESERVED + tuple(vocabulary(texts, vocab_size, pretrained)))
  if out_dir is not None:
    os.makedirs(out_dir, exist_ok=True)
    tokenizer.save(out_dir)
  return tokenizer
