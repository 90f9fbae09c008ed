"""Our Flax models vs `transformers`' PyTorch models on this CPU, same configuration and weights.

    python benchmarks/vs_pytorch.py [--quick] [--rounds=5] [--only=peak,gpt2_train,gpt2_generate,bert,resnet]

Figures (issue 4), each ours vs PyTorch, medians over interleaved rounds:
  peak           float32 matmul FLOP/s (jnp.dot / torch.mm, 2048^3 and 4096^3), the best of N:
                 the CPU's measured peak that the train step's FLOP/s is compared with.
  gpt2_train     GPT-2 6 layers x 384, 6 heads, vocab 21,128, batch 8 x 256: one training step
                 (forward, backward, global-norm clip 1.0, AdamW) in tokens/s. Ours is the
                 engine's step (`jddc.train.make_train_step`, the response task's loss). Achieved
                 FLOP/s = analytic matmul FLOPs / step time (forward 2 x (12 L d^2 + d V) per
                 token + attention 4 L T d per token (scores and mixing over all T keys, the
                 causal half included, as computed), x3 for forward + backward), and XLA's own
                 cost analysis of the compiled step for comparison.
  gpt2_generate  cached greedy decoding, batch 8, 64 new tokens after a 192-token prompt, in new
                 tokens/s: `jddc.decoding.gpt2_generate` vs `GPT2LMHeadModel.generate(use_cache=True,
                 do_sample=False)`; the two must produce the same tokens (same weights).
  bert           BERT-base-shaped encoder forward (12 x 768, 12 heads, vocab 21,128), batch 16 x 128,
                 examples/s (needs `jddc.models.bert`; skipped with a note when it is absent).
  resnet         ResNet-18 forward (inference BatchNorm), batch 32 x 224 x 224, examples/s.

PyTorch models are built from configs with random weights (nothing is downloaded) and ours
load their state dicts (`jddc.models.convert.load_state_dict`); dropout is off in both.
Besides wall-clock throughput, each figure notes the CPU seconds per call (every thread of
the process, `time.process_time`): on a machine shared with other work, wall times mostly
measure waiting, CPU seconds what the work costs; the train step's share of the matmul
peak is given both ways. PyTorch uses as many threads as there are
cores (`torch.set_num_threads`); XLA uses all cores by default. Each figure alternates ours
and theirs for `--rounds` rounds so that load from other processes on the machine hits both
sides alike; the ratio is ours / PyTorch throughput (> 1: ours is faster).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from typing import Callable

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "A short run: fewer rounds and repetitions (noisier figures).")
flags.DEFINE_integer("rounds", 0, "Interleaved ours/PyTorch rounds per figure (0: 5, or 2 with --quick).")
flags.DEFINE_list("only", ["peak", "gpt2_train", "gpt2_generate", "bert", "resnet"], "Figures to measure.")

import jax  # noqa: E402  (after absl: flags first, then the heavy imports)
import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from flax import nnx  # noqa: E402

from jddc import decoding, optim, sharding, train  # noqa: E402
from jddc.models import bert, convert, gpt2  # noqa: E402

N_LAYER, D_MODEL, N_HEAD, VOCAB = 6, 384, 6, 21128
TRAIN_BATCH, TRAIN_LEN = 8, 256
GEN_BATCH, GEN_PROMPT, GEN_NEW = 8, 192, 64
PEAK_N = 2048


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------

def _rounds() -> int:
  return FLAGS.rounds or (2 if FLAGS.quick else 5)


CPU: dict[str, float] = {}  # median CPU seconds (all threads of this process) per call, by side


def interleaved(sides: dict[str, Callable[[], None]], reps: int) -> dict[str, float]:
  """Median wall seconds per call of each side, alternating sides (and their order) per round.

  Each callable must block until its work is done. Each side is called once first
  (warm-up: compilation, allocator, caches), not timed. The median CPU seconds per call
  (`time.process_time`, every thread of the process) land in `CPU[side]`: on a loaded
  machine they say what the work costs when wall times mostly measure waiting.
  """
  for fn in sides.values():
    fn()
  times: dict[str, list[float]] = {name: [] for name in sides}
  cpu: dict[str, list[float]] = {name: [] for name in sides}
  names = list(sides)
  for r in range(_rounds()):
    for name in (names if r % 2 == 0 else names[::-1]):
      for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        sides[name]()
        times[name].append(time.perf_counter() - start)
        cpu[name].append(time.process_time() - start_cpu)
  CPU.clear()
  CPU.update({name: statistics.median(c) for name, c in cpu.items()})
  return {name: statistics.median(t) for name, t in times.items()}


def cpu_note(label: str) -> None:
  """Notes the CPU seconds per call of the last `interleaved` (ours, PyTorch) and their ratio."""
  note(f"{label}: CPU seconds per call (all threads) ours {CPU['ours']:.2f}, PyTorch {CPU['theirs']:.2f} "
       f"({CPU['theirs'] / CPU['ours']:.2f}x less CPU time for ours)")


@dataclasses.dataclass
class Row:
  figure: str
  unit: str
  ours: float
  theirs: float
  target: str = ""

  def line(self) -> str:
    ratio = self.ours / self.theirs if self.theirs else float("nan")
    return f"{self.figure:<34} {self.ours:>12,.1f} {self.theirs:>12,.1f} {self.unit:<12} {ratio:>6.2f}x  {self.target}"


ROWS: list[Row] = []
NOTES: list[str] = []


def report(row: Row) -> None:
  ROWS.append(row)
  print(row.line(), flush=True)


def note(text: str) -> None:
  NOTES.append(text)
  print("  " + text, flush=True)


# ---------------------------------------------------------------------------------------
# Models with shared weights
# ---------------------------------------------------------------------------------------

def _torch_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
  return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def gpt2_pair(n_positions: int = TRAIN_LEN):
  """(our GPT2, HF GPT2LMHeadModel) with the same random weights, dropout off."""
  torch.manual_seed(0)
  hf_config = transformers.GPT2Config(vocab_size=VOCAB, n_positions=n_positions, n_embd=D_MODEL, n_layer=N_LAYER,
                                      n_head=N_HEAD, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                      bos_token_id=None, eos_token_id=None, pad_token_id=0)
  theirs = transformers.GPT2LMHeadModel(hf_config).eval()
  cfg = gpt2.GPT2Config(vocab_size=VOCAB, n_positions=n_positions, d_model=D_MODEL, n_layer=N_LAYER, n_head=N_HEAD,
                        resid_dropout=0.0, embd_dropout=0.0, attn_dropout=0.0)
  ours = nnx.eval_shape(lambda: gpt2.GPT2(cfg, rngs=nnx.Rngs(0)))
  convert.load_state_dict(ours, _torch_state(theirs))
  return ours, theirs


def gpt2_train_flops(tokens: int) -> float:
  """Analytic matmul FLOPs of one training step (module docstring)."""
  per_token = 2 * (12 * N_LAYER * D_MODEL**2 + D_MODEL * VOCAB) + 4 * N_LAYER * TRAIN_LEN * D_MODEL
  return 3.0 * per_token * tokens


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------

def bench_peak() -> float:
  """Best float32 matmul FLOP/s of jnp.dot and torch.mm; returns the larger."""
  best = {}
  for n in ((2048,) if FLAGS.quick else (2048, 4096)):
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    ta, tb = torch.randn(n, n), torch.randn(n, n)
    reps = 3 if FLAGS.quick else 5
    times = {"jax": [], "torch": []}
    dot(a, b).block_until_ready()
    torch.mm(ta, tb)
    for _ in range(_rounds()):
      for _ in range(reps):
        start = time.perf_counter()
        dot(a, b).block_until_ready()
        times["jax"].append(time.perf_counter() - start)
      for _ in range(reps):
        start = time.perf_counter()
        torch.mm(ta, tb)
        times["torch"].append(time.perf_counter() - start)
    for side, t in times.items():
      best[side] = max(best.get(side, 0.0), 2.0 * n**3 / min(t))
  report(Row("matmul peak (f32, best of N)", "GFLOP/s", best["jax"] / 1e9, best["torch"] / 1e9))
  return max(best.values())


class _LMTask:
  """The response task's loss (`jddc.tasks.response.ResponseTask.loss`) on a given GPT-2."""

  def __init__(self, model: gpt2.GPT2, config: ml_collections.ConfigDict):
    self._model, self._config = model, config

  def optimizer(self):
    return optim.adamw(self._config.optim, self._config.train.steps)

  def make_model(self, rngs: nnx.Rngs) -> gpt2.GPT2:
    del rngs
    return self._model

  def loss(self, model, batch, rng):
    logits = model(batch["tokens"], deterministic=False, rngs=nnx.Rngs(dropout=rng))
    total, count = gpt2.lm_loss(logits, batch["tokens"], batch["loss_mask"])
    return (total, count), {"token_loss": (total, count)}


