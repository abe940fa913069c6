"""The coverage rule: stop when held-out pass@k has fallen from an earlier evaluation by more
than its noise, and keep the checkpoint of the best evaluation.

A run that raises pass@1 while pass@k falls has failed, and no reward- or group-based rule
sees it; only held-out pass@k measured during training does. The log holds evaluations
x_1..x_T (``eval/pass_at_<k>``) with standard errors s_1..s_T (``eval/pass_at_<k>_se``) at
T looks. At look t the rule computes, for every earlier look j,

    z_jt = (x_j - x_t) / sqrt(s_j^2 + s_t^2)

and stops when max_j z_jt > z*, with z* = Phi^-1(1 - alpha / M) and M = L(L - 1)/2 the pairs
of the L planned looks (planned steps / evaluation interval, at least the looks made).

The test is Bonferroni over all pairs of the planned looks: under the null that the run's
true held-out pass@k never falls (mu_j <= mu_t for j < t), each z_jt exceeds z* with
probability at most alpha / M (normal errors), so the chance of any stop over the whole
run is at most alpha, however the looks depend on each other. Evaluations on the same
held-out prompts are positively correlated, which makes the true variance of x_j - x_t
smaller than s_j^2 + s_t^2: the test is conservative there. ``scripts/coverage_rule_score.py``
measures its false-stop rate on simulated runs that never lose coverage and scores it
against "never stop" and "stop at the first drop".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from rankinv.verdicts import logs

#: The false-stop rate held over all the looks of a run.
COVERAGE_ALPHA = 0.05
TEST_NAME = "Bonferroni over all pairs of the planned looks"


@dataclass(frozen=True)
class Coverage:
    """The coverage rule's result on a log's held-out evaluations."""

    k: int
    key: str
    steps: list[int]
    values: list[float]
    ses: list[float] | None  # None: the log has no _se column, the test cannot run
    best_step: int  # the evaluation to keep: the highest pass@k (the first of ties)
    best_value: float
    planned_looks: int
    alpha: float
    z_crit: float | None
    fell: bool  # the test fired at some look
    fell_at: int | None  # the step of the first look at which it fired
    keep_step: int  # the best step up to where it fired (else best_step)
    z_max: float | None  # the largest z_jt at the last look (None without SEs)
    pass_at_1: list[float | None] | None = None
    pass_at_1_se: list[float | None] | None = None

    def to_json(self) -> dict:
        """The fields; without SEs the test did not run, so ``fell`` is null (not tested),
        not false, and a k the log does not state (0) is null."""
        out = asdict(self)
        out["tested"] = self.ses is not None
        if self.ses is None:
            out["fell"] = None
        if not self.k:
            out["k"] = None
        return out


#: Held-out columns without the evaluation callback's names (k not stated, no SE).
HELDOUT_K, HELDOUT_1 = "heldout_pass_at_k", "heldout_pass_at_1"


def critical_z(planned_looks: int, alpha: float = COVERAGE_ALPHA) -> float:
    """z* = Phi^-1(1 - alpha / M), M = L(L-1)/2 pairs of L planned looks (at least 1)."""
    pairs = max(1, planned_looks * (planned_looks - 1) // 2)
    # the standard library's inverse normal (no scipy import on validate's path), from the
    # lower tail so that a small alpha / M keeps its digits
    return -NormalDist().inv_cdf(alpha / pairs)


def first_fall(x: np.ndarray, se: np.ndarray, z_crit: float) -> tuple[int | None, np.ndarray]:
    """(index of the first look at which max_j z_jt > z_crit or None, max_j z_jt per look)."""
    zmax = np.full(x.size, -np.inf)
    fired = None
    for t in range(1, x.size):
        d = x[:t] - x[t]
        s = np.sqrt(se[:t] ** 2 + se[t] ** 2)
        z = np.where(s > 0, d / np.where(s > 0, s, 1.0), np.where(d > 0, np.inf, -np.inf))
        zmax[t] = float(z.max())
        if fired is None and zmax[t] > z_crit:
            fired = t
    return fired, zmax


def eval_keys(records: list[dict]) -> dict[int, tuple[str, str | None]]:
    """{k: (pass@k key, its _se key or None)} for the eval/pass_at_<k> columns logged."""
    present = {k for r in records for k, v in r.items() if logs._finite(v) is not None}
    out: dict[int, tuple[str, str | None]] = {}
    for key in present:
        m = logs.EVAL_KEY.match(key)
        if m and not m.group(2):
            se = f"{key}_se"
            out[int(m.group(1))] = (key, se if se in present else None)
    return out


def coverage(
    records: list[dict], planned_steps: int, alpha: float = COVERAGE_ALPHA
) -> Coverage | None:
    """The coverage rule on the log's largest k > 1 with evaluations; None when the log has
    no eval/pass_at_<k> column with k > 1."""
    keys = eval_keys(records)
    ks = [k for k in keys if k > 1]
    if not ks and not any(logs._finite(r.get(HELDOUT_K)) is not None for r in records):
        return None
    # eval/pass_at_<k> (the evaluation callback), else the corpus logs' heldout_pass_at_k
    # (k not logged: k = 0 here) with heldout_pass_at_1, neither with an SE
    k = max(ks) if ks else 0
    key, se_key = keys[k] if ks else (HELDOUT_K, None)
    rows = [r for r in records if logs._finite(r.get(key)) is not None]
    steps = np.array([int(r["step"]) for r in rows])
    x = np.array([float(r[key]) for r in rows])
    se = None
    if se_key is not None and all(logs._finite(r.get(se_key)) is not None for r in rows):
        se = np.array([float(r[se_key]) for r in rows])
    gap = int(np.median(np.diff(steps))) if steps.size > 1 else max(1, planned_steps)
    planned = planned_steps // max(1, gap) + (1 if steps.size and steps[0] == 0 else 0)
    looks = max(int(x.size), planned)
    best = int(np.argmax(x))
    p1 = keys.get(1) if ks else (HELDOUT_1, None)
    col1 = None if p1 is None else [logs._finite(r.get(p1[0])) for r in rows]
    se1 = None if p1 is None or p1[1] is None else [logs._finite(r.get(p1[1])) for r in rows]
    if se is None:
        return Coverage(
            k, key, steps.tolist(), x.tolist(), None, int(steps[best]), float(x[best]),
            looks, alpha, None, False, None, int(steps[best]), None, col1, se1,
        )  # fmt: skip
    z_crit = critical_z(looks, alpha)
    fired, zmax = first_fall(x, se, z_crit)
    keep = int(np.argmax(x[: fired + 1])) if fired is not None else best
    last_z = float(zmax[-1]) if x.size > 1 and math.isfinite(zmax[-1]) else None
    return Coverage(
        k, key, steps.tolist(), x.tolist(), se.tolist(), int(steps[best]), float(x[best]),
        looks, alpha, z_crit, fired is not None,
        None if fired is None else int(steps[fired]), int(steps[keep]), last_z, col1, se1,
    )  # fmt: skip


def sharpening(cov: Coverage) -> bool | None:
    """Whether pass@1 rose while pass@k fell, each beyond its noise (z > 2 from the first
    evaluation to the last for pass@1; the coverage test fired for pass@k); None when the
    log lacks pass@1 or its standard errors."""
    if cov.pass_at_1 is None or cov.pass_at_1_se is None or cov.ses is None:
        return None
    p, s = cov.pass_at_1, cov.pass_at_1_se
    if None in (p[0], p[-1], s[0], s[-1]):
        return None
    rise = (p[-1] - p[0]) / max(math.hypot(s[0], s[-1]), 1e-12)
    return bool(cov.fell and rise > 2.0)
