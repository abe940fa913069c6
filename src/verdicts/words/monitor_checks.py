"""What a stage-2 decision says beside its rule, in words: an assumed group size re-checked at
the usual range of g (:func:`group_size_words`), a log judged at its check step with what its
later steps show (:func:`later_words`), and what a log without a testable held-out
evaluation leaves open, with what resolves it: on a trainer's log the evaluation callback, on
rankinv's own simulation what the simulation already gives (:func:`no_evaluation`,
:func:`no_se`, :func:`coverage_untested`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rankinv.theory import paper
from rankinv.verdicts import stage2
from rankinv.verdicts.assumptions import GroupSizeCheck, Outcome

if TYPE_CHECKING:
    from rankinv.verdicts.monitor_decision import LaterSteps


def _what(o: Outcome) -> str:
    return f"{o.verdict} (predicted: {o.label})" if o.label else o.verdict


def group_size_words(check: GroupSizeCheck, subject: str = "the verdict") -> str:
    """Whether the decision holds over the usual range of g when g is assumed, and where it
    does not, at which g it would be what and that --group-size settles it. ``subject``:
    what is checked (a sweep checks its own verdict on a run)."""
    where = " and ".join(f"g = {g}" for g in sorted(check.at))
    if check.holds:
        return (
            f"{subject} does not depend on the assumed g = {check.assumed}: re-judged at "
            f"{where} (GRPO's usual range) it is the same, {_what(check.outcome)}"
        )
    parts = [
        f"at g = {g} the same as at g = {check.assumed}"
        if check.outcome.same(o)
        else f"at g = {g} it would be {_what(o)}"
        for g, o in sorted(check.at.items())
    ]
    return (
        f"{subject} depends on the assumed g = {check.assumed}: at g = {check.assumed} it is "
        f"{_what(check.outcome)}; " + "; ".join(parts) + "; --group-size (the run's g) "
        "settles it"
    )


# ---------------------------------------------------------------- a log past its check step
def later_words(
    later: LaterSteps, check_step: int, window_src: str, read_to: int, coverage: bool
) -> str:
    """A log that goes on past its check step, said once: judged at the check step as it
    would have been live (reading steps up to ``read_to``), where the log ends, what its
    later steps show (the verdict judged at its last step, the mean reward then), and
    --check-step as the way to judge at another step."""
    o = later.outcome
    cov = "; the coverage rule reads every held-out evaluation" if coverage else ""
    rc, rl = later.reward_at_check, later.reward_at_last
    claim = (
        f" (the outcome rule {later.claimed_by}'s stop claims, not a held-out evaluation)"
        if later.claimed_by
        else ""
    )
    reward = (
        f" and the mean reward has moved from {rc:.3f} to {rl:.3f} (each over the last "
        f"quarter of the steps judged, to step {later.check} and to step {later.step})"
        if rc is not None and rl is not None
        else ""
    )
    return (
        f"judged at the check step {check_step} ({window_src}), as it would have been live: "
        f"the rule, the informative floor and the no-signal check read steps up to {read_to} "
        f"only{cov}; the log goes on to step {later.step}, where it would be {_what(o)}{claim}"
        f"{reward}; --check-step N judges at step N instead"
    )


# ---------------------------------------------------------------- no testable evaluation
def no_evaluation(simulated: bool) -> str:
    """Why the outcome is undetermined on a log without held-out evaluations, and what
    gives one: the TRL callback, or on a simulation its own summary."""
    head = (
        "the log has no held-out evaluation at any step and no stop here claims an outcome, so "
        "the outcome cannot be predicted"
    )
    if simulated:
        return (
            f"{head} from it; the simulation already gives each run's pass@k after RL "
            "(simulate.json beside its logs/ folder, under post)"
        )
    return f"{head}; log one with HeldOutCoverageCallback (rankinv.integrations.trl_coverage)"


def no_se(simulated: bool) -> str:
    """Why the outcome is undetermined on held-out evaluations without a standard error."""
    if simulated:
        return (
            "the simulator's held-out pass@k is exact (no sampling noise, so no SE column) and "
            "the coverage rule's test against noise is not run on it; the run's outcome after "
            "RL is in its population record (outcome: final and peak pass@k)"
        )
    return (
        "the log's held-out pass@k has no SE column, so its change cannot be tested; log it "
        "with its SE (HeldOutCoverageCallback) to resolve the outcome"
    )


def coverage_untested(key: str, simulated: bool) -> str:
    """Why the coverage rule did not run on held-out values without a ``_se`` column."""
    if simulated:
        return (
            f"the simulator's values are exact (no sampling noise, no {key}_se column), so the "
            "coverage rule, a test against an evaluation's noise, is not run: the change above "
            "is the run's own"
        )
    return (
        f"the log has no {key}_se column, so the coverage rule cannot run (whether it fell or "
        "rose beyond its noise is not tested; HeldOutCoverageCallback logs the SE)"
    )


def points_words(points: int, per_point: int) -> str:
    """ "10 logged steps", or on an averaged log "2 logged values, each the mean of 10 steps"."""
    if per_point <= 1:
        return f"{points} logged step{'s' * (points != 1)}"
    return f"{points} logged value{'s' * (points != 1)}, each the mean of {per_point} steps"


def unfitted_trend(trace, ref: int, last: int) -> str:
    """Why a share below its floor is not called falling: too few values to fit its trend
    (a log that holds a value every L steps has fewer of them in the same steps)."""
    n = int(stage2.window_mask(trace, trace.informative, ref, last).sum())
    span = stage2.span_words(trace, trace.informative, ref, last)
    every = f", a value every {trace.interval} steps" if stage2.steps_per_value(trace) > 1 else ""
    return (
        f"its trend is not fitted: {n} logged value{'s' * (n != 1)} over {span}{every} "
        "(a fit needs 3), so it is not called falling and raises no watch"
    )


#: The log's column each rule input is read from, where its name differs (COLUMNS' keys).
_LOGGED_AS = {"informative": "zero_std"}


def rule_choice_words(rv, trace, derived=None) -> str | None:
    """Which rule was wanted, which was used and why, where they differ (None where the
    wanted rule ran): the column it lacks (named as the log could hold it) and, where no
    rule could stand in, why each rule the log's columns allow may not."""
    from rankinv.verdicts import logs
    from rankinv.verdicts.monitor_rules import candidates

    asked, used = rv.rule_asked, rv.rule_used
    if used == asked or rv.on_bound:
        return None
    lacks = [c for c in stage2.STAGE2_RULES[asked].needs if getattr(trace, c) is None]
    if lacks:
        cols = "; ".join(" / ".join(logs.COLUMNS[_LOGGED_AS.get(c, c)]) for c in lacks)
        why = f"the log has no {', '.join(lacks)} column ({cols})"
    else:
        why = f"the log's {', '.join(stage2.STAGE2_RULES[asked].needs)} cannot be measured"
    if used is not None:
        return (
            f"rule {asked} was wanted, rule {used} was used: {why}, which {asked} reads; {used} "
            "is the calibrated rule with the best held-out AUC that the log's columns allow "
            "and whose stops beat stopping at random"
        )
    hidden = ("reward",) if derived is not None and derived.dynamic_sampling else ()
    others = [f"{r} ({w})" for r, w in candidates(trace, hidden) if r != asked]
    rest = (
        "the rules the log's columns allow may not stand in: " + "; ".join(others)
        if others
        else "no calibrated rule can be computed on the log's columns"
    )
    return (
        f"rule {asked} was wanted and no rule could be used: {why}, which {asked} reads; "
        f"{rest} (rankinv never falls back to a rule at chance); log that column to let "
        f"{asked} run"
    )


