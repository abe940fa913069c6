"""The stage-2 rule part of the monitor: which rule may speak on a log (eligibility and
fallback), the window it judges, its thresholds and its verdict in words. Windows quote only
steps the log holds a value at. ``rule_verdict``: what the rule says on a run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts import rules, stage2
from rankinv.verdicts._calibrated import STAGE2_CALIBRATION

if TYPE_CHECKING:
    from rankinv.verdicts.monitor_config import MonitorConfig
    from rankinv.verdicts.monitor_run import JudgedRun

#: A log that ends this many steps short of the check step is judged at its last step (the
#: simulator's logs hold steps 0..149 for 150 updates).
CHECK_STEP_TOLERANCE = 1

#: Rules whose doom score is shown as offset - score (the quantity itself: a change, or the
#: informative fraction for "informative"), stopping when that is below its level.
_SHOWN_AS = dict.fromkeys(
    ("reward_slope", "reward_gain", "reward_z", "combined", "reward_trend"), 0.0
) | {
    "informative_trend": 0.0,
    "informative": 1.0,
}


def shown_value(rule: str, doom: float) -> float:
    """A rule's doom score (higher = stop) as the quantity its reasons print: offset - score
    for the rules in _SHOWN_AS (e.g. the informative fraction, 1 - score), else the score."""
    return _SHOWN_AS[rule] - doom if rule in _SHOWN_AS else doom


def stops_when(rule: str) -> str:
    """Which side of its threshold the printed quantity of ``rule`` stops on."""
    return "below" if rule in _SHOWN_AS else "above"


def judged_window(
    cfg: MonitorConfig, rule: str | None, planned: int, planned_src: str = "planned"
) -> tuple[int, int, str]:
    """(ref, check, where they come from): the steps given, else the paper's 10 and 150 for
    its rules, else the fraction of the planned run at which the rule was calibrated. A check
    step given past the planned total is refused (its fraction of the run would be > 1)."""
    frac = STAGE2_CALIBRATION.get(rule or "", {}).get("check_fraction")
    if rule in ("paper", "paper_min") or frac is None:
        ref, check, src = paper.REF_STEP, paper.CHECK_STEP, "the paper's steps"
    else:
        ref, check = stage2.check_window(planned, frac)
        src = f"{frac:g} of the {planned} planned steps, where rule {rule} was calibrated"
    if cfg.check_step is not None and cfg.check_step > planned:
        raise UserError(
            f"check step {cfg.check_step} is past the {planned} planned steps - {planned_src}; "
            f"give a check step <= {planned}, or the run's planned total with --planned-steps"
        )
    if cfg.ref_step is not None or cfg.check_step is not None:
        given = (
            "steps given"
            if cfg.ref_step is not None and cfg.check_step is not None
            else "reference step given"
            if cfg.ref_step is not None
            else "check step given"
        )
        check_now = cfg.check_step if cfg.check_step is not None else check
        src = f"{given}; the check at {check_now / planned:.3g} of the {planned} planned steps"
    ref = cfg.ref_step if cfg.ref_step is not None else ref
    check = cfg.check_step if cfg.check_step is not None else check
    if check <= ref:
        default = f" (by default {check / planned:.3g} of {planned} steps)"
        whose = "" if cfg.check_step is not None else default
        msg = f"must come after the reference step {ref}; give a smaller --ref-step or a later"
        raise UserError(f"check step {check}{whose} {msg} --check-step")
    return ref, check, src


def thresholds(rule: str, cfg: MonitorConfig) -> tuple[float, float]:
    """(stop, watch) thresholds of the doom score of ``rule``."""
    if rule == "paper":
        return cfg.threshold, cfg.watch_fraction * cfg.threshold
    if cfg.rule_threshold is not None:
        return cfg.rule_threshold, cfg.rule_threshold
    return rules.rule_threshold(rule), rules.rule_watch_threshold(rule)


def usable(rule: str, trace: stage2.Trace, hidden: tuple[str, ...] = ()) -> bool:
    """Whether the log has every column ``rule`` reads (``hidden``: columns the log holds
    but cannot measure, e.g. the reward of the kept groups under dynamic sampling)."""
    return all(
        getattr(trace, c) is not None and c not in hidden for c in stage2.STAGE2_RULES[rule].needs
    )


def eligible(rule: str, trace: stage2.Trace) -> str | None:
    """Why ``rule`` may not speak as a fallback on this log (None: it may): a rule that is
    not scale-free (reward_slope), one at or below chance on held-out settings, and
    paper_min on a log without a worst-token entropy (it would read the mean entropy, where
    it was not calibrated) are not eligible."""
    if not stage2.STAGE2_RULES[rule].scale_free:
        return "not scale-free"
    if rule == "paper_min" and trace.min_entropy is None:
        return "calibrated on the worst-token entropy, which the log lacks"
    auc = STAGE2_CALIBRATION.get(rule, {}).get("auc")
    if auc is None or auc <= 0.5:
        return "no better than chance on held-out settings"
    return None


def fallback(rule: str, trace: stage2.Trace, hidden: tuple[str, ...] = ()) -> str | None:
    """The asked rule when the log has its columns, else the eligible calibrated rule with
    the best held-out AUC that the log has columns for (none reading a ``hidden`` one)."""
    if usable(rule, trace, hidden):
        return rule
    order = sorted(
        (r for r in STAGE2_CALIBRATION if r in stage2.STAGE2_RULES),
        key=lambda r: -(STAGE2_CALIBRATION[r].get("auc") or 0),
    )
    return next((r for r in order if usable(r, trace, hidden) and eligible(r, trace) is None), None)


def rule_for(rule: str, trace: stage2.Trace, derived) -> str | None:
    """The rule that speaks on this log (:func:`fallback`), where ``derived`` (the
    informative share derived or bounded from another trainer's metrics, or None) says more:
    under dynamic sampling the logged reward averages the kept groups only, so no rule reads
    it; an asked rule that reads the informative share, on a log that lacks it but bounds it,
    speaks on that bound (None here: the monitor's bound part)."""
    if derived is None:
        return fallback(rule, trace)
    if derived.bound is not None and "informative" in stage2.STAGE2_RULES[rule].needs:
        return None
    return fallback(rule, trace, ("reward",) if derived.dynamic_sampling else ())


def rule_part(trace, rule, cfg, ref, check, reached):
    """The verdict of one rule at ``check``: (verdict, reason, details)."""
    score = stage2.stage2_score(rule, trace, ref, check)
    thr, watch_thr = thresholds(rule, cfg)
    note = rules.stage2_accuracy_note(rule)
    if score is None:
        return "continue", f"rule {rule}: not computable on steps {ref}-{check} yet", {}
    neg = rule in _SHOWN_AS

    def shown(x):
        return shown_value(rule, x)

    stop_cmp = stage2.compare(shown(score), shown(thr))
    watch_cmp = stage2.compare(shown(score), shown(watch_thr))
    bad = "below" if neg else "above"
    if stop_cmp.side == bad:
        verdict = "stop" if reached else "watch"
    elif watch_cmp.side == bad:
        verdict = "watch"
    else:
        verdict = "continue"
    col = getattr(trace, stage2.STAGE2_RULES[rule].needs[-1])
    window = f"over {stage2.span_words(trace, col, ref, check)}"
    if rule in ("paper", "paper_min"):
        what = "worst-token" if rule == "paper_min" and trace.min_entropy is not None else "mean"
        text = (
            f"{what} entropy {'fell' if score >= 0 else 'rose'} {abs(score):.0%} {window}: "
            + stop_cmp.words("the drop", "the stop threshold", ".0%")
        )
    elif rule == "reward_gain":
        text = f"the mean reward gained {-score:+.0%} of its headroom {window}: " + stop_cmp.words(
            "the gain", "the stop level", "+.0%"
        )
    elif rule == "reward_z":
        text = (
            f"the mean reward changed by {-score:+.1f} standard errors {window}: "
            + stop_cmp.words("the change", "the stop level", "+.1f")
        )
    elif rule == "informative":
        lo = check - max(1, int(round(0.25 * (check - ref))))
        text = stop_cmp.words(
            "the informative-group fraction",
            "the stop level",
            ".2f",
            f" over {stage2.span_words(trace, col, lo, check)} (the last quarter of the judged "
            f"{stage2.span_words(trace, col, ref, check)})",
        )
    elif rule == "reward_edge":
        lo, hi = trace.reward_range
        pos = stage2.reward_position(trace, ref, check)
        side = "minimum" if pos < 0.5 else "maximum"
        text = (
            f"the mean reward {lo + pos * (hi - lo):.3f} over the last quarter of {window[5:]} is "
            f"{min(pos, 1 - pos):.1%} of its range from its {side}: "
            + stop_cmp.words("0.5 - that share", "the stop level", ".3f")
            + f" (stop within {stage2.BASELINE_EDGE:.0%} of an edge; a free baseline)"
        )
    elif rule == "reward_trend":
        text = (
            f"the mean reward rose by {-score:+.3f} of its range over the last half of "
            f"{window[5:]}: "
            + stop_cmp.words("the rise", "the stop level", "+.3f")
            + " (a free baseline)"
        )
    elif rule == "combined":
        text = (
            f"(informative fraction - 1) + the reward's gain as a share of its headroom {window}: "
            + stop_cmp.words("the sum", "the stop level", "+.2f")
        )
    elif neg:
        what = "mean reward" if rule == "reward_slope" else "informative-group fraction"
        text = f"the {what} changed by {-score:+.3f} {window}: " + stop_cmp.words(
            "the change", "the stop level", "+.3f"
        )
    else:
        text = f"{stage2.STAGE2_RULES[rule].description} {window}: " + stop_cmp.words(
            "the score", "the stop threshold"
        )
    if verdict == "watch" and stop_cmp.side == bad and not reached:
        text += "; a stop before the check step is a provisional watch"
    elif verdict == "watch":
        fmt = {"paper": ".0%", "paper_min": ".0%", "informative": ".2f"}.get(rule, "+.3f")
        level = (
            f"the watch level {stage2.format_value(shown(watch_thr), fmt)} ("
            + (f"{cfg.watch_fraction:g} of the stop threshold" if rule == "paper" else "calibrated")
            + ")"
        )
        text += f"; it is {watch_cmp.side} {level}, hence watch"
    reason = f"rule {rule}: {text}; {verdict} ({note})"
    details = {"score": score, "threshold": thr, "watch_threshold": watch_thr}
    return verdict, reason, details | {"side": stop_cmp.side}


def _bound_rule(trace, derived, cfg, ref, check, reached):
    """The informative rule on the upper bound of the informative share: it decides only
    when the bound is below the rule's watch or stop level (then so is the true share)."""
    if derived is None or derived.bound is None or eligible("informative", trace) is not None:
        return None
    bt = replace(trace, informative=derived.bound)
    verdict, reason, details = rule_part(bt, "informative", cfg, ref, check, reached)
    if not details:
        return None
    reason = reason.replace(
        "the informative-group fraction", "the informative-group fraction's upper bound", 1
    )
    reason = reason.replace(
        "rule informative:", f"rule informative on a bound ({derived.bound_words}):", 1
    )
    return verdict, reason, details


@dataclass(frozen=True)
class RuleVerdict:
    """What the stage-2 rule said: the rule that ran (None: none could), the window it
    judged, its verdict and reasons, the numbers they rest on (``details``) and the column it
    read (None until it judged)."""

    rule_used: str | None
    ref: int
    check: int  # the step judged: the check step, or the log's last step before it
    check_step: int
    window_src: str
    reached: bool
    verdict: str
    reasons: tuple[str, ...]
    details: dict
    judged_col: np.ndarray | None


def _cannot_run(rule: str, bound) -> str:
    need = ", ".join(stage2.STAGE2_RULES[rule].needs)
    why = (
        ""
        if bound is None
        else " (its upper bound from the mean reward is above the rule's levels: it "
        "decides nothing)"
    )
    return (
        f"rule {rule} cannot run: it needs {need}, which the log lacks or cannot "
        f"measure{why}, and no "
        "eligible calibrated rule can be computed on its columns (reward_slope is not "
        "scale-free; paper_min needs a worst-token entropy column); continue, undetermined"
    )


def rule_verdict(run: JudgedRun, cfg: MonitorConfig) -> RuleVerdict:
    """The configured rule (or the eligible one it falls back to, or the informative rule on
    an upper bound of the informative share) on its window of the run."""
    trace, derived, last = run.trace, run.derived, run.last
    rule_used = rule_for(cfg.rule, trace, derived)
    ref, check_step, window_src = judged_window(
        cfg, rule_used or "informative", run.planned, run.planned_src
    )
    reached = last >= check_step - CHECK_STEP_TOLERANCE
    check = min(check_step, last)
    details: dict = {}
    judged_col = None
    bound = _bound_rule(trace, derived, cfg, ref, check, reached) if check > ref else None
    if rule_used is None and bound is not None and bound[0] != "continue":
        verdict, reason, details = bound
        rule_used, judged_col = "informative", derived.bound
        details = details | {"bound": True}
    elif rule_used is None:
        verdict, reason = "continue", _cannot_run(cfg.rule, bound)
    elif check <= ref:
        verdict = "continue"
        reason = (
            f"rule {rule_used}: not enough steps to judge yet (it judges steps {ref} to "
            f"{check_step}; the last logged step is {last}); continue for now"
        )
    else:
        verdict, reason, details = rule_part(trace, rule_used, cfg, ref, check, reached)
        if details:
            judged_col = getattr(trace, stage2.STAGE2_RULES[rule_used].needs[-1])
        if rule_used != cfg.rule:
            need = ", ".join(stage2.STAGE2_RULES[cfg.rule].needs)
            reason += f" [the log has no {need} for rule {cfg.rule}: fell back to {rule_used}]"
    return RuleVerdict(
        rule_used,
        ref,
        check,
        check_step,
        window_src,
        reached,
        verdict,
        (reason,),
        details,
        judged_col,
    )
