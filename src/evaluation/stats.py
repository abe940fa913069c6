"""The statistics of held-out scoring: ROC AUC, thresholds chosen on one half, the ROC
curve, and the split of settings into a choose half and a report half."""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.stats import rankdata

from rankinv.theory.ranks import holm  # noqa: F401  (stage1 calls stats.holm; compare too)


def roc_auc(score: np.ndarray, label: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative), ties counted half (Mann-Whitney)."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(score)
    return float((r[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _cuts(score: np.ndarray) -> np.ndarray:
    """Thresholds between the observed scores, ascending: below the lowest (stops all), then
    each midpoint (the highest stops only the top score)."""
    cands = np.unique(score)
    return np.concatenate([[cands[0] - 1e-9], (cands[:-1] + cands[1:]) / 2])


def _best_threshold(score, label, objective) -> float | None:
    """The midpoint threshold t between observed scores maximising objective(pred, label)
    for the decision "score > t"; None when the labels are all one class."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    mids = _cuts(score)
    values = [objective(score > t, label) for t in mids]
    return float(mids[int(np.argmax(values))])


def _youden(pred: np.ndarray, label: np.ndarray) -> float:
    return float(pred[label].mean() - pred[~label].mean())


#: A stop may end at most this share of the choose half's runs that would have gone on to
#: gain (the false-positive rate the stop threshold is held to; prevalence-free, so it
#: transfers between populations where the share of doomed runs differs).
MAX_STOP_FPR = 0.10


def stop_threshold(score: np.ndarray, label: np.ndarray, max_fpr: float = MAX_STOP_FPR):
    """The lowest threshold t whose decision "score > t" stops at most ``max_fpr`` of the
    negatives (most positives stopped under that bound: Neyman-Pearson); above every score
    (stops nothing) when no threshold meets the bound. None when the labels are one class.
    Unlike F1, it cannot choose "stop every run" when most runs are positive."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    cuts = np.append(_cuts(score), score.max())  # the last stops nothing: always allowed
    # ascending: the first that meets the bound stops the most positives
    return float(next(t for t in cuts if (score[~label] > t).mean() <= max_fpr + 1e-12))


def youden_threshold(score: np.ndarray, label: np.ndarray) -> float | None:
    """The threshold t maximising TPR - FPR for the decision score > t."""
    return _best_threshold(score, label, _youden)


def roc_curve(score: np.ndarray, label: np.ndarray, max_points: int = 101) -> dict | None:
    """False- and true-positive rates of "score > t" over every threshold (for figures)."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    uniq = np.unique(score)[::-1]
    if uniq.size > max_points:  # thresholds at quantiles keep the curve's shape, not its size
        uniq = np.unique(np.quantile(score, np.linspace(1, 0, max_points)))[::-1]
    ts = np.concatenate([[np.inf], uniq, [-np.inf]])
    fpr = [float((score[~label] >= t).mean()) if np.isfinite(t) else float(t < 0) for t in ts]
    tpr = [float((score[label] >= t).mean()) if np.isfinite(t) else float(t < 0) for t in ts]
    return {"fpr": [round(x, 4) for x in fpr], "tpr": [round(x, 4) for x in tpr]}


def split_settings(ids) -> dict[str, str]:
    """Half the settings to choose on, half to report on: ordered by a hash of their id
    (so the split does not follow any axis), then alternated (so the halves are equal)."""

    def h(i: str) -> str:
        return hashlib.sha256(i.encode()).hexdigest()

    order = sorted(set(ids), key=h)
    return {i: ("choose", "report")[j % 2] for j, i in enumerate(order)}


def precision_at(tpr: float, fpr: float, prevalence: float) -> float | None:
    """Precision of "stop" at a given share of positive runs: TPR pi / (TPR pi + FPR (1-pi))."""
    den = tpr * prevalence + fpr * (1 - prevalence)
    return None if den == 0 else tpr * prevalence / den


#: Bootstrap replicates of the setting-clustered interval.
N_BOOTSTRAP = 2000


def paired_by_setting(diffs: list[tuple[str, float]], seed: int = 0) -> dict | None:
    """A paired comparison of two choosers over ladders that share settings.

    ``diffs``: (setting id, difference) per ladder, e.g. the baseline's regret minus the
    signal's (positive favours the signal). Ladders of one setting are not independent, so
    the unit is the setting: each setting's mean difference. Returned: n_settings,
    n_ladders, mean (of the setting means), a 95% percentile interval from a bootstrap over
    settings, wins / losses / ties (settings), the Wilcoxon signed-rank p with Pratt's
    handling of zero differences (they count in the ranking, not in the sum) and the
    two-sided sign test's p (exact binomial over the non-zero settings). None with fewer
    than 2 settings."""
    from scipy.stats import binomtest, wilcoxon

    by: dict[str, list[float]] = {}
    for sid, d in diffs:
        if d is not None and np.isfinite(d):
            by.setdefault(sid, []).append(float(d))
    if len(by) < 2:
        return None
    d = np.array([np.mean(v) for v in by.values()])
    d = np.where(np.abs(d) < 1e-12, 0.0, d)
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, d.size, (N_BOOTSTRAP, d.size))].mean(axis=1)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    p_wil = None
    if wins + losses > 0:
        p_wil = float(wilcoxon(d, zero_method="pratt").pvalue)
        p_wil = p_wil if np.isfinite(p_wil) else None
    p_sign = float(binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0
    return {
        "n_settings": int(d.size),
        "n_ladders": sum(len(v) for v in by.values()),
        "mean": float(d.mean()),
        "ci": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
        "wins": wins,
        "losses": losses,
        "ties": int(d.size - wins - losses),
        "p_wilcoxon_pratt": p_wil,
        "p_sign": p_sign,
    }


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The exact (Clopper-Pearson) interval of a binomial rate k / n at ``level``: the beta
    quantiles B(a/2; k, n-k+1) and B(1-a/2; k+1, n-k), with 0 and 1 at the ends; None when
    n = 0."""
    from scipy.stats import beta

    if n <= 0:
        return None
    a = 1.0 - level
    lo = 0.0 if k <= 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def rate(k: int, n: int) -> dict:
    """A measured rate with its count and exact 95% interval (JSON: rate, k, n, ci)."""
    return {
        "rate": None if n == 0 else k / n,
        "k": int(k),
        "n": int(n),
        "ci": clopper_pearson(k, n),
    }
