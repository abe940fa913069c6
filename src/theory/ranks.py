"""Rank statistics for predicted-vs-observed comparisons (seed-demeaned Spearman)."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: Number of bootstrap resamples for the confidence interval.
DEFAULT_BOOTSTRAP = 2000
#: Number of random permutations when exact enumeration is too large.
DEFAULT_PERMUTATIONS = 5000
#: Enumerate every permutation exactly up to this many rows (8! = 40320).
EXACT_PERMUTATION_MAX_N = 8


@dataclass(frozen=True)
class SpearmanResult:
    """rho with a percentile bootstrap interval and a two-sided permutation p-value."""

    rho: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    demeaned: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _as_vector(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.any(~np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


#: Demeaned values are rounded to this many decimals before ranking, so that float noise
#: from the subtraction (1e-17) does not break ties that are exact in the data.
DEMEAN_DECIMALS = 12


def demean(x: np.ndarray, groups) -> np.ndarray:
    """Subtract each group's mean (the paper's seed-demeaning)."""
    if groups is None:
        return x
    labels = np.asarray(groups)
    out = x.astype(float).copy()
    for lab in np.unique(labels):
        mask = labels == lab
        out[mask] -= out[mask].mean()
    return np.round(out, DEMEAN_DECIMALS)


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def _permutation_p(x, y, groups, rho, rng, n_perm) -> float:
    n = len(x)
    if groups is None and n <= EXACT_PERMUTATION_MAX_N:
        rhos = np.array([_rho(x, y[list(perm)]) for perm in itertools.permutations(range(n))])
        return float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))
    labels = np.asarray(groups) if groups is not None else np.zeros(n)
    idx_by_group = [np.flatnonzero(labels == lab) for lab in np.unique(labels)]
    hits = 0
    for _ in range(n_perm):
        perm = np.arange(n)
        for idx in idx_by_group:  # permute within seeds: keeps the demeaned structure
            perm[idx] = rng.permutation(idx)
        hits += abs(_rho(x, y[perm])) >= abs(rho) - 1e-12
    return (hits + 1) / (n_perm + 1)


def spearman(
    x,
    y,
    groups=None,
    *,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    confidence: float = 0.95,
    seed: int = 0,
) -> SpearmanResult:
    r"""Spearman rank correlation, seed-demeaned when ``groups`` (seed labels) are given.

    .. math:: \rho = \text{corr}(\text{rank}(x - \bar x_{s}),\ \text{rank}(y - \bar y_{s}))

    where :math:`\bar x_s` is the mean of x over rows sharing x's seed s. The interval is the
    percentile bootstrap over rows (resampled within seeds, demeaned again in each
    resample); the p-value is two-sided, from permutations of y within seeds (exact
    enumeration for n <= 8 without groups, else ``n_permutations`` random ones, with the
    (hits + 1) / (B + 1) correction).

    >>> r = spearman([0.227, 0.163, 0.156, 0.171, 0.120], [0.806, 0.750, 0.671, 0.608, 0.481])
    >>> round(r.rho, 2)
    0.7
    """
    xv = _as_vector(x, "x")
    yv = _as_vector(y, "y")
    if len(xv) != len(yv):
        raise ValueError(f"x and y must have the same length, got {len(xv)} and {len(yv)}")
    if groups is not None and len(groups) != len(xv):
        raise ValueError(f"groups must have one label per row, got {len(groups)} for {len(xv)}")
    if len(xv) < 3:
        raise ValueError(f"spearman needs at least 3 rows, got {len(xv)}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    xd, yd = demean(xv, groups), demean(yv, groups)
    rho = _rho(xd, yd)
    if math.isnan(rho):
        raise ValueError("spearman is undefined: x or y is constant (after seed-demeaning)")
    rng = np.random.default_rng(seed)
    labels = np.asarray(groups) if groups is not None else np.zeros(len(xv))
    idx_by_group = [np.flatnonzero(labels == lab) for lab in np.unique(labels)]
    boots = []
    for _ in range(n_bootstrap):
        idx = np.concatenate([rng.choice(ix, size=len(ix), replace=True) for ix in idx_by_group])
        r = _rho(
            demean(xv[idx], labels[idx] if groups is not None else None),
            demean(yv[idx], labels[idx] if groups is not None else None),
        )
        if not math.isnan(r):
            boots.append(r)
    alpha = 1.0 - confidence
    if boots:
        lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    else:
        lo, hi = float("nan"), float("nan")
    p_value = _permutation_p(xd, yd, groups, rho, rng, n_permutations)
    return SpearmanResult(
        float(rho), float(lo), float(hi), float(p_value), len(xv), groups is not None
    )
