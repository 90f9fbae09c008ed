"""Pointer-Generator with coverage: Table 9, "Pointer-Generator" (See et al. 2017).

    python -m jddc.main --config=configs/summary_pgn.py           # small: a CPU run
    python -m jddc.main --config=configs/summary_pgn.py:tiny      # seconds

abisee/pointer-generator's recipe (docs/baselines.md §5) where it fits: BiLSTM encoder over the
dialogue's tokens (speaker tokens and [IMG] included), LSTM decoder with Bahdanau attention,
copy distribution over the vocabulary extended by the dialogue's out-of-vocabulary pieces,
coverage with loss weight 1 switched on from the first step (the original adds it for a
short final phase; a single phase keeps one run = one config), global-norm clipping 2.0, no
dropout. `base` trains with the original's Adagrad (lr 0.15, initial accumulator 0.1);
`tiny`/`small` with AdamW (lr 2e-3, 50 warmup steps, linear decay), because Adagrad learns
far too slowly for a CPU run (on the embedded corpus, after 200 steps: validation ROUGE-L
3.8 with Adagrad, 39.7 with AdamW). Sizes: `base` = the original's
embedding 128 / hidden 256 / source 400 / target 100; `small` halves the hidden size for a
CPU run. The generator's vocabulary is the first `model.vocab_size` sentencepiece ids (the
most frequent pieces); rarer pieces reach the summary only by copying. Beam search of
width 4 as the original (length penalty alpha 1, close to its ranking by mean
log-probability), with a minimum length (`decode.min_new_tokens`). The checkpoint with the
best validation ROUGE-L (summary-level) is evaluated on the test split.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("summary_pgn", arg)
  config.model = common.pgn(config.size)
  config.data.max_len = {"tiny": 160, "small": 192, "base": 400}[config.size]  # source pieces
  config.data.max_response_len = {"tiny": 24, "small": 32, "base": 100}[config.size]  # target pieces + [EOS]
  config.optim.lr = {"tiny": 5e-3, "small": 2e-3, "base": 0.15}[config.size]  # base: Adagrad's
  config.optim.warmup_steps = {"tiny": 5, "small": 50, "base": 0}[config.size]  # AdamW only
  config.optim.clip = 2.0
  config.train.batch_size = 16
  config.train.steps = {"tiny": 40, "small": 600, "base": 100_000}[config.size]
  config.train.eval_every = {"tiny": 20, "small": 200, "base": 5000}[config.size]
  config.train.checkpoint_every = {"tiny": 20, "small": 200, "base": 2500}[config.size]
  config.decode = common.decoding(config.size)
  config.decode.method = "beam"
  config.decode.beam_size = 4
  config.decode.length_penalty = 1.0  # ((5 + t) / 6) ** 1: near abisee's ranking by mean log-probability
  config.decode.max_new_tokens = config.data.max_response_len
  config.decode.min_new_tokens = {"tiny": 4, "small": 10, "base": 15}[config.size]
  config.eval.metric = "rougeL"
  return config
