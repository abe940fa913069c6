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

from dataclasses import replace
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.verdicts import (
    assumptions,
    coverage,
    labels,
    logs,
    mechanical,
    monitor_label,
    monitor_report,
    monitor_run,
    stage2,
)
from rankinv.verdicts.assumptions import DEFAULT_PLANNED_STEPS  # noqa: F401 (public name)
from rankinv.verdicts.monitor_config import MonitorConfig  # public name
from rankinv.verdicts.monitor_rules import (  # noqa: F401 (public names)
    CHECK_STEP_TOLERANCE,
    RuleVerdict,
    eligible,
    fallback,
    judged_window,
    rule_for,
    rule_part,
    rule_verdict,
    shown_value,
    stops_when,
    thresholds,
)
from rankinv.verdicts.monitor_run import JudgedRun

VERDICTS = ("continue", "watch", "stop")


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


def _informative_part(run: JudgedRun, cfg: MonitorConfig, rv: RuleVerdict, mech, verdict):
    """(verdict, reasons, fraction, trend per step, floor): the informative share against
    its floor 1 - f_g(p*); below it and falling raises a rule's continue to watch."""
    trace, derived, g = run.trace, run.derived, run.g
    floor = theory.informative_probability(theory.p_star(g.value), g.value)
    if trace.informative is None:
        if derived is None or derived.bound is None:
            wanted = cfg.zero_std_key or " / ".join(logs.COLUMNS["zero_std"])
            return (
                verdict,
                [f"informative fraction unknown: the log has no column {wanted}"],
                None,
                None,
                floor,
            )
        return verdict, [], None, None, floor
    inf_recent, trend, fl = _floor_part(trace, rv.ref, run.last, g, derived and derived.source)
    if fl is None:
        return verdict, [], inf_recent, trend, floor
    msg, falling_below, floor = fl
    if falling_below and verdict == "continue" and mech is None and rv.judged_col is not None:
        verdict = "watch"
        msg += ": below the floor and falling, hence watch"
    return verdict, [msg], inf_recent, trend, floor


def _mechanical(run: JudgedRun):
    """(the no-signal state or None, whether it was found on an upper bound of the
    informative share)."""
    trace, derived = run.trace, run.derived
    mech, on_bound = mechanical.no_signal(trace), False
    if mech is None and derived is not None and derived.bound is not None:
        mech = mechanical.no_signal(replace(trace, informative=derived.bound))
        on_bound = mech is not None
    if mech is not None and derived is not None and derived.dynamic_sampling:
        mech = mech | {"state": "unknown"}
    return mech, on_bound


def _no_signal_reasons(run: JudgedRun, mech, on_bound: bool, reasons: list[str]) -> list[str]:
    """With no signal left, the fact first and the reasons so far "for reference"; on a log
    without a zero-std share, that the check was skipped and the line that would log it."""
    derived, trainer = run.derived, run.log.trainer
    if mech is not None:
        unknown_why = None
        if derived is not None and derived.dynamic_sampling:
            unknown_why = (
                "whether solved or failed is not measurable: the logged reward averages the "
                "kept groups only"
            )
        fact = mechanical.no_signal_words(mech, on_bound, unknown_why)
        return [fact] + [f"for reference, {r}" for r in reasons]
    reasons = list(reasons)
    if run.trace.informative is None:
        how = (
            f"; its upper bound, {derived.bound_words}, is above the no-signal level"
            if derived is not None and derived.bound is not None
            else ""
        )
        reasons.append(f"no-signal check skipped: the log ({trainer}) has no zero-std share{how}")
        if derived is not None and derived.config_line:
            reasons.append(f"to log the zero-std share ({trainer}): {derived.config_line}")
    return reasons


def _not_measurable(derived) -> list[str]:
    """What the trainer's metrics leave unmeasurable (dynamic sampling drops groups)."""
    if derived is not None and derived.dynamic_sampling:
        return [
            f"dynamic sampling ({derived.dynamic_sampling}): not measurable here: "
            + "; ".join(derived.not_measurable)
        ]
    if derived is not None and derived.not_measurable:
        return ["not measurable here: " + "; ".join(derived.not_measurable)]
    return []


def _window_notes(run: JudgedRun, rv: RuleVerdict, provisional: bool, mech) -> list[str]:
    """Where the judged window stands: not reached yet (provisional), or judged short of it."""
    last = run.last
    if provisional:
        judged_words = (
            f"the rule judged {stage2.span_words(run.trace, rv.judged_col, rv.ref, rv.check)} "
            "(reference step to the last logged step)"
            if rv.judged_col is not None
            else "the rule has not judged yet"
        )
        return [
            f"provisional: the check step {rv.check_step} ({rv.window_src}) is not reached "
            f"(last logged step {last}); {judged_words}"
        ]
    if mech is None and rv.check < rv.check_step and rv.judged_col is not None:
        return [
            f"judged at step {rv.check}, the log's last step, {rv.check_step - rv.check} short "
            f"of the check step {rv.check_step}"
        ]
    return []


