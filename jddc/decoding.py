"""Autoregressive decoding on a KV cache: greedy, sampling with top-k / top-p, beam search.

One loop serves every decoder (GPT-2, BERTSUMABS, the Pointer-Generator): a model
supplies `step_fn(tokens int32[R], state) -> (logits float[R, V], state)` that consumes
the last chosen token of each of its R rows and returns the next-token logits, its state
(a pytree: KV cache, positions...) and the logits of the first new token (from its
prefill). `generate` (greedy, sampling) and `beam_search` run the steps in one
`jax.lax.while_loop` (stopping early once every row has ended), so the whole decode is one
jitted computation; neither calls `step_fn` after the last token is chosen.

State convention: every leaf of the state with at least one axis has the row on axis 0;
scalar leaves (e.g. the shared write `index` of a GPT-2 `KVCache`) are shared by all rows.
Beam search runs B x K rows (row b * K + k is beam k of example b): it tiles the state of
the B examples K times (`tile_beams`) and, after each step, gathers every non-scalar leaf
along axis 0 by the surviving beams' parents. Beam-invariant tensors (encoder outputs)
belong in the `step_fn` closure, tiled once with `tile_beams`, not in the state, so they
are not gathered at every step.

Per step, the logits are processed in this order: banned ids -> -inf (e.g. `[UNK]`, as
GPT2-chitchat does); `eos_id` -> -inf before `min_new_tokens`; with `no_repeat_ngram` n,
every token that would complete an n-gram already present in the row's generated tokens
-> -inf (n-gram blocking over generated tokens only, not the prompt; PreSumm blocks
trigrams, 5-grams suit Chinese characters). Then greedy takes the argmax, and sampling
divides by `temperature`, keeps the `top_k` largest (0: all), keeps the smallest set of
most likely tokens whose probability reaches `top_p` (1.0: all; unlike GPT2-chitchat, 0
means "only the most likely token", not "off") and draws.

Beam search (`beam_search`) keeps K live hypotheses per example, scored by the sum of the
model's log-probabilities (log-softmax of the raw logits; the masks above set entries to
-inf without renormalising, as PreSumm and Hugging Face do). Each step expands every live
beam over the vocabulary and takes the 2K best candidates: those ending with `eos_id`, and
all of them at `max_new_tokens`, are finished with the score `sum log p / lp(t)`,
`lp(t) = ((5 + t) / 6) ** length_penalty` (GNMT; t counts the new tokens, eos included),
and replace the example's best finished hypothesis when better; the K best others stay
live. An example stops when no live beam can still beat its best finished hypothesis
(log-probabilities only fall, so `logp / lp` is bounded over the remaining lengths); the
best finished hypothesis is returned. With a beam as wide as the number of live prefixes
this is exhaustive search (tests/test_decoding.py checks it).

Output: `tokens` int32[B, max_new_tokens] and `lengths` int32[B]; `tokens[b, :lengths[b]]`
is what row b generated, its `eos_id` included when it produced one; the rest is `pad_id`.
With `return_scores`, also float32[B] scores: the sum of the model's log-probabilities of
the generated tokens (greedy, sampling), divided by `lp(lengths)` for beam search.

GPT-2 prompts (`gpt2_generate`) are right-padded, the layout our data pipeline produces:
`tokens[b, :prompt_lengths[b]]` is row b's prompt. The whole [B, P] block is prefilled
into cache slots 0..P-1 (padding slots get segment 0 and are never attended to), new
tokens go to the shared slots P, P+1, ..., and row b's position ids continue from its
own prompt end: `prompt_lengths[b], prompt_lengths[b] + 1, ...`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

StepFn = Callable[[jax.Array, Any], tuple[jax.Array, Any]]
METHODS = ("greedy", "sample", "beam")


def process_logits(logits: jax.Array, step: jax.Array, *, eos_id: Optional[int] = None,
                   banned_ids: Sequence[int] = (), min_new_tokens: int = 0,
                   generated: Optional[jax.Array] = None, no_repeat_ngram: int = 0) -> jax.Array:
  """float[R, V] -> float32[R, V] with banned ids, eos before `min_new_tokens` and blocked n-grams at -inf.

  `generated` int32[R, N] holds each row's tokens so far in `generated[:, :step]` (needed
  with `no_repeat_ngram`).
  """
  logits = logits.astype(jnp.float32)
  if banned_ids:
    logits = logits.at[:, jnp.asarray(banned_ids, jnp.int32)].set(-jnp.inf)
  if eos_id is not None and min_new_tokens:
    is_eos = jnp.arange(logits.shape[-1]) == eos_id
    logits = jnp.where(is_eos & (step < min_new_tokens), -jnp.inf, logits)
  if no_repeat_ngram:
    if generated is None:
      raise ValueError("no_repeat_ngram needs the generated tokens")
    logits = jnp.where(ngram_blocked(generated, step, no_repeat_ngram, logits.shape[-1]), -jnp.inf, logits)
  return logits


def ngram_blocked(generated: jax.Array, length: jax.Array, n: int, vocab_size: int) -> jax.Array:
  """bool[R, V]: True for each token that would repeat an n-gram of `generated[:, :length]`.

  Args:
    generated: int32[R, N], each row's tokens so far in its first `length` entries.
    length: int32[], the number of tokens so far (the same for all rows).
    n: the n-gram size (>= 1).
    vocab_size: V.
  """
  rows, size = generated.shape
  if n < 1:
    raise ValueError(f"no_repeat_ngram must be >= 1, got {n}")
  if size < n:
    return jnp.zeros((rows, vocab_size), bool)
  windows = size - n + 1
  # grams[r, i, j] = generated[r, i + j]: every n-gram start i; its last token is what repeats.
  grams = jnp.stack([generated[:, j:j + windows] for j in range(n)], axis=-1)
  suffix = jax.lax.dynamic_slice_in_dim(generated, jnp.clip(length - (n - 1), 0, size - (n - 1)), n - 1, axis=1)
  match = jnp.all(grams[:, :, :n - 1] == suffix[:, None, :], axis=-1)
  match &= (jnp.arange(windows) + n - 1 < length)[None, :] & (length >= n - 1)
  hits = jnp.zeros((rows, vocab_size), jnp.int32).at[jnp.arange(rows)[:, None], grams[:, :, n - 1]].max(
      match.astype(jnp.int32))
  return hits > 0


def filter_logits(logits: jax.Array, *, top_k: int = 0, top_p: float = 1.0) -> jax.Array:
  """float32[B, V]: all but the top-k, then all outside the top-p nucleus, set to -inf."""
  if top_k:
    kth = jax.lax.top_k(logits, top_k)[0][:, -1:]
    logits = jnp.where(logits < kth, -jnp.inf, logits)
  if not (isinstance(top_p, (int, float)) and top_p >= 1.0):
    ordered = jnp.sort(logits, axis=-1)[:, ::-1]
    probs = jax.nn.softmax(ordered, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs
    keep = (before < top_p).at[:, 0].set(True)
    cutoff = jnp.min(jnp.where(keep, ordered, jnp.inf), axis=-1, keepdims=True)
    logits = jnp.where(logits < cutoff, -jnp.inf, logits)
  return logits


def select_tokens(logits: jax.Array, key: Optional[jax.Array], *, method: str = "greedy",
                  temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> jax.Array:
  """float32[B, V] processed logits -> int32[B] next tokens."""
  if method == "greedy":
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)
  if method != "sample":
    raise ValueError(f"unknown decoding method {method!r}; expected greedy or sample")
  logits = filter_logits(logits / temperature, top_k=top_k, top_p=top_p)
  return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def _check_method(method: str, rng: Optional[jax.Array]) -> None:
  if method not in METHODS:
    raise ValueError(f"unknown decoding method {method!r}; expected one of {METHODS}")
  if method == "sample" and rng is None:
    raise ValueError("method='sample' needs an rng key")


def generate(step_fn: StepFn, state: Any, first_logits: jax.Array, *, max_new_tokens: int,
             eos_id: Optional[int], pad_id: int = 0, method: str = "greedy",
             rng: Optional[jax.Array] = None, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, banned_ids: Sequence[int] = (), min_new_tokens: int = 0,
             no_repeat_ngram: int = 0, return_scores: bool = False):
  """Greedy or sampled decoding of up to `max_new_tokens` tokens per row (module docstring).

  Args:
    step_fn: (int32[B] last tokens, state) -> (float[B, V] next logits, state).
    state: initial state of `step_fn` (e.g. the cache after the prefill).
    first_logits: float[B, V], logits of the first new token.
    max_new_tokens: static number of steps.
    eos_id: a row ends after producing it; None: rows run to `max_new_tokens`.
    pad_id: fills `tokens` after a row has ended.
    method: 'greedy' or 'sample' (which needs `rng`).
    rng: PRNG key for sampling.
    temperature, top_k, top_p: sampling filters (module docstring).
    banned_ids: token ids never produced.
    min_new_tokens: `eos_id` is banned for the first `min_new_tokens` steps.
    no_repeat_ngram: n > 0 never repeats an n-gram of the generated tokens; 0: off.
    return_scores: also return the float32[B] sum of the generated tokens' log-probabilities.

  Returns:
    int32[B, max_new_tokens] tokens and int32[B] lengths (and float32[B] scores).
  """
  if method == "beam":
    raise ValueError("generate does greedy and sampling; use beam_search for method='beam'")
  _check_method(method, rng)
  rng = jax.random.key(0) if rng is None else rng
  batch = first_logits.shape[0]
  process = functools.partial(process_logits, eos_id=eos_id, banned_ids=banned_ids,
                              min_new_tokens=min_new_tokens, no_repeat_ngram=no_repeat_ngram)

  def choose(carry):
    """Picks the token of step t for every row and writes it; returns the new carry and tokens."""
    t, logits, state, tokens, lengths, scores, done, rng = carry
    rng, key = jax.random.split(rng)
    token = select_tokens(process(logits, t, generated=tokens), key, method=method,
                          temperature=temperature, top_k=top_k, top_p=top_p)
    token = jnp.where(done, pad_id, token)
    if return_scores:
      logp = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), token[:, None], axis=-1)[:, 0]
      scores = scores + jnp.where(done, 0.0, logp)
    tokens = jax.lax.dynamic_update_slice(tokens, token[:, None], (0, t))
    lengths = lengths + (~done).astype(jnp.int32)
    if eos_id is not None:
      done = done | (token == eos_id)
    return (t, logits, state, tokens, lengths, scores, done, rng), token

  def cond(carry):
    t, done = carry[0], carry[6]
    return (t < max_new_tokens - 1) & ~jnp.all(done)

  def body(carry):
    (t, _, state, tokens, lengths, scores, done, rng), token = choose(carry)
    logits, state = step_fn(token, state)
    return t + 1, logits.astype(jnp.float32), state, tokens, lengths, scores, done, rng

  carry = (jnp.zeros((), jnp.int32), first_logits.astype(jnp.float32), state,
           jnp.full((batch, max_new_tokens), pad_id, jnp.int32), jnp.zeros((batch,), jnp.int32),
           jnp.zeros((batch,), jnp.float32), jnp.zeros((batch,), bool), rng)
  # The last token is chosen after the loop: no step_fn call whose logits nobody reads.
  (_, _, _, tokens, lengths, scores, _, _), _ = choose(jax.lax.while_loop(cond, body, carry))
  return (tokens, lengths, scores) if return_scores else (tokens, lengths)


def tile_beams(tree: Any, beam_size: int) -> Any:
  """Repeats every non-scalar leaf `beam_size` times along axis 0: rows [B, ...] -> [B * K, ...]."""
  return jax.tree.map(lambda x: jnp.repeat(x, beam_size, axis=0) if jnp.ndim(x) else x, tree)


def gather_rows(tree: Any, rows: jax.Array) -> Any:
  """Every non-scalar leaf's axis-0 entries `rows` (int32[R]); scalar leaves unchanged."""
  return jax.tree.map(lambda x: jnp.take(x, rows, axis=0) if jnp.ndim(x) else x, tree)


