"""JAX core: policy, SFT, GRPO update, and make_train(config) -> pure train(rng, ...).

Written for one run; sweeps vmap over runs at the call site. Sampling is inverse-CDF on
uniform numbers passed in, so the NumPy reference (reference.py) can replay a step exactly.

Speed notes (XLA on CPU, tiny shapes; measured with benchmarks/simulate_bench.py): the
uniforms come from a counter-based hash (``hash_uniform``) rather than threefry, which cost
~40% of a step; the CDF is a masked sum rather than ``cumsum`` (a slow reduce-window); and
the sweep compiles with XLA's YNN fusions off (``COMPILER_OPTIONS``), whose reductions over
these shapes ran several times slower than XLA's own loops.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from rankinv.simulate.config import SimConfig
from rankinv.simulate.tasks import Task


class StepMetrics(NamedTuple):
    pass_at_k: jax.Array  # [len(ks)] exact, mean over prompts of 1 - (1 - p)^k
    greedy_pass: jax.Array  # argmax decoding success, mean over prompts
    entropy: jax.Array  # mean next-token entropy (nats), over prompts and positions
    min_entropy: jax.Array  # worst-token entropy: the lowest per-position entropy
    informative: jax.Array  # share of sampled groups with mixed rewards
    all_fail: jax.Array
    all_pass: jax.Array
    reward: jax.Array  # mean sampled reward


class Policy(NamedTuple):
    """Pure functions of the trainable parameters theta."""

    init: Callable[[], jax.Array]
    logits: Callable[[jax.Array], jax.Array]


def make_policy(cfg: SimConfig, task: Task) -> Policy:
    base = jnp.asarray(task.base_logits)
    n, length, v = base.shape
    if cfg.policy == "shared":
        phi = jnp.asarray(task.features, dtype=base.dtype)
        return Policy(
            init=lambda: jnp.zeros((phi.shape[1], length, v), base.dtype),
            logits=lambda theta: base + jnp.einsum("nf,flv->nlv", phi, theta),
        )
    return Policy(init=lambda: jnp.zeros_like(base), logits=lambda theta: base + theta)


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


def group_advantage(rewards: jax.Array, cfg: SimConfig) -> jax.Array:
    """rewards [N, G] -> advantages: r - mean (Dr. GRPO) or (r - mean) / (std + eps), std the
    sample (unbiased, ddof = 1) std, as TRL and verl compute it."""
    centred = rewards - rewards.mean(axis=-1, keepdims=True)
    if cfg.advantage == "std":
        return centred / (rewards.std(axis=-1, keepdims=True, ddof=1) + cfg.std_eps)
    return centred


def sft_loss(logp: jax.Array, demo: jax.Array, smoothing: float) -> jax.Array:
    """sum_n mean_t CE(y_nt, pi_nt), y = (1 - alpha) onehot(demo) + alpha / V."""
    v = logp.shape[-1]
    y = (1.0 - smoothing) * jax.nn.one_hot(demo, v, dtype=logp.dtype) + smoothing / v
    return -jnp.sum(jnp.mean(jnp.sum(y * logp, axis=-1), axis=-1))


def draw_group(cfg: SimConfig, logp, correct, u):
    """Sample the group each prompt trains on. Returns one-hot samples [N,G,L,V], rewards
    [N,G], weight [N] (0 when dynamic sampling found no informative group), and the
    rewards of the first draw (for the degenerate-group metrics)."""
    if cfg.dynamic_sampling:
        hit_all = sample_onehot(logp, u)  # u: [N, B, G, L] -> [N, B, G, L, V]
        n, b, g, length, v = hit_all.shape
        flat = hit_all.reshape(n, b * g, length, v)
        rewards_all = jnp.all(gather_tokens(correct, flat), axis=-1).reshape(n, b, g)
        rewards_all = rewards_all.astype(logp.dtype)
        s = rewards_all.sum(-1)
        informative = (s > 0) & (s < g)
        pick = jnp.argmax(informative, axis=-1)  # first informative draw (0 if none)
        hit = jnp.take_along_axis(hit_all, pick[:, None, None, None, None], axis=1)[:, 0]
        rewards = jnp.take_along_axis(rewards_all, pick[:, None, None], axis=1)[:, 0]
        weight = jnp.any(informative, axis=-1).astype(logp.dtype)
        first = rewards_all[:, 0]
    else:
        hit = sample_onehot(logp, u)  # u: [N, G, L]
        rewards = jnp.all(gather_tokens(correct, hit), axis=-1).astype(logp.dtype)
        weight = jnp.ones(rewards.shape[0], logp.dtype)
        first = rewards
    return hit, rewards, weight, first


class RLGradients(NamedTuple):
    """first_epoch(theta, logp, hit, adv, weight, ref_logp): closed form at ratio 1;
    clipped(theta, hit, adv, old_tok_logp, weight, ref_logp): autodiff, any policy."""

    first_epoch: Callable
    clipped: Callable


def make_rl_gradients(cfg: SimConfig, policy: Policy) -> RLGradients:
    """Gradients of the GRPO loss (clipped surrogate + KL + entropy bonus) in theta."""

    def penalties(logp, ref_logp):
        loss = 0.0
        if cfg.kl_beta > 0:
            kl = jnp.sum(jnp.exp(logp) * (logp - ref_logp), axis=-1)  # [N, L]
            loss = loss + cfg.kl_beta * jnp.sum(jnp.mean(kl, axis=-1))
        if cfg.entropy_coef > 0:
            loss = loss - cfg.entropy_coef * jnp.sum(jnp.mean(token_entropy(logp), axis=-1))
        return loss

    def surrogate(theta, hit, adv, old_tok_logp, weight, ref_logp):
        """The clipped objective at a policy that has moved from the sampling one."""
        logp = jax.nn.log_softmax(policy.logits(theta), axis=-1)
        g, length = hit.shape[1], hit.shape[2]
        ratio = jnp.exp(gather_tokens(logp, hit) - old_tok_logp)
        a = adv[..., None]
        clipped = jnp.clip(ratio, 1.0 - cfg.clip_low, 1.0 + cfg.clip_high)
        obj = jnp.minimum(ratio * a, clipped * a)
        loss = -jnp.sum(obj * weight[:, None, None]) / (g * length)
        return loss + penalties(logp, ref_logp)

    grad_fn = jax.grad(surrogate)
    penalty_grad = jax.grad(lambda z, ref: penalties(jax.nn.log_softmax(z, axis=-1), ref))

    def first_epoch_grad(theta, logp, hit, adv, weight, ref_logp):
        """The surrogate's gradient at the sampling policy, in closed form in the logits z.

        There the ratio is exactly 1 and nothing is clipped, so the gradient is that of
        -sum c * log pi(token), c = w * a / (G L): d/dz = -(sum_g c onehot - (sum_g c) pi).
        Equal to ``grad_fn`` at ratio 1 (tested); it needs one pass over the samples,
        where autodiff through log_softmax takes two.
        """
        g, length = hit.shape[1], hit.shape[2]
        c = adv * weight[:, None] / (g * length)  # [N, G]
        counts = jnp.sum(jnp.where(hit, c[:, :, None, None], 0.0), axis=1)  # [N, L, V]
        grad_z = jnp.sum(c, axis=1)[:, None, None] * jnp.exp(logp) - counts
        if cfg.kl_beta > 0 or cfg.entropy_coef > 0:
            grad_z = grad_z + penalty_grad(logp, ref_logp)  # log_softmax(logp) == logp
        _, to_theta = jax.vjp(policy.logits, theta)
        return to_theta(grad_z)[0]

    return RLGradients(first_epoch_grad, grad_fn)


def make_rl_update(cfg: SimConfig, task: Task, policy: Policy):
    """One GRPO step: sample, score, advantages, ppo_epochs clipped-surrogate SGD steps.

    Returns ``update(theta, u, ref_logp, logp=None) -> (theta, sampled)``; pass ``logp``
    (log_softmax of the current logits) when the caller has it, to compute it once.
    """
    correct = jnp.asarray(task.correct)
    first_epoch_grad, grad_fn = make_rl_gradients(cfg, policy)

    def update(theta, u, ref_logp, logp=None):
        if logp is None:
            logp = jax.nn.log_softmax(policy.logits(theta), axis=-1)
        hit, rewards, weight, first = draw_group(cfg, logp, correct, u)
        adv = group_advantage(rewards, cfg)
        new = theta - cfg.rl_lr * first_epoch_grad(theta, logp, hit, adv, weight, ref_logp)
        if cfg.ppo_epochs > 1:
            old = lax.stop_gradient(gather_tokens(logp, hit))
            for _ in range(cfg.ppo_epochs - 1):  # static and small: unrolled
                new = new - cfg.rl_lr * grad_fn(new, hit, adv, old, weight, ref_logp)
        g = first.shape[-1]
        s = first.sum(-1)
        sampled = (jnp.mean((s > 0) & (s < g)), jnp.mean(s == 0), jnp.mean(s == g), first.mean())
        return new, sampled

    return update


def policy_metrics(cfg: SimConfig, logp, correct, sampled) -> StepMetrics:
    p = success_probability(logp, correct)
    pass_k = jnp.stack([jnp.mean(1.0 - (1.0 - p) ** k) for k in cfg.ks])  # static int powers
    # greedy decoding succeeds where a correct token holds the top probability at every
    # position (in probabilities, not log-probabilities: one array fewer to recompute)
    pi = jnp.exp(logp)  # the same exp as the sampler's and the helpers': XLA computes it once
    top_correct = jnp.max(jnp.where(correct, pi, -1.0), axis=-1)
    greedy_ok = top_correct >= jnp.max(pi, axis=-1)
    h = token_entropy(logp)
    informative, all_fail, all_pass, reward = sampled
    return StepMetrics(
        pass_k,
        jnp.mean(jnp.all(greedy_ok, -1)),
        h.mean(),
        h.min(),
        informative,
        all_fail,
        all_pass,
        reward,
    )


def uniform_shape(cfg: SimConfig) -> tuple[int, ...]:
    g, length, n = cfg.group_size, cfg.seq_len, cfg.n_prompts
    if cfg.dynamic_sampling:
        return (n, cfg.ds_budget, g, length)
    return (n, g, length)


def make_train(cfg: SimConfig, task: Task):
    """Return a pure ``train(rng, sft_steps, demo_tokens) -> (pre, per_step, final)``.

    ``sft_steps`` is a traced integer (vmap over depths: the scan runs to the longest depth
    and freezes each run after its own steps); the group size is static. ``per_step``
    holds the metrics at the start of every GRPO step (index 0 is the pre-RL policy).
    """
    policy = make_policy(cfg, task)
    correct = jnp.asarray(task.correct)
    rl_update = make_rl_update(cfg, task, policy)
    max_sft = max(cfg.sft_step_counts)
    sft_grad = jax.grad(
        lambda th, demo: sft_loss(
            jax.nn.log_softmax(policy.logits(th), -1), demo, cfg.label_smoothing
        )
    )
    nan = jnp.asarray(jnp.nan)  # default float dtype (float32 unless x64 is enabled)

    def train(rng, sft_steps, demo_tokens):
        def sft_body(theta, i):
            step = cfg.sft_lr * sft_grad(theta, demo_tokens)
            return jnp.where(i < sft_steps, theta - step, theta), None

        theta, _ = lax.scan(sft_body, policy.init(), jnp.arange(max_sft))
        ref_logp = jax.nn.log_softmax(policy.logits(theta), -1)

        def rl_body(theta, key):
            logp = jax.nn.log_softmax(policy.logits(theta), -1)
            u = hash_uniform(key, uniform_shape(cfg), dtype=logp.dtype)
            new_theta, sampled = rl_update(theta, u, ref_logp, logp)
            return new_theta, policy_metrics(cfg, logp, correct, sampled)

        step_keys = jax.random.bits(rng, (cfg.rl_steps, 2), jnp.uint32)
        theta, per_step = lax.scan(rl_body, theta, step_keys)
        final_logp = jax.nn.log_softmax(policy.logits(theta), -1)
        final = policy_metrics(cfg, final_logp, correct, (nan, nan, nan, nan))
        pre = jax.tree_util.tree_map(lambda x: x[0], per_step)
        return pre, per_step, final

    return train
