"""Tests of jddc.data.tokenizers: SentencePiece round trips, BERT-vocab parity with transformers."""

import itertools
import pickle

import pytest

from jddc.data import tokenizers as tok
from tests import helpers
from tests.conftest import shared_path


_SUBJECTS = ("我买的电饭煲", "这件外套", "你们的空气炸锅", "订单[订单x]", "那双运动鞋", "吹风机", "连衣裙", "榨汁机")
_PROBLEMS = (
    "怎么还没发货？", "收到就坏了！", "颜色和图片不一样，", "少了一个配件。", "指示灯一直闪：怎么回事",
    "尺码偏大；能换吗？", "右上角有划痕（很明显）", "说好的“七天无理由”呢", "【急】一直显示运输中",
)
_REPLIES = (
    "亲，麻烦提供一下订单号哦", "您好，请问有什么可以帮您？", "已为您登记，[时间x]内给您回复",
    "退款[金额x]元已原路返回", "快递员[姓名x]电话[电话x]", "请寄回到[地址x]，谢谢", "好的 OK 没问题",
    "型号是 X-200，功率1200W", "[数字x]个工作日内到账", "麻烦发一下照片[IMG]",
)


def _corpus() -> list[str]:
  """About 300 customer-service lines, varied by combination."""
  lines = [s + p for s, p in itertools.product(_SUBJECTS, _PROBLEMS)]
  lines += [f"{r}（{n}）" for r, n in itertools.product(_REPLIES, range(20))]
  return lines


ROUND_TRIP_TEXTS = (
    "",
    "我的订单[订单x]怎么还没到？！",
    "您好，请问：“保修”期多久；（一年）【官方】",
    "收到[数字x]件，少了[数字]件，订单编号[订单编号]",
    "iPhone 13 Pro Max 256GB, price $999.00!",
    "2024-06-18 12:30:05 共计1234567890元",
    "emoji 😊👍🏻 家人👨‍👩‍👧 ok",
    "生僻字：𠮷龘彁䲜 쭈쭈 ﾊﾝｶｸ",
    "  前导空格   中间三个\t制表\n换行  ",
    "[IMG][USER]你好[AGENT]在的[SEP][CLS]",
    "[订单x][订单x][数字x][金额x]",
    "[不是占位符] [订单y] <s></s><pad><unk> <0x41>",
    "全角空格　和ＡＢＣ１２３",
)


@pytest.fixture(scope="module")
def sp_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("spm")


@pytest.fixture(scope="module")
def sp_tokenizer(sp_dir):
  return tok.train_sentencepiece(_corpus(), sp_dir, vocab_size=600)


# ---------------------------------------------------------------------------------------
# SentencePiece
# ---------------------------------------------------------------------------------------


def test_sp_special_ids(sp_tokenizer):
  t = sp_tokenizer
  assert (t.pad_id, t.unk_id, t.bos_id, t.eos_id) == (0, 1, 2, 3)
  assert (t.image_id, t.customer_id, t.agent_id, t.sep_id, t.cls_id) == (4, 5, 6, 7, 8)
  assert [t.id_to_piece(i) for i in range(4, 4 + len(tok.SPECIAL_TOKENS))] == list(tok.SPECIAL_TOKENS)
  assert t.id_to_piece(t.image_id) == "[IMG]"
  assert t.speaker_id(True) == t.agent_id and t.speaker_id(False) == t.customer_id
  assert len(set(tok.SPECIAL_TOKENS)) == len(tok.SPECIAL_TOKENS)


@pytest.mark.parametrize("model_type", tok.SP_MODEL_TYPES)
def test_sp_round_trip_is_exact(model_type, tmp_path):
  t = tok.train_sentencepiece(_corpus(), tmp_path, vocab_size=600, model_type=model_type)
  for text in ROUND_TRIP_TEXTS + tuple(_corpus()[::17]):
    ids = t.encode(text)
    assert t.unk_id not in ids, text
    assert t.decode(ids) == text


