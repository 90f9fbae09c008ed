"""A character vocabulary of a corpus's training texts (`data.tokenizer = "char"`), for copying models.

SentencePiece pieces of one span may differ between a dialogue context and its rewrite
("北京" one piece here, "北" + "京" there), so a model that copies prompt tokens cannot
always spell the rewrite from them. A character vocabulary removes that: every Chinese
character is its own token, and ASCII words are spelled character by character.

The vocabulary is a BERT `vocab.txt` read by `jddc.data.tokenizers.BertVocabTokenizer`
(BERT's normalisation: lower-cased, accents stripped, punctuation split off, each CJK
character one word, other words through WordPiece): the special tokens `[PAD]` `[UNK]`
`[CLS]` `[SEP]` `[MASK]` and the slot tokens (`tokenizers.BERT_SLOT_TOKENS`), then the
characters of the normalised training words by frequency (ties by code point), each
non-CJK word character also as its `##` continuation, up to `vocab_size` entries in all.
A character not kept is `[UNK]`, and so is a whole non-CJK word holding one (WordPiece).
"""

from __future__ import annotations

import collections
from typing import Iterable

from jddc.data import tokenizers

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") + tuple(tokenizers.BERT_SLOT_TOKENS)


def character_counts(texts: Iterable[str]) -> collections.Counter:
  """Characters of the texts after BERT's normalisation (`BertVocabTokenizer._words`), counted."""
  normaliser = tokenizers.BertVocabTokenizer(list(SPECIAL))
  counts: collections.Counter = collections.Counter()
  for text in texts:
    for word in normaliser._words(text):  # pylint: disable=protected-access  (the one normalisation rule)
      counts.update(word)
  return counts


def vocabulary(texts: Iterable[str], vocab_size: int) -> list[str]:
  """The vocabulary entries in id order (module docstring).

  Raises:
    ValueError: `vocab_size` leaves no room for a character.
  """
  if vocab_size <= len(SPECIAL):
    raise ValueError(f"data.vocab_size {vocab_size} leaves no room for characters after {len(SPECIAL)} special tokens")
  counts = character_counts(texts)
  entries = list(SPECIAL)
  for char, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    pieces = [char] + ([f"##{char}"] if tokenizers._is_word_char(char) else [])  # pylint: disable=protected-access
    if len(entries) + len(pieces) > vocab_size:
      break
    entries.extend(p for p in pieces if p not in SPECIAL)
  return entries


def build_char_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str) -> tokenizers.BertVocabTokenizer:
  """Writes `out_dir/vocab.txt` (lower-casing, `bert_tokenizer.json`) of `vocabulary(texts, vocab_size)`."""
  entries = vocabulary(texts, vocab_size)
  tok = tokenizers.BertVocabTokenizer(entries, lowercase=True)
  tok.save(out_dir)
  return tok
