"""Readers of real public corpora, giving the task examples of a JDDC release.

`READERS` maps a corpus name (the `config.data.corpus` value) to its `Reader`; the corpus
folder (`config.data.corpus_path`, the TFDS manual directory) is read in place, never copied.
"jddc" (the default) is not here: it is the JDDC-layout release of `jddc.data.release`.

The Reader interface (`common.Reader`, a frozen dataclass; a module defines one as `READER`
and this file registers it):

    name: str
        The registry key, e.g. "csds".
    kinds: tuple[str, ...]
        The example types it produces, a subset of `jddc.data.examples.EXAMPLE_TYPES`.
    files(root: str) -> list[str]
        The files of corpus folder `root` it reads, in a fixed order. Their relative paths and
        bytes, with the reader's source code, make `Reader.fingerprint(root)`, which names the
        TFDS shard folder (`jddc.data.corpora.builder`) and the tokenizer cache. Raises
        `DataError(root, None, msg, "missing_file")` if the folder or its files are missing.
    examples(root: str, kind: str, split: str, policy: ErrorPolicy) -> Iterator[dict]
        The `kind` examples of `split`, one of "train", "valid", "test", or "all" (every
        example of the folder; for direct calls, not for shards). Each is a dict with
        exactly the keys of `jddc.data.tfds_builder.FEATURES[kind]` (`common.check_example`);
        what a corpus lacks is empty: images "" (one per message), `shop_type` "",
        `knowledge` []. Speakers are 0 customer / first party, 1 agent / second party
        (`examples.CUSTOMER`, `examples.AGENT`). Keys are unique: `session_id`, plus `index`
        for the types that have one (response, rewrite, image_category). The order is fixed
        (file order). Splits are deterministic: a corpus with fewer than three split files
        carves the missing ones (by a hash of a stable key, `common.hashed_split`, or by
        position) and says how in its module docstring; a user's full copy in the
        original layout (with its own train/valid/test files) is read split by split.
        Raises `ValueError` for a kind it lacks or an unknown split (`Reader.check_kind`,
        `common.check_split`).
        Bad input: `policy.handle(DataError(path, line, msg, reason))`, which raises under
        on_error="raise" and counts and skips the item under "skip" (never drop silently).
    texts(root: str, policy: ErrorPolicy) -> Iterator[str]  (optional)
        The train split's texts for tokenizer training; when None, `Reader.training_texts`
        takes every text field (`common.TEXT_FIELDS`) of every train example of every kind.
        Give it when examples repeat texts (response examples repeat their contexts).
    description: str
        One line for the TFDS dataset info.
    relation_names: tuple[str, ...]  (optional)
        Discourse corpora: the relation name of each `link_relations` id (STAC's and MODDP's
        16 each); empty means JDDC 2.1's 33 (`jddc.data.schema.RELATION_NAMES`).

Adding a corpus: a module `jddc/data/corpora/<name>.py` defining `READER = common.Reader(...)`
and one line in `READERS` below; the builder, the `data` option and the tokenizer then work.
"""

from __future__ import annotations

from jddc.data.corpora import csds, jddc2019, rewrite_corpus
from jddc.data.corpora.common import ALL, SPLITS, Reader, check_example, example_texts  # noqa: F401

READERS: dict[str, Reader] = {
    "csds": csds.READER,
    "rewrite": rewrite_corpus.READER,
    "jddc2019": jddc2019.READER,
}


def get_reader(name: str) -> Reader:
  if name not in READERS:
    raise ValueError(f"unknown corpus {name!r}; known: jddc (a release) and {', '.join(sorted(READERS))}")
  return READERS[name]
