"""Text-only Deep Sequential discourse parsing: Table 8, "Text-only Deep Sequential".

    python -m jddc.main --config=configs/discourse_text.py          # small: a CPU run
    python -m jddc.main --config=configs/discourse_text.py:tiny     # seconds

Shi & Huang (2019) as docs/baselines.md §4 describes it, in JAX (one `lax.scan` per batch).
Image EDUs keep their place in the dialogue but carry no content (the paper's footnote 4:
"the image EDUs are ignored"): their token sequence is the end marker alone. Where the
original differs: no GloVe here, so SentencePiece pieces (trained on the train split) with
randomly initialised 100-d embeddings; Adam with warmup and linear decay (config.optim)
instead of SGD 0.1 with ×0.98 per epoch, with the original's global-norm clip 5; the best
checkpoint is picked on `valid` (the original picked it on test). Link & relation F1 on
`valid` selects the checkpoint.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("discourse", arg)
  config.model = common.deep_sequential(config.size, image_feature_dim=0)
  config.optim.clip = 5.0
  config.optim.weight_decay = 0.0
  config.train.batch_size = {"tiny": 8, "small": 8, "base": 4}[config.size]
  config.train.steps = {"tiny": 40, "small": 600, "base": 20_000}[config.size]
  config.train.eval_every = {"tiny": 20, "small": 200, "base": 1000}[config.size]
  config.train.checkpoint_every = {"tiny": 20, "small": 200, "base": 1000}[config.size]
  config.optim.warmup_steps = {"tiny": 5, "small": 50, "base": 500}[config.size]
  config.eval.max_examples = {"tiny": 32, "small": 0, "base": 0}[config.size]
  config.eval.metric = "link_rel_f1"
  return config
