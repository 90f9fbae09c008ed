"""Discourse parsing: the scanned parser against a Python loop, padding, the tiny row end to
end, the pipeline's targets, and the STAC / MODDP readers on the real files and on bad input."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc.data import discourse_pipeline as dp
from jddc.data.errors import DataError, ErrorPolicy
from jddc.models import deep_sequential as ds
from jddc.tasks import base
from tests.conftest import shared_path

W, S, R = 3, 3, 4  # a window shorter than the dialogues, three speakers, four relations


@pytest.fixture(scope="module")
def model():
  """One small multimodal parser for the model tests (building a model compiles its initialisers)."""
  config = ds.DeepSequentialConfig(vocab_size=30, num_relations=R, embed_dim=6, num_units=8, relation_dim=5,
                                   head_dim=7, max_edu_dist=W, max_speakers=S, dropout=0.0, image_feature_dim=5)
  m = nnx.jit(lambda: ds.DeepSequential(config, rngs=nnx.Rngs(0)))()
  # The relation embedding starts at zero (as the original's); make it matter in the test.
  for agent in (m.link, m.relation):
    agent.relation_embed[...] = jax.random.normal(jax.random.key(1), agent.relation_embed[...].shape)
  return m


@nnx.jit(static_argnums=2)
def _parse(model, batch, gold_structure):
  return model(batch, gold_structure=gold_structure)


@nnx.jit
def _encode(agent, batch):
  return agent.encoder(batch)


def _batch(num_edus=(7, 4, 1), n=7, t=5, image_dim=5, seed=0):
  rng = np.random.default_rng(seed)
  b = len(num_edus)
  lengths = np.zeros((b, n), np.int32)
  tokens = np.zeros((b, n, t), np.int32)
  for row, k in enumerate(num_edus):
    lengths[row, :k] = rng.integers(1, t + 1, k)
    for j in range(k):
      tokens[row, j, :lengths[row, j]] = rng.integers(1, 30, lengths[row, j])
  speakers = rng.integers(0, S, (b, n)).astype(np.int32)
  turns = np.cumsum(rng.integers(0, 2, (b, n)), 1).astype(np.int32)
  parent = np.full((b, n), -1, np.int32)
  for row, k in enumerate(num_edus):
    for j in range(1, k):
      parent[row, j] = rng.integers(max(0, j - W), j) if rng.random() < 0.8 else -1
  batch = {"edu_tokens": tokens, "edu_lengths": lengths, "speakers": np.where(lengths > 0, speakers, 0),
           "turns": turns, "is_image": (rng.random((b, n)) < 0.3).astype(np.int32) * (lengths > 0),
           "gold_parent": parent,
           "gold_relation": np.where(parent >= 0, rng.integers(0, R, (b, n)), R).astype(np.int32)}
  if image_dim:
    batch["image_features"] = rng.normal(size=(b, n, image_dim)).astype(np.float32) * batch["is_image"][..., None]
  return {k: jnp.asarray(v) for k, v in batch.items()}


def _np(x):
  return np.asarray(x[...], np.float64)


def _gru(cell, h, x):
  """flax's GRU cell in NumPy: r, z gates; n = tanh(W_n x + b_n + r * U_n h)."""
  xi = x @ _np(cell.dense_i.kernel) + _np(cell.dense_i.bias)
  hh = h @ _np(cell.dense_h.kernel)
  (xr, xz, xn), (hr, hz, hn) = np.split(xi, 3, -1), np.split(hh, 3, -1)
  r, z = 1 / (1 + np.exp(-(xr + hr))), 1 / (1 + np.exp(-(xz + hz)))
  return (1 - z) * np.tanh(xn + r * hn) + z * h


def _head(head, *parts):
  state = np.concatenate(parts, -1)
  return np.tanh(state @ _np(head.hidden.kernel) + _np(head.hidden.bias)) @ _np(head.out.kernel) + _np(head.out.bias)


def _structured(agent, parent, relation, hs_j, speaker):
  """h_p[j, l] for every slot l: the 'same' GRU for l == speaker, the 'other' GRU otherwise."""
  x = np.concatenate([_np(agent.relation_embed)[relation], hs_j])
  return np.stack([_gru(agent.same_speaker if l == speaker else agent.other_speaker, parent[l], x)
                   for l in range(parent.shape[0])])


