"""Stage-1 signals and stage-2 rules as pure functions, and the defaults calibration chose.

Every candidate here is scored by ``rankinv calibrate`` on held-out simulated settings (and
checked on the real runs we have); the defaults at the bottom of this file are constants
copied from the calibrate run saved under ``figures/data/calibrate/``: nothing is
calibrated at run time. The paper's rules stay available by name ("paper") as the baseline.

Stage 1 (before RL) works on a checkpoint's probe: per-prompt sample counts (n_i, c_i),
token entropies, the GRPO group size g and the planned RL budget. Every signal is oriented so
that its *expected* sign is stated: +1 means "higher predicts a better post-RL outcome".

Stage 2 (during RL) works on a run's log: per-step entropy, worst-token entropy, the share of
groups whose rewards are all equal (``frac_reward_zero_std``), the all-fail share and the
mean reward. Each rule gives a *doom score* at a check step (higher = more likely doomed) and
stops when the score exceeds its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper

# The calibrated defaults: copied from the calibrate run saved at
# figures/data/calibrate/calibrate.json (scripts/update_calibrated.py writes the module;
# tests/test_calibrate.py checks that the two agree). Held-out numbers: measured on the
# report half of the simulated settings.
from rankinv.verdicts._calibrated import (
    DEFAULT_STAGE1_RISK_SIGNAL,
    DEFAULT_STAGE1_SIGNAL,
    DEFAULT_STAGE2_RULE,
    STAGE1_CALIBRATION,
    STAGE2_CALIBRATION,
)

# ---------------------------------------------------------------- stage 1


@dataclass(frozen=True)
class Plan:
    """The planned GRPO run a checkpoint is screened for.

    visits: how many times each training prompt is drawn, rl_steps x batch_prompts /
    n_prompts (each step samples batch_prompts of the n_prompts prompts).
    """

    group_size: int = 8
    rl_steps: int = 150
    batch_prompts: int = 32
    n_prompts: int = 164

    def __post_init__(self):
        theory.p_star(self.group_size)  # validates g
        for name in ("rl_steps", "batch_prompts", "n_prompts"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise UserError(f"{name} must be a positive integer, got {v!r}")

    @property
    def visits(self) -> float:
        return self.rl_steps * min(self.batch_prompts, self.n_prompts) / self.n_prompts


@dataclass(frozen=True)
class Signal:
    name: str
    expected_sign: int  # +1: higher predicts a better post-RL outcome (the paper's view)
    description: str
    #: measured against p*(g) only, so a threshold on it can transfer between tasks
    scale_free: bool = False


STAGE1_SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal("pass_at_1", -1, "pre-RL pass@1 (the paper: the best pre-RL rung ends worst)"),
        Signal("pass_at_k", +1, "pre-RL pass@k: prompts the policy can solve at all"),
        Signal("entropy_rollout", +1, "mean token entropy of the policy's own rollouts"),
        Signal("entropy_prompt", +1, "mean token entropy over the prompt (the paper's stage 1)"),
        Signal("headroom", +1, "pass@1 / p*(g), the probe's former headroom term", True),
        Signal(
            "informative_fraction", +1, "unbiased share of groups of g with mixed rewards", True
        ),
        Signal(
            "share_below_p_star", -1, "share of prompts with p-hat < p*(g) (all-fail zone)", True
        ),
        Signal("share_above_1m_p_star", -1, "share of prompts with p-hat > 1 - p*(g)", True),
        Signal(
            "escape",
            +1,
            "theory: mean over prompts of 1 - f_g(p)^visits, the chance a prompt draws at "
            "least one signal-carrying group within the planned steps x batch",
            True,
        ),
        Signal(
            "reachable_pass_at_k",
            +1,
            "theory: pass@k over the prompts that escape (mean of escape_i x 1 + "
            "(1 - escape_i) x pass@k_i); stranded prompts keep their pre-RL pass@k",
        ),
    )
}


def escape_per_prompt(p: np.ndarray, g: int, visits: float) -> np.ndarray:
    """Each prompt's chance to draw at least one signal-carrying group in ``visits`` draws
    (expected draws, so possibly fractional): 1 - f_g(p)^visits."""
    return 1.0 - theory.degenerate_probability(p, g) ** visits


def reachable_pass_at_k(escape: np.ndarray, pass_k: np.ndarray) -> float:
    """Mean over prompts of escape_i x 1 + (1 - escape_i) x pass@k_i."""
    return float(np.mean(escape + (1.0 - escape) * pass_k))


def stage1_signals(
    n: Sequence[int] | np.ndarray,
    c: Sequence[int] | np.ndarray,
    plan: Plan,
    k: int = 10,
    entropy_rollout: float | None = None,
    entropy_prompt: float | None = None,
) -> dict[str, float | None]:
    """Every stage-1 signal from per-prompt sample counts and the probe's entropies.

    n, c: samples and passes per prompt (n_i >= g for the unbiased informative fraction;
    pass@k is computed for k <= min n_i, else left None).
    """
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    if n.shape != c.shape or n.ndim != 1 or n.size == 0:
        raise UserError(f"n and c must be equal-length non-empty vectors, got {n.shape}, {c.shape}")
    if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
        raise UserError("need 1 <= n_i and 0 <= c_i <= n_i for every prompt")
    g = plan.group_size
    ps = theory.p_star(g)
    p = c / n
    pass_k = None
    pk = None
    if k <= int(n.min()):
        pk = np.array([theory.pass_at_k(int(a), int(b), k) for a, b in zip(n, c, strict=True)])
        pass_k = float(pk.mean())
    informative = None
    if g <= int(n.min()):
        informative = float(np.mean(theory.informative_fraction_unbiased(n, c, g)))
    esc = escape_per_prompt(p, g, plan.visits)
    reach = None if pk is None else reachable_pass_at_k(esc, pk)
    pass1 = float(p.mean())
    return {
        "pass_at_1": pass1,
        "pass_at_k": pass_k,
        "entropy_rollout": entropy_rollout,
        "entropy_prompt": entropy_prompt,
        "headroom": pass1 / ps,
        "informative_fraction": informative,
        "share_below_p_star": float(np.mean(p < ps)),
        "share_above_1m_p_star": float(np.mean(p > 1 - ps)),
        "escape": float(np.mean(esc)),
        "reachable_pass_at_k": reach,
    }


# ---------------------------------------------------------------- stage 2


@dataclass(frozen=True)
class Trace:
    """A run's log up to now, in step order (None where the log lacks a column)."""

    steps: np.ndarray
    entropy: np.ndarray
    min_entropy: np.ndarray | None = None
    informative: np.ndarray | None = None  # 1 - frac_reward_zero_std
    all_fail: np.ndarray | None = None
    reward: np.ndarray | None = None

    @classmethod
    def from_records(cls, recs: Sequence[dict]) -> Trace:
        """From JSONL-style records (keys: step, entropy, min_entropy, frac_reward_zero_std,
        frac_all_fail or all_fail, reward)."""

        def col(*keys):
            vals = []
            for r in recs:
                v = next((r[k] for k in keys if r.get(k) is not None), None)
                vals.append(np.nan if v is None else float(v))
            arr = np.array(vals, dtype=float)
            return None if np.all(np.isnan(arr)) else arr

        zero = col("frac_reward_zero_std")
        entropy = col("entropy")
        return cls(
            steps=np.array([int(r["step"]) for r in recs]),
            entropy=entropy if entropy is not None else np.full(len(recs), np.nan),
            min_entropy=col("min_entropy"),
            informative=None if zero is None else 1.0 - zero,
            all_fail=col("frac_all_fail", "all_fail"),
            reward=col("reward"),
        )


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    threshold: float  # stop when the doom score exceeds this
    score: Callable[[Trace, int, int], float | None]  # (trace, ref_step, check_step)