def collapse_words(cov, collapsed: tuple[int, float] | None) -> str:
    """The step to roll back to on a run whose reward collapsed to its minimum (a stranded
    state that is not a hard start): the best-coverage evaluation, else the last step before
    the collapse; and what shows the collapse."""
    why = []
    if collapsed is not None:
        why.append(f"the reward fell from {collapsed[1]:.3f} at step {collapsed[0]} to its minimum")
    if cov is not None and cov.values[-1] < cov.values[0]:
        why.append(
            f"held-out pass@{cov.k or 'k'} fell from {cov.values[0]:.3f} at step "
            f"{cov.steps[0]} to {cov.values[-1]:.3f} at step {cov.steps[-1]}"
        )
    if cov is not None:
        keep = f"the checkpoint to keep: step {cov.best_step} (best pass@{cov.k or 'k'})"
    else:
        keep = f"roll back to step {collapsed[0]} or before (the last step before the collapse)"
    return (
        f"; {keep}: " + " and ".join(why) + ", a collapse, not a hard start (stranded is for a "
        "reward low from the start)"
    )


def trend_words(change: float, span: str, word: str) -> str:
    """A fitted trend, ``word`` with the change over the window it was fitted on ("falling
    (-0.46 over steps 1-20, a fitted line)"), never a rate that reads as impossible for a
    share in [0, 1]; a change too small for two decimals that is not ``word`` "flat" keeps
    its leading digits."""
    v = stage2.format_value(change, "+.2f")
    if float(v) == 0 and word != "flat":
        v = format(change, "+.2g")
    return f"{word} ({v} over {span}, a fitted line)"