def _reference_parse(model, batch, gold_structure):
  """The original's loop in NumPy: one EDU at a time, pair states concatenated."""
  c = model.config
  hs_l, hc_l = (np.asarray(x, np.float64) for x in _encode(model.link, batch))
  hs_r, hc_r = (np.asarray(x, np.float64) for x in _encode(model.relation, batch))
  b, n, h = hs_l.shape
  spk, turn, lengths = (np.asarray(batch[k]) for k in ("speakers", "turns", "edu_lengths"))
  hp_l, hp_r = np.zeros((b, n, S, h)), np.zeros((b, n, S, h))
  logits = np.full((b, n, W), ds.NEG_INF)
  parents, relations = np.full((b, n), -1), np.full((b, n), -1)
  feats = lambda row, i, j: np.asarray([j - i, spk[row, i] == spk[row, j], turn[row, i] == turn[row, j]], float)
  for row in range(b):
    for j in range(n):
      if lengths[row, j] == 0:
        continue
      sj = spk[row, j]
      for i in range(max(0, j - W), j):
        logits[row, j, i - j + W] = _head(model.link.head, hc_l[row, i], hs_l[row, j], hp_l[row, i, sj],
                                          hc_l[row, j], feats(row, i, j))[0]
      if j > 0:
        p = parents[row, j] = j - W + int(np.argmax(logits[row, j]))
        relations[row, j] = int(np.argmax(_head(model.relation.head, hc_r[row, p], hs_r[row, j], hp_r[row, p, sj],
                                                hc_r[row, j], feats(row, p, j))))
      if gold_structure:
        p, r = int(batch["gold_parent"][row, j]), int(batch["gold_relation"][row, j])
      else:
        p, r = parents[row, j], relations[row, j]
      for agent, hs, hp in ((model.link, hs_l, hp_l), (model.relation, hs_r, hp_r)):
        parent_state = np.zeros((S, h)) if p < 0 else hp[row, p]
        hp[row, j] = _structured(agent, parent_state, r if p >= 0 else R, hs[row, j], sj)
  return logits, parents, relations, hp_r


@pytest.mark.parametrize("gold_structure", [False, True])
def test_scan_equals_python_loop(model, gold_structure):
  batch = _batch()
  out = _parse(model, batch, gold_structure)
  logits, parents, relations, hp_r = _reference_parse(model, batch, gold_structure)
  np.testing.assert_array_equal(np.asarray(out["parents"]), parents)
  np.testing.assert_array_equal(np.asarray(out["relations"]), relations)
  real = logits > ds.NEG_INF / 2
  assert real.sum() > 10
  np.testing.assert_allclose(np.asarray(out["link_logits"])[real], logits[real], rtol=1e-4, atol=1e-5)
  assert np.all(np.asarray(out["link_logits"])[~real] <= ds.NEG_INF / 2)
  lengths = np.asarray(batch["edu_lengths"])
  for row, j in zip(*np.nonzero(lengths)):
    np.testing.assert_allclose(np.asarray(out["hp"][row, j]), hp_r[row, j], rtol=1e-4, atol=1e-5)
  # relation logits of arbitrary links: the same head on the concatenated state
  links_p, links_c = np.asarray([[0, 2, 3], [1, 0, 0], [0, 0, 0]]), np.asarray([[5, 6, 4], [3, 2, 0], [0, 0, 0]])
  got = np.asarray(nnx.jit(lambda m, o, p, c: m.relation_logits(o, p, c))(model, out, links_p, links_c))
  hs, hc = (np.asarray(x, np.float64) for x in _encode(model.relation, batch))
  spk, turn = np.asarray(batch["speakers"]), np.asarray(batch["turns"])
  for row in range(2):
    for k in range(3):
      i, j = links_p[row, k], links_c[row, k]
      f = np.asarray([j - i, spk[row, i] == spk[row, j], turn[row, i] == turn[row, j]], float)
      want = _head(model.relation.head, hc[row, i], hs[row, j], hp_r[row, i, spk[row, j]], hc[row, j], f)
      np.testing.assert_allclose(got[row, k], want, rtol=1e-4, atol=1e-5)


