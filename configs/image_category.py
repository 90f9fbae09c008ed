"""ResNet-18 image classifier over the 15 subcategories of Table 4: the image feature extractor.

    python -m jddc.main --config=configs/image_category.py          # small: 64 px on a CPU
    python -m jddc.main --config=configs/image_category.py:base     # 224 px
    python -m jddc.main --config=configs/image_category.py:base --config.model.init_from=resnet18-f37072fd.pth

No ImageNet weights are reachable here, so the multimodal rows use this model's frozen
pooled 512-d features instead of an ImageNet ResNet-18's (docs/baselines.md §0). On a generated
corpus it also learns the latent facts the images show (`synth_meta.jsonl`: colour,
defect, status...) as auxiliary heads, standing in for the generality of ImageNet
features; set `model.aux_facts=False` to train on the categories alone. A real release
(`--config.data.release=...`) has no facts: only the category head trains.
"""

from configs import common


def get_config(arg: str = "small"):
  config = common.base_config("image_category", arg)
  config.model = common.resnet18()
  config.train.steps = {"tiny": 30, "small": 400, "base": 20_000}[config.size]
  config.train.batch_size = {"tiny": 16, "small": 64, "base": 128}[config.size]
  config.train.eval_every = {"tiny": 30, "small": 200, "base": 2000}[config.size]
  config.train.checkpoint_every = config.train.eval_every
  config.optim.lr = {"tiny": 3e-3, "small": 2e-3, "base": 1e-3}[config.size]
  config.optim.warmup_steps = {"tiny": 3, "small": 25, "base": 1000}[config.size]
  config.optim.weight_decay = 1e-4
  config.eval.metric = "accuracy"
  config.eval.max_examples = 0
  return config
