"""The mechanical state of a GRPO log, stated as fact before any rule: when (almost) no group
has reward variance, GRPO's advantages are zero and, with beta = 0, so is the policy
gradient: every further step is wasted compute, whatever any rule predicts."""

from __future__ import annotations

import numpy as np

from rankinv.verdicts.stage2 import Trace, compare, window_values

#: No signal: the mean share of zero-std groups over the last NO_SIGNAL_STEPS steps is at
#: least NO_SIGNAL_ZERO_STD (informative-group fraction <= 0.05; at 1.0 the gradient is 0).
NO_SIGNAL_ZERO_STD = 0.95
NO_SIGNAL_STEPS = 10
#: ... and over at least this many logged steps (a log every 10 steps: the last 20 steps).
NO_SIGNAL_MIN_POINTS = 3


def no_signal(trace: Trace, step: int | None = None) -> dict | None:
    """The mechanical state at ``step`` (default: the last logged step): a dict when the mean
    zero-std share over the last NO_SIGNAL_STEPS steps (at least NO_SIGNAL_MIN_POINTS logged
    steps; the log must span NO_SIGNAL_STEPS) is at least NO_SIGNAL_ZERO_STD
    (state "saturated" when the mean reward there is within REWARD_EDGE of its maximum,
    "stranded" within it of its minimum, else "mixed": solved and failing prompts); None
    when signal remains or the log cannot tell (no zero-std column, too few steps)."""
    from rankinv.verdicts.labels import REWARD_EDGE

    if trace.informative is None or not trace.steps.size:
        return None
    step = int(trace.steps.max()) if step is None else step
    ok = np.isfinite(trace.informative) & (trace.steps <= step)
    if ok.sum() < NO_SIGNAL_MIN_POINTS or step - int(trace.steps[ok].min()) < NO_SIGNAL_STEPS:
        return None
    # the last NO_SIGNAL_STEPS steps, and at least the last NO_SIGNAL_MIN_POINTS logged ones
    idx = np.nonzero(ok)[0]
    recent = idx[trace.steps[idx] >= step - NO_SIGNAL_STEPS]
    if recent.size < NO_SIGNAL_MIN_POINTS:
        recent = idx[-NO_SIGNAL_MIN_POINTS:]
    w = trace.informative[recent]
    lo_step = int(trace.steps[recent].min())
    zero_std = 1.0 - float(w.mean())
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
    return {
        "state": state,
        "zero_std": zero_std,
        "comparison": cmp,
        "reward": reward,
        "window": (lo_step, step),
        "points": int(w.size),
    }


def no_signal_words(mech: dict, bound: bool = False, unknown_why: str | None = None) -> str:
    """The no-signal state in words (``bound``: the share is a bound from the mean reward;
    ``unknown_why``: why solved or failed cannot be told)."""
    what = {
        "saturated": "saturated: the reward is at its maximum, the training prompts are solved",
        "stranded": "stranded: the reward is at its minimum, every sample fails",
        "mixed": "mixed: every group is all-pass or all-fail with the reward between the edges "
        "(some prompts solved in every sample, the rest failed in every sample)",
        "unknown": unknown_why or "the log has no reward to say whether solved or failed",
    }[mech["state"]]
    a, b = mech["window"]
    name = "the zero-std group share" if not bound else "the zero-std group share's lower bound"
    how = "" if not bound else " (derived from the mean reward, pass/fail rewards)"
    return (
        f"no signal (a fact of the log{how}, whatever the rule): "
        + mech["comparison"].words(name, "the no-signal level", ".2f", f" over steps {a}-{b}")
        + f", so the policy gradient is (nearly) zero with beta = 0; {what}; stop"
    )


#: The outcome labels the mechanical stop claims, per state.
NO_SIGNAL_CATCHES = {
    "saturated": ("saturated",),
    "stranded": ("stranded",),
    "mixed": ("saturated", "stranded", "stalled"),
    "unknown": ("saturated", "stranded", "stalled"),
}
