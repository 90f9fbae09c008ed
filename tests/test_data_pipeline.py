"""Task examples, TFDS array_record shards and Grain pipelines over the tiny corpus."""

import os

import grain
import numpy as np
import orbax.checkpoint as ocp
import pytest
from absl import flags

from jddc.data import examples, pipeline, release, schema, stats, tfds_builder
from tests import helpers


@pytest.fixture(scope="module")
def tiny(tiny_release):
  return release.read_release(tiny_release)


@pytest.fixture(scope="module")
def response_sources(tiny_release, tmp_path_factory):
  return tfds_builder.data_sources(tiny_release, "response", str(tmp_path_factory.mktemp("tfds")))


def test_example_builders(tiny):
  train = [s for s in tiny.sessions.values() if s.split == "train"]
  responses = helpers.build_examples(tiny, "response", "train")
  assert len(responses) == sum(1 for s in train for n, m in enumerate(s.messages)
                               if m.is_agent and any(not p.is_agent for p in s.messages[:n]))
  ex = responses[0]
  session = tiny.sessions[ex["session_id"]]
  assert ex["response"] == session.messages[ex["index"]].text
  assert len(ex["context_texts"]) == len(ex["context_images"]) == ex["index"]
  assert all(bool(t) != bool(i) for t, i in zip(ex["context_texts"], ex["context_images"]))
  for kind in ("rewrite", "discourse", "summary", "image_category"):
    total = sum(len(helpers.build_examples(tiny, kind, s)) for s in schema.SPLITS)
    expected = {"rewrite": tiny.rewrites, "discourse": tiny.discourse, "summary": tiny.summaries,
                "image_category": tiny.image_categories}[kind]
    assert total == len(expected) > 0
  d = helpers.build_examples(tiny, "discourse", "train")[0]
  assert len(d["link_children"]) == len(d["edu_texts"]) - 1
  assert all(0 <= r < len(schema.RELATION_NAMES) for r in d["link_relations"])
  assert d["edu_turns"] == sorted(d["edu_turns"])
  with pytest.raises(ValueError, match="unknown example type"):
    examples.require_every_split(tiny, "caption")


@pytest.mark.parametrize("kind", examples.EXAMPLE_TYPES)
def test_tfds_shards_hold_every_example(tiny, tiny_release, tmp_path, kind):
  builder = tfds_builder.build(tiny_release, kind, str(tmp_path))
  files = os.listdir(builder.data_dir)
  assert any(".array_record-" in f for f in files)
  sources = builder.as_data_source()
  for split in schema.SPLITS:
    expected = helpers.build_examples(tiny, kind, split)
    assert len(sources[split]) == len(expected)
  record = sources["train"][0]
  by_id = {(e["session_id"], e.get("index")): e for e in helpers.build_examples(tiny, kind, "train")}
  key = (record["session_id"].decode(), int(record["index"]) if "index" in record else None)
  original = by_id[key]
  for field, value in original.items():
    got = record[field]
    if isinstance(value, str):
      assert got.decode() == value
    elif isinstance(value, list):
      assert [g.decode() if isinstance(g, bytes) else int(g) for g in got] == value
    else:
      assert int(got) == value


def test_shards_are_rebuilt_when_the_release_changes(tiny_release, tmp_path):
  assert tfds_builder.shard_dir(tiny_release, str(tmp_path)) == tfds_builder.shard_dir(tiny_release, str(tmp_path))
  fingerprint = tfds_builder.release_fingerprint(tiny_release)
  assert len(fingerprint) == 12


def _config(**kw):
  base = dict(batch_size=4, max_len=96, max_images=3, image_size=32, seed=1)
  base.update(kw)
  return pipeline.PipelineConfig(**base)


def test_response_batches_are_well_formed(response_sources, tiny_tokenizer, tiny_release):
  it = iter(pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release, _config()))
  saw_image = False
  for _ in range(5):
    b = next(it)
    assert b["tokens"].shape == (4, 96) and b["loss_mask"].shape == (4, 96)
    assert b["images"].shape == (4, 3, 32, 32, 3) and b["images"].dtype == np.uint8
    for row in range(4):
      tokens, mask, pos = b["tokens"][row], b["loss_mask"][row], b["image_positions"][row]
      assert tokens[0] == tiny_tokenizer.cls_id
      targets = tokens[mask == 1]
      assert targets[-1] == tiny_tokenizer.sep_id and len(targets) >= 2
      for k, p in enumerate(pos):
        if p >= 0:
          saw_image = True
          assert tokens[p] == tiny_tokenizer.image_id
          assert b["images"][row, k].std() > 1.0  # real pixels, not padding
        else:
          assert not b["images"][row, k].any()
  assert saw_image


