"""Unbiased estimators from n samples of a prompt with c passes.

This module holds the project's only pass@k implementation; every other layer calls it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from rankinv.errors import UserError
from rankinv.theory import _checks


def _counts(n, c, k, k_name: str = "k"):
    n_arr = _checks.integer(n, "n", 1)
    c_arr = _checks.integer(c, "c", 0)
    k_arr = _checks.integer(k, k_name, 1)
    n_b, c_b, k_b = np.broadcast_arrays(n_arr, c_arr, k_arr)
    if np.any(c_b > n_b):
        i = np.argmax(c_b > n_b)
        raise UserError(f"c must be <= n, got c={c_b.flat[i]} > n={n_b.flat[i]}")
    if np.any(k_b > n_b):
        i = np.argmax(k_b > n_b)
        raise UserError(f"{k_name} must be <= n, got {k_name}={k_b.flat[i]} > n={n_b.flat[i]}")
    return n_b, c_b, k_b


def _binomial_ratio(a: int, n: int, k: int) -> Fraction:
    """C(a, k) / C(n, k) as an exact rational (0 when a < k)."""
    return Fraction(math.comb(a, k), math.comb(n, k))


def pass_at_k(n, c, k):
    r"""Unbiased pass@k estimator of Chen et al. (2021, arXiv 2107.03374).

    .. math:: \widehat{\text{pass@}k} = 1 - \binom{n-c}{k} \Big/ \binom{n}{k}

    the probability that a k-subset drawn without replacement from the n samples holds at
    least one of the c correct ones. Its expectation over Binomial(n, p) draws of c is
    exactly 1 - (1-p)^k. Computed in exact integer arithmetic and rounded once, so the
    result is the correctly rounded float (no overflow, no cancellation). Vectorised over
    n, c and k; requires 0 <= c <= n and 1 <= k <= n.

    >>> pass_at_k(10, 3, 1)
    0.3
    >>> round(pass_at_k(20, 2, 10), 6)
    0.763158
    >>> pass_at_k([5, 5], [0, 5], 2).tolist()
    [0.0, 1.0]
    """
    n_b, c_b, k_b = _counts(n, c, k)
    out = np.empty(n_b.shape, dtype=float)
    for idx in np.ndindex(n_b.shape):
        ni, ci, ki = int(n_b[idx]), int(c_b[idx]), int(k_b[idx])
        out[idx] = float(1 - _binomial_ratio(ni - ci, ni, ki))
    return _checks.scalar_or_array(out, n, c, k)


def degenerate_probability_unbiased(n, c, g):
    r"""Unbiased estimate of a prompt's degenerate-group probability f_g(p) from n samples.

    .. math:: \hat f_g = \frac{\binom{c}{g} + \binom{n-c}{g}}{\binom{n}{g}}

    C(c, g)/C(n, g) is the chance that g of the n samples, drawn without replacement, all
    pass; it is a U-statistic whose expectation is exactly p^g (likewise (1-p)^g for the
    failures). Requires n >= g.

    >>> degenerate_probability_unbiased(8, 4, 8)
    0.0
    >>> round(degenerate_probability_unbiased(16, 1, 8), 6)
    0.5
    """
    n_b, c_b, g_b = _counts(n, c, g, k_name="g")
    if np.any(g_b < 2):
        raise UserError("g must be an integer >= 2")
    out = np.empty(n_b.shape, dtype=float)
    for idx in np.ndindex(n_b.shape):
        ni, ci, gi = int(n_b[idx]), int(c_b[idx]), int(g_b[idx])
        out[idx] = float(_binomial_ratio(ci, ni, gi) + _binomial_ratio(ni - ci, ni, gi))
    return _checks.scalar_or_array(out, n, c, g)


def degenerate_probability_plugin(n, c, g):
    r"""Plug-in estimate :math:`f_g(\hat p) = \hat p^g + (1-\hat p)^g` with :math:`\hat p = c/n`.

    Biased upwards: x -> x^g is convex for g >= 2, so by Jensen
    E[p_hat^g] >= (E[p_hat])^g = p^g, with equality only when p_hat is certain. At small n the
    bias is large: with n = g every sample set of a prompt with 0 < p < 1 that happens to be
    all-fail counts as certain degeneracy, and E[p_hat^g] = p^g + O(p(1-p)/n) terms.
    Kept for comparison; use :func:`degenerate_probability_unbiased`.

    >>> round(degenerate_probability_plugin(16, 1, 8), 6)
    0.596719
    """
    n_b, c_b, g_b = _counts(n, c, g, k_name="g")
    p_hat = c_b / n_b
    out = p_hat**g_b + (1.0 - p_hat) ** g_b
    return _checks.scalar_or_array(np.asarray(out, dtype=float), n, c, g)


def informative_fraction_unbiased(n, c, g):
    """Unbiased estimate of 1 - f_g(p): the share of g-groups that would carry signal.

    >>> round(informative_fraction_unbiased(16, 1, 8), 6)
    0.5
    """
    out = 1.0 - np.asarray(degenerate_probability_unbiased(n, c, g))
    return _checks.scalar_or_array(out, n, c, g)
