"""Stage-2 rules as pure functions of a run's log, and the mechanical no-signal state.

Stage 2 (during RL) works on a run's log: per-step entropy, worst-token entropy, the share of
groups whose rewards are all equal (``frac_reward_zero_std``), the all-fail share and the
mean reward. Each rule gives a *doom score* at a check step (higher = less worth continuing)
and stops when the score exceeds its calibrated threshold (``rankinv.verdicts.rules`` reads
the thresholds from the calibrated defaults, ``rankinv.verdicts._calibrated``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts.trace import (  # noqa: F401 (re-exported: the windows live there)
    Trace,
    latest_values,
    logged_span,
    mask_span,
    span_words,
    steps_per_value,
    steps_words,
    value_at,
    window_mask,
    window_values,
)

#
# Before any learned rule, the mechanical state of the log (``rankinv.verdicts.mechanical``:
# no reward variance left, so no gradient). Then the rules, each a doom score at a check step
# (higher = less worth continuing) on scale-free quantities: relative entropy drops,
# fractions of groups, and reward changes measured against the run's own headroom or noise,
# so one threshold means the same on any task; and the free baselines (what watching the
# reward says), scored beside them with thresholds fixed in advance.

#: Two numbers within this of each other are equal for every threshold comparison below
#: (values are logged and shown to about 3 decimals).
COMPARE_TOL = 5e-4


@dataclass(frozen=True)
class Comparison:
    """A value set against a threshold once, with a tolerance: ``side`` is "above", "at" or
    "below"; the verdict and the words both come from it."""

    value: float
    threshold: float
    tol: float = COMPARE_TOL

    @property
    def side(self) -> str:
        d = self.value - self.threshold
        return "at" if abs(d) <= self.tol else "above" if d > 0 else "below"

    def words(self, name: str, what: str = "the threshold", fmt: str = ".3f", where="") -> str:
        """E.g. "the drop 26% over steps 10-150 is below the stop threshold 50%"."""
        v, t = format_value(self.value, fmt), format_value(self.threshold, fmt)
        if v == t and self.side != "at":  # show the digits that tell them apart
            v, t = format(self.value, ".6g"), format(self.threshold, ".6g")
        return f"{name} {v}{where} is {self.side} {what} {t}"


def format_value(x: float, fmt: str) -> str:
    """format(), without a sign on a value that rounds to zero ("-0.000" -> "0.000")."""
    s = format(x, fmt)
    return format(0.0, fmt.replace("+", "")) if float(s.rstrip("%")) == 0 else s


def compare(value: float, threshold: float, tol: float = COMPARE_TOL) -> Comparison:
    return Comparison(float(value), float(threshold), tol)


def trend_word(change: float | None, tol: float = COMPARE_TOL) -> str:
    """ "rising", "flat" or "falling" for a change over a window (flat within ``tol``)."""
    if change is None:
        return "unknown"
    side = compare(change, 0.0, tol).side
    return {"above": "rising", "at": "flat", "below": "falling"}[side]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    threshold: float  # stop when the doom score exceeds this (before calibration)
    score: Callable[[Trace, int, int], float | None]  # (trace, ref_step, check_step)
    needs: tuple[str, ...]  # the Trace columns it reads
    #: its score means the same on any task's reward and entropy scale
    scale_free: bool = True
    #: what a "stop" claims: the outcome labels (rankinv.verdicts.labels) it should catch
    catches: tuple[str, ...] = ("saturated", "stranded", "stalled")
    #: a free baseline: its threshold is fixed in advance, never chosen by calibration
    baseline: bool = False


def _at(trace: Trace, values, step: int, side: str) -> float | None:
    v = value_at(trace, values, step, side)
    return None if v is None else v[1]


def relative_drop(trace: Trace, values, ref: int, check: int) -> float | None:
    """(H(ref) - H(check)) / H(ref) between the first value at >= ref and the last <= check."""
    a, b = value_at(trace, values, ref, "after"), value_at(trace, values, check, "before")
    if a is None or b is None or a[1] <= 0 or b[0] <= a[0]:
        return None
    return (a[1] - b[1]) / a[1]


#: The recent part of a window that the level rules average: its last quarter.
RECENT_SHARE = 0.25


def recent_start(ref: int, check: int, share: float = RECENT_SHARE) -> int:
    """The first step of the last ``share`` of the window [ref, check] (at least one step)."""
    return check - max(1, int(round(share * (check - ref))))


def _recent(trace: Trace, values, ref: int, check: int, share: float = RECENT_SHARE):
    """Mean over the last ``share`` of the window [ref, check] (at least one logged step);
    None without a logged value there."""
    w = window_values(trace, values, recent_start(ref, check, share), check)
    return None if w is None else float(np.mean(w))


def linear_fit(trace: Trace, values, ref: int, check: int):
    """Least-squares line over [ref, check]: (change over the window, its standard error,
    the fitted value at ref); None with fewer than 3 points."""
    m = window_mask(trace, values, ref, check)
    if m.sum() < 3:
        return None
    x, y = trace.positions()[m], values[m]
    if np.ptp(x) == 0:
        return None
    slope, icept = np.polyfit(x, y, 1)
    resid = y - (slope * x + icept)
    se = math.sqrt(float(resid @ resid) / max(1, x.size - 2) / float(((x - x.mean()) ** 2).sum()))
    return float(slope) * (check - ref), se * (check - ref), float(slope * ref + icept)


def reward_gain(trace: Trace, ref: int, check: int) -> float | None:
    """The reward's linear change over [ref, check] as a share of the headroom it had at ref:
    change / (max reward - fitted reward at ref); 1 = the whole headroom was gained."""
    f = linear_fit(trace, trace.reward, ref, check)
    if f is None:
        return None
    change, _, start = f
    lo, hi = trace.reward_range
    headroom = max(hi - start, 0.05 * (hi - lo))  # at the ceiling: a twentieth of the range
    return change / headroom


def _score_paper(t, ref, check):
    return relative_drop(t, t.entropy, ref, check)


def _score_paper_min(t, ref, check):
    return relative_drop(t, t.min_entropy if t.min_entropy is not None else t.entropy, ref, check)


def _score_informative(t, ref, check):
    v = _recent(t, t.informative, ref, check)
    return None if v is None else 1.0 - v


def _score_informative_trend(t, ref, check):
    f = linear_fit(t, t.informative, ref, check)
    return None if f is None else -f[0]


def _score_all_fail(t, ref, check):
    return _recent(t, t.all_fail, ref, check)


def _score_reward_slope(t, ref, check):
    f = linear_fit(t, t.reward, ref, check)
    return None if f is None else -f[0]


def _score_reward_gain(t, ref, check):
    g = reward_gain(t, ref, check)
    return None if g is None else -g


def _score_reward_z(t, ref, check):
    """Minus the reward's change over its standard error (a t-statistic: noise-scaled)."""
    f = linear_fit(t, t.reward, ref, check)
    if f is None:
        return None
    change, se, _ = f
    lo, hi = t.reward_range
    return -change / max(se, 1e-3 * (hi - lo))


