"""The mechanical state of a GRPO log, stated as fact before any rule: when (almost) no group
has reward variance, GRPO's advantages are zero and, with beta = 0, so is the policy
gradient: every further step is wasted compute, whatever any rule predicts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rankinv.verdicts.labels import REWARD_EDGE
from rankinv.verdicts.stage2 import (
    Comparison,
    Trace,
    compare,
    latest_values,
    mask_span,
    steps_per_value,
    window_values,
)

#: No signal: the mean share of zero-std groups over the last NO_SIGNAL_STEPS steps is at
#: least NO_SIGNAL_ZERO_STD (informative-group fraction <= 0.05; at 1.0 the gradient is 0).
NO_SIGNAL_ZERO_STD = 0.95
NO_SIGNAL_STEPS = 10
#: ... and over at least this many logged steps (a log every 10 steps: the last 20 steps).
NO_SIGNAL_MIN_POINTS = 3


@dataclass(frozen=True)
class NoSignal:
    """No reward variance left: ``state`` is "saturated", "stranded", "mixed" or "unknown";
    the zero-std share over ``window`` (``points`` logged steps) set against
    NO_SIGNAL_ZERO_STD (``comparison``), the mean reward there (None: not logged) and the
    reward's range (its edges decide saturated / stranded)."""

    state: str
    zero_std: float
    comparison: Comparison
    reward: float | None
    window: tuple[int, int]
    points: int
    reward_range: tuple[float, float] = (0.0, 1.0)
    per_point: int = 1  # steps each logged value stands for (its mean, on an averaged log)

    @property
    def at_edge(self) -> bool:
        """Whether the mean reward is exactly at the edge its state names (every sample
        fails / passes), not merely within REWARD_EDGE of it."""
        lo, hi = self.reward_range
        return self.reward is not None and (
            (self.state == "stranded" and self.reward <= lo)
            or (self.state == "saturated" and self.reward >= hi)
        )

    def to_json(self) -> dict:
        return {
            "state": self.state,
            "zero_std": self.zero_std,
            "reward": self.reward,
            "window": self.window,
            "points": self.points,
        }


def zero_std_share(trace: Trace, step: int | None = None):
    """(mean zero-std share, (first, last) step covered, values, steps per value) over the
    last NO_SIGNAL_STEPS steps to ``step`` (default: the last logged step), at least
    NO_SIGNAL_MIN_POINTS steps' worth of values; None where the log cannot tell (no
    zero-std column, too few steps, a log not spanning NO_SIGNAL_STEPS)."""
    if trace.informative is None or not trace.steps.size:
        return None
    step = int(trace.steps.max()) if step is None else step
    ok = np.isfinite(trace.informative) & (trace.steps <= step)
    per = steps_per_value(trace)
    if ok.sum() * per < NO_SIGNAL_MIN_POINTS:
        return None
    if step - int(trace.covers()[ok].min()) + 1 <= NO_SIGNAL_STEPS:
        return None
    recent = latest_values(
        trace, trace.informative, step, step - NO_SIGNAL_STEPS + 1, NO_SIGNAL_MIN_POINTS
    )
    share = 1.0 - float(trace.informative[recent].mean())
    return share, (mask_span(trace, recent)[0], step), int(recent.sum()), per


def no_signal(trace: Trace, step: int | None = None) -> NoSignal | None:
    """The mechanical state at ``step`` (default: the last logged step): a dict when the mean
    zero-std share over the last NO_SIGNAL_STEPS steps (at least NO_SIGNAL_MIN_POINTS logged
    steps; the log must span NO_SIGNAL_STEPS) is at least NO_SIGNAL_ZERO_STD
    (state "saturated" when the mean reward there is within REWARD_EDGE of its maximum,
    "stranded" within it of its minimum, else "mixed": solved and failing prompts); None
    when signal remains or the log cannot tell (no zero-std column, too few steps)."""
    got = zero_std_share(trace, step)
    if got is None:
        return None
    zero_std, (lo_step, step), points, per = got
    cmp = compare(zero_std, NO_SIGNAL_ZERO_STD)
    if cmp.side == "below":
        return None
    r = window_values(trace, trace.reward, lo_step, step)
    lo, hi = trace.reward_range
    edge = REWARD_EDGE * (hi - lo)
    reward = None if r is None else float(r.mean())
    if reward is None:
        state = "unknown"
    elif compare(reward, hi - edge).side != "below":
        state = "saturated"
    elif compare(reward, lo + edge).side != "above":
        state = "stranded"
    else:
        state = "mixed"
    rng = (float(lo), float(hi))
    return NoSignal(state, zero_std, cmp, reward, (lo_step, step), points, rng, per)


#: The outcome labels the mechanical stop claims, per state.
NO_SIGNAL_CATCHES = {
    "saturated": ("saturated",),
    "stranded": ("stranded",),
    "mixed": ("saturated", "stranded", "stalled"),
    "unknown": ("saturated", "stranded", "stalled"),
}
