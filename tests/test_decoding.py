"""Decoding: cached GPT-2 decoding vs repeated full forwards, sampling filters, eos, tracing."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jddc import decoding
from jddc.models import gpt2
from tests.helpers import random_gpt2

VOCAB = 64
FEATURES = 8


_random_model = random_gpt2


@pytest.fixture(scope="module")
def model():
  return _random_model(gpt2.tiny(vocab_size=VOCAB, image_feature_dim=FEATURES))


@pytest.fixture(scope="module")
def prompts():
  rs = np.random.RandomState(0)
  lengths = np.array([3, 9, 6])
  tokens = np.zeros((3, 9), np.int32)
  for b, n in enumerate(lengths):
    tokens[b, :n] = rs.randint(1, VOCAB, n)
  features = rs.randn(3, 2, FEATURES).astype(np.float32)
  image_positions = np.array([[1, -1], [0, 5], [-1, -1]])
  return tokens, lengths, features, image_positions


def _uncached_greedy(model, tokens, lengths, steps, image_features=None, image_positions=None):
  """Greedy decoding by a full forward over the whole buffer at every step."""
  graphdef, state = nnx.split(model)
  forward = jax.jit(lambda state, x: nnx.merge(graphdef, state)(
      x, image_features=image_features, image_positions=image_positions))
  buffer = np.zeros((tokens.shape[0], tokens.shape[1] + steps), np.int32)
  buffer[:, :tokens.shape[1]] = tokens
  out = np.zeros((tokens.shape[0], steps), np.int32)
  for t in range(steps):
    logits = np.asarray(forward(state, jnp.asarray(buffer)))
    for b, n in enumerate(lengths):
      out[b, t] = buffer[b, n + t] = logits[b, n + t - 1].argmax()
  return out


@pytest.mark.parametrize("with_images", [False, True])
def test_cached_greedy_equals_uncached(model, prompts, with_images):
  tokens, lengths, features, image_positions = prompts
  kw = dict(image_features=jnp.asarray(features), image_positions=jnp.asarray(image_positions)) if with_images else {}
  out, out_lengths = decoding.gpt2_generate(model, tokens, lengths, max_new_tokens=10, eos_id=None, **kw)
  expected = _uncached_greedy(model, tokens, lengths, 10, **kw)
  np.testing.assert_array_equal(np.asarray(out), expected)
  np.testing.assert_array_equal(np.asarray(out_lengths), [10, 10, 10])
  assert len(set(expected.ravel().tolist())) > 3


def test_sampling_limits_equal_greedy(model, prompts):
  tokens, lengths, _, _ = prompts
  run = functools.partial(decoding.gpt2_generate, model, tokens, lengths, max_new_tokens=10, eos_id=None)
  greedy, _ = run()
  top1, _ = run(method="sample", top_k=1, temperature=1.5, rng=jax.random.key(1))
  nucleus, _ = run(method="sample", top_p=1e-6, temperature=1.5, rng=jax.random.key(2))
  np.testing.assert_array_equal(np.asarray(top1), np.asarray(greedy))
  np.testing.assert_array_equal(np.asarray(nucleus), np.asarray(greedy))


def test_sampling_reproducible_and_banned(model, prompts):
  tokens, lengths, _, _ = prompts
  banned = tuple(range(0, VOCAB, 2))
  run = functools.partial(decoding.gpt2_generate, model, tokens, lengths, max_new_tokens=10, eos_id=None,
                          method="sample", temperature=2.0, top_k=20, top_p=0.95, banned_ids=banned)
  a, _ = run(rng=jax.random.key(0))
  b, _ = run(rng=jax.random.key(0))
  c, _ = run(rng=jax.random.key(1))
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert (np.asarray(a) != np.asarray(c)).any()
  assert not np.isin(np.asarray(a), banned).any() and not np.isin(np.asarray(c), banned).any()


def test_eos_ends_rows_and_pads(model, prompts):
  tokens, lengths, _, _ = prompts
  free, _ = decoding.gpt2_generate(model, tokens, lengths, max_new_tokens=10, eos_id=None)
  free = np.asarray(free)
  eos = int(free[0, 2])
  out, out_lengths = decoding.gpt2_generate(model, tokens, lengths, max_new_tokens=10, eos_id=eos, pad_id=-1)
  out, out_lengths = np.asarray(out), np.asarray(out_lengths)
  for b in range(3):
    hits = np.nonzero(free[b] == eos)[0]
    n = hits[0] + 1 if len(hits) else 10
    assert out_lengths[b] == n
    np.testing.assert_array_equal(out[b, :n], free[b, :n])
    assert (out[b, n:] == -1).all()
  assert out_lengths[0] <= 3


def _scripted_step(script):
  """A step_fn whose logits at step t are one-hot on script[:, t] (state: the step count)."""
  table = jax.nn.one_hot(jnp.asarray(script), 5) * 10.0

  def step_fn(token, t):
    return table[:, jnp.minimum(t + 1, table.shape[1] - 1)], t + 1
  return table[:, 0], step_fn


def test_generate_eos_min_length_and_banned():
  script = np.array([[1, 4, 2, 2, 2, 2], [3, 3, 3, 3, 3, 3]])
  first, step_fn = _scripted_step(script)
  out, lengths = decoding.generate(step_fn, jnp.zeros((), jnp.int32), first, max_new_tokens=6, eos_id=4)
  np.testing.assert_array_equal(np.asarray(out), [[1, 4, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3]])
  np.testing.assert_array_equal(np.asarray(lengths), [2, 6])
  out, lengths = decoding.generate(step_fn, jnp.zeros((), jnp.int32), first, max_new_tokens=6, eos_id=4,
                                   min_new_tokens=3, banned_ids=(3,))
  assert 4 not in np.asarray(out)[0, :3] and 3 not in np.asarray(out)
  np.testing.assert_array_equal(np.asarray(lengths), [6, 6])
  with pytest.raises(ValueError, match="rng"):
    decoding.generate(step_fn, jnp.zeros((), jnp.int32), first, max_new_tokens=2, eos_id=4, method="sample")


def test_filter_logits():
  logits = jnp.log(jnp.asarray([[0.05, 0.5, 0.15, 0.3]]))
  kept = lambda **kw: np.isfinite(np.asarray(decoding.filter_logits(logits, **kw)))[0].tolist()
  assert kept(top_k=2) == [False, True, False, True]
  assert kept(top_p=0.7) == [False, True, False, True]
  assert kept(top_p=0.81) == [False, True, True, True]
  assert kept(top_p=0.0) == [False, True, False, False]
  assert kept(top_k=3, top_p=0.99) == [False, True, True, True]


def test_generate_traces_once_under_jit():
  script = np.array([[1, 2, 3, 4], [2, 2, 2, 2]])
  first, scripted = _scripted_step(script)
  traces = []

  def step_fn(token, t):
    traces.append(1)
    return scripted(token, t)

  run = jax.jit(lambda first, key: decoding.generate(step_fn, jnp.zeros((), jnp.int32), first, max_new_tokens=4,
                                                     eos_id=None, method="sample", top_k=2, rng=key))
  run(first, jax.random.key(0))
  n = len(traces)
  run(first + 1.0, jax.random.key(1))
  assert n >= 1 and len(traces) == n


def test_gpt2_generate_compiles_once(model, monkeypatch):
  calls = []
  decode = gpt2.GPT2.decode

  def counting_decode(self, *args, **kwargs):
    calls.append(1)
    return decode(self, *args, **kwargs)

  monkeypatch.setattr(gpt2.GPT2, "decode", counting_decode)
  rs = np.random.RandomState(7)
  tokens, lengths = rs.randint(1, VOCAB, (2, 5)), np.array([5, 2])
  first, _ = decoding.gpt2_generate(model, tokens, lengths, max_new_tokens=3, eos_id=None)
  n = len(calls)
  second, _ = decoding.gpt2_generate(model, tokens[::-1], lengths[::-1], max_new_tokens=3, eos_id=None)
  assert n == 2 and len(calls) == n
  np.testing.assert_array_equal(np.asarray(first)[::-1], np.asarray(second))


# ----------------------------------------------------------------------------- beam search

BEAM_VOCAB = 6
BEAM_EOS = 1


@pytest.fixture(scope="module")
def beam_model():
  return _random_model(gpt2.tiny(vocab_size=BEAM_VOCAB), seed=3, scale=0.5)


def _sequence_logps(model, prompt, continuations):
  """float64[N, L]: log p(continuations[n, j] | prompt, continuations[n, :j]) by uncached forwards."""
  full = np.concatenate([np.broadcast_to(prompt, (len(continuations), len(prompt))), continuations], axis=1)
  logits = np.asarray(jax.jit(lambda x: model(x))(jnp.asarray(full)), np.float64)
  logits = logits[:, len(prompt) - 1:-1]
  logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
  return np.take_along_axis(logp, continuations[..., None], axis=-1)[..., 0]


def _has_repeated_ngram(seq, n):
  grams = [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]
  return len(grams) != len(set(grams))


def _exhaustive_search(model, prompt, max_len, *, alpha, min_new_tokens=0, no_repeat_ngram=0):
  """The best hypothesis over every sequence: (tokens, score), score = sum log p / lp(length)."""
  seqs = np.array(list(itertools.product(range(BEAM_VOCAB), repeat=max_len)), np.int32)
  logp = _sequence_logps(model, prompt, seqs)
  best, best_score = None, -np.inf
  for seq, lp in zip(seqs, logp):
    for length in range(1, max_len + 1):
      hyp = seq[:length].tolist()
      if BEAM_EOS in hyp[:-1]:
        break
      if hyp[-1] != BEAM_EOS and length < max_len:
        continue
      if BEAM_EOS in hyp[:min_new_tokens] or (no_repeat_ngram and _has_repeated_ngram(hyp, no_repeat_ngram)):
        continue
      score = lp[:length].sum() / ((5.0 + length) / 6.0) ** alpha
      if score > best_score:
        best, best_score = hyp, score
  return best, best_score


@pytest.mark.parametrize("alpha,min_new_tokens,no_repeat_ngram", [(0.0, 0, 0), (1.0, 2, 0), (0.6, 0, 2)])
def test_beam_equals_exhaustive_search(beam_model, alpha, min_new_tokens, no_repeat_ngram):
  max_len = 4
  prompts = np.array([[1, 3, 4, 0, 0], [5, 1, 1, 3, 4]], np.int32)
  lengths = np.array([3, 5])
  # Enough beams to hold every live prefix: (V - 1) ** (max_len - 1) sequences without eos.
  out, out_lengths, scores = decoding.gpt2_generate(
      beam_model, prompts, lengths, max_new_tokens=max_len, eos_id=BEAM_EOS, method="beam",
      beam_size=(BEAM_VOCAB - 1) ** (max_len - 1), length_penalty=alpha, min_new_tokens=min_new_tokens,
      no_repeat_ngram=no_repeat_ngram, pad_id=-1, return_scores=True)
  found = []
  for b in range(2):
    best, best_score = _exhaustive_search(beam_model, prompts[b, :lengths[b]], max_len, alpha=alpha,
                                          min_new_tokens=min_new_tokens, no_repeat_ngram=no_repeat_ngram)
    n = int(out_lengths[b])
    assert np.asarray(out)[b, :n].tolist() == best
    assert (np.asarray(out)[b, n:] == -1).all()
    np.testing.assert_allclose(float(scores[b]), best_score, rtol=1e-4)
    found.append(best)
  assert any(len(h) < max_len for h in found), "the test should cover an early eos"


def test_beam_size_one_equals_greedy(model, prompts):
  tokens, lengths, _, _ = prompts
  free, _ = decoding.gpt2_generate(model, tokens, lengths, max_new_tokens=8, eos_id=None)
  eos = int(np.asarray(free)[1, 3])
  kw = dict(max_new_tokens=8, eos_id=eos, min_new_tokens=1, return_scores=True)
  greedy = decoding.gpt2_generate(model, tokens, lengths, **kw)
  beam = decoding.gpt2_generate(model, tokens, lengths, method="beam", beam_size=1, **kw)
  np.testing.assert_array_equal(np.asarray(beam[0]), np.asarray(greedy[0]))
  np.testing.assert_array_equal(np.asarray(beam[1]), np.asarray(greedy[1]))
  np.testing.assert_allclose(np.asarray(beam[2]), np.asarray(greedy[2]), rtol=1e-5)
  assert np.asarray(greedy[1]).min() < 8


@pytest.fixture(scope="module")
def repetitive_model():
  """A small-vocabulary model whose greedy continuations repeat themselves."""
  return _random_model(gpt2.tiny(vocab_size=8), seed=1, scale=0.3)


@pytest.mark.parametrize("method,n", [("greedy", 3), ("sample", 2), ("beam", 2)])
def test_ngram_blocking(repetitive_model, method, n):
  rs = np.random.RandomState(0)
  tokens, lengths = rs.randint(0, 8, (4, 6)), np.array([6, 2, 4, 5])
  kw = dict(max_new_tokens=16, eos_id=None, method=method, beam_size=3, rng=jax.random.key(0), temperature=0.7)
  free, _ = decoding.gpt2_generate(repetitive_model, tokens, lengths, **kw)
  assert any(_has_repeated_ngram(row, n) for row in np.asarray(free).tolist())
  out, _ = decoding.gpt2_generate(repetitive_model, tokens, lengths, no_repeat_ngram=n, **kw)
  assert not any(_has_repeated_ngram(row, n) for row in np.asarray(out).tolist())


def test_ngram_blocked():
  generated = jnp.asarray([[1, 2, 3, 1, 2, 0, 0], [4, 5, 4, 5, 4, 0, 0]])
  ngram_blocked = jax.jit(decoding.ngram_blocked, static_argnums=(2, 3))
  blocked = lambda length, n: np.nonzero(np.asarray(ngram_blocked(generated, length, n, 6)))
  assert [list(a) for a in blocked(5, 3)] == [[0, 1], [3, 5]]         # "1 2" -> 3; "5 4" -> 5
  assert [list(a) for a in blocked(5, 2)] == [[0, 1], [3, 5]]         # "2" -> 3; "4" -> 5
  assert [list(a) for a in blocked(2, 3)] == [[], []]                 # too short for a trigram
  assert [list(a) for a in blocked(3, 1)] == [[0, 0, 0, 1, 1], [1, 2, 3, 4, 5]]


def test_beam_batched_equals_single_rows(model, prompts):
  tokens, lengths, _, _ = prompts
  kw = dict(max_new_tokens=6, eos_id=7, method="beam", beam_size=3, length_penalty=0.6, no_repeat_ngram=2,
            return_scores=True)
  batched = [np.asarray(a) for a in decoding.gpt2_generate(model, tokens, lengths, **kw)]
  # Each row alone, with the batch's padding (one compilation), and row 0 without padding.
  singles = [(b, tokens[b:b + 1]) for b in range(len(lengths))] + [(0, tokens[:1, :lengths[0]])]
  for b, row in singles:
    alone = [np.asarray(a)[0] for a in decoding.gpt2_generate(model, row, lengths[b:b + 1], **kw)]
    np.testing.assert_array_equal(alone[0], batched[0][b])
    assert alone[1] == batched[1][b]
    np.testing.assert_allclose(alone[2], batched[2][b], rtol=1e-4)


def test_beam_score_equals_uncached_recomputation(model, prompts):
  tokens, lengths, _, _ = prompts
  alpha, kw = 0.8, dict(max_new_tokens=7, eos_id=5, return_scores=True)
  out, out_lengths, scores = decoding.gpt2_generate(model, tokens, lengths, method="beam", beam_size=4,
                                                    length_penalty=alpha, **kw)
  for b, n in enumerate(lengths):
    m = int(out_lengths[b])
    logp = _sequence_logps(model, tokens[b, :n], np.asarray(out)[b:b + 1, :m])[0]
    np.testing.assert_allclose(float(scores[b]), logp.sum() / ((5.0 + m) / 6.0) ** alpha, rtol=1e-4)
  _, greedy_lengths, greedy_scores = decoding.gpt2_generate(model, tokens, lengths, **kw)
  greedy_normalised = np.asarray(greedy_scores) / ((5.0 + np.asarray(greedy_lengths)) / 6.0) ** alpha
  assert (np.asarray(scores) >= greedy_normalised - 1e-5).all()


def test_beam_search_generic_step_fn_reorders_state():
  """A step_fn whose state is the running token sum: beams must carry their own sums."""
  vocab, eos = 5, 4
  table = jnp.asarray(np.random.RandomState(0).randn(16, vocab), jnp.float32) * 2.0

  def step_fn(token, state):
    total, shared = state
    total = total + token
    return table[total % 16] + shared, (total, shared)

  state = (jnp.asarray([0, 3], jnp.int32), jnp.zeros((), jnp.float32))
  run = jax.jit(lambda s: decoding.beam_search(step_fn, s, table[s[0] % 16], beam_size=4 ** 3, max_new_tokens=4,
                                               eos_id=eos, length_penalty=0.5))
  out, out_lengths, scores = run(state)
  for b in range(2):
    best, best_score = None, -np.inf
    for seq in itertools.product(range(vocab), repeat=4):
      total, logp = int(state[0][b]), 0.0
      for j, tok in enumerate(seq):
        row = np.asarray(table[total % 16], np.float64)
        logp += row[tok] - np.log(np.exp(row).sum())
        total += tok
        if tok == eos or j == 3:
          score = logp / ((5.0 + j + 1) / 6.0) ** 0.5
          if score > best_score:
            best, best_score = list(seq[:j + 1]), score
          break
    n = int(out_lengths[b])
    assert np.asarray(out)[b, :n].tolist() == best
    np.testing.assert_allclose(float(scores[b]), best_score, rtol=1e-5)