def _score_combined(t, ref, check):
    """Low signal and no progress: (1 - informative fraction) minus the reward's gain as a
    share of its headroom."""
    a = _score_informative(t, ref, check)
    b = reward_gain(t, ref, check)
    return None if a is None or b is None else a - b


#: What a reward that stopped rising predicts: no further gain (stalled), solved or failed
#: prompts (saturated, stranded), or training going wrong (diverging).
REWARD_CATCHES = ("stalled", "saturated", "stranded", "diverging")
#: The reward-edge baseline stops when the recent mean reward is within this share of its
#: range from its minimum or maximum (below 5% or above 95%).
BASELINE_EDGE = 0.05
#: The farthest a reward can sit from the nearer edge of its range (its middle), as a share
#: of the range: the reward-edge score is this minus the reward's distance to an edge.
EDGE_MIDDLE = 0.5
#: The reward-trend baseline stops when the reward rose by less than this share of its range
#: over the last half of the window (it stopped rising).
BASELINE_TREND = 0.01


def reward_position(t: Trace, ref: int, check: int) -> float | None:
    """The mean reward over the last quarter of the window, as a share of its range."""
    v = _recent(t, t.reward, ref, check)
    lo, hi = t.reward_range
    return None if v is None else (v - lo) / (hi - lo)


def edge_distance(position: float) -> float:
    """A reward's distance to the nearer edge of its range, as a share of the range."""
    return min(position, 1.0 - position)


def _score_reward_edge(t, ref, check):
    """EDGE_MIDDLE - the recent reward's distance to the nearer edge of its range (the
    score is EDGE_MIDDLE at an edge, 0 in the middle)."""
    x = reward_position(t, ref, check)
    return None if x is None else EDGE_MIDDLE - edge_distance(x)


