"""Rank statistics for predicted-vs-observed comparisons (seed-demeaned Spearman).

Everything is computed on ranks taken once and vectorised over resamples: the permutation
null is one matrix product over all permutations (exact enumeration when there are at most
``EXACT_MAX_PERMUTATIONS`` of them, within seeds when seeds are given), so a call answers in
well under a second at any n.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np

from rankinv.errors import UserError

#: Number of bootstrap resamples for the confidence interval (used only when n > SMALL_N).
DEFAULT_BOOTSTRAP = 2000
#: Number of random permutations when exact enumeration is too large.
DEFAULT_PERMUTATIONS = 5000
#: Enumerate every permutation exactly up to this many rows without seeds (8! = 40320).
EXACT_PERMUTATION_MAX_N = 8
#: Enumerate exactly when the number of (within-seed) permutations is at most this.
EXACT_MAX_PERMUTATIONS = math.factorial(EXACT_PERMUTATION_MAX_N)
#: Up to this many rows the percentile bootstrap undercovers (at n = 5 it returns [1, 1] for
#: any monotone sample); the Fisher-z interval with the Bonett-Wright variance is used instead.
SMALL_N = 15
#: Simulated samples for the power at the observed n.
DEFAULT_POWER_SIMULATIONS = 2000
#: Two-sided level of the permutation test (for the power and the significance calls).
ALPHA = 0.05
#: Two rank correlations closer than this are equal (float noise from the matrix product).
RHO_TOL = 1e-9


@dataclass(frozen=True)
class SpearmanResult:
    """rho with a confidence interval, a two-sided permutation p-value and the test's power.

    ``ci_method``: "bootstrap" (percentile, rows resampled within seeds, n > 15) or
    "fisher-z" (Bonett-Wright variance, n <= 15). ``p_method``: "exact" or "monte carlo".
    ``power``: the chance that the permutation test at level ``ALPHA`` rejects rho = 0 at this
    n when the true Spearman rho is ``power_rho`` (the observed one), by simulation from a
    bivariate normal (within seeds when seeds are given), each simulated p floored at
    ``min_p_value``. ``min_p_value``: the smallest p-value the permutation test can give on
    these rows (ties included); above ALPHA the test cannot be significant and ``power`` is 0.
    """

    rho: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    demeaned: bool
    ci_method: str = "bootstrap"
    p_method: str = "monte carlo"
    power: float | None = None
    power_rho: float | None = None
    min_p_value: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _as_vector(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a sequence of numbers") from None
    if arr.ndim != 1:
        raise UserError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.any(~np.isfinite(arr)):
        raise UserError(f"{name} must be finite (no NaN or inf)")
    return arr


#: Demeaned values are rounded to this many decimals before ranking, so that float noise
#: from the subtraction (1e-17) does not break ties that are exact in the data.
DEMEAN_DECIMALS = 12


def demean(x: np.ndarray, groups) -> np.ndarray:
    """Subtract each group's mean (the paper's seed-demeaning). Works along the last axis."""
    if groups is None:
        return x
    labels = np.asarray(groups)
    out = np.asarray(x, dtype=float).copy()
    for lab in np.unique(labels):
        mask = labels == lab
        out[..., mask] -= out[..., mask].mean(axis=-1, keepdims=True)
    return np.round(out, DEMEAN_DECIMALS)


def _centred_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis, centred, so that rho is a normalised dot product."""
    from scipy import stats  # here, not at import: scipy.stats costs ~0.7 s

    r = stats.rankdata(x, axis=-1)
    return r - r.mean(axis=-1, keepdims=True)


