"""What became of a GRPO run, in the words a practitioner acts on, judged on held-out
evaluations with their noise. One definition, applied alike to simulated and real runs, and
one classification (``classify``) that the monitor's predicted label shares.

A run's records (one dict per logged step) carry the training reward (and entropy) and, at
evaluation steps, ``heldout_pass_at_1`` and ``heldout_pass_at_k`` (with ``..._se`` where the
evaluation logged its standard error). Judged from a step ``from_step`` (0: the whole run; a
check step: what continuing from there bought), the change d of each metric from its last
evaluation at or before from_step to the run's last evaluation is *resolved* when
|d| > LABEL_Z * sqrt(se_0^2 + se_1^2):

- sharpening: pass@k fell (resolved) while pass@1 did not fall (rose, or within its
  interval) and training did not diverge: coverage traded for the top answer;
- diverging: pass@k fell (resolved), and pass@1 fell too or training diverged (the reward
  fell from its peak by DIVERGE_REWARD_DROP of its range, or the entropy rose by
  DIVERGE_ENTROPY_RISE of its value at from_step); also pass@1 falling with divergence;
- improving: pass@1 or pass@k rose (resolved) and neither fell;
- saturated / stranded: otherwise, the mean reward over the last END_SHARE of the steps is
  within REWARD_EDGE of its maximum / minimum (no gradient left: a fact of training);
- undetermined: otherwise, when the interval of the pass@k change is wider than
  RESOLUTION (the evaluation could not have resolved a change of that size);
- stalled: the rest (a resolving evaluation saw no change; or pass@1 fell alone).

The interval: the standard error of one evaluation of N held-out prompts with m samples each
at pass@k (k = 1 for pass@1) is taken as ``eval_se`` = sqrt(v (1 - v) / (N floor(m / k))):
per prompt the unbiased pass@k estimator is a U-statistic whose variance is at most that of
the mean of floor(m / k) independent Bernoulli(q_i) kernels (Hoeffding, 1963), and across
prompts mean_i q_i (1 - q_i) <= v (1 - v) (Jensen). It is the noise of re-evaluating the same
prompts (the prompts are fixed across a run's evaluations, so the difference of two
evaluations carries sampling noise only), an upper bound that needs only the mean. A logged
``_se`` column takes precedence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LABELS = (
    "improving",
    "sharpening",
    "saturated",
    "stranded",
    "diverging",
    "stalled",
    "undetermined",
)
#: The labels a stop is right for (continuing buys no held-out coverage, or loses it).
STOP_LABELS = ("sharpening", "saturated", "stranded", "diverging", "stalled")
#: The label a stop is wrong for: a false stop is a stop of an improving run.
CONTINUE_LABEL = "improving"
#: What to do, per label (the monitor adds the step to keep where it knows it).
ACTIONS = {
    "improving": "continue",
    "sharpening": "stop and keep the best-coverage checkpoint: pass@1 is bought with pass@k",
    "saturated": "keep this checkpoint and stop: the reward sits near its maximum, most "
    "groups pass whole (harder prompts to go on)",
    "stranded": "restart from another checkpoint or easier prompts (or a larger group size): "
    "the reward sits near its minimum, most groups fail whole",
    "diverging": "lower the learning rate or roll back to the best-coverage checkpoint",
    "stalled": "stop or change the recipe: more steps buy no held-out gain",
    "undetermined": "continue, and evaluate on more held-out prompts or samples: the "
    "evaluation cannot resolve the outcome",
}
#: A change is resolved beyond LABEL_Z standard errors of the difference (about 95%).
LABEL_Z = 2.0
#: Undetermined: the half-width LABEL_Z * se of the pass@k change exceeds this.
RESOLUTION = 0.1
#: Reward within this share of its range from the maximum (minimum): saturated (stranded).
REWARD_EDGE = 0.1
#: The end of a run: its last END_SHARE of steps (after from_step).
END_SHARE = 0.25
#: Diverging training: the reward's END_SHARE-window mean fell this share of its range below
#: its highest window mean after from_step, or the entropy rose by this share of its value.
DIVERGE_REWARD_DROP = 0.1
DIVERGE_ENTROPY_RISE = 0.2


@dataclass(frozen=True)
class EvalSize:
    """A held-out evaluation: N prompts, m samples each, pass@k's k."""

    n_prompts: int
    n_samples: int
    k: int

    def se(self, value: float, k: int | None = None) -> float:
        return eval_se(value, self.n_prompts, self.n_samples, self.k if k is None else k)


