"""A stage-2 decision in words (:func:`reasons`), in the order a reader needs them: held-out
coverage first where the log has evaluations; the no-signal fact (with the rule's words "for
reference") or the rule and the informative floor; what the log cannot measure; where the
judged window stands; what the verdict rests on (assumed quantities, the logging interval);
the compute a stop saves. :func:`basis`: what a report's verdict rests on, from its JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rankinv.verdicts import logs, panels, stage2
from rankinv.verdicts.coverage import TEST_NAME, Coverage
from rankinv.verdicts.mechanical import (
    NO_SIGNAL_STEPS,
    NO_SIGNAL_ZERO_STD,
    NoSignal,
    zero_std_share,
)
from rankinv.verdicts.monitor_decision import MonitorDecision
from rankinv.verdicts.monitor_rules import RuleVerdict, shown_value, stops_when
from rankinv.verdicts.rules import stage2_accuracy_note
from rankinv.verdicts.trace import drop_span
from rankinv.verdicts.words.monitor_checks import (
    coverage_untested,
    entropy_words,
    floor_no_watch,
    group_size_words,
    later_words,
    past_end_words,
    points_words,
    quarter_words,
    rule_choice_words,
    state_fact,
    trend_words,
    unfitted_trend,
)


def reasons(d: MonitorDecision) -> list[str]:
    """Every reason of a decision, in order (see the module docstring)."""
    run = d.run
    said = [rule_words(d.rule, d), *floor_words(d)]
    if d.no_signal is not None:
        out = [no_signal_words(d)] + [f"for reference, {r}" for r in said]
    else:
        out = said + _skipped_check(d)
    out += _not_measurable(run.derived)
    out += entropy_words(d)
    cov = coverage_words(d.coverage, run.simulated)
    if cov is not None:
        out.insert(0, cov)
    return out + _window_notes(d) + _rests_on(d) + _saved(d)


# ---------------------------------------------------------------- the rule
def rule_words(rv: RuleVerdict, d: MonitorDecision) -> str:
    """The rule's verdict, the quantity it read against its levels, and its accuracy."""
    rule = rv.rule_used
    if rv.status == "cannot_run":
        return _cannot_run(rv, d)
    if rv.status == "too_early":
        return (
            f"rule {rule}: not enough steps to judge yet (it judges steps {rv.ref} to "
            f"{rv.check_step}; the last logged step is {d.run.last}); continue for now"
        )
    if rv.status == "not_computable":
        text = f"rule {rule}: not computable on steps {rv.ref}-{rv.check} yet"
    else:
        head = f"rule {rule}"
        if rv.on_bound:
            head += f" on a bound ({d.run.derived.bound_words})"
        text = f"{head}: {_judged(rv, d)}; {rv.verdict} ({stage2_accuracy_note(rule)})"
    choice = rule_choice_words(rv, d.run.trace, d.run.derived)
    return text + (f" [{choice}]" if choice else "")


def _cannot_run(rv: RuleVerdict, d: MonitorDecision) -> str:
    why = (
        "; its upper bound from the mean reward is above the rule's levels: it decides nothing"
        if rv.bound_continues
        else ""
    )
    return f"{rule_choice_words(rv, d.run.trace, d.run.derived)}{why}; continue, undetermined"