def _window(trace: Trace, values: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
    if values is None:
        return None
    m = (trace.steps >= lo) & (trace.steps <= hi) & np.isfinite(values)
    return values[m] if m.any() else None


def _at(trace: Trace, values: np.ndarray | None, step: int, side: str) -> float | None:
    """First logged value at a step >= ``step`` (after) or last at <= ``step`` (before)."""
    if values is None:
        return None
    ok = np.isfinite(values)
    idx = np.nonzero(ok & ((trace.steps >= step) if side == "after" else (trace.steps <= step)))[0]
    if idx.size == 0:
        return None
    return float(values[idx[0] if side == "after" else idx[-1]])


def _relative_drop(trace: Trace, values, ref: int, check: int) -> float | None:
    a, b = _at(trace, values, ref, "after"), _at(trace, values, check, "before")
    if a is None or b is None or a <= 0:
        return None
    return (a - b) / a


def _recent(trace: Trace, values, ref: int, check: int, share: float = 0.25) -> float | None:
    """Mean over the last ``share`` of the window [ref, check] (at least one logged step)."""
    lo = check - max(1, int(round(share * (check - ref))))
    w = _window(trace, values, lo, check)
    return None if w is None else float(np.mean(w))


def _slope(trace: Trace, values, ref: int, check: int) -> float | None:
    if values is None:
        return None
    m = (trace.steps >= ref) & (trace.steps <= check) & np.isfinite(values)
    if m.sum() < 3:
        return None
    x, y = trace.steps[m].astype(float), values[m]
    if np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, y, 1)[0]) * (check - ref)  # change over the window


def _score_paper(t, ref, check):
    return _relative_drop(t, t.entropy, ref, check)


def _score_paper_min(t, ref, check):
    return _relative_drop(t, t.min_entropy if t.min_entropy is not None else t.entropy, ref, check)


def _score_informative(t, ref, check):
    v = _recent(t, t.informative, ref, check)
    return None if v is None else 1.0 - v


def _score_informative_trend(t, ref, check):
    s = _slope(t, t.informative, ref, check)
    return None if s is None else -s


def _score_all_fail(t, ref, check):
    return _recent(t, t.all_fail, ref, check)


