"""Stage-2 monitor: read a GRPO run's log and decide continue / watch / stop.

First the mechanical state of the log, stated as fact (``mechanical.no_signal``): when (almost)
every group has zero reward variance the policy gradient is (nearly) zero, so the monitor
says stop, saturated (reward at its maximum) or stranded (at its minimum), whatever any rule
predicts. Then the calibrated rule (``MonitorConfig.rule``; default: the scale-free rule that
scored best on held-out simulated settings, ``rankinv calibrate``) speaks on runs that still
carry signal; ``rule="paper"`` is the paper's rule exactly (Aphale & Liu, arXiv 2606.18487:
the relative entropy drop between RL step 10 and step 150 above 0.5). The log is read by
``rankinv.verdicts.logs`` (TRL, JSONL, verl, CSV, TensorBoard); scores and thresholds come
from ``rankinv.verdicts.stage2``; every comparison with a threshold is made once
(``stage2.compare``) and the words are generated from it.

Where the log holds held-out evaluations (``eval/pass_at_<k>`` with its ``_se``), the
coverage rule speaks first (``rankinv.verdicts.coverage``): a fall of held-out pass@k beyond
its noise under a sequential test whose false-stop rate over all the looks is stated, and the
step to keep (``best_coverage_step``). On logs without a zero-std share (verl, OpenRLHF) the
informative share is derived or bounded where the trainer's metrics allow it
(``rankinv.verdicts.trainers``), else the output says which rule cannot run and the
configuration line that adds the metric; no rule the calibration found not eligible speaks.

No-signal states: saturated (reward within 10% of its range from the maximum), stranded
(from the minimum), mixed (every group all-pass or all-fail, the reward between the edges:
some prompts solved in every sample, the rest failed in every sample), unknown (no reward
column, or one that averages the kept groups only).

Every quantity a verdict rests on (g, the reward range, the planned steps, the logging
interval) is given, read from the log or named as assumed (``rankinv.verdicts.assumptions``).
Compute saved counts from the log's last step to the planned total. Several logs of one
sweep are judged against each other at their common step (``rankinv.verdicts.sweep``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts import (
    assumptions,
    coverage,
    labels,
    logs,
    mechanical,
    monitor_label,
    panels,
    stage2,
    trainers,
)
from rankinv.verdicts._calibrated import DEFAULT_STAGE2_RULE
from rankinv.verdicts.assumptions import DEFAULT_PLANNED_STEPS  # noqa: F401 (public name)
from rankinv.verdicts.monitor_rules import (  # noqa: F401 (public names)
    eligible,
    fallback,
    judged_window,
    rule_for,
    rule_part,
    shown_value,
    stops_when,
    thresholds,
)
from rankinv.verdicts.rules import stage2_accuracy_note

VERDICTS = ("continue", "watch", "stop")
#: A log that ends this many steps short of the check step is judged at its last step (the
#: simulator's logs hold steps 0..149 for 150 updates).
CHECK_STEP_TOLERANCE = 1


@dataclass(frozen=True)
class MonitorConfig:
    ref_step: int | None = None  # None: the paper's 10 for its rule, else calibrated
    check_step: int | None = None  # None: the paper's 150, else the calibrated fraction
    threshold: float = paper.DROP_THRESHOLD  # the paper's rule's threshold
    group_size: int | None = None  # None: the log's, else assumptions.DEFAULT_GROUP_SIZE
    planned_steps: int | None = None  # None: the log's max_steps, else DEFAULT_PLANNED_STEPS
    watch_fraction: float = 0.6  # paper rule: a drop above watch_fraction * threshold -> watch
    entropy_key: str | None = None
    rule: str = DEFAULT_STAGE2_RULE
    rule_threshold: float | None = None  # None: the calibrated threshold of the rule
    zero_std_key: str | None = None
    reward_key: str | None = None
    step_key: str | None = None
    reward_range: tuple[float, float] | None = None  # None: (0, 1), assumed

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
        if self.group_size is not None:
            theory.p_star(self.group_size)  # validates g
        if self.rule not in stage2.STAGE2_RULES:
            raise UserError(f"rule must be one of {sorted(stage2.STAGE2_RULES)}, got {self.rule!r}")
        if self.reward_range is not None and not self.reward_range[1] > self.reward_range[0]:
            raise UserError(
                f"reward_range must be (min, max) with max > min, got {self.reward_range}"
            )


def _floor_part(trace, ref: int, last: int, g: assumptions.Assumed, derived_from: str | None):
    """(fraction, trend per step, reason) of the informative share against 1 - f_g(p*),
    over the last fifth of the logged steps since ref (at least 3 values)."""
    floor = theory.informative_probability(theory.p_star(g.value), g.value)
    ok = np.isfinite(trace.informative) & (trace.steps >= ref)
    if not ok.any():
        return None, None, None
    steps = trace.steps[ok]
    lo = last - max(1, int(round(0.2 * (last - max(ref, int(steps.min()))))))
    recent = steps > lo
    if recent.sum() < 3:
        recent = np.arange(steps.size) >= steps.size - 3
    vals = trace.informative[ok][recent]
    frac = float(np.mean(vals))
    fit = stage2.linear_fit(trace, trace.informative, ref, last)
    trend = None if fit is None else fit[0] / max(1, last - ref)
    cmp = stage2.compare(frac, floor)
    change = None if trend is None else trend * 100
    word = stage2.trend_word(change)
    a, b = int(steps[recent].min()), int(steps[recent].max())
    where = f"step {a}" if a == b else f"steps {a}-{b}"
    src = f" ({derived_from})" if derived_from else ""
    msg = cmp.words(
        f"the informative-group fraction{src}",
        f"the floor 1 - f_g(p*) at {g.words}:",
        ".2f",
        f" over {where} (the log's latest steps)",
    )
    if change is not None:
        fitted = stage2.span_words(trace, trace.informative, ref, last)
        msg += (
            f"; {word} ({stage2.format_value(change, '+.3f')} per 100 steps, fitted over {fitted})"
        )
    return frac, trend, (msg, cmp.side == "below" and word == "falling", floor)


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


def analyse(log: logs.RunLog, cfg: MonitorConfig = MonitorConfig()) -> dict:
    """The stage-2 verdict with reasons. JSON fields: verdict, reasons, entropy_signal,
    entropy_drop, informative_fraction, compute_saved, provisional, state, assumptions,
    best_coverage_step (where the log holds held-out evaluations), and the details."""
    trace, keys = logs.trace(log.records, cfg.entropy_key, cfg.zero_std_key, cfg.reward_key)
    if not trace.steps.size:
        raise UserError("log has no usable rows (no logged step)")
    trainer = log.trainer
    rng = assumptions.reward_range(trace.reward, cfg.reward_range)
    g = assumptions.group_size(log.records, cfg.group_size)
    iv = assumptions.logging_interval(trace, log.logging_steps, trainer)
    trace = replace(
        trace,
        reward_range=rng.value,
        interval=iv.value["steps"],
        averaged=iv.value["averaged"],
    )
    last = int(trace.steps.max())
    pl = assumptions.planned_steps(log, cfg.planned_steps, last, stage2.steps_done(trace))
    planned, planned_src = int(pl.value), pl.words
    done = min(stage2.steps_done(trace), planned)  # a log of steps 0..planned ends the run
    derived = None
    if trace.informative is None:
        derived = trainers.derive(log.records, trainer, trace, g.value)
        if derived.informative is not None:
            trace = replace(trace, informative=derived.informative)
            keys["informative"] = logs.pick_key(log.records, "filter_pass_rate")
    reasons: list[str] = []
    cov = coverage.coverage(log.records, planned)
    cov_verdict, cov_reason = coverage.reason(cov)
    mech, mech_bound = mechanical.no_signal(trace), False
    if mech is None and derived is not None and derived.bound is not None:
        mech = mechanical.no_signal(replace(trace, informative=derived.bound))
        mech_bound = mech is not None
    if mech is not None and derived is not None and derived.dynamic_sampling:
        mech = mech | {"state": "unknown"}
    rule_used = rule_for(cfg.rule, trace, derived)
    ref, check_step, window_src = judged_window(
        cfg, rule_used or "informative", planned, planned_src
    )
    reached = last >= check_step - CHECK_STEP_TOLERANCE
    check = min(check_step, last)
    details: dict = {}
    judged_col = None  # the column the rule read, once it judged
    bound = _bound_rule(trace, derived, cfg, ref, check, reached) if check > ref else None
    if rule_used is None and bound is not None and bound[0] != "continue":
        verdict, reason, details = bound
        rule_used, judged_col = "informative", derived.bound
        details = details | {"bound": True}
        reasons.append(reason)
    elif rule_used is None:
        verdict = "continue"
        need = ", ".join(stage2.STAGE2_RULES[cfg.rule].needs)
        why = (
            ""
            if bound is None
            else " (its upper bound from the mean reward is above the rule's levels: it "
            "decides nothing)"
        )
        reasons.append(
            f"rule {cfg.rule} cannot run: it needs {need}, which the log lacks or cannot "
            f"measure{why}, and no "
            "eligible calibrated rule can be computed on its columns (reward_slope is not "
            "scale-free; paper_min needs a worst-token entropy column); continue, undetermined"
        )
    elif check <= ref:
        verdict = "continue"
        reasons.append(
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
        reasons.append(reason)
    inf_recent = trend = None
    floor = theory.informative_probability(theory.p_star(g.value), g.value)
    if trace.informative is not None:
        inf_recent, trend, fl = _floor_part(trace, ref, last, g, derived and derived.source)
        if fl is not None:
            msg, falling_below, floor = fl
            if falling_below and verdict == "continue" and mech is None and judged_col is not None:
                verdict = "watch"
                msg += ": below the floor and falling, hence watch"
            reasons.append(msg)
    elif derived is None or derived.bound is None:
        wanted = cfg.zero_std_key or " / ".join(logs.COLUMNS["zero_std"])
        reasons.append(f"informative fraction unknown: the log has no column {wanted}")
    state = "signal"
    if mech is not None:
        state = f"no_signal:{mech['state']}"
        reasons = [f"for reference, {r}" for r in reasons]
        unknown_why = None
        if derived is not None and derived.dynamic_sampling:
            unknown_why = (
                "whether solved or failed is not measurable: the logged reward averages the "
                "kept groups only"
            )
        reasons.insert(0, mechanical.no_signal_words(mech, mech_bound, unknown_why))
        verdict = "stop"
    elif trace.informative is None:
        how = (
            f"; its upper bound, {derived.bound_words}, is above the no-signal level"
            if derived is not None and derived.bound is not None
            else ""
        )
        reasons.append(f"no-signal check skipped: the log ({trainer}) has no zero-std share{how}")
        if derived is not None and derived.config_line:
            reasons.append(f"to log the zero-std share ({trainer}): {derived.config_line}")
    if derived is not None and derived.dynamic_sampling:
        reasons.append(
            f"dynamic sampling ({derived.dynamic_sampling}): not measurable here: "
            + "; ".join(derived.not_measurable)
        )
    elif derived is not None and derived.not_measurable:
        reasons.append("not measurable here: " + "; ".join(derived.not_measurable))
    if cov_reason is not None:
        reasons.insert(0, cov_reason)
        if cov_verdict == "stop":
            verdict = "stop"
    provisional = not reached and mech is None and cov_verdict != "stop"
    if provisional:
        judged_words = (
            f"the rule judged {stage2.span_words(trace, judged_col, ref, check)} (reference "
            "step to the last logged step)"
            if judged_col is not None
            else "the rule has not judged yet"
        )
        reasons.append(
            f"provisional: the check step {check_step} ({window_src}) is not reached (last "
            f"logged step {last}); {judged_words}"
        )
    elif mech is None and check < check_step and judged_col is not None:
        reasons.append(
            f"judged at step {check}, the log's last step, {check_step - check} short of "
            f"the check step {check_step}"
        )
    assumed = [a for a in (g, rng, pl) if a.source == "assumed" or "outside" in a.words]
    if assumed:
        words = [f"planned steps {a.value} {a.words}" if a is pl else a.words for a in assumed]
        reasons.append("rests on: " + "; ".join(words))
    if iv.value["steps"] > 1:
        reasons.append(f"the log holds {iv.words}")
    compute_saved = (planned - done) / planned if verdict == "stop" else 0.0
    if verdict == "stop":
        counted = f" ({done} steps done, counted from step 0)" if done != last else ""
        if pl.source == "log" and log.finished and log.max_steps is None:
            reasons.append(f"the run finished at step {last}: stopping saves nothing now")
        else:
            reasons.append(
                f"stopping now (step {last}{counted} of {planned} planned, {planned_src}) "
                f"saves {planned - done} steps, {compute_saved:.1%} of the RL compute"
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
    doom_thr = thr if thr is not None else thresholds(shown_rule, cfg)[0]
    n = trace.steps.size
    since = cov.steps[0] if cov is not None else ref
    div = labels.diverges(trace.steps, trace.reward, trace.steps, trace.entropy, since, rng.value)
    claim = stage2.stop_claim(rule_used, trace, ref, check) if judged_col is not None else None
    label, action = monitor_label.label(
        verdict, state, judged_col is not None, cov, div["diverges"], claim
    )
    return {
        "verdict": verdict,
        "label": label,
        "action": action,
        "provisional": provisional,
        "state": state,
        "no_signal": None
        if mech is None
        else {k: v for k, v in mech.items() if k != "comparison"}
        | {
            "level": mechanical.NO_SIGNAL_ZERO_STD,
            "steps": mechanical.NO_SIGNAL_STEPS,
            "bound": mech_bound,
        },
        "reasons": reasons,
        "rule": cfg.rule,
        "rule_used": rule_used,
        "rule_on_bound": bool(details.get("bound")),
        # the quantity and threshold the reasons print (e.g. the informative fraction and
        # its stop level); doom_*: the same as a doom score, higher = stop
        "rule_score": None if doom is None else shown_value(shown_rule, doom),
        "rule_threshold": shown_value(shown_rule, doom_thr),
        "rule_stops_when": stops_when(shown_rule),
        "doom_score": doom,
        "doom_threshold": doom_thr,
        "rule_accuracy": stage2_accuracy_note(shown_rule),
        "entropy_signal": ent_signal,
        "entropy_drop": drop,
        "entropy_ref": None if e_ref is None else {"step": e_ref[0], "value": e_ref[1]},
        "entropy_check": None if e_chk is None else {"step": e_chk[0], "value": e_chk[1]},
        "informative_fraction": inf_recent,
        "informative_trend_per_step": trend,
        "informative_floor": floor,
        "informative_source": None if derived is None else derived.source or derived.bound_words,
        "compute_saved": compute_saved,
        "planned_steps": planned,
        "planned_steps_source": planned_src,
        "group_size": g.value,
        "reward_range": list(rng.value),
        "assumptions": [a.to_json() for a in (g, rng, pl, iv)],
        "trainer": trainer,
        "dynamic_sampling": None if derived is None else derived.dynamic_sampling,
        "config_line": None if derived is None else derived.config_line,
        "coverage": None if cov is None else cov.to_json(),
        "best_coverage_step": None if cov is None else cov.keep_step,
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
        if rule_used is None or thr is None or details.get("bound")
        else panels.signal_panel(trace, rule_used, ref, check, thr, keys),
        "series": {
            "step": trace.steps.tolist(),
            "entropy": panels.col_list(trace.entropy, n),
            "informative": panels.col_list(trace.informative, n),
            "reward": panels.col_list(trace.reward, n),
        },
    }


def basis(rep: dict) -> str:
    """What a report's verdict rests on, in words (the CLI and report.md print it)."""
    used = rep.get("rule_used")
    if rep.get("state", "signal").startswith("no_signal"):
        what = f"no signal: {rep['state'].split(':', 1)[1]}, a fact of the log"
    elif rep.get("rule_on_bound"):
        what = f"rule {used} on an upper bound of the informative share from the mean reward"
    elif used in ("paper", "paper_min"):
        what = f"rule {used}; signal: {rep['entropy_signal']}"
    elif used:
        sig = rep.get("signal") or {}
        what = f"rule {used}; signal: {sig.get('name', '?')} ({panels.signal_source(sig)})"
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


def analyse_records(
    records: list[dict], cfg: MonitorConfig = MonitorConfig(), max_steps=None, logging_steps=None
):
    """:func:`analyse` on in-memory TRL log records (the live callback); ``logging_steps``:
    the steps (rounds) between logs, each value TRL's mean over them."""
    recs = logs.merge_by_step([logs._strip_prefix(r) for r in records])
    return analyse(logs.RunLog("<live>", "trl", recs, max_steps, [], logging_steps), cfg)
