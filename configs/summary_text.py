"""Text-only BERTSUMABS: Table 9, "Text-only BERTSUMABS" (Liu & Lapata 2019, PreSumm).

    python -m jddc.main --config=configs/summary_text.py           # small: a CPU run
    python -m jddc.main --config=configs/summary_text.py:base --config.model.init_from=/path/bert-base-chinese \
        --config.data.tokenizer=/path/bert-base-chinese

BERT encoder over the dialogue (`[CLS] speaker text [SEP]` per message, interval segments),
6-layer pre-LN Transformer decoder sharing BERT's word embeddings, label smoothing 0.1, two
Adams with Noam schedules (`jddc.tasks.bertsum`, docs/baselines.md §5). Decoding: beam 5, length
penalty alpha 0.95 and minimum length as CSDS's Chinese port, n-gram blocking (5-grams over
characters with a BERT vocab, as CSDS; 3-grams over the word-like SentencePiece pieces of
`tiny`/`small`). Without a pretrained checkpoint (nothing is downloaded here) the encoder
trains from scratch; `init_from` a bert-base-chinese folder gives the paper's setting.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("summary_bertsum", arg)
  config.model = common.bertsum(config.size, image_feature_dim=0)
  config.data.max_len = {"tiny": 160, "small": 256, "base": 512}[config.size]  # source tokens
  config.data.max_response_len = {"tiny": 24, "small": 40, "base": 150}[config.size]  # target + [EOS]
  config.optim.clip = 0.0  # PreSumm: max_grad_norm 0
  config.train.batch_size = 16
  config.train.steps = {"tiny": 60, "small": 400, "base": 200_000}[config.size]
  config.train.eval_every = {"tiny": 30, "small": 200, "base": 2000}[config.size]
  config.train.checkpoint_every = {"tiny": 30, "small": 200, "base": 2000}[config.size]
  config.decode = common.decoding(config.size)
  config.decode.method = "beam"
  config.decode.beam_size = 5
  config.decode.length_penalty = 0.95
  config.decode.no_repeat_ngram = {"tiny": 3, "small": 3, "base": 5}[config.size]
  config.decode.max_new_tokens = config.data.max_response_len
  config.decode.min_new_tokens = {"tiny": 2, "small": 8, "base": 30}[config.size]
  config.eval.metric = "rougeL"
  return config