def test_padding_edus_and_tokens_do_not_change_results(model):
  from jddc.tasks.discourse import parser_loss
  small = _batch()
  pad = lambda x, widths: jnp.pad(x, widths)
  big = {k: pad(v, [(0, 0), (0, 4)] + [(0, 0)] * (v.ndim - 2)) for k, v in small.items()}
  big["edu_tokens"] = pad(big["edu_tokens"], [(0, 0), (0, 0), (0, 3)])
  big["gold_parent"] = big["gold_parent"].at[:, 7:].set(-1)
  big["gold_relation"] = big["gold_relation"].at[:, 7:].set(R)
  a, b = _parse(model, small, False), _parse(model, big, False)
  n = small["edu_lengths"].shape[1]
  for key in ("parents", "relations"):
    np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key])[:, :n])
  np.testing.assert_allclose(np.asarray(a["link_logits"]), np.asarray(b["link_logits"])[:, :n], rtol=1e-5, atol=1e-6)
  assert np.all(np.asarray(b["parents"])[:, n:] == -1)
  links = {"rel_parents": jnp.asarray([[0, 1], [0, -1], [-1, -1]]),
           "rel_children": jnp.asarray([[2, 3], [1, -1], [-1, -1]]),
           "rel_labels": jnp.asarray([[1, 3], [0, -1], [-1, -1]])}
  loss = nnx.jit(lambda m, b: base.divide_loss(parser_loss(m, b, None, gold_structure=False)[0]))
  loss_a, loss_b = loss(model, {**small, **links}), loss(model, {**big, **links})
  np.testing.assert_allclose(float(loss_a), float(loss_b), rtol=1e-5)


class _Chars:
  """A stand-in tokenizer: one id per character."""
  sep_id = 1

  def encode(self, text):
    return [2 + ord(ch) % 50 for ch in text]


def test_pipeline_targets_and_cut():
  example = {"session_id": "s", "edu_texts": ["ab", "", "c", "d", "e"], "edu_images": ["", "x.jpg", "", "", ""],
             "edu_speakers": [0, 0, 1, 0, 1], "edu_turns": [0, 0, 1, 2, 3],
             # EDU 2 has parents 0 and 1 (the earliest, 0, is the target), EDU 3 only a too-long
             # link from 0 and a backward one from 4, EDU 4 a repeated pair (first relation kept).
             "link_parents": [1, 0, 0, 4, 3, 3], "link_children": [2, 2, 3, 3, 4, 4],
             "link_relations": [5, 6, 7, 8, 9, 2]}
  config = dp.DiscourseConfig(max_edus=6, max_edu_len=4, max_links=8, max_edu_dist=2, num_relations=10)
  table = ({"x.jpg": 0}, np.full((1, 3), 7.0, np.float32))
  out = dp.encode_dialogue(example, _Chars(), config, 6, table)
  assert out["gold_parent"].tolist() == [-1, -1, 0, -1, 3, -1]
  assert out["gold_relation"].tolist() == [10, 10, 6, 10, 9, 10]
  assert out["edu_lengths"].tolist() == [3, 1, 2, 2, 2, 0]  # the image EDU is the end marker alone
  assert out["image_features"][1].tolist() == [7.0] * 3 and not out["image_features"][0].any()
  links = list(zip(out["rel_parents"], out["rel_children"], out["rel_labels"]))
  assert [tuple(map(int, l)) for l in links if l[0] >= 0] == [(0, 2, 6), (1, 2, 5), (0, 3, 7), (3, 4, 9)]
  cut = dp.encode_dialogue(example, _Chars(), config, 3, table)
  assert cut["gold_parent"].tolist() == [-1, -1, 0] and int((cut["rel_parents"] >= 0).sum()) == 2
  with pytest.raises(ValueError, match="max_speakers"):
    dp.encode_dialogue({**example, "edu_speakers": [0, 1, 2, 0, 1]}, _Chars(), dp.DiscourseConfig(max_speakers=2), 6)


