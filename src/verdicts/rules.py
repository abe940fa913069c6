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

from rankinv.errors import UserError
from rankinv.theory import paper

# The calibrated defaults: copied from the calibrate run saved at
# figures/data/calibrate/calibrate.json (scripts/update_calibrated.py writes the module;
# tests/test_evaluation_calibrate.py checks that the two agree). Held-out numbers: measured on the
# report half of the simulated settings.
from rankinv.verdicts._calibrated import (
    DEFAULT_STAGE1_RISK_SIGNAL,
    DEFAULT_STAGE1_SIGNAL,
    DEFAULT_STAGE2_RULE,
    STAGE1_CALIBRATION,
    STAGE2_CALIBRATION,
)

# ---------------------------------------------------------------- stage 1
# Computed once, in rankinv.verdicts.signals; re-exported here for the rules' callers.
from rankinv.verdicts.signals import (  # noqa: E402
    STAGE1_SIGNALS,
    Signal,
    signal_sign,
    stage1_accuracy_note,
    stage1_signals,
)

# ---------------------------------------------------------------- stage 2
# The stage-2 rules and the mechanical no-signal state live in rankinv.verdicts.stage2; their
# names stay importable from here.
from rankinv.verdicts.stage2 import STAGE2_RULES, Rule, Trace, stage2_score  # noqa: E402

# ---------------------------------------------------------------- calibrated defaults
__all__ = [
    "DEFAULT_STAGE1_RISK_SIGNAL",
    "DEFAULT_STAGE1_SIGNAL",
    "DEFAULT_STAGE2_RULE",
    "STAGE1_CALIBRATION",
    "STAGE1_SIGNALS",
    "STAGE2_CALIBRATION",
    "STAGE2_RULES",
    "Rule",
    "Signal",
    "Trace",
    "stage1_signals",
    "stage2_score",
    "rule_threshold",
    "rule_watch_threshold",
    "signal_sign",
    "stage2_accuracy_note",
    "precision_vs_base_rate",
    "stage1_accuracy_note",
]


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


#: A stop rule's precision counts as above its base rate only when it exceeds it by more than
#: this many standard errors of the precision (binomial, over the runs the rule stopped).
PRECISION_LIFT_SE = 2.0


def precision_vs_base_rate(cal: dict) -> str | None:
    """A calibrated rule's stop precision against its base rate (the share of the held-out
    runs its stop claims, which stopping at random reaches): "above" or "below" when they
    differ by more than PRECISION_LIFT_SE binomial standard errors over the n_runs x base rate
    x recall / precision runs it stopped, else "no better"; None when a number is missing."""
    prec, base, rec, n = (cal.get(k) for k in ("precision", "prevalence", "recall", "n_runs"))
    if None in (prec, base, rec, n) or prec <= 0:
        return None
    n_stopped = max(n * base * rec / prec, 1.0)
    se = max((prec * (1 - prec) / n_stopped) ** 0.5, 1.0 / n_stopped)
    if abs(prec - base) <= PRECISION_LIFT_SE * se:
        return "no better"
    return "above" if prec > base else "below"


def stage2_accuracy_note(rule: str) -> str:
    """A calibrated rule's held-out accuracy in words: its stop precision next to the base
    rate it is compared to (stopping at random is right that often), flagged when not
    clearly above it, and the precision if only 10% of runs were worth stopping."""
    cal = STAGE2_CALIBRATION.get(rule)
    if cal is None:
        return "not calibrated"
    auc = "n/a" if cal.get("auc") is None else f"{cal['auc']:.2f}"
    at = (cal.get("precision_at_prevalence") or {}).get("0.1")
    prev = cal.get("prevalence")
    words = {
        "no better": ": no better than stopping at random",
        "below": ": worse than stopping at random",
        "above": "",
        None: "",
    }[precision_vs_base_rate(cal)]
    return (
        f"held-out AUC {auc}; stop precision {_pct(cal.get('precision'))} against a base rate "
        f"of {_pct(prev)} (the share of the simulated runs that this rule's stop claims: "
        f"stopping at random is right that often){words}; precision {_pct(at)} if 10% of runs "
        "were worth stopping; "
        f"recall {_pct(cal.get('recall'))} (watch: {_pct(cal.get('watch_recall'))}) on "
        f"{cal.get('n_runs', '?')} simulated runs of settings it was not chosen on"
    )