def _rests_on(run: JudgedRun) -> list[str]:
    """The assumed quantities (and any range the data contradicted), the logging interval."""
    g, rng, pl, iv = run.g, run.rng, run.pl, run.iv
    out = []
    assumed = [a for a in (g, rng, pl) if a.source == "assumed" or "outside" in a.words]
    if assumed:
        words = [f"planned steps {a.value} {a.words}" if a is pl else a.words for a in assumed]
        out.append("rests on: " + "; ".join(words))
    if iv.value["steps"] > 1:
        out.append(f"the log holds {iv.words}")
    return out


def _compute_saved(run: JudgedRun, verdict: str) -> tuple[float, list[str]]:
    """The share of the planned RL compute a stop now saves, and its words."""
    if verdict != "stop":
        return 0.0, []
    last, planned, done, log = run.last, run.planned, run.done, run.log
    saved = (planned - done) / planned
    counted = f" ({done} steps done, counted from step 0)" if done != last else ""
    if run.pl.source == "log" and log.finished and log.max_steps is None:
        return saved, [f"the run finished at step {last}: stopping saves nothing now"]
    return saved, [
        f"stopping now (step {last}{counted} of {planned} planned, {run.planned_src}) "
        f"saves {planned - done} steps, {saved:.1%} of the RL compute"
    ]


def analyse(log: logs.RunLog, cfg: MonitorConfig | None = None) -> dict:
    """The stage-2 verdict with reasons. JSON fields: verdict, reasons, entropy_signal,
    entropy_drop, informative_fraction, compute_saved, provisional, state, assumptions,
    best_coverage_step (where the log holds held-out evaluations), and the details
    (``rankinv.verdicts.monitor_report``).

    In order: the rule on its window; the informative share against its floor (watch when
    below and falling); the mechanical no-signal state (stop, a fact of the log); held-out
    coverage falling beyond its noise (stop, stated first)."""
    cfg = cfg or MonitorConfig()
    run = monitor_run.read(log, cfg)
    cov = coverage.coverage(log.records, run.planned)
    cov_verdict, cov_reason = coverage.reason(cov)
    mech, mech_bound = _mechanical(run)
    rv = rule_verdict(run, cfg)
    verdict, more, inf_recent, trend, floor = _informative_part(run, cfg, rv, mech, rv.verdict)
    reasons = _no_signal_reasons(run, mech, mech_bound, [*rv.reasons, *more])
    reasons += _not_measurable(run.derived)
    state = "signal" if mech is None else f"no_signal:{mech['state']}"
    if mech is not None:
        verdict = "stop"
    if cov_reason is not None:
        reasons.insert(0, cov_reason)
        if cov_verdict == "stop":
            verdict = "stop"
    provisional = not rv.reached and mech is None and cov_verdict != "stop"
    reasons += _window_notes(run, rv, provisional, mech)
    reasons += _rests_on(run)
    compute_saved, saved_words = _compute_saved(run, verdict)
    reasons += saved_words
    trace = run.trace
    since = cov.steps[0] if cov is not None else rv.ref
    div = labels.diverges(
        trace.steps, trace.reward, trace.steps, trace.entropy, since, run.rng.value
    )
    judged = rv.judged_col is not None
    claim = stage2.stop_claim(rv.rule_used, trace, rv.ref, rv.check) if judged else None
    label, action = monitor_label.label(verdict, state, judged, cov, div["diverges"], claim)
    # what set the verdict, for readers that draw it (the report's figures)
    if cov_verdict == "stop":
        decided_by = "coverage"
    elif mech is not None:
        decided_by = "no_signal"
    elif verdict != rv.verdict:
        decided_by = "informative_floor"  # the floor raised the rule's continue to watch
    else:
        decided_by = "rule" if judged else None
    out = monitor_report.report(
        run,
        cfg,
        rv,
        monitor_report.Decision(
            verdict, label, action, provisional, state, mech, mech_bound, reasons, compute_saved
        ),
        monitor_report.Informative(inf_recent, trend, floor),
        cov,
    )
    out["decided_by"] = decided_by
    return out


def monitor(path: str | Path, cfg: MonitorConfig | None = None) -> dict:
    """Read the log at ``path`` and return :func:`analyse`'s report."""
    cfg = cfg or MonitorConfig()
    return analyse(logs.read_log(path, cfg.step_key), cfg)


def analyse_records(
    records: list[dict], cfg: MonitorConfig | None = None, max_steps=None, logging_steps=None
):
    """:func:`analyse` on in-memory TRL log records (the live callback); ``logging_steps``:
    the steps (rounds) between logs, each value TRL's mean over them."""
    recs = logs.merge_by_step([logs._strip_prefix(r) for r in records])
    return analyse(logs.RunLog("<live>", "trl", recs, max_steps, [], logging_steps), cfg)