@pytest.mark.parametrize("name", ["discourse_text", "discourse_mm"])
def test_tiny_rows_train_end_to_end(name, tiny_release, copy_tiny_features, tmp_path):
  from jddc import configuration, train
  cache = tmp_path / "cache"
  cache.mkdir()
  os.symlink(tiny_release, cache / "jddc_tiny_seed0")
  if name.endswith("_mm"):
    copy_tiny_features(cache)  # the session's feature extractor
  config = configuration.load_config(f"configs/{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(cache)
    config.model.shared_encoders = True  # half the graph to compile; both agents' paths are tested above
  results = train.train_and_evaluate(config, str(tmp_path / "run"))
  with open(tmp_path / "run" / "metrics.jsonl") as f:
    rows = [json.loads(line) for line in f]
  losses = [r["train/loss"] for r in rows if "train/loss" in r]
  assert len(losses) >= 3 and losses[-1] < 0.8 * losses[0]
  for key in ("link_f1", "link_rel_f1", "link_p", "link_r", "link_rel_p", "link_rel_r", "oracle_link_recall"):
    assert 0.0 <= results[key] <= 100.0
  assert results["link_rel_f1"] <= results["link_f1"]
  assert results["best_step"] in (config.train.eval_every, config.train.steps)
  preds = [json.loads(line) for line in open(tmp_path / "run" / "predictions_test.jsonl", encoding="utf-8")]
  assert len(preds) == results["dialogues"]
  assert all(len(p["prediction"]) == len(p["edus"]) - 1 and all(0 <= q < j for q, j, _ in p["prediction"])
             for p in preds)
  assert any("<image" in e for p in preds for e in p["edus"])


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------

def _count(reader, root, split):
  return list(reader.examples(root, "discourse", split, ErrorPolicy()))


def test_stac_reader_on_the_real_files():
  from jddc.data.corpora import stac
  root = shared_path("stac")
  train, valid = _count(stac.READER, root, "train"), _count(stac.READER, root, "valid")
  assert (len(train), len(valid), len(_count(stac.READER, root, "all"))) == (947, 103, 1050)
  assert [e["session_id"] for e in _count(stac.READER, root, "test")] == [e["session_id"] for e in valid]
  assert sum(len(e["link_parents"]) for e in train) == 10182
  assert {r for e in train for r in e["link_relations"]} == set(range(16))
  first = train[0]
  assert first["session_id"] == "pilot01_1" and first["edu_speakers"][:4] == [0, 1, 1, 0]
  assert first["edu_turns"][:4] == [0, 1, 1, 2]
  assert (first["link_parents"][0], first["link_children"][0]) == (0, 1)
  assert first["link_relations"][0] == stac.RELATIONS.index("Comment")


def test_moddp_reader_on_the_real_files():
  from jddc.data.corpora import moddp
  root = shared_path("moddp")
  train, valid, test = (_count(moddp.READER, root, s) for s in ("train", "valid", "test"))
  assert (len(train) + len(valid), len(test)) == (604, 87) and 30 < len(valid) < 90
  assert {e["session_id"] for e in train}.isdisjoint(e["session_id"] for e in valid)
  assert sum(len(e["edu_texts"]) for e in test) == 1857
  # every EDU but the first has exactly one head
  assert all(sorted(e["link_children"]) == list(range(1, len(e["edu_texts"]))) for e in train + valid + test)
  first = train[0]
  assert first["session_id"] == "anjia_11"
  assert first["edu_texts"][0] == "其实我还真舍不得，让你去伺候媳妇"
  assert (first["link_parents"][0], first["link_children"][0]) == (0, 1)
  assert first["link_relations"][0] == moddp.RELATIONS.index("Explanation")


def _write(path, text):
  path.write_text(text, encoding="utf-8")
  return str(path)


def test_stac_bad_input_names_file_and_line(tmp_path):
  from jddc.data.corpora import stac
  good = json.dumps({"id": "d1", "edus": [{"speaker": "a", "text": "hi", "speechturn": 0},
                                          {"speaker": "b", "text": "yo", "speechturn": 1}],
                     "relations": [{"type": "Comment", "x": 0, "y": 1}]})
  cases = {"{not json": "not valid JSON",
           good.replace('"Comment"', '"Chitchat"'): "unknown type 'Chitchat'",
           good.replace('"y": 1', '"y": 5'): "leaves the 2 EDUs",
           good.replace('"edus"', '"units"'): "expected fields"}
  for bad, message in cases.items():
    path = _write(tmp_path / "train.json", good + "\n" + bad + "\n")
    with pytest.raises(DataError, match=message) as info:
      _count(stac.READER, str(tmp_path), "train")
    assert f"{path}:2:" in str(info.value)
    policy = ErrorPolicy("skip")
    assert len(list(stac.READER.examples(str(tmp_path), "discourse", "train", policy))) == 1
    assert sum(policy.counts.values()) == 1


def test_moddp_bad_input_names_file_and_line(tmp_path):
  from jddc.data.corpora import moddp
  database = json.dumps({**{n: i for i, n in enumerate(moddp.RELATIONS)}, "<root>": 16}, ensure_ascii=False)
  _write(tmp_path / "relation_database.json", database)
  rows = ["d1\t1\td1\tA\t你好\t1\t0,1\t<root>", "d1\t2\td1\tB\t在的\t2\t1,2\tCommentary"]
  cases = {"d1\t3\td1\tA\t好\t3\t9,3\tResult": "head 9 outside",
           "d1\t3\td1\tA\t好\t3\t2,3\tChitchat": "unknown relation 'Chitchat'",
           "d1\t3\td1\tA\t好\t3\t0,3\tResult": "<root> goes with head 0 only",
           "d1\t3\td1\tA\t好\t7\t2,7\tResult": "position 7",
           "d1\t3\td1\tA\t好": "expected 8 tab-separated fields"}
  for bad, message in cases.items():
    path = _write(tmp_path / "eval.csv", "\n".join(rows + [bad]) + "\n")
    with pytest.raises(DataError, match=message) as info:
      _count(moddp.READER, str(tmp_path), "test")
    assert f"{path}:3:" in str(info.value)
  _write(tmp_path / "relation_database.json", database.replace("Narration", "Story"))
  with pytest.raises(DataError, match="relation database differs"):
    _count(moddp.READER, str(tmp_path), "test")


@pytest.mark.parametrize("name,sizes,speakers", [("stac", (947, 103), 6), ("moddp", (548, 56), 2)])
def test_real_corpus_configs_prepare_their_data(name, sizes, speakers, tmp_path):
  """configs/discourse_{stac,moddp}.py: shards, a tokenizer, their own 16 relations, batches."""
  from jddc import configuration
  from jddc.tasks.discourse import DiscourseTask
  config = configuration.load_config(f"configs/discourse_{name}.py:tiny")
  with config.unlocked():
    config.data.cache_dir = str(tmp_path)
  task = DiscourseTask(config, str(tmp_path / "run"))
  task.prepare()
  assert len(task.relations) == 16 and task.model_context().num_relations == 16
  assert (len(task.sources["train"]), len(task.sources["valid"])) == sizes
  batch = next(iter(task.train_dataset(0, 1)))
  m = config.model
  assert batch["edu_tokens"].shape == (config.train.batch_size, m.max_edus, m.max_edu_len)
  assert batch["rel_labels"].max() < 16 and (batch["gold_relation"] <= 16).all()
  assert 0 < batch["speakers"].max() < speakers and not batch["is_image"].any()


# ---------------------------------------------------------------------------
# The original's recipe: SGD with a per-epoch decay, whole dialogues in length buckets
# ---------------------------------------------------------------------------

def test_sgd_decays_the_rate_after_every_epoch_and_clips_the_global_norm():
  import ml_collections
  import optax
  from jddc import optim
  config = ml_collections.ConfigDict({"name": "sgd", "lr": 0.1, "decay_per_epoch": 0.98, "clip": 5.0})
  tx = optim.from_config(config, total_steps=12, steps_per_epoch=3)
  params = {"w": jnp.zeros(4)}
  state = tx.init(params)
  steps = []
  for _ in range(9):
    grads = {"w": jnp.full(4, 0.5)}  # norm 1: under the clip
    updates, state = tx.update(grads, state, params)
    steps.append(float(-updates["w"][0]) / 0.5)
  expected = [0.1 * 0.98 ** (k // 3) for k in range(9)]  # epochs 0, 1, 2: three steps each
  np.testing.assert_allclose(steps, expected, rtol=1e-6)
  updates, _ = tx.update({"w": jnp.full(4, 5.0)}, state, params)  # norm 10: clipped to 5
  np.testing.assert_allclose(float(optax.tree.norm(updates)), 5.0 * 0.1 * 0.98 ** 3, rtol=1e-5)
  assert optim.from_config(ml_collections.ConfigDict({**config, "name": "adamw", "warmup_steps": 1,
                                                      "end_lr_fraction": 0.0, "b1": 0.9, "b2": 0.999, "eps": 1e-8,
                                                      "weight_decay": 0.0}), 12) is not None
  with pytest.raises(ValueError, match="steps_per_epoch must be at least 1"):
    optim.from_config(config, total_steps=12)


def test_sgd_is_refused_for_tasks_that_do_not_build_it():
  from jddc import configuration
  from configs import common
  config = configuration.load_config("configs/response_text.py:tiny")
  with config.unlocked():
    config.optim.name = "sgd"
  with pytest.raises(configuration.ConfigError, match="optim.name 'sgd': only tasks"):
    configuration.validate(config, common.reference(config))


def test_buckets_and_length_sorted_batches():
  assert [dp.bucket_edus(n) for n in (1, 8, 9, 32, 33, 105, 128, 129)] == [8, 8, 16, 32, 48, 112, 128, 160]
  lengths = [5, 1, 9, 5, 3, 7, 2]
  batches = dp.length_sorted_batches(lengths, 3)
  assert batches == [[1, 6, 4], [0, 3, 5], [2]]
  assert sorted(k for b in batches for k in b) == list(range(len(lengths)))


def test_whole_dialogue_batches_keep_every_edu_and_link_of_stac_train(tmp_path):
  """configs/discourse_stac.py (model.max_edus 0) on the real STAC train split: one epoch of
  batches holds every EDU and every gold link (parent < child) once, in few shapes; the next
  epoch holds the same batches in another order."""
  from jddc import configuration
  from jddc.tasks.discourse import DiscourseTask
  config = configuration.load_config("configs/discourse_stac.py")
  with config.unlocked():
    config.data.cache_dir = str(tmp_path / "cache")
  task = DiscourseTask(config, str(tmp_path / "run"))
  task.prepare()
  source = task.sources["train"]
  assert config.model.max_edus == 0 and task.steps_per_epoch() == 237 == -(-len(source) // 4)
  examples = [source[k] for k in range(len(source))]
  want_edus = sum(len(e["edu_texts"]) for e in examples)
  want_links = sum(len({(p, c) for p, c, _ in dp.gold_links(e) if p < c}) for e in examples)
  assert (len(examples), want_edus) == (947, 10454)
  data = iter(task.train_dataset(0, 1))
  epochs = []
  for _ in range(2):
    batches = [next(data) for _ in range(task.steps_per_epoch())]
    edus = sum(int((b["edu_lengths"] > 0).sum()) for b in batches)
    links = sum(int((b["rel_labels"] >= 0).sum()) for b in batches)
    assert (edus, links) == (want_edus, want_links)
    for b in batches:
      n = b["edu_tokens"].shape[1]
      longest = int((b["edu_lengths"] > 0).sum(1).max())
      assert b["edu_tokens"].shape[0] == 4 and n == dp.bucket_edus(longest)
      assert (b["edu_lengths"] <= config.model.max_edu_len).all() and (b["edu_lengths"][:, :1] > 0).sum() >= 3
      empty = b["edu_lengths"].sum(1) == 0  # the last batch's fourth row: no EDU, no target, no link
      assert (b["gold_parent"][empty] == -1).all() and (b["rel_labels"][empty] == -1).all()
    assert len({b["edu_tokens"].shape for b in batches}) <= 9
    epochs.append([tuple(b["edu_lengths"].sum(1)) for b in batches])
  assert epochs[0] != epochs[1] and sorted(epochs[0]) == sorted(epochs[1])
