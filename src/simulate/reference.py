"""A straightforward NumPy reference of the simulator's update, with hand-derived gradients.

Kept for tests (the JAX update must equal it step for step when both see the same uniform
numbers) and as the baseline of benchmarks/simulate_bench.py. Gradients with respect to the
logits z of one position's softmax pi = softmax(z):
  d log pi(a) / dz = onehot(a) - pi
  d KL(pi || ref) / dz = pi * (log pi - log ref - KL)
  d H(pi) / dz = -pi * (log pi + H)
  d CE(y, pi) / dz = pi - y
"""

from __future__ import annotations

import numpy as np

from rankinv.errors import UserError
from rankinv.simulate.config import SimConfig
from rankinv.simulate.tasks import PromptSet


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


class NumpyReference:
    def __init__(self, cfg: SimConfig, task: PromptSet):
        self.cfg = cfg
        self.task = task
        n, length, v = task.base_logits.shape
        self.shape = (n, length, v)

    def init(self) -> np.ndarray:
        n, length, v = self.shape
        if self.cfg.policy == "shared":
            return np.zeros((self.task.features.shape[1], length, v))
        return np.zeros(self.shape)

    def logits(self, theta):
        if self.cfg.policy == "shared":
            return self.task.base_logits + np.einsum("nf,flv->nlv", self.task.features, theta)
        return self.task.base_logits + theta

    def _to_theta(self, grad_z):
        if self.cfg.policy == "shared":
            return np.einsum("nf,nlv->flv", self.task.features, grad_z)
        return grad_z

    def sft_step(self, theta, demo):
        cfg = self.cfg
        logp = log_softmax(self.logits(theta))
        v = logp.shape[-1]
        y = (1 - cfg.label_smoothing) * np.eye(v)[demo] + cfg.label_smoothing / v
        grad_z = (np.exp(logp) - y) / logp.shape[1]
        return theta - cfg.sft_lr * self._to_theta(grad_z)

    def uniform_shape(self) -> tuple[int, ...]:
        cfg = self.cfg
        if cfg.dynamic_sampling:
            return (cfg.n_prompts, cfg.ds_budget, cfg.group_size, cfg.seq_len)
        return (cfg.n_prompts, cfg.group_size, cfg.seq_len)

    def sample(self, logp, u):
        cdf = np.cumsum(np.exp(logp), -1)
        extra = u.ndim - 2
        cdf = cdf.reshape(cdf.shape[:1] + (1,) * extra + cdf.shape[1:])
        return np.minimum((u[..., None] >= cdf).sum(-1), logp.shape[-1] - 1)

    def rewards_of(self, tokens):
        n = tokens.shape[0]
        idx_n = np.arange(n).reshape((n,) + (1,) * (tokens.ndim - 1))
        idx_t = np.arange(tokens.shape[-1])
        return self.task.correct[idx_n, idx_t, tokens].all(-1).astype(float)

    def rl_step(self, theta, u, ref_logp=None):
        cfg = self.cfg
        logp = log_softmax(self.logits(theta))
        n, length, v = logp.shape
        if cfg.dynamic_sampling:
            toks_all = self.sample(logp, u)  # [N, B, G, L]
            r_all = self.rewards_of(toks_all)  # [N, B, G]
            s = r_all.sum(-1)
            informative = (s > 0) & (s < cfg.group_size)
            pick = informative.argmax(-1)
            tokens = toks_all[np.arange(n), pick]
            rewards = r_all[np.arange(n), pick]
            weight = informative.any(-1).astype(float)
        else:
            tokens = self.sample(logp, u)  # [N, G, L]
            rewards = self.rewards_of(tokens)
            weight = np.ones(n)
        g = tokens.shape[1]
        adv = rewards - rewards.mean(-1, keepdims=True)
        if cfg.advantage == "std":
            adv = adv / (rewards.std(-1, keepdims=True, ddof=1) + cfg.std_eps)
        i_n = np.arange(n)[:, None, None]
        i_t = np.arange(length)[None, None, :]
        old = logp[i_n, i_t, tokens]
        onehot = np.eye(v)[tokens]  # [N, G, L, V]
        for _ in range(cfg.ppo_epochs):
            logp = log_softmax(self.logits(theta))
            pi = np.exp(logp)
            ratio = np.exp(logp[i_n, i_t, tokens] - old)
            a = adv[..., None]
            clipped = np.clip(ratio, 1 - cfg.clip_low, 1 + cfg.clip_high)
            # the min picks the unclipped term unless clipping lowers the objective;
            # the gradient flows through the unclipped term only (zero when clipped)
            active = (ratio * a <= clipped * a) | (ratio == clipped)
            coef = -(a * ratio * active) * weight[:, None, None] / (g * length)  # [N, G, L]
            grad_z = np.einsum("ngl,nglv->nlv", coef, onehot) - coef.sum(1)[..., None] * pi
            if cfg.kl_beta > 0:
                kl = (pi * (logp - ref_logp)).sum(-1, keepdims=True)
                grad_z += cfg.kl_beta * pi * (logp - ref_logp - kl) / length
            if cfg.entropy_coef > 0:
                h = -(pi * logp).sum(-1, keepdims=True)
                grad_z -= cfg.entropy_coef * (-pi * (logp + h)) / length
            theta = theta - cfg.rl_lr * self._to_theta(grad_z)
        return theta, rewards

    def metrics(self, theta):
        logp = log_softmax(self.logits(theta))
        p = np.where(self.task.correct, np.exp(logp), 0).sum(-1).prod(-1)
        h = -(np.exp(logp) * logp).sum(-1)
        return {
            "p": p,
            "entropy": h.mean(),
            "pass_at_k": [float(np.mean(1 - (1 - p) ** k)) for k in self.cfg.ks],
        }

    def train(self, rng: np.random.Generator, sft_steps: int, demo):
        """A whole run in plain Python loops: SFT, then GRPO. Returns per-step pass@k."""
        theta = self.init()
        for _ in range(sft_steps):
            theta = self.sft_step(theta, demo)
        ref = log_softmax(self.logits(theta))
        history = []
        for _ in range(self.cfg.rl_steps):
            history.append(self.metrics(theta)["pass_at_k"])
            theta, _ = self.rl_step(theta, rng.random(self.uniform_shape()), ref)
        return theta, np.asarray(history)


