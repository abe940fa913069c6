"""What became of a GRPO run, in the words a practitioner means: gained, saturated, stranded
or stalled. One definition, applied alike to simulated runs and to real trainer runs.

A run's records (one dict per logged step, as the simulator and the TRL corpus write them)
carry the training reward and, at evaluation steps, ``heldout_pass_at_1`` and
``heldout_pass_at_k``. Judged from a step ``from_step`` (0: the whole run; a check step: what
continuing from there bought), over the steps after it:

- gained: the held-out pass@1 or pass@k rose by at least GAIN from its value at from_step
  to the run's last evaluation (continuing bought something);
- saturated: otherwise, the mean training reward over the last END_SHARE of those steps is
  within REWARD_EDGE of its maximum: the training prompts are solved, nothing more came;
- stranded: otherwise, it is within REWARD_EDGE of its minimum: every sample fails;
- stalled: the rest: signal present, no held-out gain.

A "stop" is right for the labels in NOT_GAINED: continuing such a run bought no held-out gain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rankinv.theory import outcomes

LABELS = ("gained", "saturated", "stranded", "stalled")
#: The labels a "stop" is right for: continuing such a run buys no held-out gain.
NOT_GAINED = ("saturated", "stranded", "stalled")
#: Held-out gain (absolute, pass@1 or pass@k) that makes a run "gained": the project's one
#: definition of a run RL bought nothing for (rankinv.theory.outcomes.DOOMED_GAIN).
GAIN = outcomes.DOOMED_GAIN
#: Reward within this share of its range from the maximum (minimum): saturated (stranded).
REWARD_EDGE = 0.1
#: The end of a run: its last END_SHARE of steps.
END_SHARE = 0.25


def _col(records: Sequence[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = []
    for r in records:
        v, s = r.get(key), r.get("step")
        if v is None or s is None:
            continue
        v = float(v)
        if math.isfinite(v):
            pairs.append((float(s), v))
    if not pairs:
        return np.array([]), np.array([])
    a = np.array(sorted(pairs))
    return a[:, 0], a[:, 1]


def label_run(
    records: Sequence[dict],
    reward_range: tuple[float, float] = (0.0, 1.0),
    gain: float = GAIN,
    from_step: int = 0,
) -> dict:
    """The outcome label of one run from ``from_step`` on, and the numbers behind it."""
    lo, hi = reward_range
    steps, reward = _col(records, "reward")
    end_reward = None
    after = steps >= from_step
    if after.any():
        s, r = steps[after], reward[after]
        cut = s.max() - END_SHARE * (s.max() - s.min())
        end_reward = float(r[s >= cut].mean())
    gains, ends = {}, {}
    for key in ("heldout_pass_at_1", "heldout_pass_at_k"):
        s, v = _col(records, key)
        before = np.nonzero(s <= from_step)[0]
        if before.size and s.max() > max(from_step, 0) and s.max() >= 1:
            start = float(v[before[-1]])
            gains[key] = float(v[-1]) - start
            ends[key] = (start, float(v[-1]))
    edge = REWARD_EDGE * (hi - lo)
    if any(g >= gain for g in gains.values()):
        label = "gained"
    elif not gains:
        label = None  # no held-out evaluation before and after: no outcome to label
    elif end_reward is not None and end_reward >= hi - edge:
        label = "saturated"
    elif end_reward is not None and end_reward <= lo + edge:
        label = "stranded"
    else:
        label = "stalled"
    p1 = ends.get("heldout_pass_at_1", (None, None))
    pk = ends.get("heldout_pass_at_k", (None, None))
    return {
        "label": label,
        "from_step": from_step,
        "end_reward": end_reward,
        "start_pass_at_1": p1[0],
        "final_pass_at_1": p1[1],
        "start_pass_at_k": pk[0],
        "final_pass_at_k": pk[1],
        "gain_pass_at_1": gains.get("heldout_pass_at_1"),
        "gain_pass_at_k": gains.get("heldout_pass_at_k"),
    }


def with_outcome(trace: Sequence[dict], outcome: dict | None) -> list[dict]:
    """A simulated run's trace, with its recorded start and final held-out values added as
    evaluations at step 0 and the last step when the trace itself has none."""
    recs = list(trace)
    if not outcome or any("heldout_pass_at_1" in r or "heldout_pass_at_k" in r for r in recs):
        return recs
    last = max(int(r["step"]) for r in recs)
    start = {"step": 0}
    end = {"step": last}
    for key, metric in (("heldout_pass_at_k", "pass_at_k"), ("heldout_pass_at_1", "pass_at_1")):
        if (
            outcome.get(f"start_{metric}") is not None
            and outcome.get(f"final_{metric}") is not None
        ):
            start[key] = outcome[f"start_{metric}"]
            end[key] = outcome[f"final_{metric}"]
    return recs + [start, end]