def _judged(rv: RuleVerdict, d: MonitorDecision) -> str:
    """What the rule read over its window, against its stop level (and watch level)."""
    rule, score, ref, check = rv.rule_used, rv.score, rv.ref, rv.check
    trace = d.run.trace
    if rv.on_bound:
        trace = replace(trace, informative=d.run.derived.bound)
    stop_cmp = stage2.compare(shown_value(rule, score), shown_value(rule, rv.threshold))
    col = getattr(trace, stage2.STAGE2_RULES[rule].needs[-1])
    span = stage2.span_words(trace, col, ref, check)
    window = f"over {span}"
    if rule in ("paper", "paper_min"):
        window = f"over {drop_span(trace, col, ref, check)}"
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
        lo = stage2.recent_start(ref, check)
        text = stop_cmp.words(
            "the informative-group fraction" + ("'s upper bound" if rv.on_bound else ""),
            "the stop level",
            ".2f",
            f" over {stage2.span_words(trace, col, lo, check)} ({quarter_words(trace, span)})",
        )
    elif rule == "reward_edge":
        text = reward_edge_words(rv, trace, stop_cmp, span)
    elif rule == "reward_trend":
        text = (
            f"the mean reward rose by {-score:+.3f} of its range over the last half of {span}: "
            + stop_cmp.words("the rise", "the stop level", "+.3f")
            + " (a free baseline)"
        )
    elif rule == "combined":
        text = (
            f"(informative fraction - 1) + the reward's gain as a share of its headroom {window}: "
            + stop_cmp.words("the sum", "the stop level", "+.2f")
        )
    elif stops_when(rule) == "below":
        what = "mean reward" if rule == "reward_slope" else "informative-group fraction"
        text = f"the {what} changed by {-score:+.3f} {window}: " + stop_cmp.words(
            "the change", "the stop level", "+.3f"
        )
    else:
        text = f"{stage2.STAGE2_RULES[rule].description} {window}: " + stop_cmp.words(
            "the score", "the stop threshold"
        )
    return text + _watch_words(rv, d)


#: Where the reward-edge rule finds the recent mean reward, by the side of its score's
#: comparison with the stop level: the headline, then the distance against the stop distance.
_EDGE_SIDE = {
    "above": ("sat at an edge of its range", "within"),
    "at": ("sat at the stop distance from an edge of its range, not within it", "at"),
    "below": ("was not at an edge of its range", "farther than"),
}


def reward_edge_words(rv: RuleVerdict, trace, stop_cmp: stage2.Comparison, span: str) -> str:
    """The reward-edge baseline in one sentence: where the mean reward sat, over which
    steps, how far from the nearer edge of its range against the stop distance, and the
    rule's score against its stop level (the numbers the JSON carries)."""
    lo, hi = trace.reward_range
    pos = rv.reward_position
    edge, at = ("its minimum", lo) if pos < stage2.EDGE_MIDDLE else ("its maximum", hi)
    head, against = _EDGE_SIDE[stop_cmp.side]
    recent = stage2.span_words(
        trace, rv.judged_col, stage2.recent_start(rv.ref, rv.check), rv.check
    )
    shown = f"{lo + pos * (hi - lo):.3f}"  # rounded once: the share is of the value shown
    shown_dist = stage2.edge_distance((float(shown) - lo) / (hi - lo))
    stop_dist = stage2.EDGE_MIDDLE - rv.threshold
    score = stage2.format_value(stop_cmp.value, ".3f")
    thr = stage2.format_value(stop_cmp.threshold, ".3f")
    return (
        f"the mean reward {head}: over {recent} ({quarter_words(trace, span)}) it "
        f"averaged {shown}, {shown_dist:.1%} of its range from {edge} {at:g}, "
        f"{against} the stop distance {stop_dist:.1%} (the rule's score, "
        f"{stage2.EDGE_MIDDLE:g} minus that distance, is {score}: {stop_cmp.side} its stop "
        f"level {thr}; a free baseline: watching the reward)"
    )


def _watch_words(rv: RuleVerdict, d: MonitorDecision) -> str:
    """Why a watch: a stop before the check step, or the quantity past the watch level."""
    if rv.verdict != "watch":
        return ""
    if rv.stop_side == stops_when(rv.rule_used) and not rv.reached:
        return "; a stop before the check step is a provisional watch"
    rule = rv.rule_used
    fmt = {"paper": ".0%", "paper_min": ".0%", "informative": ".2f"}.get(rule, "+.3f")
    of = f"{d.config.watch_fraction:g} of the stop threshold" if rule == "paper" else "calibrated"
    level = f"the watch level {stage2.format_value(shown_value(rule, rv.watch_threshold), fmt)}"
    return f"; it is {rv.watch_side} {level} ({of}), hence watch"