def _rho_rows(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of centred ranks (= Spearman with average ranks)."""
    num = np.sum(rx * ry, axis=-1)
    den = np.sqrt(np.sum(rx * rx, axis=-1) * np.sum(ry * ry, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _group_index(groups, n: int) -> list[np.ndarray]:
    labels = np.asarray(groups) if groups is not None else np.zeros(n)
    return [np.flatnonzero(labels == lab) for lab in np.unique(labels)]


def _permutations(idx_by_group, n: int, rng, n_perm: int) -> tuple[np.ndarray, bool]:
    """Row permutations that move rows only within their group: all of them when few
    enough (exact), else ``n_perm`` random ones. Returns (perms [B, n], exact)."""
    total = math.prod(math.factorial(len(ix)) for ix in idx_by_group)
    if total <= EXACT_MAX_PERMUTATIONS:
        per_group = [
            np.array(list(itertools.permutations(ix)), dtype=np.intp) for ix in idx_by_group
        ]
        perms = np.empty((total, n), dtype=np.intp)
        grids = np.meshgrid(*[np.arange(len(p)) for p in per_group], indexing="ij")
        for ix, p, g in zip(idx_by_group, per_group, grids, strict=True):
            perms[:, ix] = p[g.ravel()]
        return perms, True
    perms = np.empty((n_perm, n), dtype=np.intp)
    for ix in idx_by_group:
        keys = rng.random((n_perm, len(ix)))
        perms[:, ix] = ix[np.argsort(keys, axis=1)]
    return perms, False


def _p_from_null(null_abs: np.ndarray, observed_abs, exact: bool):
    """Two-sided permutation p-value(s) from the sorted null |rho| values."""
    hits = len(null_abs) - np.searchsorted(null_abs, np.asarray(observed_abs) - RHO_TOL)
    if exact:
        return hits / len(null_abs)
    return (hits + 1) / (len(null_abs) + 1)


def _max_rho_below_one(n: int) -> float:
    """Continuity-corrected |rho| for a perfect ranking: halfway between 1 and the largest
    attainable |rho| below 1 (one adjacent swap, 1 - 12 / (n^3 - n))."""
    return 1.0 - 6.0 / (n**3 - n)


def fisher_z_interval(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    r"""Fisher-z interval for Spearman's rho with the Bonett-Wright (2000) variance.

    .. math:: \tanh\Big(\operatorname{atanh} r \pm z_{1-\alpha/2}\sqrt{(1 + r^2/2)/(n - 3)}\Big)

    A perfect ranking (|r| = 1) would give an empty interval at 1; r is then replaced by
    :func:`_max_rho_below_one` (a continuity correction) for the far end, and the near end is
    +-1 (the estimate itself). At n <= 3 the interval is [-1, 1].

    >>> lo, hi = fisher_z_interval(-0.9, 5)
    >>> round(lo, 2), round(hi, 2)
    (-1.0, 0.17)
    """
    if n <= 3:
        return -1.0, 1.0
    r = float(np.clip(rho, -_max_rho_below_one(n), _max_rho_below_one(n)))
    se = math.sqrt((1.0 + r * r / 2.0) / (n - 3))
    from scipy import stats

    z = stats.norm.ppf(0.5 + confidence / 2.0)
    lo, hi = math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)
    # a perfect ranking: the interval reaches the observed rho (the corrected r only sets how
    # far the other end goes), never stopping short of the estimate
    if rho >= 1.0:
        hi = 1.0
    elif rho <= -1.0:
        lo = -1.0
    return lo, hi


def min_detectable_rho(n: int, alpha: float = ALPHA, power: float = 0.8) -> float | None:
    r"""The smallest |Spearman rho| a two-sided test at level ``alpha`` detects with
    probability ``power`` from ``n`` rows, by the Fisher z approximation with the
    Bonett-Wright variance (1 + rho^2 / 2) / (n - 3): the |rho| solving

    .. math:: \operatorname{atanh}(\rho) \sqrt{(n - 3) / (1 + \rho^2 / 2)}
              = z_{1-\alpha/2} + z_{\text{power}}

    None for n <= 3; 1.0 when no |rho| < 1 reaches it. What a reader can use in place of
    post-hoc power (which only restates the p-value).

    >>> round(min_detectable_rho(5), 2), round(min_detectable_rho(30), 2)
    (0.98, 0.52)
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    if n <= 3:
        return None
    target = norm.ppf(1 - alpha / 2) + norm.ppf(power)

    def gap(r):
        return math.atanh(r) * math.sqrt((n - 3) / (1 + r * r / 2)) - target

    hi = 1 - 1e-12
    if gap(hi) < 0:
        return 1.0
    return float(brentq(gap, 1e-12, hi))


def n_to_detect(rho: float, alpha: float = ALPHA, power: float = 0.8) -> int | None:
    """The number of rows at which |``rho``| is detected with probability ``power`` by a
    two-sided test at level ``alpha`` (the same approximation as min_detectable_rho); None
    at rho = 0."""
    from scipy.stats import norm

    r = abs(float(rho))
    if r == 0 or not math.isfinite(r):
        return None
    r = min(r, 1 - 1e-12)
    target = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    n = int(math.ceil(3 + (1 + r * r / 2) * (target / math.atanh(r)) ** 2))
    # never below the smallest n whose exact permutation test can reach alpha at all (its
    # smallest two-sided p is 2 / n!: 5 rows at alpha = 0.05)
    return max(n, min_reachable_n(alpha))


def min_reachable_n(alpha: float = ALPHA) -> int:
    """The smallest number of rows (no ties, no seed groups) at which the exact two-sided
    permutation test of Spearman's rho can give p <= ``alpha``: its smallest p is 2 / n!."""
    n = 2
    while 2.0 / math.factorial(n) > alpha:
        n += 1
    return n


def permutation_power(
    rho: float,
    n: int,
    groups=None,
    *,
    null_abs: np.ndarray | None = None,
    exact: bool | None = None,
    alpha: float = ALPHA,
    n_sim: int = DEFAULT_POWER_SIMULATIONS,
    seed: int = 0,
) -> float:
    """Chance that the two-sided permutation test rejects rho = 0 at level ``alpha`` with n
    rows when the true Spearman rho is ``rho``: rows drawn from a bivariate normal with
    Pearson r = 2 sin(pi rho / 6) (Spearman rho then equals ``rho``), demeaned within
    ``groups``; a perfect |rho| = 1 is continuity-corrected as in :func:`fisher_z_interval`.

    >>> round(permutation_power(0.68, 5), 2) < 0.15  # issue 15: about 6% at n = 5
    True
    """
    rng = np.random.default_rng(seed)
    idx_by_group = _group_index(groups, n)
    if null_abs is None:
        perms, exact = _permutations(idx_by_group, n, rng, DEFAULT_PERMUTATIONS)
        base = _centred_ranks(np.arange(n, dtype=float))
        null_abs = np.sort(np.abs(_rho_rows(base[None, :], base[perms])))
    rho_t = float(np.clip(rho, -_max_rho_below_one(n), _max_rho_below_one(n)))
    r = 2.0 * math.sin(math.pi * rho_t / 6.0)
    z1 = rng.standard_normal((n_sim, n))
    z2 = r * z1 + math.sqrt(max(0.0, 1.0 - r * r)) * rng.standard_normal((n_sim, n))
    sim = np.abs(_rho_rows(_centred_ranks(demean(z1, groups)), _centred_ranks(demean(z2, groups))))
    sim = np.nan_to_num(sim, nan=0.0)
    # no p below what the test can reach on the data's own null (ties make it coarser)
    p = np.maximum(_p_from_null(null_abs, sim, bool(exact)), min_p_value(null_abs, bool(exact)))
    return float(np.mean(p <= alpha + 1e-12))


def min_p_value(null_abs: np.ndarray, exact: bool) -> float:
    """The smallest two-sided p-value a permutation test with this sorted null |rho| can
    give (the p of the largest |rho| in the null)."""
    return float(_p_from_null(null_abs, null_abs[-1], exact))


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

    where :math:`\bar x_s` is the mean of x over rows sharing x's seed s. The p-value is
    two-sided, from permutations of y within seeds (exact enumeration when there are at most
    8! of them, else ``n_permutations`` random ones with the (hits + 1) / (B + 1)
    correction). The interval: for n <= 15, the Fisher-z interval with the Bonett-Wright
    variance (n minus one degree of freedom per extra seed); above, the percentile
    bootstrap over rows (resampled within seeds, demeaned again in each resample). The power
    of the test at this n against the observed rho is included (:func:`permutation_power`).

    >>> r = spearman([0.227, 0.163, 0.156, 0.171, 0.120], [0.806, 0.750, 0.671, 0.608, 0.481])
    >>> round(r.rho, 2), round(r.p_value, 3), r.p_method, r.ci_method
    (0.7, 0.233, 'exact', 'fisher-z')
    """
    xv = _as_vector(x, "x")
    yv = _as_vector(y, "y")
    if len(xv) != len(yv):
        raise UserError(f"x and y must have the same length, got {len(xv)} and {len(yv)}")
    if groups is not None and len(groups) != len(xv):
        raise UserError(f"groups must have one label per row, got {len(groups)} for {len(xv)}")
    n = len(xv)
    if n < 3:
        raise UserError(f"spearman needs at least 3 rows, got {n}")
    if not 0.0 < confidence < 1.0:
        raise UserError(f"confidence must be in (0, 1), got {confidence!r}")
    xd, yd = demean(xv, groups), demean(yv, groups)
    rx, ry = _centred_ranks(xd), _centred_ranks(yd)
    rho = float(_rho_rows(rx, ry))
    if math.isnan(rho):
        raise UserError("spearman is undefined: x or y is constant (after seed-demeaning)")
    rng = np.random.default_rng(seed)
    idx_by_group = _group_index(groups, n)

    perms, exact = _permutations(idx_by_group, n, rng, n_permutations)
    null_abs = np.sort(np.abs(_rho_rows(rx[None, :], ry[perms])))
    p_value = float(_p_from_null(null_abs, abs(rho), exact))

    if n <= SMALL_N:
        n_eff = n - (len(idx_by_group) - 1)
        lo, hi = fisher_z_interval(rho, n_eff, confidence)
        ci_method = "fisher-z"
    else:
        idx = np.concatenate(
            [ix[rng.integers(0, len(ix), size=(n_bootstrap, len(ix)))] for ix in idx_by_group],
            axis=1,
        )
        labels = None
        if groups is not None:
            labels = np.concatenate([np.full(len(ix), k) for k, ix in enumerate(idx_by_group)])
        boots = _rho_rows(
            _centred_ranks(demean(xv[idx], labels)), _centred_ranks(demean(yv[idx], labels))
        )
        boots = boots[np.isfinite(boots)]
        alpha = 1.0 - confidence
        if len(boots):
            lo, hi = (float(v) for v in np.quantile(boots, [alpha / 2, 1 - alpha / 2]))
        else:
            lo, hi = float("nan"), float("nan")
        ci_method = "bootstrap"
    power = permutation_power(rho, n, groups, null_abs=null_abs, exact=exact, seed=seed + 1)
    return SpearmanResult(
        rho,
        float(lo),
        float(hi),
        p_value,
        n,
        groups is not None,
        ci_method,
        "exact" if exact else "monte carlo",
        power,
        rho,
        min_p_value(null_abs, exact),
    )


def holm(pvalues: dict[str, float | None]) -> dict[str, float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None): the k-th
    smallest of m is multiplied by m - k + 1, then made monotone and capped at 1."""
    named = sorted(((p, k) for k, p in pvalues.items() if p is not None), key=lambda t: t[0])
    m = len(named)
    out: dict[str, float | None] = {k: None for k, p in pvalues.items() if p is None}
    running = 0.0
    for i, (p, k) in enumerate(named):
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return out
