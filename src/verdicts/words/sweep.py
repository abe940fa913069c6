"""A sweep's verdicts in words: what the doom score the runs are ranked by is, why the sweep
continues or stops a run, and what to do with it (``rankinv.verdicts.sweep``)."""

from __future__ import annotations

from rankinv.verdicts import stage2


def doom_words(rule: str) -> str:
    """What the doom score of ``rule`` is, in words (higher = less worth continuing)."""
    desc = stage2.STAGE2_RULES[rule].description if rule in stage2.STAGE2_RULES else rule
    if rule == "reward_edge":
        desc = (
            f"{stage2.EDGE_MIDDLE:g} minus the distance of the mean reward (over the last quarter "
            "of the window) from the nearer edge of its range, as a share of the range (higher "
            "= nearer an edge); it ranks runs that move toward either "
            "edge alike (one nearing its maximum, its prompts solved, as one nearing its "
            "minimum, its prompts failed)"
        )
    return (
        f"the doom score is rule {rule}'s score at the sweep's common step: {desc}; higher "
        "means less worth continuing, and the runs are ranked by it"
    )


def sweep_step_words(at_check_step: bool) -> str:
    """Why the sweep is judged at its step, where it is not the logs' common last step."""
    if not at_check_step:
        return ""
    return (
        ", the runs' check step (the logs are finished: judged as the sweep would have been "
        "live; --check-step N judges at step N)"
    )


def sweep_header(step, at_check_step: bool, rule: str, keep: float, kept: int, ranked: int) -> str:
    """The sentence over a sweep's table: where and how it was judged, and who continues."""
    return (
        f"sweep judged at step {step}{sweep_step_words(at_check_step)} by rule "
        f"{rule}: a run its own log stops (no signal, or held-out coverage fallen beyond "
        f"its noise) stops, unranked; of the rest, the best {keep:.0%} continue (rounded "
        f"up, a tie at the boundary kept: {kept} of {ranked}), the others stop where "
        "the gap of their doom score to the worst kept run's is beyond 2 SE, and are watched "
        "where it is within 2 SE or cannot be tested (no SE to be had)"
    )


def saved_words(now: float, then: float | None, step: int) -> str:
    """The footer's compute saved: stopping now (each log at its last step) and, where runs
    were judged short of their logs' ends, what the stops would have saved at ``step``."""
    now_words = (
        f"stopping as above now (each log at its last step) saves {now:.1%} of the sweep's "
        "planned compute"
    )
    if then is None:
        return now_words
    return (
        f"stopping as above at step {step}, live, would have saved {then:.1%} of the sweep's "
        f"planned compute; {now_words}"
    )


def alone_at(ref: int, check: int, last: int, reached: bool) -> str:
    """Where a run of a sweep was judged alone: at its own check step ``check`` (steps
    ``ref``-``last``), or, where its log does not reach it, provisionally on the steps it has."""
    if reached:
        return f"at its own check step {check} (steps {ref}-{last})"
    return f"provisionally (its own check step {check} not reached; judged on steps {ref}-{last})"


def sweep_action(verdict: str, own_verdict: str, own_action: str, label, at: int | str) -> str:
    """What to do with a run of a sweep: its own action, unless the sweep stops a run that
    judged alone would go on (it ranks among the most doomed), which the action then says;
    ``at``: its check step, or where it was judged alone in words (:func:`alone_at`)."""
    where = f"at its check step {at}" if isinstance(at, int) else at
    if verdict == "watch" and own_verdict == "continue":
        return (
            "watch: the sweep cannot separate it from the runs it keeps; look again at a later "
            f"step (judged alone {where} it is {label}, whose own action is: {own_action})"
        )
    if verdict != "stop" or own_verdict == "stop":
        return own_action
    return (
        f"stop: the sweep keeps its better runs with signal (judged alone {where} it is "
        f"{label}, whose own action is: {own_action})"
    )


#: What stops a run of a sweep whatever its rank, in words (``sweep.fact_of_log``).
FACT_WORDS = {
    "no_signal": "no signal",
    "coverage": "held-out coverage fell beyond its noise",
}


