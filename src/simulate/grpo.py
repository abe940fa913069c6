"""The simulator's one engine: SFT to a chosen depth, then GRPO, for every policy.

``make_train(shapes)`` returns a pure ``train(key, sft_steps, arrays, hyper)``; the task
arrays and the hyperparameters are *traced* inputs, so one compiled, vmapped call (the batch
driver, batch.py) serves every run whose shapes agree. Policies (config.SimConfig):

  * a free table (``tabular``, ``sequence``): logits = base + theta, theta [N, L, V];
  * features (``shared``, ``family``): logits = base + phi @ theta, theta [F, L, V].

The legacy policies sum their losses over prompts and train on every prompt each step; the
family policy takes means over a batch of B of its N training prompts (DAPO: the first B
informative groups among M candidates) and measures outcomes on ``n_heldout`` prompts it
never trains on. One GRPO step (gradients in closed form in the logits z, equal to the NumPy
reference in reference.py and to autodiff of the clipped surrogate; both tested):
  * draw the step's candidate prompts (the first M of a random ordering; all N without a
    batch); sample a group of g answers each, reward 1 when every token is correct;
  * advantages r - mean, or (r - mean) / (sample std + eps) (TRL / verl);
  * DAPO: keep the first B informative groups; without a batch (the legacy mitigation table)
    retry each prompt up to ``ds_budget`` groups and train on its first informative one;
  * ``ppo_epochs`` SGD steps on the clipped surrogate (epoch 1 at ratio 1; later epochs
    clip) plus KL to the post-SFT policy and an entropy bonus.

Sampling is inverse-CDF on counter-hash uniforms (sampling.hash_uniform), so the reference
can replay a step exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from rankinv.simulate.config import SimConfig
from rankinv.simulate.sampling import gather_tokens, hash_uniform, sample_onehot, token_entropy
from rankinv.simulate.tasks import PromptSet, make_demonstrations


class Shapes(NamedTuple):
    """What one compilation fixes."""

    n_train: int
    n_heldout: int
    seq_len: int
    n_answers: int
    n_feat: int  # 0: a free logit table per training prompt
    group: int
    batch: int
    candidates: int
    rl_steps: int
    ppo_epochs: int
    sampling: str  # "plain" | "dapo" (DAPO over a batch) | "retry" (DAPO per prompt)
    retries: int  # groups per prompt under "retry"
    max_sft: int
    ks: tuple[int, ...]
    mean_loss: bool  # losses are means over prompts (family) rather than sums (legacy)
    penalties: bool  # KL or entropy terms present (their coefficients are traced)


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


class RunArrays(NamedTuple):
    """One run's task: base logits, correct tokens and features of its N + H prompts, and
    the demonstrations of its N training prompts."""

    base_logits: np.ndarray  # [N + H, L, V]
    correct: np.ndarray  # [N + H, L, V] bool
    features: np.ndarray  # [N + H, F] ([N, 0] for a free table)
    demo: np.ndarray  # [N, L] int


class StepStats(NamedTuple):
    """Per GRPO step, before that step's update; the last entry is the final policy."""

    entropy: jax.Array  # mean per-token entropy (nats) over the training prompts
    min_entropy: jax.Array  # the lowest per-position entropy over the training prompts
    heldout_pass: jax.Array  # [len(ks)] exact pass@k on the held-out prompts (NaN: none)
    train_pass: jax.Array  # [len(ks)] exact pass@k on the training prompts
    greedy_pass: jax.Array  # argmax decoding success on the training prompts
    informative: jax.Array  # share of the step's first B sampled groups with mixed rewards
    all_fail: jax.Array
    all_pass: jax.Array
    reward: jax.Array  # mean reward of those groups
    filled: jax.Array  # share of the batch trained on (DAPO: informative groups kept / B)


class Start(NamedTuple):
    """The post-SFT (step-0) policy per prompt: success probability and mean token entropy
    over the N training then H held-out prompts."""

    p: jax.Array  # [N + H]
    entropy: jax.Array  # [N + H]