# ---------------------------------------------------------------- the informative floor
def floor_words(d: MonitorDecision) -> list[str]:
    """The informative share against its floor, its trend, and whether it raised a watch;
    or that the share is unknown (no column, no bound)."""
    run, fl = d.run, d.floor
    trace, derived = run.trace, run.derived
    if trace.informative is None:
        if derived is None or derived.bound is None:
            wanted = d.config.zero_std_key or " / ".join(logs.COLUMNS["zero_std"])
            return [f"informative fraction unknown: the log has no column {wanted}"]
        return []
    if fl.fraction is None:
        return []
    a, b = fl.window
    where = f"step {a}" if a == b else f"steps {a}-{b}"
    src = f" ({derived.source})" if derived is not None and derived.source else ""
    msg = fl.comparison.words(
        f"the informative-group fraction{src}",
        f"the floor 1 - f_g(p*) at {run.g.words}:",
        ".2f",
        f" over {where} (the latest steps judged)",
    )
    if fl.change is not None:
        fitted = stage2.span_words(trace, trace.informative, d.rule.ref, run.last)
        msg += "; " + trend_words(fl.change, fitted, stage2.trend_word(fl.change_per_100))
    elif fl.comparison.side == "below":
        msg += "; " + unfitted_trend(trace, d.rule.ref, run.last)
    if fl.raised:
        msg += ": below the floor and falling, hence watch"
    elif fl.falling_below:
        msg += ": below the floor and falling, " + floor_no_watch(d.rule, d.no_signal is not None)
    return [msg]


# ---------------------------------------------------------------- no signal
#: The no-signal states in words; "stranded" and "saturated" say "every sample" only when
#: the mean reward is exactly at its edge (``NoSignal.at_edge``).
_STATE_WORDS = {
    "mixed": "mixed: every group is all-pass or all-fail with the reward between the edges "
    "(some prompts solved in every sample, the rest failed in every sample)",
}


def state_words(ns: NoSignal) -> str:
    """What the no-signal state says of the prompts, true to the mean reward: "every sample
    fails" only at a reward of exactly its minimum, else "almost every" with the reward."""
    lo, hi = ns.reward_range
    if ns.state in ("stranded", "saturated"):
        fails = ns.state == "stranded"
        head, edge = state_fact(ns.state), ("minimum", lo) if fails else ("maximum", hi)
        if ns.at_edge:
            end = "every sample fails" if fails else "the training prompts are solved"
            return f"{head}: the reward is at its {edge[0]}, {end}"
        most = "almost every sample fails" if fails else "almost every sample passes"
        return f"{head}: {most}: mean reward {ns.reward:.3f} (the {edge[0]} is {edge[1]:g})"
    return _STATE_WORDS.get(ns.state, "the log has no reward to say whether solved or failed")


def no_signal_words(d: MonitorDecision) -> str:
    """The no-signal fact: the zero-std share against its level, the gradient it leaves, the
    state; on a bound of the share (from the mean reward) said so."""
    ns, bound, derived = d.no_signal, d.no_signal_on_bound, d.run.derived
    what = state_words(ns)
    if ns.state == "unknown" and derived is not None and derived.dynamic_sampling:
        what = (
            "whether solved or failed is not measurable: the logged reward averages the kept "
            "groups only"
        )
    a, b = ns.window
    name = "the zero-std group share" if not bound else "the zero-std group share's lower bound"
    how = "" if not bound else " (derived from the mean reward, pass/fail rewards)"
    return (
        f"no signal (a fact of the log{how}, whatever the rule): "
        + ns.comparison.words(name, "the no-signal level", ".3f", f" over steps {a}-{b}")
        + f" (no signal: at or above it; {points_words(ns.points, ns.per_point)}), so the "
        + "policy gradient "
        + f"is (nearly) zero with beta = 0; {what}; stop"
    )


