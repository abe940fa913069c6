"""The calibrated stage-2 thresholds, and a calibrated rule's held-out accuracy in words.

The rules themselves are ``rankinv.verdicts.stage2``; the stage-1 signals
``rankinv.verdicts.signals``; the calibrated defaults ``rankinv.verdicts._calibrated``
(constants copied from the calibrate run saved under ``figures/data/calibrate/`` by
scripts/update_calibrated.py; tests/test_evaluation_calibrate.py checks that the two agree):
nothing is calibrated at run time. Here: the threshold (and watch level) each rule stops at,
"paper" at the paper's 0.5, and the words for how often a rule's stop was right on the
held-out half of the simulated settings.
"""

from __future__ import annotations

from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts._calibrated import STAGE2_CALIBRATION
from rankinv.verdicts.stage2 import STAGE2_RULES

#: Names other modules must import from where they are defined (signals, stage2, _calibrated),
#: never through this module (tests/test_layers.py checks); this module only reads them.
NOT_DEFINED_HERE = ("STAGE2_RULES", "STAGE2_CALIBRATION")


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
