"""What every corpus reader shares: the `Reader` record, split carving, field checks, texts.

The interface itself is documented in `jddc/data/corpora/__init__.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
from typing import Callable, Iterable, Iterator, Optional

from jddc.data import schema
from jddc.data.errors import DataError, ErrorPolicy
from jddc.data.examples import AGENT, CUSTOMER  # noqa: F401  (re-exported for readers)

SPLITS = schema.SPLITS  # ("train", "valid", "test")
ALL = "all"  # every example of the folder, whatever its split (for direct reader calls only)
NO_SHOP_TYPE = ""  # the value of `shop_type` for corpora without shop types

#: The text fields of every example type, in the order `example_texts` yields them.
TEXT_FIELDS = ("context_texts", "query_texts", "texts", "edu_texts", "response", "rewrite", "summary")

ExamplesFn = Callable[[str, str, str, ErrorPolicy], Iterator[dict]]


@dataclasses.dataclass(frozen=True)
class Reader:
  """One corpus format: which example types it gives, from which files, and how.

  Attributes:
    name: the registry key and `config.data.corpus` value, e.g. "csds".
    kinds: the example types (`jddc.data.examples.EXAMPLE_TYPES`) it produces.
    files: corpus folder -> the files it reads, in a fixed order (their bytes fingerprint the
      shards); raises `DataError(path, None, ..., "missing_file")` when the folder lacks them.
    examples: (folder, kind, split, policy) -> example dicts with exactly the keys of
      `jddc.data.tfds_builder.FEATURES[kind]`; `split` is one of `SPLITS` or `ALL`.
    texts: optional (folder, policy) -> the train split's texts for tokenizer training;
      None means `example_texts` over every train example of every kind.
    description: one line for the TFDS dataset info.
    relation_names: for discourse corpora, the names of the `link_relations` ids (id = position);
      empty means JDDC 2.1's (`schema.RELATION_NAMES`).
  """
  name: str
  kinds: tuple[str, ...]
  files: Callable[[str], list[str]]
  examples: ExamplesFn
  texts: Optional[Callable[[str, ErrorPolicy], Iterator[str]]] = None
  description: str = ""
  relation_names: tuple[str, ...] = ()

  def check_kind(self, kind: str) -> None:
    if kind not in self.kinds:
      raise ValueError(f"corpus {self.name!r} has no {kind!r} examples; it has: {', '.join(self.kinds)}")

  def training_texts(self, root: str, policy: ErrorPolicy) -> Iterator[str]:
    """Non-empty train-split texts for tokenizer training."""
    if self.texts is not None:
      yield from (t for t in self.texts(root, policy) if t)
      return
    for kind in self.kinds:
      for example in self.examples(root, kind, "train", policy):
        yield from example_texts(example)

  def fingerprint(self, root: str) -> str:
    """A short hash of the corpus files' names and bytes and of the reader's code.

    The code is hashed too, so a changed reader gets fresh shards instead of stale ones.
    """
    digest = hashlib.sha256(self.name.encode())
    modules = [inspect.getmodule(Reader), inspect.getmodule(self.examples)]
    for k, module in enumerate(modules):
      if module is not None and module not in modules[:k] and getattr(module, "__file__", None):
        with open(module.__file__, "rb") as f:
          digest.update(f.read())
    for path in self.files(root):
      digest.update(os.path.relpath(path, root).encode())
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
          digest.update(block)
    return digest.hexdigest()[:12]


def example_texts(example: dict) -> Iterator[str]:
  """The non-empty texts of an example (messages, EDUs, response, rewrite, summary)."""
  for field in TEXT_FIELDS:
    value = example.get(field)
    if isinstance(value, str):
      if value:
        yield value
    elif value:
      yield from (t for t in value if t)


def check_split(split: str) -> None:
  if split not in SPLITS and split != ALL:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS + (ALL,)}")


def hashed_split(key: str, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
  """A split for `key` drawn from a hash of it: stable under reordering and additions.

  The first 8 bytes of sha256(key) as a fraction u in [0, 1): u < test_fraction -> "test",
  u < test_fraction + valid_fraction -> "valid", else "train".
  """
  u = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0**64
  if u < test_fraction:
    return "test"
  if u < test_fraction + valid_fraction:
    return "valid"
  return "train"


def in_split(item_split: str, split: str) -> bool:
  return split == ALL or item_split == split


def find_file(root: str, names: Iterable[str]) -> Optional[str]:
  """The first of `names` that is a file under `root`, or None."""
  for name in names:
    path = os.path.join(root, name)
    if os.path.isfile(path):
      return path
  return None


def require_dir(root: str) -> None:
  if not os.path.isdir(root):
    raise DataError(root, None, "corpus folder not found", "missing_file")


def dialogue(texts: list[str], speakers: list[int], prefix: str = "") -> dict:
  """Parallel text-only dialogue lists ({prefix}texts, {prefix}images, {prefix}speakers)."""
  return {f"{prefix}texts": list(texts), f"{prefix}images": [""] * len(texts), f"{prefix}speakers": list(speakers)}


def feature_keys(kind: str) -> set[str]:
  from jddc.data import tfds_builder  # imports TFDS; only needed for checks
  return set(tfds_builder.FEATURES[kind]())


def check_example(kind: str, example: dict, keys: Optional[set[str]] = None) -> None:
  """Raises ValueError unless `example` has exactly the feature keys of `kind`."""
  keys = feature_keys(kind) if keys is None else keys
  if set(example) != keys:
    missing, extra = sorted(keys - set(example)), sorted(set(example) - keys)
    raise ValueError(f"{kind} example {example.get('session_id')!r}: missing fields {missing}, extra {extra}")
