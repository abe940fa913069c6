"""Group statistics of GRPO with binary rewards.

A prompt with success probability p is sampled g times. With a mean-centred (Dr. GRPO)
advantage A_i = r_i - mean(r), a group carries gradient only when its rewards differ.
"""

from __future__ import annotations

import numpy as np

from rankinv.errors import UserError
from rankinv.theory import _checks

#: Level at which p*(g) is defined: half of the groups are degenerate.
DEFAULT_LEVEL = 0.5


def advantage_variance(p, g):
    r"""Expected within-group reward variance (population form, no Bessel correction).

    .. math:: \mathbb{E}[\sigma^2_G] = p(1-p)\,\frac{g-1}{g}

    The population variance of g Bernoulli(p) draws is (1/g) sum (r_i - rbar)^2, whose
    expectation is p(1-p)(g-1)/g. Vectorised over p and g.

    >>> round(advantage_variance(0.5, 8), 6)
    0.21875
    >>> advantage_variance([0.0, 1.0], 4).tolist()
    [0.0, 0.0]
    """
    p_arr = _checks.probability(p, "p")
    g_arr = _checks.group_size(g, "g")
    out = p_arr * (1.0 - p_arr) * (g_arr - 1) / g_arr
    return _checks.scalar_or_array(np.asarray(out, dtype=float), p, g)


def degenerate_probability(p, g):
    r"""Probability that a group of g rollouts is all-pass or all-fail (zero advantage).

    .. math:: f_g(p) = p^g + (1-p)^g

    >>> degenerate_probability(0.5, 2)
    0.5
    >>> round(degenerate_probability(0.1, 8), 6)
    0.430467
    """
    p_arr = _checks.probability(p, "p")
    g_arr = _checks.group_size(g, "g")
    out = p_arr**g_arr + (1.0 - p_arr) ** g_arr
    return _checks.scalar_or_array(np.asarray(out, dtype=float), p, g)


def informative_probability(p, g):
    r"""Probability that a group carries signal: :math:`1 - f_g(p) = 1 - p^g - (1-p)^g`.

    >>> informative_probability(0.5, 2)
    0.5
    >>> round(informative_probability(0.1, 8), 6)
    0.569533
    """
    p_arr = _checks.probability(p, "p")
    g_arr = _checks.group_size(g, "g")
    # 1 - (1-p)^g as -expm1(g log1p(-p)) keeps full precision when p*g is small
    with np.errstate(divide="ignore"):
        out = -np.expm1(g_arr * np.log1p(-p_arr)) - p_arr**g_arr
    return _checks.scalar_or_array(np.asarray(out, dtype=float), p, g)


def _p_star_scalar(g: int, level: float) -> float:
    floor = 2.0 ** (1 - g)  # f_g(1/2), the minimum of f_g on [0, 1]
    if level < floor:
        raise UserError(
            f"level must be in [{floor:.3g}, 1) for g={g} (f_g(p) never falls below 2^(1-g)), "
            f"got {level!r}"
        )
    if level == floor:
        return 0.5

    from scipy.optimize import brentq  # here, not at import: scipy.optimize costs ~0.7 s

    def fn(p: float) -> float:
        return p**g + (1.0 - p) ** g - level

    return brentq(fn, 0.0, 0.5, xtol=1e-16, rtol=4.0 * np.finfo(float).eps, maxiter=200)


def p_star(g, level=DEFAULT_LEVEL):
    r"""Critical success probability p*(g): the root in (0, 1/2] of f_g(p) = level.

    .. math:: p^g + (1-p)^g = \text{level}, \qquad 0 < p \le 1/2

    f_g falls strictly from 1 at p = 0 to 2^{1-g} at p = 1/2, so the root is unique and is
    found by Brent's method to machine precision (never the ln2/g approximation, which
    overstates the root by ~4% at g = 8). By symmetry f_g(p) = f_g(1 - p), so 1 - p*(g) is
    the upper threshold (all-pass groups). For g = 2 and level 1/2 the root is exactly 1/2.

    >>> round(p_star(8), 6)
    0.082996
    >>> p_star(2)
    0.5
    >>> p_star([4, 16, 32]).round(3).tolist()
    [0.159, 0.042, 0.021]
    """
    g_arr = _checks.group_size(g, "g")
    lev = _checks.open_level(level)
    out = np.vectorize(lambda gi: _p_star_scalar(int(gi), lev), otypes=[float])(g_arr)
    return _checks.scalar_or_array(out, g)


