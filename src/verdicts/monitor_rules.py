"""The stage-2 rule part of the monitor: which rule may speak on a log (eligibility and
fallback), the window it judges, its thresholds and its verdict. ``rule_verdict``: what the
rule says on a run, as a :class:`RuleVerdict` (``rankinv.verdicts.words.monitor`` phrases
it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
        from rankinv.verdicts.words.inputs import check_past_plan

        raise UserError(check_past_plan(cfg.check_step, planned, planned_src))
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


def at_chance(rule: str) -> bool:
    """Whether a calibrated rule's held-out stops are no better than stopping at random (its
    stop precision not clearly above the base rate, ``rules.precision_vs_base_rate``)."""
    return rules.precision_vs_base_rate(STAGE2_CALIBRATION.get(rule) or {}) in (
        "no better",
        "below",
    )


def candidates(trace: stage2.Trace, hidden: tuple[str, ...] = ()) -> list[tuple[str, str | None]]:
    """Each calibrated rule the log has columns for, best held-out AUC first, with why it may
    not stand in for another rule (None: it may): not eligible, or at chance."""
    order = sorted(
        (r for r in STAGE2_CALIBRATION if r in stage2.STAGE2_RULES),
        key=lambda r: -(STAGE2_CALIBRATION[r].get("auc") or 0),
    )
    out = []
    for r in order:
        if usable(r, trace, hidden):
            why = eligible(r, trace) or (
                "no better than stopping at random on held-out settings" if at_chance(r) else None
            )
            out.append((r, why))
    return out


def fallback(rule: str, trace: stage2.Trace, hidden: tuple[str, ...] = ()) -> str | None:
    """The asked rule when the log has its columns, else the eligible calibrated rule with
    the best held-out AUC that the log has columns for (none reading a ``hidden`` one) whose
    stops beat stopping at random (a rule at chance is no fallback: then None)."""
    if usable(rule, trace, hidden):
        return rule
    return next((r for r, why in candidates(trace, hidden) if why is None), None)


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


def rule_part(
    trace: stage2.Trace, rule: str, cfg: MonitorConfig, ref: int, check: int, reached: bool
) -> tuple[str, float | None, float, float]:
    """The verdict of one rule at ``check``: (verdict, doom score or None when not
    computable, stop threshold, watch threshold). Before the check step is reached a stop is
    a provisional watch."""
    score = stage2.stage2_score(rule, trace, ref, check)
    thr, watch_thr = thresholds(rule, cfg)
    if score is None:
        return "continue", None, thr, watch_thr
    bad = stops_when(rule)
    stop_side = stage2.compare(shown_value(rule, score), shown_value(rule, thr)).side
    watch_side = stage2.compare(shown_value(rule, score), shown_value(rule, watch_thr)).side
    if stop_side == bad:
        verdict = "stop" if reached else "watch"
    elif watch_side == bad:
        verdict = "watch"
    else:
        verdict = "continue"
    return verdict, score, thr, watch_thr


@dataclass(frozen=True)
class RuleVerdict:
    """What the stage-2 rule said, and the numbers it rests on.

    ``status``: "judged" (the rule ran on its window), "not_computable" (its score is
    undefined on the window's values), "too_early" (the log ends at or before the reference
    step) or "cannot_run" (the log lacks or cannot measure the rule's columns, and no eligible
    rule can stand in; ``bound_continues``: an upper bound of the informative share exists
    but decides nothing). ``rule_used``: the rule that ran (None: none could), which may be a
    fallback for ``rule_asked``; ``on_bound``: it read the bound, not the share. The window:
    ``ref`` to ``check`` (the check step, or the log's last step before it); ``reached``:
    whether the log got to ``check_step``. ``score``: the doom score (higher = stop) against
    ``threshold`` and ``watch_threshold``; ``reward_position``: for reward_edge, the recent
    reward as a share of its range; ``judged_col``: the column read (None until judged)."""

    rule_asked: str
    rule_used: str | None
    ref: int
    check: int
    check_step: int
    window_src: str
    reached: bool
    verdict: str
    status: str
    score: float | None = None
    threshold: float | None = None
    watch_threshold: float | None = None
    on_bound: bool = False
    bound_continues: bool = False
    reward_position: float | None = None
    judged_col: np.ndarray | None = field(default=None, compare=False)

    @property
    def fell_back(self) -> bool:
        """Whether another rule spoke for the one asked (the log lacks its columns)."""
        return (
            self.rule_used is not None and not self.on_bound and self.rule_used != self.rule_asked
        )

    @property
    def stop_side(self) -> str | None:
        """Which side of its stop threshold the printed quantity is (None: not judged)."""
        if self.score is None or self.rule_used is None:
            return None
        r = self.rule_used
        return stage2.compare(shown_value(r, self.score), shown_value(r, self.threshold)).side

    @property
    def watch_side(self) -> str | None:
        if self.score is None or self.rule_used is None:
            return None
        r = self.rule_used
        return stage2.compare(shown_value(r, self.score), shown_value(r, self.watch_threshold)).side


def rule_verdict(run: JudgedRun, cfg: MonitorConfig) -> RuleVerdict:
    """The configured rule (or the eligible one it falls back to, or the informative rule on
    an upper bound of the informative share) on its window of the run."""
    trace, derived, last = run.trace, run.derived, run.last
    rule_used = rule_for(cfg.rule, trace, derived)
    # no rule used: the window of the informative rule on a bound, else of the rule wanted
    on_bound = derived is not None and derived.bound is not None
    ref, check_step, window_src = judged_window(
        cfg, rule_used or ("informative" if on_bound else cfg.rule), run.planned, run.planned_src
    )
    # reached: the log got to the check step (a log cut at the check step got there, as a
    # live run did at its first logged step past it, though no step of it is logged exactly)
    reached = run.now.last >= check_step - CHECK_STEP_TOLERANCE
    check = min(check_step, last)
    base = dict(
        rule_asked=cfg.rule,
        ref=ref,
        check=check,
        check_step=check_step,
        window_src=window_src,
        reached=reached,
    )
    bound = None
    if (
        check > ref
        and derived is not None
        and derived.bound is not None
        and eligible("informative", trace) is None
    ):
        # the informative rule on the upper bound of the informative share: it decides only
        # when the bound is below the rule's watch or stop level (then so is the true share)
        bt = replace(trace, informative=derived.bound)
        bound = rule_part(bt, "informative", cfg, ref, check, reached)
        if bound[1] is None:
            bound = None
    if rule_used is None and bound is not None and bound[0] != "continue":
        verdict, score, thr, watch_thr = bound
        return RuleVerdict(
            rule_used="informative", verdict=verdict, status="judged", score=score,
            threshold=thr, watch_threshold=watch_thr, on_bound=True,
            judged_col=derived.bound, **base,
        )  # fmt: skip
    if rule_used is None:
        return RuleVerdict(
            rule_used=None, verdict="continue", status="cannot_run",
            bound_continues=bound is not None, **base,
        )  # fmt: skip
    if check <= ref:
        return RuleVerdict(rule_used=rule_used, verdict="continue", status="too_early", **base)
    verdict, score, thr, watch_thr = rule_part(trace, rule_used, cfg, ref, check, reached)
    if score is None:
        return RuleVerdict(
            rule_used=rule_used, verdict=verdict, status="not_computable", threshold=thr,
            watch_threshold=watch_thr, **base,
        )  # fmt: skip
    pos = stage2.reward_position(trace, ref, check) if rule_used == "reward_edge" else None
    return RuleVerdict(
        rule_used=rule_used, verdict=verdict, status="judged", score=score, threshold=thr,
        watch_threshold=watch_thr, reward_position=pos,
        judged_col=getattr(trace, stage2.STAGE2_RULES[rule_used].needs[-1]), **base,
    )  # fmt: skip