def _skipped_check(d: MonitorDecision) -> list[str]:
    """On a log without a zero-std share: that the no-signal check was skipped, and the
    configuration line that would log the share."""
    run = d.run
    derived, trainer = run.derived, run.log.trainer
    if run.trace.informative is not None:
        return []
    how = ""
    if derived is not None and derived.bound is not None:
        got = zero_std_share(replace(run.trace, informative=derived.bound))
        how = f"; the informative share's upper bound ({derived.bound_words})" + (
            f" cannot be averaged over {NO_SIGNAL_STEPS} steps yet"
            if got is None
            else f" averages {1 - got[0]:.3f} over {stage2.steps_words(got[1])}, so the "
            f"zero-std share is at least {got[0]:.3f}, below the no-signal level "
            f"{NO_SIGNAL_ZERO_STD:.3f}: the bound cannot show no signal"
        )
    out = [f"no-signal check skipped: the log ({trainer}) has no zero-std share{how}"]
    if derived is not None and derived.config_line:
        out.append(f"to log the zero-std share ({trainer}): {derived.config_line}")
    return out


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


# ---------------------------------------------------------------- coverage
def coverage_words(cov: Coverage | None, simulated: bool = False) -> str | None:
    """The coverage rule in words: fell beyond its noise (stop, the step to keep), not
    fallen, or not tested without standard errors (on a simulation: exact values, no noise
    to test against); None without evaluations."""
    if cov is None:
        return None
    at = f"held-out pass@{cov.k or 'k'} ({cov.key}{'' if cov.k else ': k not stated in the log'})"
    best = f"its best {cov.best_value:.3f} at step {cov.best_step}"
    if cov.ses is None:
        return (
            f"coverage: {at} went from {cov.values[0]:.3f} at step {cov.steps[0]} to "
            f"{cov.values[-1]:.3f} at step {cov.steps[-1]}, {best}; "
            + coverage_untested(cov.key, simulated)
        )
    test = (
        f"{TEST_NAME} (z* = {cov.z_crit:.2f} over the {cov.planned_looks} planned "
        f"looks): a false stop in at most {cov.alpha:.0%} of runs that keep their coverage"
    )
    if cov.fell:
        return (
            f"coverage: {at} fell from an earlier evaluation by more than its noise at step "
            f"{cov.fell_at} ({test}); stop and keep the checkpoint of step {cov.keep_step} "
            f"(pass@{cov.k} {cov.values[cov.steps.index(cov.keep_step)]:.3f})"
        )
    z = "" if cov.z_max is None else f" (largest fall z = {cov.z_max:.2f})"
    return (
        f"coverage: {at} {cov.values[-1]:.3f} at step {cov.steps[-1]} has not fallen from "
        f"{best} beyond its noise{z}, {test}; the step to keep so far: {cov.best_step}"
    )


# ---------------------------------------------------------------- window, basis, savings
def _window_notes(d: MonitorDecision) -> list[str]:
    """Where the judged window stands: not reached yet (provisional), or judged short of it."""
    rv, last = d.rule, d.run.last
    if d.later is not None:
        return [later_words(d.later, rv.check_step, rv.window_src, last, d.coverage is not None)]
    if d.run.logged_last is not None:
        return [
            f"judged at the check step {rv.check_step} ({rv.window_src}): the rule, the "
            f"informative floor and the no-signal check read steps up to {last} only; the "
            f"log's steps after {last} (to step {d.run.logged_last}) are not read (give "
            "--check-step to judge a later step)"
            + ("; the coverage rule reads every held-out evaluation" if d.coverage else "")
        ]
    if d.provisional:
        judged_words = (
            f"the rule judged {stage2.span_words(d.run.trace, rv.judged_col, rv.ref, rv.check)} "
            "(reference step to the last logged step)"
            if rv.judged_col is not None
            else "the rule has not judged yet"
        )
        after = rv.check_step > d.run.planned  # e.g. the paper's 150 on a 40-step run
        return [
            f"provisional: the check step {rv.check_step} ({rv.window_src}) is not reached "
            f"(last logged step {last}); {judged_words}"
            + (past_end_words(d.run.planned, d.run.planned_src) if after else "")
        ]
    if d.no_signal is None and rv.check < rv.check_step and rv.judged_col is not None:
        return [
            f"judged at step {rv.check}, the log's last step, {rv.check_step - rv.check} short "
            f"of the check step {rv.check_step}"
        ]
    return []