def _score_reward_slope(t, ref, check):
    s = _slope(t, t.reward, ref, check)
    return None if s is None else -s


def _score_combined(t, ref, check):
    """Low signal and no progress: (1 - informative) minus the reward gain over the window."""
    a = _score_informative(t, ref, check)
    b = _slope(t, t.reward, ref, check)
    if a is None or b is None:
        return None
    return a - b


#: Candidate stage-2 rules. Thresholds of all but "paper" are set by calibration (see the
#: defaults below); "paper" is the paper's rule exactly: relative drop of mean entropy > 0.5.
STAGE2_RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "paper",
            "relative drop of mean entropy, ref -> check (the paper's rule)",
            paper.DROP_THRESHOLD,
            _score_paper,
        ),
        Rule(
            "paper_min",
            "relative drop of worst-token entropy (mean where absent)",
            paper.DROP_THRESHOLD,
            _score_paper_min,
        ),
        Rule(
            "informative",
            "1 - informative-group fraction over the last quarter of the window",
            0.5,
            _score_informative,
        ),
        Rule(
            "informative_trend",
            "fall of the informative-group fraction over the window",
            0.1,
            _score_informative_trend,
        ),
        Rule(
            "all_fail",
            "all-fail group share over the last quarter of the window",
            0.5,
            _score_all_fail,
        ),
        Rule(
            "reward_slope",
            "minus the mean reward's linear change over the window",
            0.0,
            _score_reward_slope,
        ),
        Rule(
            "combined",
            "(1 - informative fraction) minus the reward's change over the window",
            0.5,
            _score_combined,
        ),
    )
}


def stage2_score(rule: str, trace: Trace, ref_step: int, check_step: int) -> float | None:
    if rule not in STAGE2_RULES:
        raise UserError(f"rule must be one of {sorted(STAGE2_RULES)}, got {rule!r}")
    v = STAGE2_RULES[rule].score(trace, ref_step, check_step)
    return None if v is None or not math.isfinite(v) else float(v)


# ---------------------------------------------------------------- calibrated defaults
__all__ = [
    "DEFAULT_STAGE1_RISK_SIGNAL",
    "DEFAULT_STAGE1_SIGNAL",
    "DEFAULT_STAGE2_RULE",
    "STAGE1_CALIBRATION",
    "STAGE1_SIGNALS",
    "STAGE2_CALIBRATION",
    "STAGE2_RULES",
    "Plan",
    "Rule",
    "Signal",
    "Trace",
    "stage1_signals",
    "stage2_score",
    "rule_threshold",
    "rule_watch_threshold",
    "signal_sign",
    "stage2_accuracy_note",
    "stage1_accuracy_note",
]


def signal_sign(signal: str) -> int:
    """+1 when a higher value of the stage-1 signal predicts a better post-RL outcome: the
    sign calibration chose, else the paper's expectation."""
    cal = STAGE1_CALIBRATION.get(signal, {})
    return int(cal.get("sign", STAGE1_SIGNALS[signal].expected_sign))


def rule_watch_threshold(rule: str) -> float:
    """Above this (and below the stop threshold) a calibrated rule says "watch"."""
    cal = STAGE2_CALIBRATION.get(rule)
    if rule == "paper" or cal is None or cal.get("watch_threshold") is None:
        return rule_threshold(rule)
    return cal["watch_threshold"]


def rule_threshold(rule: str) -> float:
    """The calibrated threshold of a stage-2 rule (the paper's 0.5 for "paper")."""
    if rule not in STAGE2_RULES:
        raise UserError(f"rule must be one of {sorted(STAGE2_RULES)}, got {rule!r}")
    if rule == "paper":
        return paper.DROP_THRESHOLD
    cal = STAGE2_CALIBRATION.get(rule)
    return STAGE2_RULES[rule].threshold if cal is None else cal["threshold"]


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def stage2_accuracy_note(rule: str) -> str:
    cal = STAGE2_CALIBRATION.get(rule)
    if cal is None:
        return "not calibrated"
    auc = "n/a" if cal.get("auc") is None else f"{cal['auc']:.2f}"
    return (
        f"held-out AUC {auc}; stop: precision {_pct(cal.get('precision'))}, recall "
        f"{_pct(cal.get('recall'))} for doomed runs (watch: recall "
        f"{_pct(cal.get('watch_recall'))}) on {cal.get('n_runs', '?')} simulated runs of "
        "settings it was not chosen on"
    )


def stage1_accuracy_note(signal: str) -> str:
    cal = STAGE1_CALIBRATION.get(signal)
    if cal is None:
        return "not calibrated"
    auc = "n/a" if cal.get("auc_poor_start") is None else f"{cal['auc_poor_start']:.2f}"
    return (
        f"held-out: median within-ladder rho {cal['median_rho']:+.2f}, picks the best rung in "
        f"{_pct(cal['top1_rate'])} of {cal.get('n_ladders', '?')} simulated ladders; AUC {auc} "
        f"for a poor start (a better rung existed) from this one checkpoint"
    )
