"""The word-level tokenizer: Deep Sequential's tokenisation and vocabulary rule, save/load, and
`data.tokenizer = "word"` on the real STAC corpus with the GloVe package's words."""

import os
import pickle

import pytest

from configs import common
from jddc import configuration
from jddc.data import glove, tokenizers, word_tokenizer
from jddc.data.word_tokenizer import RESERVED, build_word_tokenizer, tokenize, vocabulary
from jddc.tasks import base

from tests.conftest import shared_path

# STAC-like lines and the tokens shizhouxing/DialogueDiscourseParsing's `utils.load_data` makes of them
# (worked by hand from its code: links, removed characters, split marks, repeats, case, numbers).
TOKENISED = [
    ("Anyone want to trade SHEEP for wheat???", ["anyone", "want", "to", "trade", "sheep", "for", "wheat", "?"]),
    ("i can give 2 ore... or 10", ["i", "can", "give", "[num]", "ore", ".", "or", "[num]"]),
    ("no!! ! ok :)", ["no", "!", "ok", ":", ")"]),  # "!!", then " !" again: one "!"
    ("see http://www.settlers.com/rules now", ["see", "[url]", "now"]),
    ("rules:https://x.y", ["rules", ":", "[url]"]),  # "http" inside a word starts the link
    ("I'm 3rd, you're 1st", ["i", "'", "m", "[num]", ",", "you", "'", "re", "[num]"]),
    ("a/b*c>d<e$f|g=h@i ^_^", ["abcdefghi", "^_^"]),  # the caret stays: re.sub("^", "") removes nothing
    ('"Really?" (yes)', ['"', "really", "?", '"', "(", "yes", ")"]),
    ("wood4sheep? 4wood", ["wood4sheep", "?", "[num]"]),  # only a token that starts with a digit
    ("[IMG] hi [USER]", ["[IMG]", "hi", "[USER]"]),  # our special tokens stay one token
    ("  Spaces\tand\nlines  ", ["spaces", "and", "lines"]),
]


@pytest.mark.parametrize("text,tokens", TOKENISED, ids=[t for t, _ in TOKENISED])
def test_tokenisation_of_stac_like_lines(text, tokens):
  assert tokenize(text) == tokens


def test_vocabulary_keeps_the_frequent_words_and_the_rarer_ones_with_vectors():
  texts = ["the sheep the sheep the", "wood wood ore", "brick xyzzy"]
  # frequencies: the 3, sheep 2, wood 2, ore 1, brick 1, xyzzy 1 (ties in order of first appearance)
  assert vocabulary(texts, vocab_size=6) == ["the", "sheep", "wood", "ore", "brick", "xyzzy"]
  assert vocabulary(texts, vocab_size=2) == ["the", "sheep"]
  assert vocabulary(texts, vocab_size=2, pretrained={"ore", "xyzzy", "catan"}) == ["the", "sheep", "ore", "xyzzy"]
  assert vocabulary(["[SEP] the [IMG]"], vocab_size=5) == ["the"]  # reserved tokens are not words
  with pytest.raises(ValueError, match="vocab_size must be at least 1"):
    vocabulary(texts, vocab_size=0)


def test_ids_save_and_load(tmp_path):
  tok = build_word_tokenizer(["Trade sheep for wood?", "sheep!!"], vocab_size=10, out_dir=tmp_path / "t")
  assert tok.words[:len(RESERVED)] == list(RESERVED) and tok.vocab_size == len(RESERVED) + 6
  assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
  sp_layout = (tok.image_id, tok.customer_id, tok.agent_id, tok.sep_id, tok.cls_id)
  assert sp_layout == (4, 5, 6, 7, 8)  # as the SentencePiece tokenizer lays them out
  ids = tok.encode("SHEEP for brick [SEP]")
  assert ids == [tok.piece_to_id("sheep"), tok.piece_to_id("for"), tok.unk_id, tok.sep_id]
  assert tok.decode([tok.bos_id] + ids + [tok.eos_id, tok.pad_id]) == "sheep for <unk> [SEP]"
  for loaded in (tokenizers.load_tokenizer(tmp_path / "t"), tokenizers.load_tokenizer(tmp_path / "t" / "words.txt"),
                 pickle.loads(pickle.dumps(tok))):
    assert isinstance(loaded, word_tokenizer.WordTokenizer) and loaded.words == tok.words
    assert loaded.encode("sheep for brick [SEP]") == ids
  with open(tmp_path / "t" / "spm.model", "wb"):
    pass
  with pytest.raises(ValueError, match="holds spm.model and words.txt; name the file"):
    tokenizers.load_tokenizer(tmp_path / "t")


def test_a_damaged_words_file_is_named(tmp_path):
  path = tmp_path / "words.txt"
  path.write_text("<pad>\n<unk>\n", encoding="utf-8")
  with pytest.raises(ValueError, match=f"{path}: a word vocabulary must start with the"):
    tokenizers.load_tokenizer(str(path))
  path.write_text("".join(w + "\n" for w in RESERVED + ("sheep", "sheep")), encoding="utf-8")
  with pytest.raises(ValueError, match=f"entry {len(RESERVED) + 1} \\('sheep'\\) repeats entry {len(RESERVED)}"):
    tokenizers.load_tokenizer(str(path))


def _stac_config(tmp_path, **data):
  config = configuration.load_config("configs/discourse_stac.py:tiny")
  with config.unlocked():
    config.data.corpus_path = shared_path("stac")
    config.data.cache_dir = str(tmp_path / "cache")
    config.data.tokenizer = "word"
    config.data.vocab_size = 998  # the original's --vocab_size=1000 (module docstring of word_tokenizer)
    config.model.embed_dim = 50  # the package's GloVe width (rule _word_vectors_fit_embedding)
    config.data.update(data)
  configuration.validate(config, common.reference(config))
  return config


def test_word_tokenizer_on_stac_keeps_every_training_word_glove_covers(tmp_path, capsys):
  config = _stac_config(tmp_path)
  tok = base.tokenizer(config)
  assert isinstance(tok, word_tokenizer.WordTokenizer)
  words = tok.words[len(RESERVED):]
  known = glove.load_vocabulary()
  assert "[num]" in words[:998] and all(w in known for w in words[998:])  # beyond the top: GloVe words only
  vectors = glove.load_word_vectors()
  _, covered = glove.embedding_matrix(tok.words, vectors, vectors.dim)
  top_covered = sum(w in known for w in words[:998])
  with capsys.disabled():
    print(f"\nSTAC word vocabulary: {len(words)} words ({len(words) - 998} beyond the top 998), "
          f"{covered} with a GloVe vector ({top_covered} of the top 998)")
  assert covered == top_covered + len(words) - 998 and len(words) > 998
  entry = [e for e in os.listdir(os.path.join(config.data.cache_dir, "tokenizers")) if e.endswith("-word998")]
  assert len(entry) == 1 and base.tokenizer(config).words == tok.words  # cached, read back
  without = _stac_config(tmp_path, word_vectors="")
  assert base.tokenizer_key(without) != base.tokenizer_key(config)  # the word-vector source is in the key
  assert base.tokenizer(without).words[len(RESERVED):] == words[:998]


def test_word_vectors_that_do_not_exist_are_refused_at_start_up(tmp_path):
  config = _stac_config(tmp_path)
  with config.unlocked():
    config.data.word_vectors = "/nonexistent/glove.6B.100d.txt"
  with pytest.raises(configuration.ConfigError, match="data.word_vectors: '/nonexistent/glove.6B.100d.txt' "
                                                      "does not exist"):
    configuration.validate(config, common.reference(config))
