"""The GPT-2 rewriter on real incomplete-utterance rewriting data: REWRITE (Su et al. 2019).

    python -m jddc.main --config=configs/rewrite_gen_restoration.py          # small: a CPU run
    python -m jddc.main --config=configs/rewrite_gen_restoration.py:tiny     # seconds

`configs/rewrite_gen_text.py` (Table 7's "Text-only GPT") pointed at `../shared/data/rewrite`
(`--config.data.corpus_path=` a full copy's folder): `[CLS] [USER] ctx1 [SEP] [AGENT] ctx2 [SEP]
[USER] current [SEP] <bos> rewrite [SEP]`, loss on the rewrite.

Splits (`jddc/data/corpora/rewrite_corpus.py`): the public train.txt is the first 18,000 of
the corpus's 20,000 lines, RUN's training part; RUN (Liu et al. 2020) evaluates on the last
2,000, which are not public. We hold out the last 10% of train.txt (lines 16,201-18,000) as
test and the 5% before (15,301-16,200) as valid, and train on lines 1-15,300. Scored as RUN
does (`jddc.run_metrics`, the `run_*` keys: EM, BLEU-1..4, ROUGE-L, restoration P/R/F1-3 on
jieba tokens); RUN's published figures are EM 53.6, BLEU-4 79.6, F1 81.3. The checkpoint is
selected on exact match (`run_em`) on our valid split; RUN selected its checkpoint on its test
lines. The copying rewriter on the same data: `configs/rewrite_copy_restoration.py`.
RUN's evaluation file also holds a copy of each held-out line with the rewrite as the
current utterance (its "negative examples"); those raise EM and BLEU, not F1 (nothing
restored). Our test split has only the original lines, so our EM and BLEU are the stricter.
"""

import os

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("rewrite_gen", arg)
  config.data.corpus = "rewrite"
  config.data.corpus_path = os.path.join(common.SHARED_DATA, "rewrite")
  # real Chinese text: about 3,700 characters reach SentencePiece's character coverage
  config.data.vocab_size = {"tiny": 5000, "small": 6000, "base": 8000}[config.size]
  # a line is about 35 characters in all: short windows, more examples per step
  config.data.max_len = {"tiny": 64, "small": 64, "base": 128}[config.size]
  config.data.max_response_len = {"tiny": 24, "small": 32, "base": 48}[config.size]
  config.model = common.gpt2(config.size, image_feature_dim=0)
  config.decode = common.decoding(config.size)
  config.decode.max_new_tokens = config.data.max_response_len
  # REWRITE's two context utterances are short, so few prompts fill the window: a prompt keeps
  # as much context as the longest training example (issue 13: with the reserve at
  # max_response_len + 1, 14.9% of test prompts lost the start of ctx1); measured so
  config.decode.prompt_reserve = 1
  config.train.batch_size = {"tiny": 8, "small": 32, "base": 64}[config.size]
  # small: 3,500 steps x 32 = 7.3 epochs of the 15,300 training lines, about 15 minutes on
  # 2 free CPU cores (a from-scratch GPT-2 needs about 1,000 steps before it starts copying)
  config.train.steps = {"tiny": 40, "small": 3500, "base": 20_000}[config.size]
  config.optim.warmup_steps = {"tiny": 5, "small": 100, "base": 2000}[config.size]
  config.train.eval_every = {"tiny": 20, "small": 1750, "base": 2000}[config.size]
  config.train.checkpoint_every = {"tiny": 20, "small": 875, "base": 2000}[config.size]
  config.eval.max_examples = {"tiny": 32, "small": 0, "base": 0}[config.size]  # small: all 1,800 test lines
  config.eval.metric = "run_em"  # was "bleu" (character BLEU) before RUN's figures were wired in
  return config