def sweep_why(
    verdict: str,
    own: str,
    rank: int | None,
    n_ranked: int,
    score: float | None,
    keep: float,
    fact: str | None,
    own_at: str = "",
    window: str | None = None,
    gap: str | None = None,
) -> str:
    """Why a sweep continues or stops one run: its rank by doom score against the share
    kept, or a fact of its log (``fact``: "no_signal", or "coverage": held-out coverage fell
    beyond its noise), or a score its log cannot give; and where that overrides the run's
    own verdict."""
    if fact is not None:
        why = f"{FACT_WORDS[fact]}, a fact of its log"
    elif rank is None:
        why = "its rule cannot be computed on its log: not ranked"
    else:
        where = (
            f"in the better {keep:.0%} of the sweep"
            if verdict == "continue"
            else f"outside the best {keep:.0%} of the sweep"
        )
        over = f" over {window}" if window else ""
        why = (
            f"doom score {score:+.3f}{over}, rank {rank} of {n_ranked} (1 = least doomed): {where}"
        )
        why += f"; {gap}" if gap else ""
    if verdict != own:
        at = f" {own_at}" if own_at else ""
        does = {"stop": "stops it relative to the others", "watch": "watches it"}
        why += f"; judged alone{at} its own verdict would be {own}: the sweep " + does.get(
            verdict, "keeps it"
        )
    return why


def gap_words(to: str, gap: float, se: float | None, n: int, untested: str | None) -> str:
    """A run ranked outside the kept share against the worst kept run ``to``: the gap of
    their doom scores with its SE (from the per-step values of each score's window) at the
    sweep's ``n`` runs ranked, and whether the sweep can tell them apart (where the SE cannot
    be had, it cannot: the run is watched, not stopped on the ranking alone)."""
    from rankinv.verdicts.sweep_gap import SEPARATION_SE

    if se is None:
        return (
            f"n = {n} runs ranked; its gap to {to}, the worst run kept, is {gap:+.3f}: the "
            f"sweep cannot test its gap to {to} ({untested}): watch"
        )
    if gap > SEPARATION_SE * se:
        return (
            f"n = {n} runs ranked; its gap to {to}, the worst run kept, is {gap:+.3f} "
            f"(SE {se:.3f}, from the per-step values in each window): beyond "
            f"{SEPARATION_SE:g} SE, stop"
        )
    return (
        f"n = {n} runs ranked; the sweep cannot separate it from {to} (gap {gap:.3f}, "
        f"SE {se:.3f}, from the per-step values in each window; within {SEPARATION_SE:g} "
        "SE): watch"
    )


def interval_words(intervals: list[tuple[str, int, str | None]], step: int) -> str:
    """The header's line for a sweep whose logs hold values at different intervals: every run
    is judged at the same ``step``, but the window its score reads depends on its interval
    (each run's ``(name, interval, window)``; its line names its own window)."""
    by: dict[int, list[str]] = {}
    win: dict[int, set[str]] = {}
    for name, n, w in intervals:
        by.setdefault(n, []).append(name)
        if w:
            win.setdefault(n, set()).add(w.removeprefix("steps ").removeprefix("step "))
    parts = "; ".join(
        f"every {'step' if n == 1 else f'{n} steps'}: {', '.join(names)}"
        for n, names in sorted(by.items())
    )
    spans = [", ".join(sorted(win[n])) for n in sorted(win, reverse=True)]
    if len(set(spans)) > 1:
        windows = (
            "; a log at a coarser interval averages over a longer window ("
            + " against ".join(spans)
            + "), which can move its score (each run's line names its window)"
        )
    else:
        windows = f"; each score reads the same steps ({spans[0]})" if spans else ""
    return (
        f"the logs hold values at different logging intervals ({parts}): the runs are judged "
        f"at the same step {step}{windows}; a run logged less often has fewer values there "
        "(a noisier share, and a trend that may not be fitted)"
    )


def planned_words(planned: list[tuple[str, int, str]], step: int) -> str:
    """The header's line for a sweep whose runs plan different totals (each run's ``(name,
    planned steps, where that number comes from)``): every run is judged at the same
    ``step``, which is a different share of each run's plan, and a run's own check step
    (a share of its plan) may lie past it."""
    by: dict[tuple[int, str], list[str]] = {}
    for name, n, src in planned:
        by.setdefault((n, src), []).append(name)
    parts = "; ".join(
        f"{n} steps, {src}: {', '.join(names)}" for (n, src), names in sorted(by.items())
    )
    return (
        f"the runs plan different totals of steps ({parts}): step {step} is a different share "
        "of each plan, and a run whose own check step lies past it is ranked before its own "
        "rule would judge it (its line gives its own verdict, at its own check step)"
    )


def trainers_words(trainers: list[tuple[str, str]]) -> str | None:
    """The header's line for a sweep whose logs come from different trainers (each run's
    ``(name, trainer)``): doom scores compare runs of one recipe, not across trainers."""
    by: dict[str, list[str]] = {}
    for name, trainer in trainers:
        by.setdefault(trainer or "unknown", []).append(name)
    if len(by) < 2:
        return None
    parts = "; ".join(f"{t}: {', '.join(names)}" for t, names in sorted(by.items()))
    return (
        f"the logs come from different trainers ({parts}): a sweep ranks runs of one recipe "
        "against each other; across trainers (and tasks) their doom scores need not be "
        "comparable, so read each run's own verdict"
    )