def p_star_upper(g, level=DEFAULT_LEVEL):
    """Upper threshold 1 - p*(g): above it most groups are all-pass.

    >>> round(p_star_upper(8), 6)
    0.917004
    """
    out = 1.0 - np.asarray(p_star(g, level))
    return _checks.scalar_or_array(out, g)


def min_group_size(p, level=DEFAULT_LEVEL, max_g: int = 1_000_000):
    r"""Smallest group size g >= 2 with informative_probability(p, g) >= 1 - level.

    Equivalently the smallest g with f_g(p) <= level, i.e. with p*(g) <= min(p, 1-p).
    Because f_g(p) >= (1-q)^g with q = min(p, 1-p), the search starts at
    ceil(ln(level) / ln(1-q)) and walks up.

    >>> min_group_size(0.083)
    8
    >>> min_group_size([0.5, 0.2, 0.9]).tolist()
    [2, 4, 7]
    """
    p_arr = _checks.probability(p, "p")
    lev = _checks.open_level(level)
    q = np.minimum(p_arr, 1.0 - p_arr)
    if np.any(q == 0.0):
        raise UserError(
            "p must be in (0, 1) for min_group_size: at p = 0 or 1 every group is "
            "degenerate whatever g"
        )
    start = np.ceil(np.log(lev) / np.log1p(-q)) - 1
    g = np.maximum(2, start).astype(np.int64)
    for _ in range(64):
        f = p_arr**g + (1.0 - p_arr) ** g
        done = f <= lev
        if np.all(done):
            break
        g = np.where(done, g, g + 1)
    if np.any(g > max_g):
        raise UserError(f"p is so close to 0 or 1 that g would exceed max_g={max_g}")
    return _checks.scalar_or_array(g, p)


def escape_probability(p, g, steps):
    r"""Chance that a prompt yields at least one informative group in ``steps`` draws.

    .. math:: 1 - f_g(p)^{\text{steps}}

    ``steps`` may be fractional: a planned run draws each prompt
    v = rl_steps x batch / n_prompts times on average, and a shuffled-epoch sampler (TRL's
    and verl's) draws every prompt either floor(v) or floor(v) + 1 times, the latter with
    probability v - floor(v). The chance then is exact:

    .. math:: 1 - \big[(1 - r) f_g(p)^{\lfloor v \rfloor} + r f_g(p)^{\lfloor v \rfloor + 1}\big],
              \quad r = v - \lfloor v \rfloor

    (at integer v it is 1 - f^v; by convexity it never exceeds 1 - f^v).

    >>> round(escape_probability(0.01, 8, 10), 6)
    0.552477
    >>> round(escape_probability(0.01, 8, 10.5), 6)
    0.569764
    """
    p_arr = _checks.probability(p, "p")
    g_arr = _checks.group_size(g, "g")
    s_arr = _checks.nonnegative(steps, "steps")
    f = p_arr**g_arr + (1.0 - p_arr) ** g_arr
    lo = np.floor(s_arr)
    r = s_arr - lo
    log_f = np.log(np.maximum(f, 1e-300))
    stranded = (1.0 - r) * np.exp(lo * log_f) + r * np.exp((lo + 1.0) * log_f)
    out = np.where(r == 0.0, -np.expm1(lo * log_f), 1.0 - stranded)
    out = np.where(f == 1.0, 0.0, out)
    return _checks.scalar_or_array(np.asarray(out, dtype=float), p, g, steps)