def eval_se(value: float, n_prompts: int, n_samples: int, k: int) -> float:
    """sqrt(v (1 - v) / (N floor(m / k))): an upper bound on the standard error of a pass@k
    evaluation of N prompts x m samples on a fixed prompt set (see the module docstring)."""
    if n_prompts < 1 or n_samples < k or k < 1:
        raise ValueError(
            f"need n_prompts >= 1 and n_samples >= k >= 1, got {n_prompts}, {n_samples}, {k}"
        )
    v = min(max(float(value), 0.0), 1.0)
    return math.sqrt(v * (1 - v) / (n_prompts * (n_samples // k)))


def classify(d1: int, dk: int, diverges: bool, edge: str | None, resolved: bool) -> str:
    """The label from the resolved directions of pass@1 (d1) and pass@k (dk) (+1 rose, -1
    fell, 0 within the interval), whether training diverged, the reward's edge ("max",
    "min" or None) and whether the evaluation resolves a change of RESOLUTION."""
    if dk < 0:
        return "sharpening" if d1 > 0 or (d1 == 0 and not diverges) else "diverging"
    if d1 < 0:
        return "diverging" if diverges else "stalled"
    if d1 > 0 or dk > 0:
        return "improving"
    if edge == "max":
        return "saturated"
    if edge == "min":
        return "stranded"
    return "stalled" if resolved else "undetermined"


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


def _end_window(steps: np.ndarray) -> float:
    return steps.max() - END_SHARE * (steps.max() - steps.min())


def reward_edge(end_reward: float | None, reward_range=(0.0, 1.0)) -> str | None:
    """ "max" / "min" when the end reward is within REWARD_EDGE of that edge, else None."""
    if end_reward is None:
        return None
    lo, hi = reward_range
    edge = REWARD_EDGE * (hi - lo)
    return "max" if end_reward >= hi - edge else "min" if end_reward <= lo + edge else None


def training_diverges(records, from_step: int, reward_range=(0.0, 1.0)) -> dict:
    """:func:`diverges` on a run's log records (their ``reward`` and ``entropy``)."""
    return diverges(*_col(records, "reward"), *_col(records, "entropy"), from_step, reward_range)


def diverges(s_r, reward, s_e, entropy, from_step: int, reward_range=(0.0, 1.0)) -> dict:
    """Whether training diverged after ``from_step``: the reward's rolling END_SHARE-window
    mean fell DIVERGE_REWARD_DROP of its range below its peak, or the entropy's end-window
    mean rose DIVERGE_ENTROPY_RISE above its value at from_step (the first logged value where
    the log starts later); with the numbers. Steps and
    values are arrays (None or empty where the log lacks the column)."""
    lo, hi = reward_range
    out = {"reward_drop": None, "entropy_rise": None, "diverges": False}
    s, r = _finite(s_r, reward)
    m = s >= from_step
    if m.sum() >= 2:
        s, r = s[m], r[m]
        width = END_SHARE * (s.max() - s.min())
        means = [r[(s >= t - width) & (s <= t)].mean() for t in s if t - width >= s.min()]
        end = float(r[s >= _end_window(s)].mean())
        out["reward_drop"] = (max(means, default=end) - end) / (hi - lo)
    s, e = _finite(s_e, entropy)
    # the reference: the last value at or before from_step, else the first logged after it
    ref = e[s <= from_step][-1:] if (s <= from_step).any() else e[:1]
    later = s > (from_step if (s <= from_step).any() else s.min() if s.size else 0)
    if ref.size and later.sum() >= 1 and ref[0] > 0:
        end = float(e[later][s[later] >= _end_window(s[later])].mean())
        out["entropy_rise"] = (end - float(ref[0])) / float(ref[0])
    out["diverges"] = bool(
        (out["reward_drop"] or 0.0) > DIVERGE_REWARD_DROP
        or (out["entropy_rise"] or 0.0) > DIVERGE_ENTROPY_RISE
    )
    return out


def collapse(s_r, reward, reward_range=(0.0, 1.0)) -> tuple[int, float] | None:
    """(step, reward) of the last logged step whose reward was above the stranded edge
    (REWARD_EDGE of its range from the minimum), where the reward collapsed from there: it
    started above the edge (the first logged value), or its rolling END_SHARE-window mean fell
    DIVERGE_REWARD_DROP of its range below its peak (:func:`diverges`); None for a reward low
    from the start (stranded, not a collapse)."""
    lo, hi = reward_range
    s, r = _finite(s_r, reward)
    above = np.nonzero(r > lo + REWARD_EDGE * (hi - lo))[0]
    if not above.size:
        return None
    drop = diverges(s, r, None, None, int(s.min()), reward_range)["reward_drop"] or 0.0
    if above[0] != 0 and drop <= DIVERGE_REWARD_DROP:
        return None
    return int(s[above[-1]]), float(r[above[-1]])


def _finite(steps, values) -> tuple[np.ndarray, np.ndarray]:
    if steps is None or values is None:
        return np.array([]), np.array([])
    s, v = np.asarray(steps, float), np.asarray(values, float)
    ok = np.isfinite(v)
    return s[ok], v[ok]


def _change(records, key: str, from_step: int, size: EvalSize | None, k: int):
    """(start, end, change, se of the change) of a held-out metric, None without evaluations
    before and after from_step; se None when neither a _se column nor a size gives it."""
    s, v = _col(records, key)
    before = np.nonzero(s <= from_step)[0]
    if not before.size or s.max() <= max(from_step, 0) or s.max() < 1:
        return None
    i0, i1 = int(before[-1]), int(s.size - 1)
    s_se, v_se = _col(records, f"{key}_se")
    ses = dict(zip(s_se.tolist(), v_se.tolist(), strict=True))
    se = []
    for i in (i0, i1):
        if s[i] in ses:
            se.append(ses[s[i]])
        elif size is not None:
            se.append(size.se(v[i], k))
        else:
            se.append(None)
    d_se = None if None in se else math.hypot(*se)
    return float(v[i0]), float(v[i1]), float(v[i1] - v[i0]), d_se


def _direction(change, z: float) -> int:
    """+1 rose, -1 fell beyond z standard errors of the change, else 0 (also without an se:
    a change whose noise is unknown is never resolved)."""
    if change is None or change[3] is None:
        return 0
    d, se = change[2], change[3]
    return 1 if d > z * se else -1 if d < -z * se else 0


def label_run(
    records: Sequence[dict],
    reward_range: tuple[float, float] = (0.0, 1.0),
    from_step: int = 0,
    evaluation: EvalSize | None = None,
    z: float = LABEL_Z,
) -> dict:
    """The outcome label of one run from ``from_step`` on, its action and the numbers behind
    it. ``evaluation``: the held-out evaluation's size, for the interval where the log has no
    ``_se`` column (without either no change is resolved: undetermined, unless the reward
    sits at an edge)."""
    steps, reward = _col(records, "reward")
    end_reward = None
    after = steps >= from_step
    if after.any():
        s, r = steps[after], reward[after]
        end_reward = float(r[s >= _end_window(s)].mean())
    k = evaluation.k if evaluation is not None else None
    c1 = _change(records, "heldout_pass_at_1", from_step, evaluation, 1)
    ck = _change(records, "heldout_pass_at_k", from_step, evaluation, k or 1)
    div = training_diverges(records, from_step, reward_range)
    if c1 is None and ck is None:
        label = None  # no held-out evaluation before and after: no outcome to label
    else:
        c = ck if ck is not None else c1  # the outcome: pass@k, else pass@1
        width = None if c[3] is None else z * c[3]
        label = classify(
            _direction(c1, z),
            _direction(ck, z),
            div["diverges"],
            reward_edge(end_reward, reward_range),
            width is not None and width <= RESOLUTION,
        )

    def part(c, i):
        return None if c is None else c[i]

    return {
        "label": label,
        "action": None if label is None else ACTIONS[label],
        "from_step": from_step,
        "end_reward": end_reward,
        "start_pass_at_1": part(c1, 0),
        "final_pass_at_1": part(c1, 1),
        "start_pass_at_k": part(ck, 0),
        "final_pass_at_k": part(ck, 1),
        "gain_pass_at_1": part(c1, 2),
        "gain_pass_at_k": part(ck, 2),
        "se_gain_pass_at_1": part(c1, 3),
        "se_gain_pass_at_k": part(ck, 3),
        "reward_drop": div["reward_drop"],
        "entropy_rise": div["entropy_rise"],
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
