"""JAX core: policy, SFT, GRPO update, and make_train(config) -> pure train(rng, ...).

Written for one run; sweeps vmap over runs at the call site. Sampling is inverse-CDF on
uniform numbers passed in, so the NumPy reference (reference.py) can replay a step exactly.
"""

from __future__ import annotations

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


def sample_tokens(logp: jax.Array, u: jax.Array) -> jax.Array:
    """Inverse-CDF sampling. logp [N, L, V], u [N, ..., L] uniform -> tokens [N, ..., L]."""
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)  # [N, L, V]
    extra = u.ndim - 2
    cdf = cdf.reshape(cdf.shape[:1] + (1,) * extra + cdf.shape[1:])
    tokens = jnp.sum(u[..., None] >= cdf, axis=-1)
    return jnp.minimum(tokens, logp.shape[-1] - 1)


def gather_tokens(table: jax.Array, tokens: jax.Array) -> jax.Array:
    """table [N, L, V], tokens [N, G, L] -> table[n, t, tokens[n, g, t]] as [N, G, L].

    A masked sum over the (small) vocabulary: elementwise work that XLA fuses with its
    neighbours, where a gather or a batched dot is a separate kernel per call."""
    hit = tokens[..., None] == jnp.arange(table.shape[-1])  # [N, G, L, V]
    if table.dtype == jnp.bool_:
        return jnp.any(hit & table[:, None], axis=-1)
    return jnp.sum(jnp.where(hit, table[:, None], 0.0), axis=-1)


def group_advantage(rewards: jax.Array, cfg: SimConfig) -> jax.Array:
    """rewards [N, G] -> advantages: r - mean (Dr. GRPO) or (r - mean) / (std + eps)."""
    centred = rewards - rewards.mean(axis=-1, keepdims=True)
    if cfg.advantage == "std":
        return centred / (rewards.std(axis=-1, keepdims=True) + cfg.std_eps)
    return centred


def sft_loss(logp: jax.Array, demo: jax.Array, smoothing: float) -> jax.Array:
    """sum_n mean_t CE(y_nt, pi_nt), y = (1 - alpha) onehot(demo) + alpha / V."""
    v = logp.shape[-1]
    y = (1.0 - smoothing) * jax.nn.one_hot(demo, v, dtype=logp.dtype) + smoothing / v
    return -jnp.sum(jnp.mean(jnp.sum(y * logp, axis=-1), axis=-1))


def draw_group(cfg: SimConfig, logp, correct, u):
    """Sample the group each prompt trains on. Returns tokens [N,G,L], rewards [N,G],
    weight [N] (0 when dynamic sampling found no informative group), and the
    degenerate shares of the first draw (for metrics)."""
    if cfg.dynamic_sampling:
        tokens_all = sample_tokens(logp, u)  # u: [N, B, G, L]
        n, b, g, length = tokens_all.shape
        flat = tokens_all.reshape(n, b * g, length)
        rewards_all = jnp.all(gather_tokens(correct, flat), axis=-1).reshape(n, b, g)
        rewards_all = rewards_all.astype(logp.dtype)
        s = rewards_all.sum(-1)
        informative = (s > 0) & (s < g)
        pick = jnp.argmax(informative, axis=-1)  # first informative draw (0 if none)
        tokens = jnp.take_along_axis(tokens_all, pick[:, None, None, None], axis=1)[:, 0]
        rewards = jnp.take_along_axis(rewards_all, pick[:, None, None], axis=1)[:, 0]
        weight = jnp.any(informative, axis=-1).astype(logp.dtype)
        first = rewards_all[:, 0]
    else:
        tokens = sample_tokens(logp, u)  # u: [N, G, L]
        rewards = jnp.all(gather_tokens(correct, tokens), axis=-1).astype(logp.dtype)
        weight = jnp.ones(rewards.shape[0], logp.dtype)
        first = rewards
    return tokens, rewards, weight, first


def make_rl_update(cfg: SimConfig, task: Task, policy: Policy):
    """One GRPO step: sample, score, advantages, ppo_epochs clipped-surrogate SGD steps."""
    correct = jnp.asarray(task.correct)

    def surrogate(theta, tokens, adv, old_tok_logp, weight, ref_logp):
        logp = jax.nn.log_softmax(policy.logits(theta), axis=-1)
        g, length = tokens.shape[1], tokens.shape[2]
        ratio = jnp.exp(gather_tokens(logp, tokens) - old_tok_logp)
        a = adv[..., None]
        clipped = jnp.clip(ratio, 1.0 - cfg.clip_low, 1.0 + cfg.clip_high)
        obj = jnp.minimum(ratio * a, clipped * a)
        loss = -jnp.sum(obj * weight[:, None, None]) / (g * length)
        if cfg.kl_beta > 0:
            kl = jnp.sum(jnp.exp(logp) * (logp - ref_logp), axis=-1)  # [N, L]
            loss = loss + cfg.kl_beta * jnp.sum(jnp.mean(kl, axis=-1))
        if cfg.entropy_coef > 0:
            loss = loss - cfg.entropy_coef * jnp.sum(jnp.mean(token_entropy(logp), axis=-1))
        return loss

    grad_fn = jax.grad(surrogate)

    def update(theta, u, ref_logp):
        logp = jax.nn.log_softmax(policy.logits(theta), axis=-1)
        tokens, rewards, weight, first = draw_group(cfg, logp, correct, u)
        adv = group_advantage(rewards, cfg)
        old = lax.stop_gradient(gather_tokens(logp, tokens))

        def inner(th, _):
            return th - cfg.rl_lr * grad_fn(th, tokens, adv, old, weight, ref_logp), None

        theta, _ = lax.scan(inner, theta, None, length=cfg.ppo_epochs)
        g = first.shape[-1]
        s = first.sum(-1)
        sampled = (jnp.mean((s > 0) & (s < g)), jnp.mean(s == 0), jnp.mean(s == g), first.mean())
        return theta, sampled

    return update


def policy_metrics(cfg: SimConfig, logp, correct, sampled) -> StepMetrics:
    p = success_probability(logp, correct)
    pass_k = jnp.stack([jnp.mean(1.0 - (1.0 - p) ** k) for k in cfg.ks])  # static int powers
    # greedy decoding succeeds where a correct token holds the top logit at every position
    top_correct = jnp.max(jnp.where(correct, logp, -jnp.inf), axis=-1)
    greedy_ok = top_correct >= jnp.max(logp, axis=-1)
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
            u = jax.random.uniform(key, uniform_shape(cfg), dtype=logp.dtype)
            new_theta, sampled = rl_update(theta, u, ref_logp)
            return new_theta, policy_metrics(cfg, logp, correct, sampled)

        theta, per_step = lax.scan(rl_body, theta, jax.random.split(rng, cfg.rl_steps))
        final_logp = jax.nn.log_softmax(policy.logits(theta), -1)
        final = policy_metrics(cfg, final_logp, correct, (nan, nan, nan, nan))
        pre = jax.tree_util.tree_map(lambda x: x[0], per_step)
        return pre, per_step, final

    return train