def _score_reward_trend(t, ref, check):
    """Minus the reward's linear change over the last half of the window, as a share of its
    range."""
    f = linear_fit(t, t.reward, ref + (check - ref) // 2, check)
    lo, hi = t.reward_range
    return None if f is None else -f[0] / (hi - lo)


#: The free baselines: what watching the reward says, thresholds fixed in advance.
BASELINES = (
    Rule(
        "reward_edge",
        f"the mean reward over the last quarter of the window below {BASELINE_EDGE:.0%} or "
        f"above {1 - BASELINE_EDGE:.0%} of its range (baseline: watching the reward)",
        EDGE_MIDDLE - BASELINE_EDGE,
        _score_reward_edge,
        ("reward",),
        catches=("saturated", "stranded"),
        baseline=True,
    ),
    Rule(
        "reward_trend",
        f"the reward rose by less than {BASELINE_TREND:.0%} of its range over the last half of "
        "the window (baseline: the reward stopped rising)",
        -BASELINE_TREND,
        _score_reward_trend,
        ("reward",),
        catches=REWARD_CATCHES,
        baseline=True,
    ),
)

#: Candidate stage-2 rules and the free baselines. Thresholds of the rules but "paper" are
#: set by calibration (see rankinv.verdicts.rules); "paper" is the paper's rule exactly
#: (relative drop of mean entropy > 0.5); the baselines' are fixed.
STAGE2_RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "paper",
            "relative drop of mean entropy, ref -> check (the paper's rule)",
            paper.DROP_THRESHOLD,
            _score_paper,
            ("entropy",),
            catches=("sharpening", "stalled"),
        ),
        Rule(
            "paper_min",
            "relative drop of worst-token entropy (mean where absent)",
            paper.DROP_THRESHOLD,
            _score_paper_min,
            ("entropy",),
            catches=("sharpening", "stalled"),
        ),
        Rule(
            "informative",
            "1 - informative-group fraction over the last quarter of the window",
            0.5,
            _score_informative,
            ("informative",),
        ),
        Rule(
            "informative_trend",
            "fall of the informative-group fraction over the window",
            0.1,
            _score_informative_trend,
            ("informative",),
        ),
        Rule(
            "all_fail",
            "all-fail group share over the last quarter of the window",
            0.5,
            _score_all_fail,
            ("all_fail",),
            catches=("stranded", "stalled"),
        ),
        Rule(
            "reward_slope",
            "minus the mean reward's linear change over the window, in reward units "
            "(not scale-free: kept to show what does not transfer)",
            0.0,
            _score_reward_slope,
            ("reward",),
            scale_free=False,
            catches=REWARD_CATCHES,
        ),
        Rule(
            "reward_gain",
            "minus the reward's linear change over the window as a share of its headroom "
            "(max reward - reward at ref)",
            0.0,
            _score_reward_gain,
            ("reward",),
            catches=REWARD_CATCHES,
        ),
        Rule(
            "reward_z",
            "minus the reward's linear change over the window in standard errors of the fit",
            0.0,
            _score_reward_z,
            ("reward",),
            catches=REWARD_CATCHES,
        ),
        Rule(
            "combined",
            "(1 - informative fraction) minus the reward's gain as a share of its headroom",
            0.5,
            _score_combined,
            ("informative", "reward"),
        ),
        *BASELINES,
    )
}


def stop_claim(rule: str, trace: Trace, ref: int, check: int) -> str:
    """The outcome label a stop of ``rule`` predicts for this run: saturated (stranded) when
    the rule claims it and the recent reward is within REWARD_EDGE of its maximum (minimum),
    else the rule's first claim that needs no reward edge (stalled if none)."""
    from rankinv.verdicts.labels import REWARD_EDGE

    catches = STAGE2_RULES[rule].catches
    x = reward_position(trace, ref, check) if trace.reward is not None else None
    if x is not None and x >= 1 - REWARD_EDGE and "saturated" in catches:
        return "saturated"
    if x is not None and x <= REWARD_EDGE and "stranded" in catches:
        return "stranded"
    rest = [c for c in catches if c not in ("saturated", "stranded")]
    return rest[0] if rest else "stalled"


def stage2_score(rule: str, trace: Trace, ref_step: int, check_step: int) -> float | None:
    if rule not in STAGE2_RULES:
        raise UserError(f"rule must be one of {sorted(STAGE2_RULES)}, got {rule!r}")
    v = STAGE2_RULES[rule].score(trace, ref_step, check_step)
    return None if v is None or not math.isfinite(v) else float(v)


def first_training_step(trace: Trace) -> int:
    """The log's first step with a training value (entropy, the zero-std share, the reward):
    a record that holds only a held-out evaluation (TRL's step-0 evaluation) is no training
    step; the first logged step where no column has a value."""
    cols = (trace.entropy, trace.min_entropy, trace.informative, trace.all_fail, trace.reward)
    has = np.zeros(trace.steps.size, dtype=bool)
    for c in cols:
        if c is not None:
            has |= np.isfinite(np.asarray(c, float))
    return int(trace.steps[has].min()) if has.any() else int(trace.steps.min())


def steps_done(trace: Trace) -> int:
    """RL steps done by the log's last step: a log whose training records start at step 0
    counts from 0 (the simulator logs steps 0..149 for 150 updates), else steps are 1-based
    (TRL, verl; a step 0 that holds only an evaluation is not a training step)."""
    last = int(trace.steps.max())
    return last + 1 if first_training_step(trace) == 0 else last


#: Reference step as a fraction of the run (the paper: step 10 of 400).
REF_FRACTION = 0.025


def check_window(last_step: int, check_fraction: float) -> tuple[int, int]:
    """(ref, check) steps of a run whose last step is ``last_step``, judged at
    ``check_fraction`` of it: the reference at REF_FRACTION of the run, at least step 1, and
    the check at least one step after it."""
    ref = max(1, int(round(REF_FRACTION * last_step)))
    return ref, max(ref + 1, int(round(check_fraction * last_step)))
