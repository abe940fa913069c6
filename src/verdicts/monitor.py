"""Stage-2 monitor: read a GRPO run's log and decide continue / watch / stop.

First the mechanical state of the log, stated as fact (``mechanical.no_signal``): when (almost)
every group has zero reward variance the policy gradient is (nearly) zero, so the monitor
says stop, saturated (reward at its maximum) or stranded (at its minimum), whatever any rule
predicts. Then the calibrated rule (``MonitorConfig.rule``; default: the scale-free rule that
scored best on held-out simulated settings, ``rankinv calibrate``) speaks on runs that still
carry signal; ``rule="paper"`` is the paper's rule exactly (Aphale & Liu, arXiv 2606.18487:
the relative entropy drop between RL step 10 and step 150 above 0.5). The log is read by
``rankinv.verdicts.logs`` (TRL, JSONL, verl, CSV, TensorBoard); scores and thresholds come
from ``rankinv.verdicts.stage2``. Decide, then explain: :func:`decide` returns a typed
:class:`~rankinv.verdicts.monitor_report.MonitorResult` (the verdict, its label and action, the
numbers it rests on); ``rankinv.verdicts.words.monitor`` phrases it (its ``reasons``), from
the same comparisons with each threshold (``stage2.compare``).

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
interval) is given, read from the log or named as assumed (``rankinv.verdicts.assumptions``);
an assumed g is checked by deciding again at the usual range of g (:func:`check_group_size`).
A log that goes on past its check step is judged there, as it would have been live; what its
later steps show is noted (:func:`judge_later`), never read into the verdict.
Compute saved counts from the log's last step to the planned total. Several logs of one
sweep are judged against each other at their common step (``rankinv.verdicts.sweep``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rankinv.verdicts import (
    assumptions,
    coverage,
    labels,
    logs,
    mechanical,
    monitor_label,
    monitor_run,
    stage2,
)
from rankinv.verdicts.assumptions import GroupSizeCheck, Outcome
from rankinv.verdicts.mechanical import NoSignal
from rankinv.verdicts.monitor_config import MonitorConfig  # public name
from rankinv.verdicts.monitor_decision import LaterSteps
from rankinv.verdicts.monitor_floor import floor
from rankinv.verdicts.monitor_report import MonitorResult
from rankinv.verdicts.monitor_rules import rule_verdict
from rankinv.verdicts.monitor_run import JudgedRun

VERDICTS = ("continue", "watch", "stop")


def _mechanical(run: JudgedRun) -> tuple[NoSignal | None, bool]:
    """(the no-signal state or None, whether it was found on an upper bound of the
    informative share); under dynamic sampling solved or failed cannot be told (unknown)."""
    trace, derived = run.trace, run.derived
    mech, on_bound = mechanical.no_signal(trace), False
    if mech is None and derived is not None and derived.bound is not None:
        mech = mechanical.no_signal(replace(trace, informative=derived.bound))
        on_bound = mech is not None
    if mech is not None and derived is not None and derived.dynamic_sampling:
        mech = replace(mech, state="unknown")
    return mech, on_bound


def _compute_saved(run: JudgedRun, verdict: str) -> float:
    """The share of the planned RL compute a stop now saves (0 unless stop)."""
    return 0.0 if verdict != "stop" else monitor_run.saved_share(run.planned, run.now.done)


def decide(run: JudgedRun, cfg: MonitorConfig) -> MonitorResult:
    """The stage-2 decision on a run, in order: the rule on its window; the informative
    share against its floor (watch when below and falling); the mechanical no-signal state
    (stop, a fact of the log); held-out coverage falling beyond its noise (stop)."""
    # the held-out coverage rule is a sequential test over every evaluation logged; every
    # other number the verdict quotes comes from steps up to its check step
    cov = coverage.coverage(run.log.records, run.planned)
    run = monitor_run.upto(run, cfg, rule_verdict(run, cfg).check_step)
    cov_stop = cov is not None and cov.fell
    mech, mech_bound = _mechanical(run)
    rv = rule_verdict(run, cfg)
    fl = floor(run, rv, mech is not None, None if mech is None else mech.window)
    verdict = "watch" if fl.raised else rv.verdict
    state = "signal" if mech is None else f"no_signal:{mech.state}"
    if mech is not None or cov_stop:
        verdict = "stop"
    trace = run.trace
    since = cov.steps[0] if cov is not None else rv.ref
    div = labels.diverges(
        trace.steps, trace.reward, trace.steps, trace.entropy, since, run.rng.value
    )
    judged = rv.judged_col is not None
    claim = stage2.stop_claim(rv.rule_used, trace, rv.ref, rv.check) if judged else None
    fell = labels.collapse(trace.steps, trace.reward, run.rng.value) if mech else None
    label, action = monitor_label.label(
        verdict, state, judged, cov, div["diverges"], claim, run.simulated, fell
    )
    # what set the verdict, for readers that draw it (the report's figures)
    if cov_stop:
        decided_by = "coverage"
    elif mech is not None:
        decided_by = "no_signal"
    elif fl.raised:
        decided_by = "informative_floor"  # the floor raised the rule's continue to watch
    else:
        decided_by = "rule" if judged else None
    return MonitorResult(
        verdict=verdict,
        label=label,
        action=action,
        provisional=not rv.reached and mech is None and not cov_stop,
        state=state,
        decided_by=decided_by,
        compute_saved=_compute_saved(run, verdict),
        run=run,
        config=cfg,
        rule=rv,
        floor=fl,
        no_signal=mech,
        no_signal_on_bound=mech_bound,
        coverage=cov,
    )


def outcome(res: MonitorResult) -> Outcome:
    """What a result tells the user to do: its verdict, label and action."""
    return Outcome(res.verdict, res.label, res.action)


def check_group_size(log: logs.RunLog, cfg: MonitorConfig, res: MonitorResult) -> GroupSizeCheck:
    """``res`` (g assumed) re-decided at each g of the usual range, the rest as judged."""
    at = {}
    for g in assumptions.CHECK_GROUP_SIZES:
        at_g = replace(cfg, group_size=g)
        at[g] = outcome(decide(monitor_run.read(log, at_g), at_g))
    return GroupSizeCheck(int(res.run.g.value), outcome(res), at)


def judge_later(log: logs.RunLog, cfg: MonitorConfig, res: MonitorResult) -> LaterSteps:
    """What ``log`` shows after the check step ``res`` was judged at: the decision at its
    last step (the check step moved there, as --check-step does) and the mean reward over the
    last quarter of the steps judged, to the check step and to the last step."""
    last, ref = res.run.logged_last, res.rule.ref
    at_last = replace(cfg, check_step=last)
    there = decide(monitor_run.read(log, at_last), at_last)
    t = res.run.now.trace
    lo, hi = t.reward_range

    def reward(check: int) -> float | None:  # as the reward-edge rule reads it
        pos = stage2.reward_position(t, ref, check)
        return None if pos is None else lo + pos * (hi - lo)

    claim = there.decided_by == "rule" and there.verdict == "stop" and there.coverage is None
    return LaterSteps(
        last, outcome(there), res.rule.check, reward(res.rule.check), reward(last),
        there.rule.rule_used if claim else None,
    )  # fmt: skip


def analyse(
    log: logs.RunLog, cfg: MonitorConfig | None = None, checks: bool = True
) -> MonitorResult:
    """The stage-2 verdict on a read log (:func:`decide` on the run as judged under ``cfg``);
    with ``checks``, an assumed g checked at the usual range of g (:func:`check_group_size`)
    and, on a log that goes on past the check step, what its later steps show
    (:func:`judge_later`)."""
    cfg = cfg or MonitorConfig()
    res = decide(monitor_run.read(log, cfg), cfg)
    if checks and res.run.g.source == "assumed":
        res = replace(res, group_size_check=check_group_size(log, cfg, res))
    if checks and res.run.logged_last is not None:
        res = replace(res, later=judge_later(log, cfg, res))
    return res


def monitor(path: str | Path, cfg: MonitorConfig | None = None) -> MonitorResult:
    """Read the log at ``path`` and return :func:`analyse`'s result."""
    cfg = cfg or MonitorConfig()
    return analyse(logs.read_log(path, cfg.step_key), cfg)


def analyse_records(
    records: list[dict],
    cfg: MonitorConfig | None = None,
    max_steps: int | None = None,
    logging_steps: int | None = None,
) -> MonitorResult:
    """:func:`analyse` on in-memory TRL log records (the live callback); ``logging_steps``:
    the steps (rounds) between logs, each value TRL's mean over them."""
    recs = logs.merge_by_step([logs._strip_prefix(r) for r in records])
    # live, the log is judged as it grows (past the check step, still there): no later
    # decision to note; g is the trainer's
    run_log = logs.RunLog("<live>", "trl", recs, max_steps, [], logging_steps)
    return analyse(run_log, cfg, checks=False)