def shapes_of(cfg: SimConfig, n_feat: int | None = None) -> Shapes:
    """The compiled shape of ``cfg``; ``n_feat`` pads the feature columns (batch.py)."""
    table = cfg.policy in ("tabular", "sequence")
    if table:
        feat = 0
    elif cfg.policy == "shared":
        feat = cfg.n_features
    else:
        feat = cfg.n_families + cfg.n_modes + cfg.n_features
    dapo = bool(cfg.dynamic_sampling and cfg.batch_size)
    return Shapes(
        n_train=cfg.n_prompts,
        n_heldout=cfg.n_heldout,
        seq_len=cfg.seq_len,
        n_answers=cfg.n_answers,
        n_feat=feat if n_feat is None or table else n_feat,
        group=cfg.group_size,
        batch=cfg.batch,
        candidates=cfg.candidates,
        rl_steps=cfg.rl_steps,
        ppo_epochs=cfg.ppo_epochs,
        sampling="dapo" if dapo else ("retry" if cfg.dynamic_sampling else "plain"),
        retries=cfg.ds_budget if cfg.dynamic_sampling and not dapo else 1,
        max_sft=max(cfg.sft_step_counts),
        ks=tuple(cfg.ks),
        mean_loss=cfg.policy == "family",
        penalties=bool(cfg.kl_beta > 0 or cfg.entropy_coef > 0),
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


def arrays_of(cfg: SimConfig, task: PromptSet, seed: int, n_feat: int | None = None) -> RunArrays:
    """The arrays of the run with demonstration seed ``seed``; ``n_feat`` pads the features
    with zero columns (their parameters never move), so capacity keeps a compiled shape."""
    demo, _ = make_demonstrations(cfg, task, seed)
    feats = task.features
    if feats is None:
        feats = np.zeros((task.base_logits.shape[0], 0))
    elif n_feat is not None and n_feat > feats.shape[1]:
        feats = np.pad(feats, ((0, 0), (0, n_feat - feats.shape[1])))
    return RunArrays(task.base_logits, task.correct, feats, demo)


def logits_of(arrays: RunArrays, theta, shp: Shapes, idx=None):
    """Logits of the training and held-out prompts, or of the prompts ``idx``."""
    base = arrays.base_logits if idx is None else jnp.asarray(arrays.base_logits)[idx]
    if shp.n_feat == 0:
        return base + (theta if idx is None else theta[idx])
    phi = arrays.features if idx is None else jnp.asarray(arrays.features)[idx]
    return base + jnp.einsum("nf,flv->nlv", phi, theta)


def advantages(rewards, hyp: Hyper):
    """r - mean, or (r - mean) / (sample std + eps) when ``hyp.std_adv`` is 1."""
    centred = rewards - rewards.mean(-1, keepdims=True)
    std = rewards.std(-1, keepdims=True, ddof=1)
    return jnp.where(hyp.std_adv > 0, centred / (std + hyp.std_eps), centred)


def dapo_weight(rewards, batch: int):
    """Keep the first ``batch`` groups (in draw order) whose rewards are not all equal."""
    s = rewards.sum(-1)
    informative = (s > 0) & (s < rewards.shape[-1])
    kept = informative & (jnp.cumsum(informative) <= batch)
    return kept.astype(rewards.dtype)


def draw_groups(logp, correct, u, shp: Shapes):
    """Sample the groups trained on: one-hot samples [M, G, L, V], rewards [M, G], weights
    [M] and the rewards of the first draw (for the sampled statistics). ``u`` is [M, G, L],
    or [M, R, G, L] under per-prompt retries."""
    if shp.sampling == "retry":
        hit_all = sample_onehot(logp, u)  # [M, R, G, L, V]
        m, r, g, length, v = hit_all.shape
        flat = hit_all.reshape(m, r * g, length, v)
        rewards_all = jnp.all(gather_tokens(correct, flat), axis=-1).reshape(m, r, g)
        rewards_all = rewards_all.astype(logp.dtype)
        s = rewards_all.sum(-1)
        informative = (s > 0) & (s < g)
        pick = jnp.argmax(informative, axis=-1)  # first informative draw (0 if none)
        hit = jnp.take_along_axis(hit_all, pick[:, None, None, None, None], axis=1)[:, 0]
        rewards = jnp.take_along_axis(rewards_all, pick[:, None, None], axis=1)[:, 0]
        return hit, rewards, jnp.any(informative, -1).astype(logp.dtype), rewards_all[:, 0]
    hit = sample_onehot(logp, u)  # [M, G, L, V]
    rewards = jnp.all(gather_tokens(correct, hit), -1).astype(logp.dtype)  # [M, G]
    if shp.sampling == "dapo":
        weight = dapo_weight(rewards, shp.batch)
    else:
        weight = jnp.ones(rewards.shape[0], logp.dtype)
    return hit, rewards, weight, rewards[: shp.batch]


def surrogate_grad_z(logp, hit, adv, weight, old, ref_logp, hyp: Hyper, shp: Shapes):
    """Gradient in the logits z [M, L, V] of the loss
    -1/(D L) sum_m w_m [1/G sum_g sum_t min(ratio a, clip(ratio) a)]
    + kl_beta/(D L) sum KL(pi || ref) - entropy_coef/(D L) sum H(pi),
    D = B for mean losses, 1 for summed ones. The clipped term's gradient flows through the
    unclipped ratio only where the min picks it; at ratio 1 this is -sum c (onehot - pi).
    """
    g, length = hit.shape[1], hit.shape[2]
    div = shp.batch if shp.mean_loss else 1
    pi = jnp.exp(logp)
    ratio = jnp.exp(gather_tokens(logp, hit) - old)  # [M, G, L]
    a = adv[..., None]
    clipped = jnp.clip(ratio, 1.0 - hyp.clip_low, 1.0 + hyp.clip_high)
    active = (ratio * a <= clipped * a) | (ratio == clipped)
    coef = -(a * ratio * active) * weight[:, None, None] / (g * length * div)
    counts = jnp.sum(jnp.where(hit, coef[..., None], 0.0), axis=1)  # [M, L, V]
    grad = counts - jnp.sum(coef, axis=1)[..., None] * pi
    if shp.penalties:
        kl = jnp.sum(pi * (logp - ref_logp), -1, keepdims=True)
        grad = grad + hyp.kl_beta * pi * (logp - ref_logp - kl) / (length * div)
        h = -jnp.sum(pi * logp, -1, keepdims=True)
        grad = grad + hyp.entropy_coef * pi * (logp + h) / (length * div)
    return grad


def draw_indices(key, shp: Shapes):
    """The step's candidate prompts: the first M of a random ordering of the N (None: all)."""
    if shp.candidates == shp.n_train and shp.sampling != "dapo":
        return None
    order = jnp.argsort(hash_uniform(key, (shp.n_train,), jnp.float32))
    return order[: shp.candidates]


def uniform_shape(shp: Shapes) -> tuple[int, ...]:
    if shp.sampling == "retry":
        return (shp.candidates, shp.retries, shp.group, shp.seq_len)
    return (shp.candidates, shp.group, shp.seq_len)


def rl_step(theta, arrays: RunArrays, ref_logp, u, idx, hyp: Hyper, shp: Shapes, logp=None):
    """One GRPO step on the candidates ``idx`` (None: every training prompt) with uniforms
    ``u``. ``logp``: the current log-probabilities of every training prompt, when the caller
    has them. Returns the new theta and the sampled (first-B) group statistics."""
    n = shp.n_train
    if idx is None:
        correct, ref = jnp.asarray(arrays.correct)[:n], jnp.asarray(ref_logp)[:n]
    else:
        correct, ref = jnp.asarray(arrays.correct)[idx], jnp.asarray(ref_logp)[idx]
    sub = jnp.arange(n) if idx is None and shp.n_heldout else idx

    def logp_of(th):
        return jax.nn.log_softmax(logits_of(arrays, th, shp, sub), -1)

    if logp is None or idx is not None:
        logp = logp_of(theta)
    hit, rewards, weight, first = draw_groups(logp, correct, u, shp)
    adv = advantages(rewards, hyp)
    old = gather_tokens(logp, hit)

    def to_theta(gz):
        if shp.n_feat:
            phi = jnp.asarray(arrays.features)[sub] if sub is not None else arrays.features
            return jnp.einsum("mf,mlv->flv", phi, gz)
        return gz if idx is None else jnp.zeros_like(theta).at[idx].add(gz)

    new = theta - hyp.rl_lr * to_theta(surrogate_grad_z(logp, hit, adv, weight, old, ref, hyp, shp))
    if shp.ppo_epochs > 1:

        def epoch(_, th):  # a loop, not unrolled: one copy of the update to compile
            gz = surrogate_grad_z(logp_of(th), hit, adv, weight, old, ref, hyp, shp)
            return th - hyp.rl_lr * to_theta(gz)

        new = lax.fori_loop(1, shp.ppo_epochs, epoch, new)
    s = first.sum(-1)
    g = shp.group
    sampled = (
        jnp.mean((s > 0) & (s < g)),
        jnp.mean(s == 0),
        jnp.mean(s == g),
        first.mean(),
        jnp.sum(weight) / shp.batch,
    )
    return new, sampled


def sft_loss(logp, demo, smoothing, shp: Shapes):
    """sum_n mean_t CE(y_nt, pi_nt) (legacy) or its mean over the N prompts (family),
    y = (1 - alpha) onehot(demo) + alpha / V."""
    v = logp.shape[-1]
    y = (1.0 - smoothing) * jax.nn.one_hot(demo, v, dtype=logp.dtype) + smoothing / v
    loss = -jnp.sum(jnp.mean(jnp.sum(y * logp, axis=-1), axis=-1))
    return loss / shp.n_train if shp.mean_loss else loss


def sft_step(theta, arrays: RunArrays, hyp: Hyper, shp: Shapes):
    """One full-batch gradient step on the SFT loss over the N training prompts."""
    sub = jnp.arange(shp.n_train) if shp.n_heldout else None

    def loss(th):
        logp = jax.nn.log_softmax(logits_of(arrays, th, shp, sub), -1)
        return sft_loss(logp, arrays.demo, hyp.label_smoothing, shp)

    return theta - hyp.sft_lr * jax.grad(loss)(theta)


def step_stats(logp, correct, shp: Shapes, sampled) -> tuple[StepStats, jax.Array]:
    """The metrics of a policy (logp over the N + H prompts) and its per-prompt p."""
    n = shp.n_train
    pi = jnp.exp(logp)
    p = jnp.prod(jnp.sum(jnp.where(correct, pi, 0.0), -1), -1)  # [N + H]
    h = token_entropy(logp[:n])
    top_correct = jnp.max(jnp.where(correct[:n], pi[:n], -1.0), axis=-1)
    greedy = jnp.mean(jnp.all(top_correct >= jnp.max(pi[:n], axis=-1), -1))

    def pass_k(q):
        return jnp.stack([jnp.mean(1.0 - (1.0 - q) ** k) for k in shp.ks])

    held = pass_k(p[n:]) if shp.n_heldout else jnp.full(len(shp.ks), jnp.nan, p.dtype)
    return StepStats(h.mean(), h.min(), held, pass_k(p[:n]), greedy, *sampled), p


def run_key(task_seed: int, seed: int):
    """The one key derivation of a run: fold the run's seed into its task seed's key."""
    return jax.random.fold_in(jax.random.PRNGKey(task_seed), seed)


def make_train(shp: Shapes):
    """``train(key, sft_steps, arrays, hyp) -> (start, per_step StepStats [T], final)``.

    Every argument is traced (vmap over runs at the call site); ``sft_steps`` may differ per
    run (the SFT scan runs to the longest depth and freezes each run after its own steps).
    Step t samples with ``bits(key, (T + 1, 2))[t]`` and draws its prompts with the same
    row of ``bits(fold_in(key, 1), ...)``.
    """

    def train(key, sft_steps, arrays: RunArrays, hyp: Hyper):
        dtype = arrays.base_logits.dtype
        if shp.n_feat:
            theta0 = jnp.zeros((shp.n_feat, shp.seq_len, shp.n_answers), dtype)
        else:
            theta0 = jnp.zeros((shp.n_train, shp.seq_len, shp.n_answers), dtype)

        def sft_body(theta, i):
            return jnp.where(i < sft_steps, sft_step(theta, arrays, hyp, shp), theta), None

        theta, _ = lax.scan(sft_body, theta0, jnp.arange(shp.max_sft))
        ref_logp = jax.nn.log_softmax(logits_of(arrays, theta, shp), -1)

        def rl_body(theta, keys):
            logp = jax.nn.log_softmax(logits_of(arrays, theta, shp), -1)
            idx = draw_indices(keys[2:], shp)
            u = hash_uniform(keys[:2], uniform_shape(shp), dtype)
            new, sampled = rl_step(theta, arrays, ref_logp, u, idx, hyp, shp, logp[: shp.n_train])
            stats, _ = step_stats(logp, arrays.correct, shp, sampled)
            return new, stats

        _, p0 = step_stats(ref_logp, arrays.correct, shp, (jnp.asarray(jnp.nan, dtype),) * 5)
        start = Start(p0, token_entropy(ref_logp).mean(-1))
        # one step more than rl_steps: its metrics are the final policy's (with the sampled
        # statistics of one more draw), its update is discarded
        sample_keys = jax.random.bits(key, (shp.rl_steps + 1, 2), jnp.uint32)
        draw_keys = jax.random.bits(jax.random.fold_in(key, 1), (shp.rl_steps + 1, 2), jnp.uint32)
        _, per_step = lax.scan(rl_body, theta, jnp.concatenate([sample_keys, draw_keys], 1))
        final = jax.tree_util.tree_map(lambda x: x[-1], per_step)
        per_step = jax.tree_util.tree_map(lambda x: x[:-1], per_step)
        return start, per_step, final

    return train