@pytest.mark.parametrize("token", tok.SPECIAL_TOKENS)
def test_sp_special_tokens_are_one_id(sp_tokenizer, token):
  t = sp_tokenizer
  assert t.encode(token) == [t.piece_to_id(token)]
  ids = t.encode(f"订单{token}已发货")
  assert ids.count(t.piece_to_id(token)) == 1
  assert t.decode(ids) == f"订单{token}已发货"


def test_sp_longest_placeholder_wins(sp_tokenizer):
  t = sp_tokenizer
  assert t.encode("[数字x][数字]") == [t.piece_to_id("[数字x]"), t.piece_to_id("[数字]")]


def test_sp_unseen_characters_fall_back_to_bytes(sp_tokenizer):
  t = sp_tokenizer
  for char in ("𠮷", "龘", "😊"):
    ids = t.encode(char)
    assert [t.id_to_piece(i) for i in ids] == [f"<0x{b:02X}>" for b in char.encode("utf-8")]
    assert t.decode(ids) == char


def test_sp_digits_are_split(sp_tokenizer):
  t = sp_tokenizer
  pieces = [t.id_to_piece(i) for i in t.encode("1200")]
  assert pieces == ["1", "2", "0", "0"]


def test_sp_training_is_deterministic(tmp_path):
  for name in ("a", "b"):
    tok.train_sentencepiece(_corpus(), tmp_path / name, vocab_size=500, seed=3)
  first, second = ((tmp_path / n / tok.SP_MODEL_FILE).read_bytes() for n in ("a", "b"))
  assert first == second


def test_sp_vocab_size_is_an_upper_bound(tmp_path):
  t = tok.train_sentencepiece(_corpus(), tmp_path, vocab_size=50_000)
  assert 300 < t.vocab_size < 50_000
  assert t.decode(t.encode(ROUND_TRIP_TEXTS[1])) == ROUND_TRIP_TEXTS[1]


def test_sp_rejects_bad_arguments(tmp_path):
  with pytest.raises(ValueError, match="reserved"):
    tok.train_sentencepiece(_corpus(), tmp_path, vocab_size=100)
  with pytest.raises(ValueError, match="model_type"):
    tok.train_sentencepiece(_corpus(), tmp_path, vocab_size=600, model_type="word")


def test_sp_round_trip_on_real_jd_dialogues(tmp_path):
  with open(shared_path("jddc2019", "chat_0.1per.txt"), encoding="utf-8") as f:
    texts = [line.rstrip("\n").split("\t")[-1] for line in f]
  t = tok.train_sentencepiece(texts[:6000], tmp_path, vocab_size=4000)
  for text in texts:
    assert t.decode(t.encode(text)) == text
  masked = [x for x in texts if "[订单x]" in x]
  assert masked and all(t.piece_to_id("[订单x]") in t.encode(x) for x in masked)


# ---------------------------------------------------------------------------------------
# BERT vocab
# ---------------------------------------------------------------------------------------

PARITY_TEXTS = (
    "我的订单怎么还没到？！",
    "您好，请问：“保修”期多久；（一年）【官方】",
    "iPhone 13 Pro Max, price $999.00!",
    "Hello world, this is a TEST of wordpiece: unaffable playing played.",
    "型号X-200功率1200W，买了2台",
    "Café naïve résumé ÀÉÎÕÜ",
    "emoji 😊👍 ok😊 家人👨‍👩‍👧",
    "生僻字𠮷龘彁 ﾊﾝｶｸ 쭈쭈 ｉｐｈｏｎｅ",
    "  前导空格   中间\t制表\n换行\r\n  ",
    "控制\x00字符\x07和\u200b零宽\ufeff\ufffd",
    "你好[SEP]在吗[CLS]在的[MASK][UNK][PAD]",
    "[unused1] [not special] <s>",
    "a" * 101 + " 好",
    "ΑΣ final sigma İstanbul straße",
)

_ENGLISH_PIECES = (
    "iphone", "pro", "max", "price", "hello", "world", "this", "is", "a", "test", "of",
    "word", "##piece", "un", "##aff", "##able", "play", "##ing", "##ed", "ok", "cafe",
    "naive", "resume", "##s", "st", "##an", "##bul", "final", "sigma", "emoji",
)


