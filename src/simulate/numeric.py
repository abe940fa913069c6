"""Numeric derivations checked against the theory layer: p*(g) two ways, entropy threshold."""

from __future__ import annotations

import numpy as np

from rankinv import theory


def degenerate_fraction_mc(p_grid, g: int, n_groups: int, seed: int = 0) -> np.ndarray:
    """Share of simulated groups of g Bernoulli(p) rollouts that are all-fail or all-pass."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(jax.random.PRNGKey(seed), len(p_grid))

    def one(args):
        key, p = args
        r = jax.random.bernoulli(key, p, shape=(n_groups, g))
        s = r.sum(-1)
        return jnp.mean((s == 0) | (s == g))

    return np.asarray(jax.lax.map(one, (keys, jnp.asarray(p_grid))))


def p_star_monte_carlo(g: int, n_groups: int = 100_000, seed: int = 0, points: int = 41) -> dict:
    """The p at which half of the sampled groups are degenerate, by Monte Carlo.

    A coarse grid on (0, 1/2] brackets the crossing; a fine grid over the bracket is
    simulated and the crossing found by linear interpolation. The standard error is the
    binomial SE of the fraction divided by the local slope.
    """
    coarse = np.linspace(0.0025, 0.5, points)
    frac = degenerate_fraction_mc(coarse, g, n_groups // 4, seed)
    i = int(np.argmax(frac <= 0.5))
    lo, hi = coarse[max(i - 1, 0)], coarse[i]
    fine = np.linspace(lo, hi, points)
    frac = degenerate_fraction_mc(fine, g, n_groups, seed + 1)
    j = int(np.argmax(frac <= 0.5))
    if j == 0:
        est = float(fine[0])
        slope = np.nan
    else:
        x0, x1, y0, y1 = fine[j - 1], fine[j], frac[j - 1], frac[j]
        est = float(x0 + (0.5 - y0) * (x1 - x0) / (y1 - y0))
        slope = float((y1 - y0) / (x1 - x0))
    se = float(np.sqrt(0.25 / n_groups) / abs(slope)) if np.isfinite(slope) else float("nan")
    return {
        "g": g,
        "p_star_numeric": est,
        "se": se,
        "p_star_analytic": theory.p_star(g),
        "n_groups": n_groups,
    }


def dynamic_p_star(
    g: int,
    steps: int = 50,
    lr: float = 1.0,
    seeds: int = 16,
    n_answers: int = 8,
    grid=None,
    seed: int = 0,
) -> dict:
    """The initial p below which a prompt fails to reach p >= 0.5 within ``steps`` GRPO
    steps in at least half of the seeds (tabular softmax, Dr. GRPO advantage).

    Every grid value is its own prompt of one tabular task (prompts are independent in a
    tabular policy), so one vmapped scan covers the grid and the seeds.
    """
    import jax
    import jax.numpy as jnp

    from rankinv.simulate.config import SimConfig
    from rankinv.simulate.grpo import RunArrays, hyper_of, rl_step, shapes_of

    grid = np.geomspace(0.002, 0.5, 48) if grid is None else np.asarray(grid, dtype=float)
    cfg = SimConfig(
        policy="tabular",
        n_prompts=len(grid),
        n_answers=n_answers,
        seq_len=1,
        group_size=g,
        rl_steps=steps,
        rl_lr=lr,
        eval_every=1,
        sft_depths=(0.0,),
    )
    from rankinv.simulate.tasks import shift_to_success

    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.0, size=(len(grid), 1, n_answers))
    correct = np.zeros_like(z, dtype=bool)
    correct[:, 0, 0] = True
    base = shift_to_success(z, correct, grid)
    arrays = RunArrays(base, correct, np.zeros((len(grid), 0)), np.zeros((len(grid), 1), int))
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    corr = jnp.asarray(correct)

    def run(key):
        def body(theta, k):
            u = jax.random.uniform(k, (len(grid), g, 1))
            theta, _ = rl_step(theta, arrays, base, u, None, hyp, shp)
            logp = jax.nn.log_softmax(base + theta, -1)
            p = jnp.sum(jnp.where(corr, jnp.exp(logp), 0.0), -1)[:, 0]
            return theta, p

        _, ps = jax.lax.scan(body, jnp.zeros_like(base), jax.random.split(key, steps))
        return jnp.max(ps, axis=0) >= 0.5

    reached = np.asarray(jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(seed), seeds)))
    share = reached.mean(axis=0)  # per grid point
    ok = share >= 0.5
    if ok.all():
        est = float(grid[0])
    elif not ok.any():
        est = float("nan")
    else:
        # the last failing grid point before success holds from there on
        j = int(np.max(np.flatnonzero(~ok))) + 1
        j = min(j, len(grid) - 1)
        x0, x1, y0, y1 = np.log(grid[j - 1]), np.log(grid[j]), share[j - 1], share[j]
        est = float(np.exp(x0 + (0.5 - y0) * (x1 - x0) / (y1 - y0))) if y1 != y0 else grid[j]
    first_signal = _solve_escape_half(g, steps)
    return {
        "g": g,
        "steps": steps,
        "lr": lr,
        "seeds": seeds,
        "p_star_dynamic": est,
        "p_star_analytic": theory.p_star(g),
        "p_first_signal_half": first_signal,
        "grid": grid.tolist(),
        "share_reached": share.tolist(),
    }


def _solve_escape_half(g: int, steps: int) -> float:
    """The p at which a prompt has even odds of any informative group within ``steps``."""
    from scipy.optimize import brentq

    return float(brentq(lambda p: theory.escape_probability(p, g, steps) - 0.5, 1e-9, 0.5))


def _crossing(x: np.ndarray, y: np.ndarray, level: float) -> float | None:
    """Largest x at which y, read from high x to low x, first falls below ``level``."""
    order = np.argsort(x)[::-1]
    x, y = x[order], y[order]
    for i in range(len(x) - 1):
        if y[i] >= level > y[i + 1]:
            return float(x[i] + (level - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    return None


#: Drop in post-RL peak pass@k, from the best depth, that marks the onset of inversion.
ONSET_DROP = 0.05


def entropy_threshold_numeric(summary: dict) -> dict:
    """Two numeric entropy thresholds from a depth sweep (per-depth means over seeds):

    * ``onset_nats``: the pre-RL mean token entropy below which the post-RL peak pass@k
      falls more than ONSET_DROP below its best over depths (the inversion starts);
    * ``negative_gain_nats``: the entropy below which RL's gain at the end of the run,
      final pass@k - pre-RL pass@k, turns negative (None when it never does; the peak
      gain cannot turn negative, since the peak includes step 0).
    Both by linear interpolation between the two depths that bracket the change.
    """
    bd = summary["by_depth"]
    h = np.asarray(bd["pre_entropy"])
    peak = np.asarray(bd["post_peak"])
    gain_final = np.asarray(bd["post_final"]) - np.asarray(bd["pre_pass_at_k"])
    return {
        "entropy": h.tolist(),
        "post_peak": peak.tolist(),
        "gain_peak": (peak - np.asarray(bd["pre_pass_at_k"])).tolist(),
        "gain_final": gain_final.tolist(),
        "onset_nats": _crossing(h, peak, peak.max() - ONSET_DROP),
        "negative_gain_nats": _crossing(h, gain_final, 0.0),
    }