def test_left_truncation_keeps_the_response(response_sources, tiny_tokenizer, tiny_release):
  config = _config(max_len=24, max_response_len=8, batch_size=2, image_size=0)
  b = next(iter(pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release, config)))
  assert "images" not in b
  for row in range(2):
    assert b["tokens"][row][0] == tiny_tokenizer.cls_id
    assert (b["loss_mask"][row] == 1).sum() >= 2


def test_packing_text_only(response_sources, tiny_tokenizer, tiny_release):
  config = _config(max_len=512, image_size=0, pack=True)  # rows longer than a whole dialogue's context
  b = next(iter(pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release, config)))
  assert b["tokens"].shape == (4, 512)
  assert b["tokens_segment_ids"].max() > 1  # several examples share a row
  with pytest.raises(ValueError, match="text-only"):
    pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release, _config(pack=True))


def test_per_process_slices_are_disjoint_and_complete(response_sources, tiny_tokenizer, tiny_release):
  n = len(response_sources["valid"])
  seen = []
  for index in range(2):
    config = _config(process_index=index, process_count=2, shuffle=False, num_epochs=1, batch_size=2,
                     drop_remainder=False, image_size=0)
    rows = [tuple(b["tokens"][0]) for b in pipeline.response_dataset(response_sources["valid"], tiny_tokenizer,
                                                                     tiny_release, config)]
    seen.append(rows)
  assert len(seen[0]) + len(seen[1]) == n
  assert abs(len(seen[0]) - len(seen[1])) <= 1


def test_workers_give_the_same_batches(response_sources, tiny_tokenizer, tiny_release):
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  batches = []
  for workers in (0, 2):
    it = iter(pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release,
                                        _config(worker_count=workers)))
    batches.append([next(it) for _ in range(3)])
  for a, b in zip(*batches):
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])


def test_iterator_state_round_trips_through_orbax(response_sources, tiny_tokenizer, tiny_release, tmp_path):
  make = lambda: iter(pipeline.response_dataset(response_sources["train"], tiny_tokenizer, tiny_release, _config()))
  it = make()
  for _ in range(3):
    next(it)
  manager = ocp.CheckpointManager(str(tmp_path / "ckpt"), options=ocp.CheckpointManagerOptions(create=True))
  manager.save(3, args=ocp.args.Composite(data=grain.checkpoint.CheckpointSave(it)))
  manager.wait_until_finished()
  expected = next(it)
  fresh = make()
  manager.restore(3, args=ocp.args.Composite(data=grain.checkpoint.CheckpointRestore(fresh)))
  got = next(fresh)
  for k in expected:
    np.testing.assert_array_equal(expected[k], got[k])


def test_image_category_pipeline(tiny_release, tmp_path):
  sources = tfds_builder.data_sources(tiny_release, "image_category", str(tmp_path))
  b = next(iter(helpers.image_category_dataset(sources["train"], tiny_release, _config(image_size=64))))
  assert b["image"].shape == (4, 64, 64, 3) and b["label"].shape == (4,)
  assert ((0 <= b["label"]) & (b["label"] < len(schema.IMAGE_CATEGORY_NAMES))).all()


def test_stats_of_the_tiny_corpus(tiny_release):
  s = stats.compute(tiny_release)
  total = s["table2"]["total"]
  assert total["dialogues"] == 240
  # the paper: 14.06 utterances a dialogue (Table 2); ours count each picture as a message of its own
  assert 11 <= total["avg_utterances_per_dialogue"] <= 18
  assert 1.6 <= total["avg_images_per_dialogue"] <= 2.4
  assert s["table3"]["total"]["relations"] == s["table3"]["total"]["edus"] - s["table3"]["total"]["dialogues"]
  assert sum(s["image_subcategories"].values()) == total["images"]
  assert all(n > 0 for n in s["image_subcategories"].values())
  assert s["image_dependence"]["image_dependent_pct"] >= 60.0
  assert 15 <= s["image_dependence"]["summary_facts_image_only_pct"] <= 60  # summaries need the picture
  assert 18 <= s["language"]["edus_per_annotated_dialogue"] <= 27  # the paper's Table 3: 22.6
  report = stats.format_report(s)
  assert "Table 2" in report and "photo_damaged_appearance" in report