def _parity_vocab_chars() -> list[str]:
  texts = PARITY_TEXTS + ROUND_TRIP_TEXTS + tuple(_corpus())
  chars = sorted({c for text in texts for c in text} - set("彁的"))
  alnum = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
  return list(_ENGLISH_PIECES) + chars + alnum + ["##" + c for c in alnum] + ["##" + c for c in chars]


@pytest.fixture(scope="module")
def bert_vocab(tmp_path_factory):
  path = tmp_path_factory.mktemp("bert") / tok.BERT_VOCAB_FILE
  helpers.write_test_vocab(path, _parity_vocab_chars())
  return path


@pytest.fixture(scope="module")
def bert_tokenizer(bert_vocab):
  return tok.BertVocabTokenizer.from_vocab_file(bert_vocab)


def test_write_test_vocab_layout(tmp_path):
  entries = helpers.write_test_vocab(tmp_path / "vocab.txt", ["你", "好", "你", "[UNK]", "##a"])
  lines = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
  assert lines == entries
  assert lines[0] == "[PAD]" and lines[1] == "[unused1]" and lines[99] == "[unused99]"
  assert lines[100:] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "你", "好", "##a"]


def test_bert_special_ids(bert_tokenizer):
  t = bert_tokenizer
  assert (t.pad_id, t.unk_id, t.cls_id, t.sep_id) == (0, 100, 101, 102)
  assert (t.bos_id, t.eos_id) == (101, 102)
  assert (t.image_id, t.customer_id, t.agent_id) == (1, 2, 3)
  assert t.piece_to_id("[订单x]") == 3 + 1 + tok.MASK_PLACEHOLDERS.index("[订单x]")
  assert t.id_to_piece(1) == "[IMG]" and t.piece_to_id("[unused1]") == 1
  assert t.piece_to_id("不在词表") == t.unk_id
  for token in tok.BERT_SLOT_TOKENS + ("[SEP]", "[CLS]", "[MASK]"):
    assert t.encode(f"订单{token}好") == t.encode("订单") + [t.piece_to_id(token)] + t.encode("好")


def test_bert_uses_own_entry_before_slot(tmp_path):
  helpers.write_test_vocab(tmp_path / "vocab.txt", ["[IMG]", "[订单x]", "好"])
  t = tok.BertVocabTokenizer.from_vocab_file(tmp_path / "vocab.txt")
  assert t.image_id == 104 and t.piece_to_id("[订单x]") == 105
  assert t.customer_id == 2


