"""JAX engine of the generalising (family) policy: prompt batches, held-out prompts, GRPO
as TRL and verl define it, and DAPO as its paper defines it.

Unlike ``core.make_train`` (kept, unchanged, for the cited legacy presets), the task arrays
and the hyperparameters are *traced* inputs here: one compiled, vmapped call serves every
run whose shapes agree, so a population of ladders over difficulty mixes, demonstration
quality, capacity, learning rates and GRPO variants compiles once per shape.

One GRPO step (all gradients in closed form in the logits z, equal to the NumPy reference in
reference.py and to autodiff of the clipped surrogate; both tested):
  * draw the step's prompts: a uniformly random ordering of the N training prompts, the
    first B (or, under DAPO, the first M = min(cap x B, N) candidates);
  * sample a group of g answers per drawn prompt, reward 1 when every token is correct;
  * advantages r - mean, or (r - mean) / (sample std + eps) (TRL / verl);
  * DAPO: drop the groups whose rewards are all equal and keep the first B that remain
    (the batch is filled unless the cap runs out);
  * ``ppo_epochs`` SGD steps on the clipped surrogate (epoch 1 at ratio 1; later epochs clip)
    plus KL to the post-SFT policy and an entropy bonus, the loss a mean over the B prompts
    and the L positions.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from rankinv.errors import UserError
from rankinv.simulate.config import SimConfig
from rankinv.simulate.core import gather_tokens, hash_uniform, sample_onehot, token_entropy
from rankinv.simulate.tasks import PromptSet, make_demonstrations


class Shapes(NamedTuple):
    """What one compilation fixes."""

    n_train: int
    n_heldout: int
    seq_len: int
    n_answers: int
    n_feat: int
    group: int
    batch: int
    candidates: int
    rl_steps: int
    ppo_epochs: int
    dapo: bool
    max_sft: int
    ks: tuple[int, ...]


class Hyper(NamedTuple):
    """Traced hyperparameters (one value per run under vmap)."""

    sft_lr: float
    rl_lr: float
    kl_beta: float
    entropy_coef: float
    clip_low: float
    clip_high: float
    std_adv: float  # 1.0: (r - mean) / (sample std + eps); 0.0: r - mean
    std_eps: float
    label_smoothing: float


class TaskArrays(NamedTuple):
    base_logits: np.ndarray  # [N + H, L, V]
    correct: np.ndarray  # [N + H, L, V] bool
    features: np.ndarray  # [N + H, F]
    demo: np.ndarray  # [N, L] int


class Trace(NamedTuple):
    """Per step (before that step's update); ``final`` is the same after the last update."""

    entropy: jax.Array  # mean per-token entropy (nats) over the training prompts
    min_entropy: jax.Array  # the lowest per-position entropy over the training prompts
    heldout_pass: jax.Array  # [len(ks)] exact pass@k on the held-out prompts
    train_pass: jax.Array  # [len(ks)] exact pass@k on the training prompts
    informative: jax.Array  # share of the step's first B sampled groups with mixed rewards
    all_fail: jax.Array
    all_pass: jax.Array
    reward: jax.Array  # mean reward of those groups
    filled: jax.Array  # share of the batch trained on (DAPO: informative groups kept / B)


def shapes_of(cfg: SimConfig) -> Shapes:
    if cfg.policy != "family":
        raise UserError(f"the engine runs the family policy, got policy={cfg.policy!r}")
    return Shapes(
        n_train=cfg.n_prompts,
        n_heldout=cfg.n_heldout,
        seq_len=cfg.seq_len,
        n_answers=cfg.n_answers,
        n_feat=cfg.n_families + cfg.n_features,
        group=cfg.group_size,
        batch=cfg.batch,
        candidates=cfg.candidates,
        rl_steps=cfg.rl_steps,
        ppo_epochs=cfg.ppo_epochs,
        dapo=bool(cfg.dynamic_sampling and cfg.batch_size),
        max_sft=max(cfg.sft_step_counts),
        ks=tuple(cfg.ks),
    )


def hyper_of(cfg: SimConfig) -> Hyper:
    return Hyper(
        cfg.sft_lr,
        cfg.rl_lr,
        cfg.kl_beta,
        cfg.entropy_coef,
        cfg.clip_low,
        cfg.clip_high,
        1.0 if cfg.advantage == "std" else 0.0,
        cfg.std_eps,
        cfg.label_smoothing,
    )


def arrays_of(cfg: SimConfig, task: PromptSet, seed: int) -> TaskArrays:
    demo, _ = make_demonstrations(cfg, task, seed)
    return TaskArrays(task.base_logits, task.correct, task.features, demo)


def logits_of(arrays: TaskArrays, theta):
    return arrays.base_logits + jnp.einsum("nf,flv->nlv", arrays.features, theta)


def advantages(rewards, hyp: Hyper):
    """r - mean, or (r - mean) / (sample std + eps) when ``hyp.std_adv`` is 1."""
    g = rewards.shape[-1]
    centred = rewards - rewards.mean(-1, keepdims=True)
    std = jnp.sqrt(jnp.sum(centred**2, -1, keepdims=True) / (g - 1))
    return jnp.where(hyp.std_adv > 0, centred / (std + hyp.std_eps), centred)


def dapo_weight(rewards, batch: int):
    """Keep the first ``batch`` groups (in draw order) whose rewards are not all equal."""
    s = rewards.sum(-1)
    informative = (s > 0) & (s < rewards.shape[-1])
    kept = informative & (jnp.cumsum(informative) <= batch)
    return kept.astype(rewards.dtype)


def surrogate_grad_z(logp, hit, adv, weight, old, ref_logp, hyp: Hyper, batch: int):
    """Gradient in the logits z [M, L, V] of the batch loss
    -1/(B L) sum_m w_m [1/G sum_g sum_t min(ratio a, clip(ratio) a)]
    + kl_beta/(B L) sum KL(pi || ref) - entropy_coef/(B L) sum H(pi).
    The clipped term's gradient flows through the unclipped ratio only where the min picks it.
    """
    m, g, length = hit.shape[0], hit.shape[1], hit.shape[2]
    pi = jnp.exp(logp)
    ratio = jnp.exp(gather_tokens(logp, hit) - old)  # [M, G, L]
    a = adv[..., None]
    clipped = jnp.clip(ratio, 1.0 - hyp.clip_low, 1.0 + hyp.clip_high)
    active = (ratio * a <= clipped * a) | (ratio == clipped)
    coef = -(a * ratio * active) * weight[:, None, None] / (g * length * batch)
    counts = jnp.sum(jnp.where(hit, coef[..., None], 0.0), axis=1)  # [M, L, V]
    grad = counts - jnp.sum(coef, axis=1)[..., None] * pi
    kl = jnp.sum(pi * (logp - ref_logp), -1, keepdims=True)
    grad = grad + hyp.kl_beta * pi * (logp - ref_logp - kl) / (length * batch)
    h = -jnp.sum(pi * logp, -1, keepdims=True)
    grad = grad + hyp.entropy_coef * pi * (logp + h) / (length * batch)
    del m
    return grad


def draw_indices(key, shp: Shapes):
    """The step's candidate prompts: the first M of a random ordering of the N."""
    if shp.candidates == shp.n_train and not shp.dapo:
        return jnp.arange(shp.n_train)
    order = jnp.argsort(hash_uniform(key, (shp.n_train,), jnp.float32))
    return order[: shp.candidates]


def rl_step(theta, arrays: TaskArrays, ref_logp, u, idx, hyp: Hyper, shp: Shapes):
    """One GRPO step on the candidates ``idx`` with uniforms ``u`` [M, G, L].
    Returns the new theta and the sampled (first-B) group statistics."""
    base, phi = jnp.asarray(arrays.base_logits)[idx], jnp.asarray(arrays.features)[idx]
    correct, ref = jnp.asarray(arrays.correct)[idx], jnp.asarray(ref_logp)[idx]

    def logp_of(th):
        return jax.nn.log_softmax(base + jnp.einsum("mf,flv->mlv", phi, th), -1)

    logp = logp_of(theta)
    hit = sample_onehot(logp, u)  # [M, G, L, V]
    rewards = jnp.all(gather_tokens(correct, hit), -1).astype(logp.dtype)  # [M, G]
    if shp.dapo:
        weight = dapo_weight(rewards, shp.batch)
    else:
        weight = jnp.ones(rewards.shape[0], logp.dtype)
    adv = advantages(rewards, hyp)
    old = gather_tokens(logp, hit)

    def epoch(_, th):  # a loop, not unrolled: one copy of the update to compile
        gz = surrogate_grad_z(logp_of(th), hit, adv, weight, old, ref, hyp, shp.batch)
        return th - hyp.rl_lr * jnp.einsum("mf,mlv->flv", phi, gz)

    theta = lax.fori_loop(0, shp.ppo_epochs, epoch, theta)
    first = rewards[: shp.batch]
    s = first.sum(-1)
    g = shp.group
    sampled = (
        jnp.mean((s > 0) & (s < g)),
        jnp.mean(s == 0),
        jnp.mean(s == g),
        first.mean(),
        jnp.sum(weight) / shp.batch,
    )
    return theta, sampled


def sft_step(theta, arrays: TaskArrays, hyp: Hyper, shp: Shapes):
    """Full-batch gradient step on mean_n mean_t CE(y_nt, pi_nt) over the N training prompts."""
    n, v = shp.n_train, shp.n_answers
    phi = arrays.features[:n]
    logp = jax.nn.log_softmax(arrays.base_logits[:n] + jnp.einsum("nf,flv->nlv", phi, theta), -1)
    y = (1.0 - hyp.label_smoothing) * jax.nn.one_hot(arrays.demo, v, dtype=logp.dtype)
    y = y + hyp.label_smoothing / v
    gz = (jnp.exp(logp) - y) / (shp.seq_len * n)
    return theta - hyp.sft_lr * jnp.einsum("nf,nlv->flv", phi, gz)


def _metrics(logp, correct, shp: Shapes, sampled):
    n = shp.n_train
    p = jnp.prod(jnp.sum(jnp.where(correct, jnp.exp(logp), 0.0), -1), -1)  # [N + H]
    h = token_entropy(logp[:n])

    def pass_k(q):
        return jnp.stack([jnp.mean(1.0 - (1.0 - q) ** k) for k in shp.ks])

    held = pass_k(p[n:]) if shp.n_heldout else jnp.full(len(shp.ks), jnp.nan, p.dtype)
    return Trace(h.mean(), h.min(), held, pass_k(p[:n]), *sampled), p[:n]


def make_train(shp: Shapes):
    """``train(key, sft_steps, arrays, hyp) -> (p_pre [N], per_step Trace [T], final Trace)``.

    Every argument is traced (vmap over runs at the call site); ``sft_steps`` may differ per
    run (the SFT scan runs to the longest depth and freezes each run after its own steps).
    """

    def train(key, sft_steps, arrays: TaskArrays, hyp: Hyper):
        dtype = arrays.base_logits.dtype
        theta0 = jnp.zeros((shp.n_feat, shp.seq_len, shp.n_answers), dtype)

        def sft_body(theta, i):
            return jnp.where(i < sft_steps, sft_step(theta, arrays, hyp, shp), theta), None

        theta, _ = lax.scan(sft_body, theta0, jnp.arange(shp.max_sft))
        ref_logp = jax.nn.log_softmax(logits_of(arrays, theta), -1)
        nan = jnp.asarray(jnp.nan, dtype)

        def rl_body(theta, keys):
            logp = jax.nn.log_softmax(logits_of(arrays, theta), -1)
            idx = draw_indices(keys[2:], shp)
            u = hash_uniform(keys[:2], (shp.candidates, shp.group, shp.seq_len), dtype)
            new, sampled = rl_step(theta, arrays, ref_logp, u, idx, hyp, shp)
            trace, _ = _metrics(logp, arrays.correct, shp, sampled)
            return new, trace

        _, p_pre = _metrics(ref_logp, arrays.correct, shp, (nan,) * 5)
        # one step more than rl_steps: its metrics are the final policy's (with the sampled
        # statistics of one more draw), its update is discarded
        step_keys = jax.random.bits(key, (shp.rl_steps + 1, 4), jnp.uint32)
        _, per_step = lax.scan(rl_body, theta, step_keys)
        final = jax.tree_util.tree_map(lambda x: x[-1], per_step)
        per_step = jax.tree_util.tree_map(lambda x: x[:-1], per_step)
        return p_pre, per_step, final

    return train
