"""Stage-2 monitor: read a GRPO run's log and decide continue / watch / stop.

First the mechanical state of the log, stated as fact (``stage2.no_signal``): when (almost)
every group has zero reward variance the policy gradient is (nearly) zero, so the monitor
says stop, saturated (reward at its maximum) or stranded (at its minimum), whatever any rule
predicts. Then the calibrated rule (``MonitorConfig.rule``; default: the scale-free rule that
scored best on held-out simulated settings, ``rankinv calibrate``) speaks on runs that still
carry signal; ``rule="paper"`` is the paper's rule exactly (Aphale & Liu, arXiv 2606.18487:
the relative entropy drop between RL step 10 and step 150 above 0.5). The log is read by
``rankinv.verdicts.logs`` (TRL, JSONL, verl, CSV, TensorBoard); scores and thresholds come
from ``rankinv.verdicts.stage2``; every comparison with a threshold is made once
(``stage2.compare``) and the words are generated from it.

Compute saved counts from the log's last step to the planned total (the log's max_steps
when it states it, else ``planned_steps``). Several logs of one sweep are judged against
each other at their common step (``rankinv.verdicts.sweep``: successive halving).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts import logs, rules, stage2

VERDICTS = ("continue", "watch", "stop")
#: Planned RL steps assumed when neither the log nor the user states them (the paper's 400).
DEFAULT_PLANNED_STEPS = 400
#: A log that ends this many steps short of the check step is judged at its last step (the
#: simulator's logs hold steps 0..149 for 150 updates).
CHECK_STEP_TOLERANCE = 1
#: Rules whose doom score is shown as offset - score (the quantity itself: a change, or the
#: informative fraction for "informative"), stopping when that is below its level.
_SHOWN_AS = dict.fromkeys(("reward_slope", "reward_gain", "reward_z", "combined"), 0.0) | {
    "informative_trend": 0.0,
    "informative": 1.0,
}


@dataclass(frozen=True)
class MonitorConfig:
    ref_step: int | None = None  # None: the paper's 10 for its rule, else calibrated
    check_step: int | None = None  # None: the paper's 150, else the calibrated fraction
    threshold: float = paper.DROP_THRESHOLD  # the paper's rule's threshold
    group_size: int = 8
    planned_steps: int | None = None  # None: the log's max_steps, else DEFAULT_PLANNED_STEPS
    watch_fraction: float = 0.6  # paper rule: a drop above watch_fraction * threshold -> watch
    entropy_key: str | None = None
    rule: str = rules.DEFAULT_STAGE2_RULE
    rule_threshold: float | None = None  # None: the calibrated threshold of the rule
    zero_std_key: str | None = None
    reward_key: str | None = None
    step_key: str | None = None
    reward_range: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        if self.ref_step is not None and not (
            isinstance(self.ref_step, int) and self.ref_step >= 0
        ):
            raise UserError(f"ref_step must be an integer >= 0, got {self.ref_step!r}")
        if self.check_step is not None and not (
            isinstance(self.check_step, int) and self.check_step > (self.ref_step or 0)
        ):
            raise UserError(
                f"check_step must be an integer > ref_step ({self.ref_step or 0}), "
                f"got {self.check_step!r}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise UserError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if self.planned_steps is not None and not (
            isinstance(self.planned_steps, int) and self.planned_steps > 0
        ):
            raise UserError(f"planned_steps must be a positive integer, got {self.planned_steps!r}")
        theory.p_star(self.group_size)  # validates g
        if self.rule not in rules.STAGE2_RULES:
            raise UserError(f"rule must be one of {sorted(rules.STAGE2_RULES)}, got {self.rule!r}")
        lo, hi = self.reward_range
        if not hi > lo:
            raise UserError(f"reward_range must be (min, max) with max > min, got {(lo, hi)}")


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
    from rankinv.verdicts.stage2 import check_window

    frac = rules.STAGE2_CALIBRATION.get(rule or "", {}).get("check_fraction")
    if rule in ("paper", "paper_min") or frac is None:
        ref, check, src = paper.REF_STEP, paper.CHECK_STEP, "the paper's steps"
    else:
        ref, check = check_window(planned, frac)
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


def _thresholds(rule: str, cfg: MonitorConfig) -> tuple[float, float]:
    """(stop, watch) thresholds of the doom score of ``rule``."""
    if rule == "paper":
        return cfg.threshold, cfg.watch_fraction * cfg.threshold
    if cfg.rule_threshold is not None:
        return cfg.rule_threshold, cfg.rule_threshold
    return rules.rule_threshold(rule), rules.rule_watch_threshold(rule)


def _usable(rule: str, trace: stage2.Trace) -> bool:
    return all(getattr(trace, c) is not None for c in rules.STAGE2_RULES[rule].needs)


def _fallback(rule: str, trace: stage2.Trace) -> str | None:
    """The asked rule when the log has its columns, else the best-scoring calibrated rule
    (held-out AUC above chance) that it has."""
    if _usable(rule, trace):
        return rule
    order = sorted(
        (
            r
            for r, cal in rules.STAGE2_CALIBRATION.items()
            if r in rules.STAGE2_RULES and (cal.get("auc") or 0) > 0.5
        ),
        key=lambda r: -rules.STAGE2_CALIBRATION[r]["auc"],
    )
    return next((r for r in order if _usable(r, trace)), None)


def _rule_part(trace, rule, cfg, ref, check, reached):
    """The verdict of one rule at ``check``: (verdict, reason, details)."""
    score = rules.stage2_score(rule, trace, ref, check)
    thr, watch_thr = _thresholds(rule, cfg)
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
    window = f"over steps {ref}-{check}"
    if rule in ("paper", "paper_min"):
        what = "mean" if rule == "paper" else "worst-token"
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
            f" over steps {lo}-{check} (the last quarter of the judged steps {ref}-{check})",
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
        text = f"{rules.STAGE2_RULES[rule].description} {window}: " + stop_cmp.words(
            "the score", "the stop threshold"
        )
    reason = f"rule {rule}: {text}; {verdict} ({note})"
    details = {"score": score, "threshold": thr, "watch_threshold": watch_thr}
    return verdict, reason, details | {"side": stop_cmp.side}


def analyse(log: logs.RunLog, cfg: MonitorConfig = MonitorConfig()) -> dict:
    """The stage-2 verdict with reasons. JSON fields: verdict, reasons, entropy_signal,
    entropy_drop, informative_fraction, compute_saved, provisional, state, and the details."""
    trace, keys = logs.trace(
        log.records, cfg.entropy_key, cfg.zero_std_key, cfg.reward_key, cfg.reward_range
    )
    if not trace.steps.size:
        raise UserError("log has no usable rows (no logged step)")
    last = int(trace.steps.max())
    planned, planned_src = cfg.planned_steps, "--planned-steps"
    if planned is None:
        planned, planned_src = log.max_steps, "the log's max_steps"
    if planned is None:
        planned, planned_src = DEFAULT_PLANNED_STEPS, "assumed (the paper's; pass --planned-steps)"
    if planned < last:
        raise UserError(
            f"planned steps {planned} ({planned_src}) is before the log's last step {last}; "
            "pass the run's planned total with --planned-steps"
        )
    done = min(stage2.steps_done(trace), planned)  # a log of steps 0..planned ends the run
    reasons: list[str] = []
    mech = stage2.no_signal(trace)
    rule_used = _fallback(cfg.rule, trace)
    ref, check_step, window_src = judged_window(cfg, rule_used, planned, planned_src)
    reached = last >= check_step - CHECK_STEP_TOLERANCE
    check = min(check_step, last)
    details: dict = {}
    if rule_used is None:
        verdict = "continue"
        need = ", ".join(rules.STAGE2_RULES[cfg.rule].needs)
        reasons.append(
            f"rule {cfg.rule} needs {need}, which the log lacks, and no calibrated rule that "
            "beat chance can be computed on its columns; continue. Name the columns with "
            "--reward-key / --zero-std-key / --entropy-key"
        )
    elif check <= ref:
        verdict = "continue"
        reasons.append(
            f"rule {rule_used}: not enough steps to judge yet (needs steps {ref} to "
            f"{check_step}; last logged step {last}); continue for now"
        )
    else:
        verdict, reason, details = _rule_part(trace, rule_used, cfg, ref, check, reached)
        if rule_used != cfg.rule:
            need = ", ".join(rules.STAGE2_RULES[cfg.rule].needs)
            reason += f" [the log has no {need} for rule {cfg.rule}: fell back to {rule_used}]"
        reasons.append(reason)
    # the informative-group fraction against 1 - f_g(p*), the share at which half the
    # groups of a prompt at p* carry signal
    ps = theory.p_star(cfg.group_size)
    floor = theory.informative_probability(ps, cfg.group_size)
    inf_recent = trend = None
    if trace.informative is not None:
        ok = np.isfinite(trace.informative) & (trace.steps >= ref)
        if ok.any():
            vals = trace.informative[ok]
            n_recent = max(3, vals.size // 5)
            inf_recent = float(np.mean(vals[-n_recent:]))
            recent_lo = int(trace.steps[ok][-n_recent:].min())
            fit = stage2._fit(trace, trace.informative, ref, last)
            trend = None if fit is None else fit[0] / max(1, last - ref)
    if inf_recent is not None:
        cmp = stage2.compare(inf_recent, floor)
        change = None if trend is None else trend * 100
        word = stage2.trend_word(change)
        msg = cmp.words(
            "the informative-group fraction",
            f"the floor 1 - f_g(p*) at g = {cfg.group_size}:",
            ".2f",
            f" over steps {recent_lo}-{last} (the log's latest steps)",
        )
        if change is not None:
            msg += (
                f"; {word} ({stage2._fmt(change, '+.3f')} per 100 steps, fitted over steps "
                f"{ref}-{last})"
            )
        if cmp.side == "below" and word == "falling" and verdict == "continue" and mech is None:
            verdict = "watch"
            msg += ": below the floor and falling, hence watch"
        reasons.append(msg)
    else:
        wanted = cfg.zero_std_key or " / ".join(logs.COLUMNS["zero_std"])
        reasons.append(f"informative fraction unknown: the log has no column {wanted}")
    state = "signal"
    if mech is not None:
        state = f"no_signal:{mech['state']}"
        reasons = [f"for reference, {r}" for r in reasons]
        what = {
            "saturated": "saturated: the reward is at its maximum, the training prompts are solved",
            "stranded": "stranded: the reward is at its minimum, every sample fails",
            "mixed": "every prompt is either solved or failed in all its samples",
            "unknown": "the log has no reward to say whether solved or failed",
        }[mech["state"]]
        a, b = mech["window"]
        reasons.insert(
            0,
            "no signal (a fact of the log, whatever the rule): "
            + mech["comparison"].words(
                "the zero-std group share", "the no-signal level", ".2f", f" over steps {a}-{b}"
            )
            + f", so the policy gradient is (nearly) zero with beta = 0; {what}; stop",
        )
        verdict = "stop"
    elif trace.informative is None:
        reasons.append(
            "no-signal check skipped: the log has no zero-std share (verl logs none; "
            "TRL's frac_reward_zero_std or --zero-std-key gives it)"
        )
    provisional = not reached and mech is None
    if provisional:
        reasons.append(
            f"provisional: the check step {check_step} ({window_src}) is not reached (last "
            f"logged step {last}); the rule judged steps {ref}-{check} (reference step to the "
            "last logged step)"
        )
    elif mech is None and check < check_step:
        reasons.append(
            f"judged at step {check}, the log's last step, {check_step - check} short of "
            f"the check step {check_step}"
        )
    compute_saved = (planned - done) / planned if verdict == "stop" else 0.0
    if verdict == "stop":
        counted = f" ({done} steps done, counted from step 0)" if done != last else ""
        reasons.append(
            f"stopping now (step {last}{counted} of {planned} planned, {planned_src}) saves "
            f"{planned - done} steps, {compute_saved:.1%} of the RL compute"
        )
    drop = stage2.relative_drop(trace, trace.entropy, ref, check)
    e_ref = stage2.value_at(trace, trace.entropy, ref, "after")
    e_chk = stage2.value_at(trace, trace.entropy, check, "before")
    if keys["entropy"] is None:
        ent_signal = "none (the log has no entropy column)"
    elif cfg.entropy_key:
        ent_signal = f"entropy ({keys['entropy']}, chosen by the user)"
    else:
        ent_signal = f"mean token entropy ({keys['entropy']})"
    thr = details.get("threshold")
    shown_rule = rule_used or cfg.rule
    doom = details.get("score")
    doom_thr = thr if thr is not None else _thresholds(shown_rule, cfg)[0]
    n = trace.steps.size
    return {
        "verdict": verdict,
        "provisional": provisional,
        "state": state,
        "no_signal": None
        if mech is None
        else {k: v for k, v in mech.items() if k != "comparison"}
        | {"level": stage2.NO_SIGNAL_ZERO_STD, "steps": stage2.NO_SIGNAL_STEPS},
        "reasons": reasons,
        "rule": cfg.rule,
        "rule_used": rule_used,
        # the quantity and threshold the reasons print (e.g. the informative fraction and
        # its stop level); doom_*: the same as a doom score, higher = stop
        "rule_score": None if details.get("score") is None else shown_value(shown_rule, doom),
        "rule_threshold": shown_value(shown_rule, doom_thr),
        "rule_stops_when": stops_when(shown_rule),
        "doom_score": details.get("score"),
        "doom_threshold": doom_thr,
        "rule_accuracy": rules.stage2_accuracy_note(rule_used or cfg.rule),
        "entropy_signal": ent_signal,
        "entropy_drop": drop,
        "entropy_ref": None if e_ref is None else {"step": e_ref[0], "value": e_ref[1]},
        "entropy_check": None if e_chk is None else {"step": e_chk[0], "value": e_chk[1]},
        "informative_fraction": inf_recent,
        "informative_trend_per_step": trend,
        "informative_floor": floor,
        "compute_saved": compute_saved,
        "planned_steps": planned,
        "planned_steps_source": planned_src,
        "steps_seen": n,
        "last_step": last,
        "steps_done": done,
        "check_reached": reached,
        "window": {"ref_step": ref, "check_step": check_step, "from": window_src},
        "columns": keys,
        "log_format": log.format,
        "log_issues": log.issues,
        "config": asdict(cfg),
        "signal": None
        if rule_used is None or thr is None
        else stage2.signal_panel(trace, rule_used, ref, check, thr, keys),
        "series": {
            "step": trace.steps.tolist(),
            "entropy": stage2.col_list(trace.entropy, n),
            "informative": stage2.col_list(trace.informative, n),
            "reward": stage2.col_list(trace.reward, n),
        },
    }


def basis(rep: dict) -> str:
    """What a report's verdict rests on, in words (the CLI and report.md print it)."""
    used = rep.get("rule_used")
    if rep.get("state", "signal").startswith("no_signal"):
        what = f"no signal: {rep['state'].split(':', 1)[1]}, a fact of the log"
    elif used in ("paper", "paper_min"):
        what = f"rule {used}; signal: {rep['entropy_signal']}"
    elif used:
        sig = rep.get("signal") or {}
        what = f"rule {used}; signal: {sig.get('name', '?')} ({stage2.signal_source(sig)})"
    else:
        what = "no rule computable on this log"
    prov = "provisional: the check step is not reached; " if rep.get("provisional") else ""
    return prov + what


def is_report(data) -> bool:
    """Whether loaded JSON is a monitor report (found by content, whatever its file name)."""
    return isinstance(data, dict) and {"verdict", "reasons", "series", "config"} <= set(data)


def monitor(path: str | Path, cfg: MonitorConfig = MonitorConfig()) -> dict:
    """Read the log at ``path`` and return :func:`analyse`'s report."""
    return analyse(logs.read_log(path, cfg.step_key), cfg)


def analyse_records(records: list[dict], cfg: MonitorConfig = MonitorConfig(), max_steps=None):
    """:func:`analyse` on in-memory log records (the live TRL callback)."""
    recs = logs.merge_by_step([logs._strip_prefix(r) for r in records])
    return analyse(logs.RunLog("<live>", "trl", recs, max_steps), cfg)