def test_bert_vocab_without_slots_is_rejected(tmp_path):
  (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n好\n", encoding="utf-8")
  with pytest.raises(ValueError, match=r"\[IMG\]"):
    tok.BertVocabTokenizer.from_vocab_file(tmp_path / "vocab.txt")


@pytest.mark.parametrize("lowercase", [True, False])
def test_bert_parity_with_transformers(bert_vocab, lowercase):
  transformers = pytest.importorskip("transformers")
  reference = transformers.BertTokenizer(vocab=str(bert_vocab), do_lower_case=lowercase)
  ours = tok.BertVocabTokenizer.from_vocab_file(bert_vocab, lowercase=lowercase)
  assert ours.vocab_size == len(reference)
  for text in PARITY_TEXTS + ROUND_TRIP_TEXTS[1:3] + tuple(_corpus()[::7]):
    if any(s in text for s in tok.BERT_SLOT_TOKENS):
      continue
    assert ours.encode(text) == reference.encode(text, add_special_tokens=False), text


def test_bert_parity_from_pretrained_folder(bert_tokenizer, tmp_path):
  transformers = pytest.importorskip("transformers")
  bert_tokenizer.save(tmp_path)
  reference = transformers.BertTokenizerFast.from_pretrained(str(tmp_path))
  for text in PARITY_TEXTS:
    assert bert_tokenizer.encode(text) == reference.encode(text, add_special_tokens=False), text


def test_bert_parity_on_real_jd_dialogues(tmp_path):
  transformers = pytest.importorskip("transformers")
  with open(shared_path("jddc2019", "chat_0.1per.txt"), encoding="utf-8") as f:
    texts = [line.rstrip("\n").split("\t")[-1] for line in f][:3000]
  chars = sorted({c.lower() for text in texts[:1500] for c in text})
  helpers.write_test_vocab(tmp_path / "vocab.txt", chars + ["##" + c for c in chars])
  ours = tok.BertVocabTokenizer.from_vocab_file(tmp_path / "vocab.txt")
  reference = transformers.BertTokenizer(vocab=str(tmp_path / "vocab.txt"))
  plain = [x for x in texts if not any(s in x for s in tok.BERT_SLOT_TOKENS)]
  assert len(plain) > 1000
  for text in plain:
    assert ours.encode(text) == reference.encode(text, add_special_tokens=False), text


def test_bert_wordpiece_on_ascii_runs(bert_tokenizer):
  t = bert_tokenizer

  def pieces(text):
    return [t.id_to_piece(i) for i in t.encode(text)]

  assert pieces("unaffable") == ["un", "##aff", "##able"]
  assert pieces("iPhone13") == ["iphone", "##1", "##3"]
  assert pieces("playing,played") == ["play", "##ing", ",", "play", "##ed"]
  assert pieces("买iPhone") == ["买", "iphone"]
  assert pieces("ok☃") == ["[UNK]"]
  assert pieces("a" * 101) == ["[UNK]"]
  assert pieces("a" * 100) == ["a"] + ["##a"] * 99
  cased = tok.BertVocabTokenizer([t.id_to_piece(i) for i in range(t.vocab_size)], lowercase=False)
  assert [cased.id_to_piece(i) for i in cased.encode("iPhone")] == ["i", "##P", "##h", "##o", "##n", "##e"]


def test_bert_decode(bert_tokenizer):
  t = bert_tokenizer
  assert t.decode(t.encode("您好，iPhone 13 坏了？[订单x]")) == "您好，iphone 13坏了？[订单x]"
  assert t.decode(t.encode("hello world, unaffable")) == "hello world,unaffable"
  ids = [t.cls_id] + t.encode("[IMG]收到[数字x]件") + [t.sep_id, t.pad_id, t.pad_id]
  assert t.decode(ids) == "[IMG]收到[数字x]件"
  assert t.decode(t.encode("好 彁的")) == "好[UNK][UNK]"
  assert t.decode(t.encode("Café")) == "cafe"


# ---------------------------------------------------------------------------------------
# Both kinds
# ---------------------------------------------------------------------------------------


def test_load_tokenizer_restores_both_kinds(sp_tokenizer, bert_vocab, tmp_path):
  bert = tok.BertVocabTokenizer.from_vocab_file(bert_vocab, lowercase=False)
  for original in (sp_tokenizer, bert):
    folder = tmp_path / type(original).__name__
    main_file = original.save(folder)
    for where in (folder, main_file):
      restored = tok.load_tokenizer(where)
      assert type(restored) is type(original)
      assert restored.vocab_size == original.vocab_size
      for text in ROUND_TRIP_TEXTS:
        assert restored.encode(text) == original.encode(text)
      for name in ("pad_id", "unk_id", "bos_id", "eos_id", "sep_id", "cls_id", "image_id",
                   "customer_id", "agent_id"):
        assert getattr(restored, name) == getattr(original, name)
  assert tok.load_tokenizer(tmp_path / "BertVocabTokenizer").lowercase is False


def test_load_tokenizer_reads_transformers_lowercase(bert_vocab, tmp_path):
  (tmp_path / "vocab.txt").write_bytes(bert_vocab.read_bytes())
  (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false}')
  assert tok.load_tokenizer(tmp_path).lowercase is False


def test_load_tokenizer_errors(tmp_path):
  with pytest.raises(FileNotFoundError):
    tok.load_tokenizer(tmp_path)


def test_tokenizers_pickle(sp_tokenizer, bert_tokenizer):
  for original in (sp_tokenizer, bert_tokenizer):
    copy = pickle.loads(pickle.dumps(original))
    for text in ROUND_TRIP_TEXTS:
      assert copy.encode(text) == original.encode(text)
