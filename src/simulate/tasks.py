"""Synthetic verifiable tasks (numpy, deterministic in the task seed).

Each prompt n has, per answer position t, a set of correct tokens; an answer is correct
when every position holds a correct token. The base policy's logits are random, shifted
so that prompt n's base success probability is a Beta draw p_n (each position gets
p_n^(1/L)). Demonstrations are correct for a seed-dependent share of the prompts; a wrong
demonstration is plausibly wrong: one position holds the likeliest incorrect token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rankinv.simulate.config import SimConfig

#: Base success probabilities are clipped into [P_FLOOR, 1 - P_FLOOR].
P_FLOOR = 1e-3


@dataclass(frozen=True)
class PromptSet:
    """A synthetic prompt set: per-prompt base logits over answers, which answers are
    correct, and (shared and family policies) the prompt features. Not a sandbox Task."""

    base_logits: np.ndarray  # [N, L, V]
    correct: np.ndarray  # [N, L, V] bool
    features: np.ndarray | None  # [N, F] for the shared policy
    base_p: np.ndarray  # [N] target base success probability
    family: np.ndarray | None = None  # [N + H] family of each prompt (family policy only)
    mode: np.ndarray | None = None  # [N + H] each prompt's strategy (n_modes > 0 only)


def make_task(cfg: SimConfig) -> PromptSet:
    if cfg.policy == "family":
        return make_family_task(cfg)
    rng = np.random.default_rng(cfg.task_seed)
    n, length, v = cfg.n_prompts, cfg.seq_len, cfg.n_answers
    base_p = np.clip(rng.beta(*cfg.base_beta, size=n), P_FLOOR, 1 - P_FLOOR)
    z = rng.normal(0.0, cfg.base_noise, size=(n, length, v))
    order = np.argsort(rng.random((n, length, v)), axis=-1)
    correct = np.zeros((n, length, v), dtype=bool)
    np.put_along_axis(correct, order[..., : cfg.n_correct], True, axis=-1)
    base_logits = shift_to_success(z, correct, base_p)
    features = None
    if cfg.policy == "shared":
        features = rng.normal(0.0, 1.0 / np.sqrt(cfg.n_features), size=(n, cfg.n_features))
    return PromptSet(base_logits, correct, features, base_p)


def make_family_task(cfg: SimConfig) -> PromptSet:
    """Prompts in task families: N training prompts then H held-out ones, family n % C.

    A family shares its correct tokens and half of its base logits (the other half is the
    prompt's own noise); its mean difficulty m_f ~ Beta(base_beta) and each prompt's base
    success p ~ Beta(c m_f, c (1 - m_f)), c = family_concentration. Features: the family
    one-hot x family_scale, then n_features private N(0, 1/F) features.
    """
    rng = np.random.default_rng([cfg.task_seed, 11])
    c, length, v = cfg.n_families, cfg.seq_len, cfg.n_answers
    total = cfg.n_prompts + cfg.n_heldout
    family = np.arange(total) % c
    m = np.clip(rng.beta(*cfg.base_beta, size=c), 0.02, 0.98)
    k = cfg.family_concentration
    base_p = np.clip(rng.beta(k * m[family], k * (1 - m[family])), P_FLOOR, 1 - P_FLOOR)
    z_fam = rng.normal(0.0, cfg.base_noise, size=(c, length, v))
    z = (z_fam[family] + rng.normal(0.0, cfg.base_noise, size=(total, length, v))) / np.sqrt(2)
    order = np.argsort(rng.random((c, length, v)), axis=-1)
    correct_fam = np.zeros((c, length, v), dtype=bool)
    np.put_along_axis(correct_fam, order[..., : cfg.n_correct], True, axis=-1)
    correct = correct_fam[family]
    mode = None
    cue = np.zeros((total, 0))
    if cfg.n_modes:
        correct, mode = _strategy_tokens(cfg, correct, order, family)
        cue = cfg.mode_cue * np.eye(cfg.n_modes)[mode]
        base_p = np.where(mode != 0, np.maximum(base_p * cfg.minority_p_scale, P_FLOOR), base_p)
    base_logits = shift_to_success(z, correct, base_p)
    private = rng.normal(0.0, 1.0 / np.sqrt(cfg.n_features), size=(total, cfg.n_features))
    features = np.concatenate([cfg.family_scale * np.eye(c)[family], cue, private], axis=1)
    return PromptSet(base_logits, correct, features, base_p, family, mode)


def _strategy_tokens(cfg: SimConfig, correct: np.ndarray, order: np.ndarray, family):
    """Competing strategies at the first answer token: family f's strategy m is the token
    order[f, 0, m]; each prompt accepts only its own strategy there (mode 0 with probability
    ``majority_share``, else a uniformly drawn minority mode). Drawn from their own stream,
    so the rest of the task is the task without strategies."""
    rng = np.random.default_rng([cfg.task_seed, 17])
    total = correct.shape[0]
    minority = rng.integers(1, cfg.n_modes, size=total)
    mode = np.where(rng.random(total) < cfg.majority_share, 0, minority)
    token = order[family, 0, mode]  # [N + H]
    correct = correct.copy()
    correct[:, 0, :] = False
    correct[np.arange(total), 0, token] = True
    return correct, mode


def shift_to_success(z: np.ndarray, correct: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Shift the correct logits of z [N, L, V] so that prompt n succeeds with probability p_n.

    Each position's correct mass becomes a = p^(1/L): a = S_c e^b / (S_c e^b + S_w) gives
    b = logit(a) + ln S_w - ln S_c, with S_c, S_w the exp-sums over correct / wrong tokens.
    """
    a = np.asarray(p, dtype=float)[:, None] ** (1.0 / z.shape[1])
    s_c = np.where(correct, np.exp(z), 0.0).sum(-1)
    s_w = np.where(correct, 0.0, np.exp(z)).sum(-1)
    b = np.log(a) - np.log1p(-a) + np.log(s_w) - np.log(s_c)
    return z + b[..., None] * correct


def make_demonstrations(
    cfg: SimConfig, task: PromptSet, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Demonstration tokens [N, L] and whether each is correct [N], for one seed.

    Family policy: demonstrations cover the N training prompts only; ``wrong_families``
    families (drawn per seed) get the same error on every prompt: the family's likeliest
    wrong token at one family-wide position; the other prompts are wrong independently
    with probability 1 - demo_correct_fraction, as in the legacy tasks.
    """
    if cfg.policy == "family":
        return _family_demonstrations(cfg, task, seed)
    rng = np.random.default_rng([cfg.task_seed, seed, 7])
    n, length, _ = task.base_logits.shape
    masked_correct = np.where(task.correct, task.base_logits, -np.inf)
    masked_wrong = np.where(task.correct, -np.inf, task.base_logits)
    tokens = masked_correct.argmax(-1)  # the likeliest correct token at every position
    is_correct = rng.random(n) < cfg.demo_correct_fraction
    wrong_pos = rng.integers(0, length, size=n)
    rows = np.flatnonzero(~is_correct)
    tokens[rows, wrong_pos[rows]] = masked_wrong.argmax(-1)[rows, wrong_pos[rows]]
    return tokens.astype(np.int32), is_correct


def _family_demonstrations(cfg: SimConfig, task: PromptSet, seed: int):
    rng = np.random.default_rng([cfg.task_seed, seed, 13])
    n, length = cfg.n_prompts, cfg.seq_len
    logits, correct, family = task.base_logits[:n], task.correct[:n], task.family[:n]
    tokens = np.where(correct, logits, -np.inf).argmax(-1)
    is_correct = rng.random(n) < cfg.demo_correct_fraction
    wrong_pos = rng.integers(0, length, size=n)
    prompt_wrong = np.where(correct, -np.inf, logits).argmax(-1)  # [N, L]
    bad = rng.permutation(cfg.n_families)[: cfg.wrong_families]
    fam_pos = rng.integers(0, length, size=cfg.n_families)
    fam_logits = np.zeros((cfg.n_families, length, logits.shape[-1]))
    np.add.at(fam_logits, family, logits)
    fam_correct = correct[: cfg.n_families]  # prompt f is family f's first (n_prompts >= C)
    fam_wrong = np.where(fam_correct, -np.inf, fam_logits)
    fam_wrong = fam_wrong.argmax(-1)  # [C, L]: the family's likeliest wrong token
    rows = np.flatnonzero(~is_correct)
    tokens[rows, wrong_pos[rows]] = prompt_wrong[rows, wrong_pos[rows]]
    in_bad = np.isin(family, bad)
    for i in np.flatnonzero(in_bad):
        tokens[i] = np.where(correct[i], logits[i], -np.inf).argmax(-1)
        f = family[i]
        tokens[i, fam_pos[f]] = fam_wrong[f, fam_pos[f]]
    is_correct = is_correct & ~in_bad
    if cfg.n_modes:  # a demonstration not faithful to the prompt's strategy uses mode 0's
        mode = task.mode[:n]
        unfaithful = (mode != 0) & (rng.random(n) >= cfg.demo_mode_fidelity)
        majority = np.asarray([_mode0_token(task, f) for f in range(cfg.n_families)])
        tokens[unfaithful, 0] = majority[family[unfaithful]]
        is_correct = is_correct & ~unfaithful
    return tokens.astype(np.int32), is_correct


def _mode0_token(task: PromptSet, f: int) -> int:
    """The family's majority strategy token (read off a prompt of that family in mode 0)."""
    rows = np.flatnonzero((task.family == f) & (task.mode == 0))
    if rows.size == 0:
        return int(np.argmax(task.correct[f, 0]))
    return int(np.argmax(task.correct[rows[0], 0]))
