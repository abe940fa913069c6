"""Whether a sweep can tell two runs apart: the gap between a run's doom score and the worst
kept run's, with a standard error from the per-step values each score's window reads
(``rankinv.verdicts.sweep``). At a few runs, a doom score over a handful of noisy steps can
rank a run below another that it does not differ from: the sweep then watches it rather
than stop it relative to the others, as it does where the gap cannot be tested (no SE)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rankinv.verdicts import stage2
from rankinv.verdicts.monitor_report import MonitorResult

#: Rules whose score is a level averaged over the last share of the window (its mean's SE
#: over the values logged there is the score's).
RECENT_RULES = {
    "reward_edge": stage2.RECENT_SHARE,
    "informative": stage2.RECENT_SHARE,
    "all_fail": stage2.RECENT_SHARE,
}
#: Rules whose score is a line's change fitted over the window (the fit's SE is the score's):
#: the share of the window the line starts at, and whether the score is a share of the range.
TREND_RULES = {"reward_slope": (0.0, False), "informative_trend": (0.0, False),
               "reward_trend": (0.5, True)}  # fmt: skip
#: A run whose gap to the worst kept run is within this many SE is not stopped by the sweep.
SEPARATION_SE = 2.0


def score_start(res: MonitorResult) -> int:
    """The first step the doom score of ``res`` reads (its window's start)."""
    rv = res.rule
    if rv.rule_used in RECENT_RULES:
        return stage2.recent_start(rv.ref, rv.check, RECENT_RULES[rv.rule_used])
    if rv.rule_used in TREND_RULES:
        return rv.ref + int((rv.check - rv.ref) * TREND_RULES[rv.rule_used][0])
    return rv.ref


def score_se(res: MonitorResult) -> float | None:
    """The standard error of the doom score of ``res`` from the per-step values its window
    reads: a level's mean (SE of the mean of the values logged there), a line's change (the
    fit's SE); None where the rule reads no such values (a drop between two steps, a
    t-statistic, a gain on a fitted start) or fewer than two values are logged."""
    rv, t = res.rule, res.run.trace
    if res.doom_score is None or rv.judged_col is None:
        return None
    lo, hi = t.reward_range
    scale = 1.0 / (hi - lo) if rv.rule_used == "reward_edge" else 1.0
    if rv.rule_used in RECENT_RULES:
        w = stage2.window_values(t, rv.judged_col, score_start(res), rv.check)
        if w is None or w.size < 2:
            return None
        return float(np.std(w, ddof=1) / math.sqrt(w.size)) * scale
    if rv.rule_used in TREND_RULES:
        fit = stage2.linear_fit(t, rv.judged_col, score_start(res), rv.check)
        if fit is None:
            return None
        return fit[1] / (hi - lo) if TREND_RULES[rv.rule_used][1] else fit[1]
    return None


@dataclass(frozen=True)
class Gap:
    """A run's doom score against the worst run the sweep keeps (index ``to``): ``gap``
    (higher = more doomed), its ``se`` (None: untested, the rule reads no per-step values)
    and ``separated``: whether the gap is beyond ``SEPARATION_SE`` SE (None: untested, the
    evidence cannot separate the runs, so the sweep abstains: watch, not stop)."""

    to: int
    gap: float
    se: float | None
    #: where untested, why in words (None: tested)
    untested: str | None = None

    @property
    def separated(self) -> bool | None:
        return None if self.se is None else bool(self.gap > SEPARATION_SE * self.se)


def gap_to_kept(results: list[MonitorResult], i: int, kept: int) -> Gap:
    """Run ``i``'s gap to the worst kept run ``kept``, with the SE of that gap (the two
    scores' SEs combined; None where either cannot be had)."""
    a, b = results[i], results[kept]
    se_a, se_b = score_se(a), score_se(b)
    se = None if se_a is None or se_b is None else math.hypot(se_a, se_b)
    untested = None
    if se is None:
        rule = a.rule.rule_used
        untested = (
            "a window holds fewer logged values than an SE needs"
            if rule in RECENT_RULES or rule in TREND_RULES
            else f"rule {rule}'s score reads no per-step values to take an SE from"
        )
    return Gap(kept, a.doom_score - b.doom_score, se, untested)