class FamilyReference:
    """NumPy reference of grpo.py (the family policy with batches, held-out prompts, DAPO):
    plain loops and the hand-derived gradients above. ``rl_step`` takes the step's candidate
    prompts ``idx`` and uniforms ``u`` [M, G, L] so that it can replay the engine exactly."""

    def __init__(self, cfg: SimConfig, task: PromptSet):
        if cfg.policy != "family":
            raise UserError(f"FamilyReference runs the family policy, got {cfg.policy!r}")
        self.cfg = cfg
        self.task = task
        self.phi = task.features
        self.n = cfg.n_prompts

    def init(self) -> np.ndarray:
        return np.zeros((self.phi.shape[1], self.cfg.seq_len, self.cfg.n_answers))

    def logits(self, theta):
        return self.task.base_logits + np.einsum("nf,flv->nlv", self.phi, theta)

    def sft_step(self, theta, demo):
        cfg, n = self.cfg, self.n
        logp = log_softmax(self.logits(theta)[:n])
        v = logp.shape[-1]
        y = (1 - cfg.label_smoothing) * np.eye(v)[demo] + cfg.label_smoothing / v
        grad_z = (np.exp(logp) - y) / (cfg.seq_len * n)
        return theta - cfg.sft_lr * np.einsum("nf,nlv->flv", self.phi[:n], grad_z)

    def rl_step(self, theta, u, idx, ref_logp):
        """Returns the new theta and the kept-group weights [M]."""
        cfg = self.cfg
        b, g, length = cfg.batch, cfg.group_size, cfg.seq_len
        phi = self.phi[idx]
        base = self.task.base_logits[idx]
        ref = ref_logp[idx]
        logp = log_softmax(base + np.einsum("mf,flv->mlv", phi, theta))
        cdf = np.cumsum(np.exp(logp), -1)  # [M, L, V]
        tokens = np.minimum((u[..., None] >= cdf[:, None]).sum(-1), cfg.n_answers - 1)
        m = len(idx)
        i_m = np.arange(m)[:, None, None]
        i_t = np.arange(length)[None, None, :]
        rewards = self.task.correct[idx][i_m, i_t, tokens].all(-1).astype(float)  # [M, G]
        weight = np.ones(m)
        if cfg.dynamic_sampling and cfg.batch_size:
            weight = np.zeros(m)
            kept = 0
            for j in range(m):  # the first B groups whose rewards are not all equal
                if 0 < rewards[j].sum() < g and kept < b:
                    weight[j] = 1.0
                    kept += 1
        adv = rewards - rewards.mean(-1, keepdims=True)
        if cfg.advantage == "std":
            adv = adv / (rewards.std(-1, ddof=1, keepdims=True) + cfg.std_eps)
        old = logp[i_m, i_t, tokens]
        onehot = np.eye(cfg.n_answers)[tokens]  # [M, G, L, V]
        for _ in range(cfg.ppo_epochs):
            logp = log_softmax(base + np.einsum("mf,flv->mlv", phi, theta))
            pi = np.exp(logp)
            ratio = np.exp(logp[i_m, i_t, tokens] - old)
            a = adv[..., None]
            clipped = np.clip(ratio, 1 - cfg.clip_low, 1 + cfg.clip_high)
            active = (ratio * a <= clipped * a) | (ratio == clipped)
            coef = -(a * ratio * active) * weight[:, None, None] / (g * length * b)
            grad_z = np.einsum("mgl,mglv->mlv", coef, onehot) - coef.sum(1)[..., None] * pi
            kl = (pi * (logp - ref)).sum(-1, keepdims=True)
            grad_z += cfg.kl_beta * pi * (logp - ref - kl) / (length * b)
            h = -(pi * logp).sum(-1, keepdims=True)
            grad_z -= cfg.entropy_coef * (-pi * (logp + h)) / (length * b)
            theta = theta - cfg.rl_lr * np.einsum("mf,mlv->flv", phi, grad_z)
        return theta, weight

    def heldout_pass(self, theta) -> list[float]:
        logp = log_softmax(self.logits(theta))
        p = np.where(self.task.correct, np.exp(logp), 0).sum(-1).prod(-1)[self.n :]
        return [float(np.mean(1 - (1 - p) ** k)) for k in self.cfg.ks]

    def train(self, rng: np.random.Generator, sft_steps: int, demo):
        """A whole run in plain Python loops: SFT, then GRPO on random batches.
        Returns theta and the held-out pass@k before every step and after the last."""
        cfg = self.cfg
        theta = self.init()
        for _ in range(sft_steps):
            theta = self.sft_step(theta, demo)
        ref = log_softmax(self.logits(theta))
        history = []
        for _ in range(cfg.rl_steps):
            history.append(self.heldout_pass(theta))
            idx = rng.permutation(self.n)[: cfg.candidates]
            u = rng.random((cfg.candidates, cfg.group_size, cfg.seq_len))
            theta, _ = self.rl_step(theta, u, idx, ref)
        history.append(self.heldout_pass(theta))
        return theta, np.asarray(history)
