"""Post-RL outcomes, defined once (used by simulate, experiment, validate.compare and calibrate).

A run's evaluations are pairs (step, value). Step 0 is the checkpoint before any RL update:
it is the *pre-RL* value and never counts as a post-RL outcome.

- final: the value at the last evaluated step (>= 1).
- peak: the maximum over evaluated steps >= 1 (never step 0).
- gain: final minus the run's own step-0 value (when step 0 was evaluated).

A *doomed run* is one whose final post-RL value gains less than DOOMED_GAIN over its own
start (RL bought (almost) nothing). An *inverted ladder* is a ladder of checkpoints whose best
pre-RL rung (by pass@1) is not its best post-RL rung by more than INVERSION_MARGIN.
Thresholds are module constants; ``sensitivity`` in calibrate varies them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rankinv.errors import UserError

#: A run is doomed when final - start < DOOMED_GAIN (absolute, on the outcome's scale).
DOOMED_GAIN = 0.02
#: A ladder is inverted when the best-pre-RL rung trails the best post-RL rung by > this.
INVERSION_MARGIN = 0.01


@dataclass(frozen=True)
class PostRLOutcome:
    """A run's post-RL outcome on one metric (start, final, peak, gain), from post_rl."""

    start: float | None  # value at step 0 (pre-RL), None when not evaluated
    final: float  # value at the last step >= 1
    peak: float  # max over steps >= 1
    gain: float | None  # final - start

    def as_dict(self) -> dict:
        return {"start": self.start, "final": self.final, "peak": self.peak, "gain": self.gain}


def post_rl(steps: Sequence[float], values: Sequence[float]) -> PostRLOutcome:
    """Outcome of one run from its evaluations (step, value); steps >= 1 are post-RL.

    Raises ValueError when no evaluation at a step >= 1 exists (there is no post-RL outcome),
    when the lengths differ, or when a value is not finite.
    """
    if len(steps) != len(values):
        raise UserError(f"steps and values differ in length ({len(steps)} vs {len(values)})")
    start = None
    post: list[tuple[float, float]] = []
    for s, v in zip(steps, values, strict=True):
        v = float(v)
        if not math.isfinite(v):
            raise UserError(f"outcome value at step {s} is not finite: {v}")
        if s < 1:
            start = v
        else:
            post.append((float(s), v))
    if not post:
        raise UserError("no evaluation at a step >= 1: the run has no post-RL outcome")
    post.sort()
    final = post[-1][1]
    peak = max(v for _, v in post)
    return PostRLOutcome(
        start=start, final=final, peak=peak, gain=None if start is None else final - start
    )


def is_doomed(outcome: PostRLOutcome, min_gain: float = DOOMED_GAIN) -> bool:
    """RL bought (almost) nothing: final - start < min_gain. Needs the step-0 value."""
    if outcome.gain is None:
        raise UserError("doomed needs the run's step-0 value (evaluate before the first update)")
    return outcome.gain < min_gain


def ladder_inverted(
    pre: Sequence[float], post: Sequence[float], margin: float = INVERSION_MARGIN
) -> bool:
    """The rung with the best pre-RL value is not the best post-RL rung by more than margin.

    Ties in ``pre`` take the first best rung. Needs at least two rungs.
    """
    if len(pre) != len(post):
        raise UserError(f"pre and post differ in length ({len(pre)} vs {len(post)})")
    if len(pre) < 2:
        raise UserError(f"a ladder needs at least 2 rungs, got {len(pre)}")
    best_pre = max(range(len(pre)), key=lambda i: pre[i])
    return max(post) - post[best_pre] > margin


#: Significance level of an inversion call.
ALPHA = 0.05
#: At or above this p a negative rho is no evidence of any ordering, not a "trend".
TREND_P = 0.1
NO_EVIDENCE = "no evidence of an ordering"


def inversion_call(rho: float | None, p_value: float | None, alpha: float = ALPHA) -> str:
    """The honest word for a pre-RL-vs-post-RL rank correlation: 'inversion' (rho < 0 and
    p <= alpha), 'trend, not significant at this n' (rho < 0, alpha < p < TREND_P), 'no
    evidence of an ordering' (rho < 0, p >= TREND_P) or 'none' (rho >= 0)."""
    if rho is None or p_value is None or rho >= 0:
        return "none"
    if p_value <= alpha:
        return "inversion"
    return "trend, not significant at this n" if p_value < TREND_P else NO_EVIDENCE


def sweep_inversion(result: dict) -> tuple[bool | None, str]:
    """A simulated sweep's inversion as (JSON value, words): None and "n/a (...)" when rho
    is undefined (fewer than 3 checkpoints, or a constant column), never a silent "no";
    otherwise the recorded :func:`inversion_call`, its "inversion" worded "yes (significant)"
    (or yes/no for artifacts that predate it)."""
    r = result["spearman_pre_pass1_vs_post"]
    if r.get("rho") is None:
        n = len(result.get("depths") or [])
        why = "needs at least 3 checkpoints" if n < 3 else r.get("error", "rho undefined")
        return None, f"n/a ({why})"
    inv = result["inversion"]
    call = result.get("inversion_call")
    if call is None:
        return inv, "yes" if inv else "no"
    return inv, "yes (significant)" if call == "inversion" else call