def length_penalty_divisor(length: jax.Array, alpha: float) -> jax.Array:
  """GNMT's ((5 + length) / 6) ** alpha (PreSumm); 1 for alpha 0."""
  return ((5.0 + jnp.asarray(length, jnp.float32)) / 6.0) ** alpha


def beam_search(step_fn: StepFn, state: Any, first_logits: jax.Array, *, beam_size: int,
                max_new_tokens: int, eos_id: Optional[int], pad_id: int = 0,
                length_penalty: float = 0.0, banned_ids: Sequence[int] = (), min_new_tokens: int = 0,
                no_repeat_ngram: int = 0) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Beam search (module docstring); call it inside `jax.jit`.

  Args:
    step_fn: (int32[B * K] last tokens, state) -> (float[B * K, V] next logits, state);
      row b * K + k is beam k of example b.
    state: `step_fn`'s state for the B examples (e.g. the cache after the prefill); it is
      tiled to B * K rows here and reordered by beam parents after every step (module
      docstring: non-scalar leaves have the row on axis 0).
    first_logits: float[B, V], logits of the first new token of each example.
    beam_size: K, static.
    max_new_tokens: static maximum number of new tokens (eos included).
    eos_id: ends a hypothesis; None: every hypothesis runs to `max_new_tokens`.
    pad_id: fills `tokens` after a hypothesis' end.
    length_penalty: alpha of ((5 + t) / 6) ** alpha; 0: plain sum of log-probabilities.
    banned_ids: token ids never produced.
    min_new_tokens: `eos_id` is banned for the first `min_new_tokens` steps.
    no_repeat_ngram: n > 0 never repeats an n-gram within a hypothesis; 0: off.

  Returns:
    int32[B, max_new_tokens] tokens, int32[B] lengths and float32[B] scores (sum of
    log-probabilities / lp(length)) of the best finished hypothesis of each example.
  """
  batch, vocab = first_logits.shape
  k, n = beam_size, max_new_tokens
  if k < 1 or n < 1:
    raise ValueError(f"beam_size {k} and max_new_tokens {n} must be >= 1")
  n_cand = min(2 * k, k * vocab)
  process = functools.partial(process_logits, eos_id=eos_id, banned_ids=banned_ids,
                              min_new_tokens=min_new_tokens, no_repeat_ngram=no_repeat_ngram)
  lp = functools.partial(length_penalty_divisor, alpha=length_penalty)

  def expand(carry):
    """Step t: extends the live beams by one token, updates the best finished hypotheses."""
    t, logits, state, seqs, live_logp, best_seq, best_score, best_len, done = carry
    raw_logp = jax.nn.log_softmax(logits, axis=-1)
    logp = jnp.where(process(logits, t, generated=seqs.reshape(batch * k, n)) == -jnp.inf, -jnp.inf, raw_logp)
    cand_logp, cand = jax.lax.top_k((live_logp[:, :, None] + logp.reshape(batch, k, vocab)).reshape(batch, -1),
                                    n_cand)
    parent, token = cand // vocab, (cand % vocab).astype(jnp.int32)
    cand_seqs = jnp.take_along_axis(seqs, parent[:, :, None], axis=1)
    cand_seqs = jax.lax.dynamic_update_slice_in_dim(cand_seqs, token[:, :, None], t, axis=2)
    ends = jnp.full(token.shape, t == n - 1) if eos_id is None else (token == eos_id) | (t == n - 1)
    finished = jnp.where(ends, cand_logp / lp(t + 1), -jnp.inf)
    pick = jnp.argmax(finished, axis=-1)
    better = ~done & (jnp.max(finished, axis=-1) > best_score)
    best_seq = jnp.where(better[:, None], cand_seqs[jnp.arange(batch), pick], best_seq)
    best_score = jnp.where(better, jnp.max(finished, axis=-1), best_score)
    best_len = jnp.where(better, t + 1, best_len)
    live_logp, keep = jax.lax.top_k(jnp.where(ends, -jnp.inf, cand_logp), k)
    parent, token = jnp.take_along_axis(parent, keep, axis=1), jnp.take_along_axis(token, keep, axis=1)
    seqs = jnp.take_along_axis(cand_seqs, keep[:, :, None], axis=1)
    # A live beam's final score is at most its log-probability now over lp of its final
    # length (t + 2 .. n): the larger of the two ends, whatever the sign of alpha.
    bound = jnp.maximum(live_logp[:, 0] / lp(t + 2), live_logp[:, 0] / lp(n))
    done = done | (best_score >= bound)
    rows = (jnp.arange(batch)[:, None] * k + parent).reshape(-1)
    return (t, logits, state, seqs, live_logp, best_seq, best_score, best_len, done), rows, token.reshape(-1)

  def cond(carry):
    t, done = carry[0], carry[-1]
    return (t < n - 1) & ~jnp.all(done)

  def body(carry):
    (t, _, state, *rest), rows, token = expand(carry)
    logits, state = step_fn(token, gather_rows(state, rows))
    return (t + 1, logits.astype(jnp.float32), state, *rest)

  live_logp = jnp.full((batch, k), -jnp.inf, jnp.float32).at[:, 0].set(0.0)  # all K beams start equal
  carry = (jnp.zeros((), jnp.int32), tile_beams(first_logits.astype(jnp.float32), k), tile_beams(state, k),
           jnp.full((batch, k, n), pad_id, jnp.int32), live_logp, jnp.full((batch, n), pad_id, jnp.int32),
           jnp.full((batch,), -jnp.inf, jnp.float32), jnp.zeros((batch,), jnp.int32), jnp.zeros((batch,), bool))
  (_, _, _, _, _, tokens, scores, lengths, _), _, _ = expand(jax.lax.while_loop(cond, body, carry))
  return tokens, lengths, scores


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
  """What every decoder (GPT-2, BERTSUMABS, the Pointer-Generator) decodes with; static under jit.

  Fields as in `generate` and `beam_search`. `bos_id` is the first decoder input of the
  encoder-decoder models (GPT-2 continues its prompt and ignores it); `cache_dtype` is GPT-2's
  KV cache dtype (None: the model's compute dtype). `beam_size` and `length_penalty` apply to
  method "beam" only, `temperature`, `top_k` and `top_p` to "sample" only.
  """
  max_new_tokens: int
  eos_id: Optional[int]
  pad_id: int = 0
  bos_id: Optional[int] = None
  method: str = "greedy"
  temperature: float = 1.0
  top_k: int = 0
  top_p: float = 1.0
  banned_ids: tuple[int, ...] = ()
  min_new_tokens: int = 0
  no_repeat_ngram: int = 0
  beam_size: int = 4
  length_penalty: float = 0.0
  cache_dtype: Any = None

  #: the keys of a config's `decode` section (`configs/common.py:decoding`), each a field here
  CONFIG_KEYS: ClassVar[tuple[str, ...]] = ("method", "top_k", "top_p", "temperature", "max_new_tokens",
                                            "beam_size", "length_penalty", "no_repeat_ngram", "min_new_tokens")
  #: keys of the `decode` section that shape the prompt, not the decoding (`jddc.data.pipeline`)
  PROMPT_KEYS: ClassVar[tuple[str, ...]] = ("prompt_reserve",)

  def __post_init__(self):
    if self.method not in METHODS:
      raise ValueError(f"decode.method: unknown decoding method {self.method!r}; expected one of {METHODS}")
    if self.max_new_tokens < 1:
      raise ValueError(f"decode.max_new_tokens must be >= 1, got {self.max_new_tokens}")
    if self.method == "beam" and self.beam_size < 1:
      raise ValueError(f"decode.beam_size must be >= 1, got {self.beam_size}")
    for name, kind in (("banned_ids", lambda ids: tuple(int(i) for i in ids)), ("temperature", float),
                       ("top_p", float), ("length_penalty", float), ("top_k", int), ("beam_size", int),
                       ("max_new_tokens", int), ("min_new_tokens", int), ("no_repeat_ngram", int)):
      object.__setattr__(self, name, kind(getattr(self, name)))  # equal options hash equal: one compilation

  @classmethod
  def from_config(cls, decode: Mapping[str, Any], tokenizer: Any, *, seq2seq: bool) -> "DecodeOptions":
    """The options of a config's `decode` section (every key of `CONFIG_KEYS`) with the
    tokenizer's ids: the one place that maps `config.decode` to decoding arguments.

    Args:
      decode: `config.decode`; a key outside `CONFIG_KEYS` and `PROMPT_KEYS` is an error naming it.
      tokenizer: a `jddc.data.tokenizers.Tokenizer`.
      seq2seq: True for the encoder-decoder summarizers (start at `bos_id`, end at `eos_id`,
        never produce unk, pad or bos); False for GPT-2 (ends at `[SEP]`, never produces `[UNK]`).
    """
    unknown = sorted(set(decode) - set(cls.CONFIG_KEYS) - set(cls.PROMPT_KEYS))
    missing = sorted(set(cls.CONFIG_KEYS) - set(decode))
    if unknown or missing:
      raise ValueError(f"config.decode: unknown keys {unknown}, missing keys {missing}; "
                       f"expected {list(cls.CONFIG_KEYS)}")
    d = dict(decode)
    if seq2seq:
      ids = dict(bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
                 banned_ids=(tokenizer.unk_id, tokenizer.pad_id, tokenizer.bos_id))
    else:
      ids = dict(eos_id=tokenizer.sep_id, banned_ids=(tokenizer.unk_id,))
    return cls(max_new_tokens=int(d["max_new_tokens"]), pad_id=tokenizer.pad_id, method=d["method"],
               temperature=float(d["temperature"]), top_k=int(d["top_k"]), top_p=float(d["top_p"]),
               min_new_tokens=int(d["min_new_tokens"]), no_repeat_ngram=int(d["no_repeat_ngram"]),
               beam_size=int(d["beam_size"]), length_penalty=float(d["length_penalty"]), **ids)

  @classmethod
  def given(cls, options: Optional["DecodeOptions"], fields: dict[str, Any]) -> "DecodeOptions":
    """`options`, or options built from keyword `fields` (a decoder's keyword form); not both."""
    if options is not None and fields:
      raise TypeError(f"pass DecodeOptions or keyword options, not both (got {sorted(fields)})")
    return options if options is not None else cls(**fields)

  def normalized(self) -> "DecodeOptions":
    """These options with the fields the method does not read at their defaults (one
    compiled decoder for all values of an unused option)."""
    return dataclasses.replace(self, beam_size=self.beam_size if self.method == "beam" else 0,
                               length_penalty=self.length_penalty if self.method == "beam" else 0.0)

  def common(self) -> dict[str, Any]:
    """The keyword arguments `generate` and `beam_search` share."""
    return dict(max_new_tokens=self.max_new_tokens, eos_id=self.eos_id, pad_id=self.pad_id,
                banned_ids=self.banned_ids, min_new_tokens=self.min_new_tokens, no_repeat_ngram=self.no_repeat_ngram)


@functools.partial(jax.jit, static_argnames=("graphdef", "options"))
def _gpt2_generate(graphdef, state, tokens, prompt_lengths, image_features, image_positions, rng,
                   options: DecodeOptions):
  model = nnx.merge(graphdef, state)
  batch, prompt_len = tokens.shape
  o = options
  # The prefill runs on the B prompts; beam search tiles the cache to B x K rows after it.
  segment_ids = (jnp.arange(prompt_len)[None, :] < prompt_lengths[:, None]).astype(jnp.int32)
  cache = model.init_cache(batch, prompt_len + o.max_new_tokens, o.cache_dtype)
  logits, cache = model.decode(tokens, cache, image_features=image_features, image_positions=image_positions,
                               segment_ids=segment_ids, logits_at=prompt_lengths - 1)
  first_logits = logits[:, 0]

  def step_fn(token, carry):
    cache, positions = carry
    logits, cache = model.decode(token[:, None], cache, positions=positions[:, None])
    return logits[:, 0], (cache, positions + 1)

  return search(step_fn, (cache, prompt_lengths.astype(jnp.int32)), first_logits, o, rng)


def search(step_fn: StepFn, state: Any, first_logits: jax.Array, options: DecodeOptions, rng: jax.Array):
  """Beam search, or `generate` (greedy or sampling) with scores, as `options.method` says: the
  search of the GPT-2 decoders after their prefill (`first_logits` float[B, V])."""
  o = options
  if o.method == "beam":
    return beam_search(step_fn, state, first_logits, beam_size=o.beam_size, length_penalty=o.length_penalty,
                       **o.common())
  return generate(step_fn, state, first_logits, method=o.method, rng=rng, temperature=o.temperature,
                  top_k=o.top_k, top_p=o.top_p, return_scores=True, **o.common())


def gpt2_generate(model: Any, tokens: jax.Array, prompt_lengths: jax.Array, options: Optional[DecodeOptions] = None,
                  *, image_features: Optional[jax.Array] = None, image_positions: Optional[jax.Array] = None,
                  rng: Optional[jax.Array] = None, return_scores: bool = False, **fields):
  """Continues right-padded GPT-2 prompts (module docstring); one jitted call.

  Args:
    model: a `jddc.models.gpt2.GPT2`, or its `(graphdef, state)` from `nnx.split`.
    tokens: int32[B, P] prompts, row b in `tokens[b, :prompt_lengths[b]]`, then padding.
    prompt_lengths: int32[B], each at least 1; P + max_new_tokens <= n_positions.
    options: the `DecodeOptions` (static: a new value compiles); or give its fields as
      keywords (`max_new_tokens=..., eos_id=..., method=...`).
    image_features, image_positions: float[B, I, F] and int32[B, I] (-1 = none) for the
      `[IMG]` placeholders in the prompts, as in `GPT2.__call__`.
    rng: PRNG key for method 'sample' (traced).
    return_scores: also return float32[B] scores (module docstring).

  Returns:
    int32[B, max_new_tokens] tokens and int32[B] lengths (see `generate`), and the
    float32[B] scores with `return_scores`.
  """
  options = DecodeOptions.given(options, fields)
  graphdef, state = nnx.split(model) if isinstance(model, nnx.Module) else model
  _check_method(options.method, rng)
  n_positions = state["wpe"]["embedding"].shape[0]
  if tokens.shape[1] + options.max_new_tokens > n_positions:
    raise ValueError(f"prompt length {tokens.shape[1]} + max_new_tokens {options.max_new_tokens} exceeds "
                     f"n_positions {n_positions}; truncate the prompts from the left")
  tokens, lengths, scores = _gpt2_generate(
      graphdef, state, jnp.asarray(tokens, jnp.int32), jnp.asarray(prompt_lengths, jnp.int32),
      image_features, image_positions, jax.random.key(0) if rng is None else rng, options=options.normalized())
  return (tokens, lengths, scores) if return_scores else (tokens, lengths)
