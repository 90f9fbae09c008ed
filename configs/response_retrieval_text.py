"""Text-only retrieval (Table 5, "Text-only Retrieval"): ScaNN candidates re-ranked by TransResNet.

    python -m jddc.main --config=configs/response_retrieval_text.py
    python -m jddc.main --config=configs/response_retrieval_text.py:base \
        --config.retrieval.embedder=bert --config.retrieval.bert_init_from=/path/bert-base-chinese \
        --config.data.tokenizer=/path/bert-base-chinese

The 40 candidates are the responses of the training dialogues nearest to the dialogue's
context + query embedding (`jddc.tasks.retrieval`: without a pretrained BERT, the trained
re-ranker's context encoder embeds them). The re-ranker is trained with in-batch
negatives, Adam lr 5e-4 as ParlAI; a larger batch gives more negatives (the Image-Chat
author used 500). Model selection: BLEU on the validation split.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("retrieval", arg)
  config.model = common.transresnet(config.size, image_feature_dim=0)
  config.retrieval = common.retrieval(config.size)
  config.optim.lr = {"tiny": 3e-3, "small": 1e-3, "base": 5e-4}[config.size]
  config.optim.warmup_steps = {"tiny": 5, "small": 30, "base": 4000}[config.size]
  config.optim.weight_decay = 0.0
  config.train.batch_size = {"tiny": 16, "small": 64, "base": 500}[config.size]
  config.train.steps = {"tiny": 100, "small": 300, "base": 20_000}[config.size]
  config.train.eval_every = {"tiny": 50, "small": 150, "base": 2000}[config.size]
  config.train.checkpoint_every = {"tiny": 25, "small": 150, "base": 2000}[config.size]
  config.eval.metric = "bleu"
  return config