def floor_no_watch(rv, no_signal: bool) -> str:
    """Why a share below its floor and falling raised no watch: the floor only raises a
    rule's continue, and here there is none (no signal, no rule, not judged yet, or the
    rule's verdict is already watch or stop)."""
    if no_signal:
        return "but no signal already stops the run"
    if rv.judged_col is None and rv.status == "cannot_run":
        return (
            "but it raises no watch: the floor raises a rule's continue to watch, and no rule "
            "can run on this log"
        )
    if rv.judged_col is None and not rv.reached:
        return (
            f"but it raises no watch: the floor raises a rule's continue to watch, and before "
            f"the check step {rv.check_step} the rule has not judged yet"
        )
    if rv.judged_col is None:
        return "but it raises no watch: the rule's score cannot be computed on its window"
    return f"but the rule's verdict is already {rv.verdict}, which the floor leaves as it is"


#: The no-signal states as facts of the log (the JSON's state codes stay stranded /
#: saturated / mixed; the words say what the log shows, not the outcome predicted, which
#: may differ: a reward that collapsed to its minimum is predicted diverging).
STATE_FACT = {
    "stranded": "groups fail whole",
    "saturated": "groups pass whole",
    "mixed": "groups all-pass or all-fail",
}


def state_fact(state: str) -> str:
    """A no-signal state code (``no_signal:stranded`` or ``stranded``) as the fact it is."""
    code = state.split(":", 1)[-1]
    return STATE_FACT.get(code, code)


def quarter_words(trace, span: str) -> str:
    """The window the level rules average, in words: the last quarter of the judged span,
    and, on a log whose values are means over its logging interval, that the quarter is
    taken as whole values (so the steps quoted can reach further back than a quarter)."""
    per = stage2.steps_per_value(trace)
    whole = f", taken as whole {per}-step values" if per > 1 else ""
    return f"the last quarter of the judged {span}{whole}"


def entropy_words(d) -> list[str]:
    """The entropy over the rule's window where the rule did not read it (the JSON's
    entropy_drop, in words: a negative drop is a rise), against the paper's rule's threshold;
    a line, or none (an entropy rule decided, or no entropy over the window)."""
    ref, chk, drop, column = d.entropy_ref, d.entropy_check, d.entropy_drop, d.run.keys["entropy"]
    if d.rule.rule_used in ("paper", "paper_min") or None in (column, ref, chk, drop):
        return []
    moved = f"fell {drop:.0%}" if drop >= 0 else f"rose {-drop:.0%}"
    if round(abs(drop), 2) == 0:
        moved = "did not change (within 0.5%)"
    return [
        f"for reference, the mean token entropy ({column}), which did not decide, went from "
        f"{ref[1]:.3g} at step {ref[0]} to "
        f"{chk[1]:.3g} at step {chk[0]}: it {moved} (the paper's rule, --rule paper, stops on a "
        f"fall above {paper.DROP_THRESHOLD:.0%} over its own window)"
    ]


def past_end_words(planned: int, source: str) -> str:
    """A check step after the run's planned end: the rule can never judge it."""
    return (
        f"; that check step is after the run's end ({planned} planned steps, {source}), so "
        f"this rule will never judge this run: --check-step N with N <= {planned} sets a "
        "window that fits"
    )