def _rests_on(d: MonitorDecision) -> list[str]:
    """The assumed quantities (and any range the data contradicted), the logging interval."""
    g, rng, pl, iv = d.assumptions
    out = []
    assumed = [a for a in (g, rng, pl) if a.source == "assumed" or "outside" in a.words]
    if assumed:
        words = [f"planned steps {a.value} {a.words}" if a is pl else a.words for a in assumed]
        out.append("rests on: " + "; ".join(words))
    if d.group_size_check is not None:
        out.append(group_size_words(d.group_size_check))
    if iv.value["steps"] > 1:
        out.append(f"the log holds {iv.words}")
    return out


def _counted(run) -> str:
    """How steps done were counted, where they differ from the last step's number."""
    return f" ({run.done} steps done, counted from step 0)" if run.done != run.last else ""


def _saved(d: MonitorDecision) -> list[str]:
    """What a stop now saves, in steps and as a share of the planned RL compute (and,
    judged short of a finished log's end, what it saved then)."""
    if d.verdict != "stop":
        return []
    run = d.run.now
    last, planned, done = run.last, run.planned, run.done
    if run.pl.source == "log" and run.finished and run.log.max_steps is None:
        return [f"the run finished at step {last}: stopping saves nothing now"]
    out = [
        f"stopping now (step {last}{_counted(run)} of {planned} planned, {run.planned_src}) "
        f"saves {planned - done} steps, {d.compute_saved:.1%} of the RL compute"
    ]
    if d.compute_saved_at_check is not None:
        judged = d.run
        out.append(
            f"judged live at step {judged.last}{_counted(judged)}, as here, the stop would "
            f"have saved {planned - judged.done} of the {planned} planned steps, "
            f"{d.compute_saved_at_check:.1%} of the RL compute"
        )
    return out


def basis(rep: Mapping) -> str:
    """What a report's verdict rests on, in words, from its JSON (the CLI and report.md)."""
    used = rep.get("rule_used")
    decided = rep.get("decided_by")
    if decided == "coverage":
        what = "held-out coverage fell beyond its noise"
        best = rep.get("best_coverage_step")
        what += "" if best is None else f"; keep step {best}"
    elif decided == "informative_floor":
        what = f"the informative-group share below its floor and falling (rule {used}: continue)"
    elif rep.get("state", "signal").startswith("no_signal"):
        what = f"no signal: {state_fact(rep['state'])}, a fact of the log"
    elif rep.get("rule_on_bound"):
        what = f"rule {used} on an upper bound of the informative share from the mean reward"
    elif used in ("paper", "paper_min"):
        what = f"rule {used}; signal: {rep['entropy_signal']}"
    elif used and rep.get("rule_status") in ("too_early", "not_computable"):
        what = (
            f"rule {used}: too few steps to judge yet"
            if rep["rule_status"] == "too_early"
            else f"rule {used}: not computable on its window yet"
        )
    elif used:
        sig = rep.get("signal") or {}
        what = f"rule {used}; signal: {sig.get('name', '?')} ({panels.signal_source(sig)})"
    else:
        wanted = rep.get("rule")
        what = "no rule computable on this log" + (
            f" (rule {wanted} wanted: its line says why none ran)" if wanted else ""
        )
    prov = "provisional: the check step is not reached; " if rep.get("provisional") else ""
    return prov + what