def bench_gpt2_train(peak: float) -> None:
  ours, theirs = gpt2_pair()
  # The engine's optimizer (jddc.optim.adamw) with PyTorch's settings below; the warm-up
  # schedule costs nothing measurable.
  optim_config = {"lr": 1e-3, "warmup_steps": 100, "end_lr_fraction": 0.0, "b1": 0.9, "b2": 0.999, "eps": 1e-8,
                  "weight_decay": 0.01, "clip": 1.0}
  config = ml_collections.ConfigDict({"seed": 0, "optim": optim_config,
                                      "train": {"steps": 1000, "grad_accum": 1, "batch_size": TRAIN_BATCH}})
  mesh = sharding.make_mesh({"data": -1, "fsdp": 1, "model": 1})
  task = _LMTask(ours, config)
  run = train.RunState(task, config, mesh)
  state = jax.device_put(nnx.state((ours, nnx.Optimizer(ours, run.tx, wrt=nnx.Param))), run.shardings)
  step_fn = train.make_train_step(task, run)
  rs = np.random.RandomState(0)
  tokens = rs.randint(0, VOCAB, (TRAIN_BATCH, TRAIN_LEN)).astype(np.int32)
  batch = train.to_global({"tokens": tokens, "loss_mask": np.ones_like(tokens)}, mesh)
  carry = {"state": state, "step": 0}

  compiled = step_fn.lower(state, batch, 0).compile()
  xla_flops = (compiled.cost_analysis() or {}).get("flops", float("nan"))
  if isinstance(compiled.cost_analysis(), list):
    xla_flops = compiled.cost_analysis()[0].get("flops", float("nan"))

  def ours_step():
    carry["state"], metrics = step_fn(carry["state"], batch, carry["step"])
    carry["step"] += 1
    jax.block_until_ready(metrics)

  torch_opt = torch.optim.AdamW(theirs.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
  ids = torch.from_numpy(tokens.astype(np.int64))
  theirs.train()

  def theirs_step():
    torch_opt.zero_grad(set_to_none=True)
    loss = theirs(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    torch_opt.step()

  # The matmul peak is measured again between the steps, so that the percentage compares
  # times taken under the same load (median against median).
  a = jax.random.normal(jax.random.key(0), (PEAK_N, PEAK_N), jnp.float32)
  dot = jax.jit(jnp.dot)

  def matmul():
    dot(a, a).block_until_ready()

  t = interleaved({"ours": ours_step, "theirs": theirs_step, "matmul": matmul}, reps=2 if FLAGS.quick else 3)
  interleaved_peak = 2.0 * PEAK_N**3 / t["matmul"]
  n = TRAIN_BATCH * TRAIN_LEN
  report(Row("GPT-2 train step 8x256", "tokens/s", n / t["ours"], n / t["theirs"], "target >= 1.3x"))
  flops = gpt2_train_flops(n)
  report(Row("GPT-2 train step achieved", "GFLOP/s", flops / t["ours"] / 1e9, flops / t["theirs"] / 1e9))
  note(f"train step: ours {t['ours'] * 1e3:.0f} ms, PyTorch {t['theirs'] * 1e3:.0f} ms; analytic "
       f"{flops / 1e9:.1f} GFLOP/step, XLA cost analysis {xla_flops / 1e9:.1f} GFLOP/step")
  cpu_note("train step")
  note(f"ours at {100 * flops / t['ours'] / interleaved_peak:.0f}% of the matmul peak measured between the steps "
       f"({interleaved_peak / 1e9:.0f} GFLOP/s, median; target >= 40%), PyTorch at "
       f"{100 * flops / t['theirs'] / interleaved_peak:.0f}%; against the best-of-N peak above "
       f"({peak / 1e9:.0f} GFLOP/s): ours {100 * flops / t['ours'] / peak:.0f}%")
  cpu_peak = 2.0 * PEAK_N**3 / CPU["matmul"]
  note(f"per CPU-second (robust to load): matmul {cpu_peak / 1e9:.0f} GFLOP, our step {flops / CPU['ours'] / 1e9:.0f} "
       f"GFLOP = {100 * flops / CPU['ours'] / cpu_peak:.0f}% of it, PyTorch's {flops / CPU['theirs'] / 1e9:.0f} GFLOP")


def bench_gpt2_generate() -> None:
  ours, theirs = gpt2_pair(GEN_PROMPT + GEN_NEW)
  rs = np.random.RandomState(1)
  prompts = rs.randint(1, VOCAB, (GEN_BATCH, GEN_PROMPT)).astype(np.int32)
  lengths = np.full((GEN_BATCH,), GEN_PROMPT, np.int32)
  model = nnx.split(ours)
  out = {}

  def ours_gen():
    out["ours"] = decoding.gpt2_generate(model, prompts, lengths, max_new_tokens=GEN_NEW, eos_id=None)[0]
    jax.block_until_ready(out["ours"])

  ids = torch.from_numpy(prompts.astype(np.int64))
  mask = torch.ones_like(ids)

  def theirs_gen():
    with torch.inference_mode():
      out["theirs"] = theirs.generate(input_ids=ids, attention_mask=mask, max_new_tokens=GEN_NEW,
                                      do_sample=False, use_cache=True, pad_token_id=0)

  t = interleaved({"ours": ours_gen, "theirs": theirs_gen}, reps=1 if FLAGS.quick else 2)
  n = GEN_BATCH * GEN_NEW
  report(Row("GPT-2 cached greedy 8x(192+64)", "new tok/s", n / t["ours"], n / t["theirs"], "target >= 2x"))
  theirs_new = out["theirs"][:, GEN_PROMPT:].numpy()
  if theirs_new.shape != (GEN_BATCH, GEN_NEW):
    note(f"WARNING: PyTorch generated {theirs_new.shape[1]} tokens, not {GEN_NEW}")
  agree = float((np.asarray(out["ours"]) == theirs_new).all(axis=1).mean())
  note(f"generation: ours {t['ours'] * 1e3:.0f} ms, PyTorch {t['theirs'] * 1e3:.0f} ms per batch; "
       f"{100 * agree:.0f}% of rows identical to PyTorch's tokens")
  cpu_note("generation")


def bench_bert() -> None:
  torch.manual_seed(0)
  hf_config = transformers.BertConfig(vocab_size=VOCAB, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072, hidden_dropout_prob=0.0,
                                      attention_probs_dropout_prob=0.0)
  theirs = transformers.BertModel(hf_config).eval()
  ours = nnx.eval_shape(lambda: bert.Bert(bert.base(hidden_dropout=0.0, attn_dropout=0.0), rngs=nnx.Rngs(0)))
  convert.load_state_dict(ours, _torch_state(theirs))
  graphdef, state = nnx.split(ours)
  forward = jax.jit(lambda state, tokens, mask: nnx.merge(graphdef, state)(tokens, attention_mask=mask))
  rs = np.random.RandomState(3)
  tokens = rs.randint(1, VOCAB, (16, 128)).astype(np.int32)
  mask = np.ones_like(tokens)
  mask[::2, 100:] = 0  # half the rows padded, as a real batch
  ids, torch_mask = torch.from_numpy(tokens.astype(np.int64)), torch.from_numpy(mask.astype(np.int64))
  out = {}

  def ours_fwd():
    out["ours"] = jax.block_until_ready(forward(state, tokens, mask))

  def theirs_fwd():
    with torch.inference_mode():
      out["theirs"] = theirs(input_ids=ids, attention_mask=torch_mask)

  t = interleaved({"ours": ours_fwd, "theirs": theirs_fwd}, reps=1 if FLAGS.quick else 3)
  report(Row("BERT-base encoder forward 16x128", "examples/s", 16 / t["ours"], 16 / t["theirs"]))
  valid = mask.astype(bool)
  diff = np.abs(np.asarray(out["ours"][0])[valid] - out["theirs"].last_hidden_state.numpy()[valid]).max()
  note(f"bert: ours {t['ours'] * 1e3:.0f} ms, PyTorch {t['theirs'] * 1e3:.0f} ms; max |diff| of hidden states "
       f"{diff:.1e}")
  cpu_note("bert")


def bench_resnet() -> None:
  torch.manual_seed(0)
  hf_config = transformers.ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
                                        layer_type="basic", downsample_in_first_stage=False)
  theirs = transformers.ResNetModel(hf_config).eval()
  ours = convert.resnet18_from_pretrained(_torch_state(theirs))
  graphdef, state = nnx.split(ours)
  forward = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))
  images = np.random.RandomState(2).randn(32, 224, 224, 3).astype(np.float32)
  x_ours = jnp.asarray(images)
  x_theirs = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
  out = {}

  def ours_fwd():
    out["ours"] = forward(state, x_ours).block_until_ready()

  def theirs_fwd():
    with torch.inference_mode():
      out["theirs"] = theirs(pixel_values=x_theirs).pooler_output

  t = interleaved({"ours": ours_fwd, "theirs": theirs_fwd}, reps=1 if FLAGS.quick else 3)
  report(Row("ResNet-18 forward 32x224px", "examples/s", 32 / t["ours"], 32 / t["theirs"]))
  diff = np.abs(np.asarray(out["ours"]) - out["theirs"].reshape(32, -1).numpy()).max()
  note(f"resnet: ours {t['ours'] * 1e3:.0f} ms, PyTorch {t['theirs'] * 1e3:.0f} ms; max |diff| of features {diff:.1e}")
  cpu_note("resnet")


def main(argv):
  del argv
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  print(f"jax {jax.__version__} ({jax.devices()[0].platform}), torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, {len(os.sched_getaffinity(0))} cores; "
        f"load average {os.getloadavg()[0]:.1f}; {_rounds()} interleaved rounds")
  print(f"{'figure':<34} {'ours':>12} {'PyTorch':>12} {'unit':<12} {'ratio':>7}")
  peak = bench_peak() if "peak" in FLAGS.only or "gpt2_train" in FLAGS.only else float("nan")
  for name, fn in (("gpt2_train", lambda: bench_gpt2_train(peak)), ("gpt2_generate", bench_gpt2_generate),
                   ("bert", bench_bert), ("resnet", bench_resnet)):
    if name in FLAGS.only:
      fn()
  print(f"load average at the end {os.getloadavg()[0]:.1f} (other processes inflate both sides' times alike)")


if __name__ == "__main__":
  app.run(main)
