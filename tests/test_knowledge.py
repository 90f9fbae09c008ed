"""Product knowledge as GPT-2 input (`jddc.data.knowledge`, `data.knowledge_budget`) and the
attribute figures of the replies that state it."""

import pytest

from jddc.data import knowledge, pipeline
from jddc.data.word_tokenizer import build_word_tokenizer

LINES = ["电饭煲|品牌|美的", "电饭煲|颜色|红色/黑色", "电饭煲|容量|5L", "电饭煲|功率|1000W", "电饭煲|保修|一年"]


class CharTok:
  """Ids = characters' code points (a tokenizer whose encoding a test can count)."""
  cls_id, sep_id, user_id, agent_id, image_id, bos_id, pad_id = 1, 2, 3, 4, 5, 6, 0

  def encode(self, text):
    return [ord(c) for c in text]

  def decode(self, ids):
    return "".join(chr(i) for i in ids)

  def speaker_id(self, is_agent):
    return self.agent_id if is_agent else self.user_id


def test_whole_triples_in_order_colour_last_within_the_budget():
  tok = CharTok()
  full = tok.decode(knowledge.linearise(LINES, tok, 1000))
  assert full == "电饭煲：品牌 美的；容量 5L；功率 1000W；保修 一年；颜色 红色/黑色"
  assert knowledge.linearise(LINES, tok, 0) == []
  for budget in range(1, len(full) + 1):
    text = tok.decode(knowledge.linearise(LINES, tok, budget))
    assert len(text) <= budget
    assert full.startswith(text) and (text in ("", full) or full[len(text)] == "；"), text  # never half a triple


def test_the_prompt_starts_with_the_knowledge_and_the_images_move_with_the_context():
  tok = CharTok()
  example = {"context_texts": ["这个坏了", "", "亲，看到了"], "context_images": ["", "a.jpg", ""],
             "context_speakers": [0, 0, 1], "response": "给您换新", "knowledge": LINES}
  plain = pipeline.PipelineConfig(max_len=60, max_response_len=8, max_images=4, image_size=0)
  grounded = pipeline.PipelineConfig(max_len=60, max_response_len=8, max_images=4, image_size=0, knowledge_budget=20)
  tokens0, first0, kept0 = pipeline.encode_dialogue(example, tok, plain)
  tokens, first, kept = pipeline.encode_dialogue(example, tok, grounded)
  block = knowledge.linearise(LINES, tok, 20)
  assert 0 < len(block) <= 20 and tokens[:len(block) + 2] == [tok.cls_id] + block + [tok.sep_id]
  assert tokens[len(block) + 2:] == tokens0[1:] and first == first0 + len(block) + 1
  assert [tokens[p] for p, _ in kept] == [tok.image_id] and kept[0][0] == kept0[0][0] + len(block) + 1
  # a long dialogue: the context gives way to the knowledge, the window stays max_len
  long = {**example, "context_texts": ["长" * 80, "", "亲，看到了"]}
  tokens, _, _ = pipeline.encode_dialogue(long, tok, grounded)
  assert len(tokens) == 60 and tokens[1:len(block) + 1] == block


def test_attribute_figures_on_a_hand_made_case():
  refs = ["容量是5L的亲", "好的，已登记", "功率1000W，保修一年", "颜色有红色"]
  hyps = ["这款容量5L哦", "好的", "功率1000W的", "红色有货"]
  figures = knowledge.attribute_figures(hyps, refs, [LINES] * 4, bleu=lambda h, r: float(len(h)))
  # stated: ref 0 (5L), ref 2 (1000W and 一年); colours and unstated replies are left out
  assert figures == {"knowledge_examples": 2.0, "knowledge_bleu": 2.0, "attribute_accuracy": 50.0}
  assert knowledge.stated_values("无线，有遥控", ["风扇|遥控|有", "风扇|颜色|白色"]) == []
  assert knowledge.attribute_figures(["a"], ["b"], [[]], bleu=lambda h, r: 1.0)["knowledge_examples"] == 0.0
