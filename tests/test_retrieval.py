"""Retrieval: the ScaNN index against exact search, save/reload, TransResNet pieces, the index reused by eval."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc import retrieval
from jddc.models import transresnet
from tests import helpers


def _clustered(n, dim, seed, centres=50):
  rng = np.random.default_rng(seed)
  means = rng.normal(size=(centres, dim))
  return (means[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("distance", retrieval.DISTANCES)
def test_exact_index_matches_numpy(distance):
  db, queries = _clustered(500, 16, 0), _clustered(20, 16, 1)
  ids, dist = retrieval.EmbeddingIndex.build(db, distance).search(queries, 5)
  if distance == "squared_l2":
    scores = ((queries[:, None] - db[None]) ** 2).sum(-1)
  else:
    scores = -(queries @ db.T)
  np.testing.assert_array_equal(ids, np.argsort(scores, axis=1, kind="stable")[:, :5])
  expected = np.take_along_axis(scores, ids.astype(np.int64), axis=1)
  np.testing.assert_allclose(dist if distance == "squared_l2" else -dist, expected, rtol=1e-4, atol=1e-3)


def test_tree_index_recall_save_and_fingerprint(tmp_path):
  # Embedding-like data: small clusters, queries near stored items (recall 0.998-1.0 over builds;
  # with 80-point clusters of equidistant neighbours it varied 0.89-0.97 between k-means runs).
  db = _clustered(4000, 32, 2, centres=200)
  rng = np.random.default_rng(3)
  queries = db[rng.integers(0, len(db), 200)] + 0.1 * rng.normal(size=(200, 32)).astype(np.float32)
  exact = retrieval.EmbeddingIndex.build(db, exact=True).search(queries, 10)[0]
  index = retrieval.EmbeddingIndex.build(db, exact=False)
  ids = index.search(queries, 10)[0]
  recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact)])
  assert recall >= 0.97
  index.save(str(tmp_path / "ix"), "weights-a")
  assert retrieval.EmbeddingIndex.load(str(tmp_path / "ix"), "weights-b") is None  # stale: rebuilt by the caller
  np.testing.assert_array_equal(retrieval.EmbeddingIndex.load(str(tmp_path / "ix"), "weights-a").search(queries, 10)[0],
                                ids)
  assert retrieval.EmbeddingIndex.load(str(tmp_path / "missing"), "weights-a") is None


def test_index_rejects_bad_vectors():
  with pytest.raises(ValueError, match="NaN"):
    retrieval.EmbeddingIndex.build(np.array([[0.0, np.nan]], np.float32))
  with pytest.raises(ValueError, match="dimension 2"):
    retrieval.EmbeddingIndex.build(np.ones((3, 2), np.float32)).search(np.ones((1, 3), np.float32), 1)


def _model(image_dim=0):
  config = transresnet.TransResNetConfig(vocab_size=50, n_positions=16, d_model=16, n_layer=1, n_head=2, d_ff=32,
                                         hidden_dim=8, image_feature_dim=image_dim)
  return transresnet.TransResNet(config, rngs=nnx.Rngs(0))


def test_padding_and_missing_images_do_not_change_vectors():
  model = _model(image_dim=6)
  tokens = jnp.asarray([[3, 4, 5, 0, 0, 0]], jnp.int32)
  mask = (tokens != 0).astype(jnp.int32)
  short = model.encode_responses(tokens[:, :3], mask[:, :3])
  np.testing.assert_allclose(model.encode_responses(tokens, mask), short, atol=1e-5)
  features = jax.random.normal(jax.random.key(1), (1, 6))
  without = model.encode_dialogue(tokens, mask, features[:, None], jnp.asarray([[False]]))
  np.testing.assert_allclose(without, model.context_encoder(tokens, mask), atol=1e-6)
  with_image = model.encode_dialogue(tokens, mask, features[:, None], jnp.asarray([[True]]))
  assert not np.allclose(with_image, without)


def test_in_batch_loss_is_cross_entropy_on_the_diagonal():
  d = jax.random.normal(jax.random.key(0), (4, 8))
  r = jax.random.normal(jax.random.key(1), (4, 8))
  loss, correct = transresnet.in_batch_loss(d, r)
  scores = np.asarray(d) @ np.asarray(r).T
  expected = -np.log(np.exp(np.diag(scores)) / np.exp(scores).sum(1))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)
  np.testing.assert_array_equal(correct, scores.argmax(1) == np.arange(4))



def test_bert_embedder_indexes_hf_mean_embeddings(tiny_release, tmp_path):
  """The paper's first stage: a pretrained BERT's masked-mean embeddings (here a tiny random HF BertModel)."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  from jddc import configuration, train
  from jddc.data import release

  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  folder = tmp_path / "bert"
  folder.mkdir()
  r = release.read_release(tiny_release, check_images=False)
  chars = sorted({c for s in r.sessions.values() for m in s.messages if m.text for c in m.text.lower()})
  entries = helpers.write_test_vocab(folder / "vocab.txt", chars)
  torch.manual_seed(0)
  hf = transformers.BertModel(transformers.BertConfig(vocab_size=len(entries), hidden_size=32, num_hidden_layers=1,
                                                      num_attention_heads=2, intermediate_size=64,
                                                      max_position_embeddings=128)).eval()
  hf.save_pretrained(folder)

  config = configuration.load_config("configs/response_retrieval_text.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.data.tokenizer = str(folder)
    config.retrieval.embedder = "bert"
    config.retrieval.bert_init_from = str(folder)
    config.train.steps = 10
    config.train.eval_every = 10
  workdir = tmp_path / "run"
  results = train.train_and_evaluate(config, str(workdir))
  assert 0.0 < results["candidates_per_example"] <= 40 and 0.0 <= results["candidate_recall"] <= 100.0
  info = json.load(open(workdir / "index" / "text" / "index_info.json"))
  assert info["fingerprint"].startswith(f"bert:{folder}") and info["dim"] == 32

  task, _, _ = train.setup(config, str(workdir))
  first = task.features(task.pipeline_config()).map(task.sources["train"][0])
  tokens = torch.tensor(first["context_tokens"][None], dtype=torch.long)
  mask = torch.tensor(first["context_mask"][None], dtype=torch.long)
  with torch.no_grad():
    hidden = hf(input_ids=tokens, attention_mask=mask).last_hidden_state
  expected = (hidden * mask[..., None]).sum(1) / mask.sum()
  indexed = np.load(workdir / "index" / "text" / "dataset.npy")[0]
  np.testing.assert_allclose(indexed, expected[0].numpy(), atol=1e-4)
