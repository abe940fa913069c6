"""Sampling primitives of the simulator (JAX): counter-hash uniforms, inverse-CDF one-hot
sampling, token gathers and entropies.

Speed notes (XLA on CPU, tiny shapes; measured with benchmarks/simulate_bench.py): the
uniforms come from a counter-based hash (``hash_uniform``) rather than threefry, which cost
~40% of a step; the CDF is a masked sum rather than ``cumsum`` (a slow reduce-window); and
the batch driver compiles with XLA's YNN fusions off (``COMPILER_OPTIONS``), whose reductions
over these shapes ran several times slower than XLA's own loops.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax


def success_probability(logp: jax.Array, correct: jax.Array) -> jax.Array:
    """Exact per-prompt p = prod_t sum_{v correct} pi_t(v). logp: [N, L, V] -> [N]."""
    mass = jnp.sum(jnp.where(correct, jnp.exp(logp), 0.0), axis=-1)
    return jnp.prod(mass, axis=-1)


def token_entropy(logp: jax.Array) -> jax.Array:
    """Entropy of each next-token distribution, [N, L, V] -> [N, L]."""
    return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


#: Per-compilation XLA options for the sweep (see the module docstring).
COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}

_GOLDEN = 0x9E3779B9


def _mix32(h: jax.Array) -> jax.Array:
    """A bijective 32-bit integer hash with strong avalanche (C. Wellons' "lowbias32")."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x7FEB352D)
    h = h ^ (h >> 15)
    h = h * jnp.uint32(0x846CA68B)
    return h ^ (h >> 16)


def hash_uniform(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Uniform numbers in [0, 1) from ``key`` (two uint32 words) by hashing a counter.

    u_i = mix(mix(i * golden + k0) ^ k1): for a fixed key the map from counter to bits is
    a bijection, so no value repeats within a draw; keys come from threefry once per step.
    float32 gets 24 random bits, float64 53 (two hashes, keys swapped). Tested for
    uniformity and for independence across counters and keys (tests/test_simulate.py).
    """
    idx = lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    k0, k1 = key[0], key[1]
    count = idx * jnp.uint32(_GOLDEN)
    h = _mix32(_mix32(count + k0) ^ k1)
    if jnp.dtype(dtype) == jnp.float64:
        h2 = _mix32(_mix32(count + k1) ^ k0)  # a second, independent 32-bit draw
        hi = (h >> 6).astype(jnp.float64)  # 26 bits
        lo = (h2 >> 5).astype(jnp.float64)  # 27 bits
        return (hi * 2.0**27 + lo) * 2.0**-53
    return (h >> 8).astype(dtype) * jnp.asarray(2.0**-24, dtype)


#: Largest vocabulary for which ``cumulative`` uses the masked sum (measured crossover).
MASKED_CUMSUM_MAX = 32


def cumulative(probs: jax.Array) -> jax.Array:
    """cumsum over the last axis; for a small axis a masked sum, which fuses (cumsum is a
    slow reduce-window on CPU), for a large one cumsum (the masked sum is O(V^2))."""
    v = probs.shape[-1]
    if v > MASKED_CUMSUM_MAX:
        return jnp.cumsum(probs, axis=-1)
    upper = jnp.arange(v)[:, None] <= jnp.arange(v)[None, :]  # upper[i, j]: i <= j
    return jnp.sum(jnp.where(upper, probs[..., :, None], 0.0), axis=-2)


def sample_onehot(logp: jax.Array, u: jax.Array) -> jax.Array:
    """Inverse-CDF sampling as a one-hot: logp [N, L, V], u [N, ..., L] -> bool [N, ..., L, V].

    Token v is drawn when cdf[v-1] <= u < cdf[v] (the last token takes everything above
    cdf[V-2], as rounding may leave cdf[V-1] just under 1). Elementwise in u and the CDF,
    so XLA fuses it into each consumer instead of materialising token indices.
    """
    cdf = cumulative(jnp.exp(logp))  # [N, L, V]
    prev = jnp.concatenate([jnp.zeros_like(cdf[..., :1]), cdf[..., :-1]], axis=-1)
    extra = u.ndim - 2
    shape = cdf.shape[:1] + (1,) * extra + cdf.shape[1:]
    cdf, prev = cdf.reshape(shape), prev.reshape(shape)
    last = jnp.arange(logp.shape[-1]) == logp.shape[-1] - 1
    uu = u[..., None]
    return (uu >= prev) & ((uu < cdf) | last)


def sample_tokens(logp: jax.Array, u: jax.Array) -> jax.Array:
    """Token indices of ``sample_onehot``: [N, ..., L] int."""
    return jnp.argmax(sample_onehot(logp, u), axis=-1)


def gather_tokens(table: jax.Array, onehot: jax.Array) -> jax.Array:
    """table [N, L, V], one-hot samples [N, G, L, V] -> table[n, t, token[n, g, t]], [N, G, L].

    A masked sum over the (small) vocabulary: elementwise work that XLA fuses with its
    neighbours, where a gather or a batched dot is a separate kernel per call."""
    if table.dtype == jnp.bool_:
        return jnp.any(onehot & table[:, None], axis=-1)
    return jnp.sum(jnp.where(onehot, table[:, None], 0.0), axis=-1)
