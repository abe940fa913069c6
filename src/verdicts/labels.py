"""What became of a GRPO run, in the words a practitioner means: gained, saturated, stranded
or stalled. One definition, applied alike to simulated runs and to real trainer runs.

A run's records (one dict per logged step, as the simulator and the TRL corpus write them)
carry the training reward and, at evaluation steps, ``heldout_pass_at_1`` and
``heldout_pass_at_k``. Over the last END_SHARE of the run's steps:

- saturated: the mean training reward is within REWARD_EDGE of its maximum: the training
  prompts are solved, further steps have (almost) no reward variance to learn from;
- gained: otherwise, the held-out pass@1 or pass@k rose by at least GAIN over the run's own
  step 0 (RL bought something);
- stranded: otherwise, the mean training reward is within REWARD_EDGE of its minimum: the
  prompts fail in every sample, no signal;
- stalled: the rest: signal present, no held-out gain.

The order matters: a run that solved its training prompts is saturated even when it gained
on the way (continuing it now buys nothing more); gained comes before stranded and stalled.
A rule that claims to catch runs not worth continuing is scored on NOT_GAINED.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LABELS = ("gained", "saturated", "stranded", "stalled")
#: The labels a "stop" is right for: continuing such a run buys no held-out gain.
NOT_GAINED = ("saturated", "stranded", "stalled")
#: Held-out gain (absolute, pass@1 or pass@k) that makes a run "gained".
GAIN = 0.05
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
    records: Sequence[dict], reward_range: tuple[float, float] = (0.0, 1.0), gain: float = GAIN
) -> dict:
    """The outcome label of one run and the numbers behind it."""
    lo, hi = reward_range
    steps, reward = _col(records, "reward")
    end_reward = None
    if steps.size:
        last = steps.max()
        cut = last - END_SHARE * (last - steps.min())
        end_reward = float(reward[steps >= cut].mean())
    gains = {}
    ends = {}
    for key in ("heldout_pass_at_1", "heldout_pass_at_k"):
        s, v = _col(records, key)
        if s.size and s.min() < 1 and s.max() >= 1:
            gains[key] = float(v[-1] - v[0])
            ends[key] = (float(v[0]), float(v[-1]))
    edge = REWARD_EDGE * (hi - lo)
    gained = any(g >= gain for g in gains.values())
    if end_reward is not None and end_reward >= hi - edge:
        label = "saturated"
    elif gained:
        label = "gained"
    elif end_reward is not None and end_reward <= lo + edge:
        label = "stranded"
    elif gains:
        label = "stalled"
    else:
        label = None  # no held-out evaluation before and after RL: no outcome to label
    p1 = ends.get("heldout_pass_at_1", (None, None))
    pk = ends.get("heldout_pass_at_k", (None, None))
    return {
        "label": label,
        "end_reward": end_reward,
        "start_pass_at_1": p1[0],
        "final_pass_at_1": p1[1],
        "start_pass_at_k": pk[0],
        "final_pass_at_k": pk[1],
        "gain_pass_at_1": gains.get("heldout_pass_at_1"),
        "gain_pass_at_k": gains.get("heldout_pass_at_k"),
    }
