"""`rankinv rank`'s ranking and verdict lines, and calibrate's real back-test tables."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console
from rankinv.verdicts.rank_result import RankResult


def _fmt(v, spec=".3f") -> str:
    return "-" if v is None else format(v, spec)


def print_inputs(inputs: dict | None) -> None:
    """How folders of inputs were expanded (their order is the listed order) and what the
    readers assumed (a percent column read as shares, a filter chosen, ...)."""
    for e in (inputs or {}).get("expanded") or []:
        skipped = f" (skipped: {', '.join(e['skipped'])})" if e.get("skipped") else ""
        console.print(
            f"{e['folder']}: {len(e['order'])} checkpoints in natural order: "
            f"{', '.join(e['order'])}{skipped}",
            highlight=False,
        )
    for w in (inputs or {}).get("warnings") or []:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)


def print_rank(res: RankResult) -> None:
    """Rank's result in words: how the inputs were read, the ranking, the recommendation
    (or why none), the inversion call, the lead's accuracy and the free answers."""
    print_inputs(res.inputs)
    _print_ranking(res)
    _print_recommendation(res)
    _print_inversion(res)
    console.print(f"{res.signal} accuracy: {res.accuracy}", highlight=False)
    print_free_answers(res)


def _label(res: RankResult, signal: str) -> str:
    if not res.k:
        return signal
    names = {"pass_at_k": f"pass@{res.k}", "reachable_pass_at_k": f"reachable pass@{res.k}"}
    return names.get(signal, signal)


def _print_ranking(res: RankResult) -> None:
    head = _label(res, res.signal)
    t = Table(title=f"Checkpoints by predicted post-RL outcome ({head}, sign {res.signal_sign:+d})")
    cols = ["#", "checkpoint", "folder", head, "pre-RL pass@1"]
    second = res.decided_by[1] if len(res.decided_by) > 1 else None
    if second:
        cols.append(_label(res, second))
    for col in cols:
        t.add_column(col, overflow="fold")
    for i, r in enumerate(res.ranking, 1):
        row = [
            str(i),
            r.checkpoint,
            r.probe_dir or r.pilot_log or "-",
            _fmt(r.signal_value, ".4f"),
            _fmt(r.pre_pass_at_1),
        ]
        if second:
            row.append(_fmt(r.values.get(second), ".4f"))
        t.add_row(*row)
    console.print(t)
    if res.k:
        console.print(f"k = {res.k} (pass@k: the chance one of k samples passes)", highlight=False)
    for d in res.dropped:
        console.print(
            f"dropped: {d['signal']} (n/a on {', '.join(d['missing_on'])}): a signal ranks "
            "only when measured on every checkpoint",
            highlight=False,
        )


def _print_recommendation(res: RankResult) -> None:
    lead = res.signal
    if res.recommended_by != "signal":
        b = res.recommended_by.split(": ")[-1]
        said = (
            f"{lead} would pick {res.signal_pick}"
            if res.signal_pick
            else f"{lead} abstains ({res.signal_abstain_reason})"
        )
        console.print(
            f"recommended start: [bold]{res.recommended}[/], the {_FREE[b]} checkpoint "
            f"(a free answer; {said}, but did not beat it on held-out ladders)",
            highlight=False,
        )
        return
    if res.recommended is None:
        console.print(
            f"[bold]no recommendation[/]: {res.abstain_reason}\n"
            f"candidates: {', '.join(res.candidates)}\n"
            f"what would decide it: {res.to_decide}",
            highlight=False,
        )
        return
    agree = (
        f" ({', '.join(res.decided_by)} agree)"
        if len(res.decided_by) > 1
        else (" (the only signal measured on every checkpoint that may decide)")
    )
    if res.uncalibrated_fallback:
        console.print(
            f"uncalibrated fallback, not a calibrated recommendation: {lead} alone, a signal "
            "with no held-out score on simulated ladders, puts "
            f"[bold]{res.recommended}[/] first; treat it as a hint",
            highlight=False,
        )
    else:
        console.print(f"recommended start: [bold]{res.recommended}[/]{agree}", highlight=False)
    if res.gap_se is None and res.source == "table":
        console.print(
            "sampling noise not checked: the table gives no standard errors (add a column "
            "<column>_se, e.g. pre_pass_at_10_se)",
            highlight=False,
        )


def _print_inversion(res: RankResult) -> None:
    if res.predicted_inversion is None:
        if res.best_pre_pass_at_1 is not None and res.signal_pick is None:
            console.print(
                f"inversion: not called ({res.signal} abstains; the best pre-RL pass@1 is "
                f"{res.best_pre_pass_at_1})",
                highlight=False,
            )
        return
    if res.recommended is None:
        console.print(
            "inversion: not called (no recommendation; the best pre-RL pass@1 is "
            f"{res.best_pre_pass_at_1})",
            highlight=False,
        )
    elif res.predicted_inversion:
        console.print(
            f"predicted inversion: the best pre-RL pass@1 ({res.best_pre_pass_at_1}) is not "
            "the checkpoint predicted to end best",
            highlight=False,
        )
    else:
        console.print(
            f"no inversion predicted: {res.signal}'s first pick is also the best pre-RL pass@1",
            highlight=False,
        )


#: How each free answer reads in a sentence.
_FREE = {
    "shallowest": "least-trained",
    "deepest": "most-trained",
    "best_pass_at_1": "best pre-RL pass@1",
    "lowest_pass_at_1": "lowest pre-RL pass@1",
}


def print_free_answers(res: RankResult) -> None:
    """What the free answers pick, whether rank's pick differs from the least-trained, and
    what the held-out evidence says the deciding signal adds over them."""
    picks = res.baselines or {}
    shown = [f"{_FREE[b]}: {p}" for b, p in picks.items() if p is not None]
    if not shown:
        return
    console.print(f"free answers ({res.depth_source}): " + "; ".join(shown), highlight=False)
    if res.agrees_with_shallowest is True:
        console.print("rank's pick is the least-trained checkpoint", highlight=False)
    elif res.agrees_with_shallowest is False and not res.adds_nothing_over:
        v = (res.versus or {}).get("shallowest")
        ev = "" if not v else f"; held out, {res.signal} {versus_words(v)}"
        console.print(
            f"rank's pick differs from the least-trained checkpoint ({picks['shallowest']}): "
            f"{res.signal} separates them{ev}",
            highlight=False,
        )
    anchor = res.adds_nothing_over
    if anchor:
        v = res.versus[anchor]
        console.print(
            f"[bold]rankinv adds nothing measurable here[/]: on held-out simulated ladders "
            f"{res.signal} did not beat taking the {_FREE[anchor]} checkpoint "
            f"({versus_words(v)}); the free answer: [bold]{picks[anchor]}[/]",
            highlight=False,
        )


def versus_words(v: dict) -> str:
    """A calibrated paired comparison in words: regret saved per setting, interval, p."""
    p = v.get("p_holm", v.get("p_wilcoxon_pratt"))
    lo, hi = v["ci"]
    return (
        f"saved {v['mean']:+.3f} regret per setting [{lo:+.3f}, {hi:+.3f}], won {v['wins']} "
        f"lost {v['losses']} of {v['n_settings']} settings, Holm p = "
        + ("n/a" if p is None else f"{p:.2g}")
    )


def backtest_cell(entry: dict | None, worst_mark: str = "!") -> str:
    """One back-test cell: the pick's post-RL rank / regret, ``worst_mark`` when it is the
    worst rung; "-" when the signal was not measured, "abstains" when rank picked nothing."""
    if entry is None:
        return "-"
    if entry.get("pick") is None:  # rank abstained, or the random pick's expectation
        return "abstains" if entry.get("regret") is None else f"E / {entry['regret']:.3f}"
    return f"{entry['post_rank']} / {entry['regret']:.3f}" + (worst_mark if entry["worst"] else "")


def print_backtest(real: dict) -> None:
    """The real back-test: per ladder, each signal's pick (post-RL rank / regret)."""
    from rankinv.verdicts.signals import STAGE1_SIGNALS

    shown = ["shallowest", "best_pass_at_1", "random", *STAGE1_SIGNALS, "rank_signal", "rank"]
    shown = [s for s in shown if any(s in lad["signals"] for lad in real["ladders"])]
    t = Table(title="Real back-test (never used to choose): post-RL rank of the pick / regret")
    t.add_column("ladder", no_wrap=True)
    t.add_column("rungs")
    for s in shown:
        t.add_column(s, overflow="fold")
    for lad in real["ladders"]:
        cells = [backtest_cell(lad["signals"].get(s)) for s in shown]
        name = lad["ladder"] + (" (2nd)" if lad["secondary"] else "")
        t.add_row(name, str(lad["n_rungs"]), *cells)
    console.print(t)
    console.print(
        "! = the worst rung of a ladder whose outcomes spread by more than 0.02; shallowest, "
        "best_pass_at_1, random = the free answers (random: expected regret); rank_signal = the "
        "signal's decision; rank = what rank recommends (the free answer where the signal did "
        "not beat it on held-out simulated ladders)",
        highlight=False,
    )
    c = Table(title="Success criteria on the real ladders (fixed before looking)")
    cols = ("signal", "ladders", "median rho (n)", "<= best pass@1", "never worst", "rho near best")
    for col in cols:
        c.add_column(col)
    yes = {True: "yes", False: "NO", None: "-"}
    for s, v in real["by_signal"].items():
        rho = "-" if v["median_rho"] is None else f"{v['median_rho']:+.2f} ({v['n_rho']})"
        n = f"{v['n_ladders']}" + (f" + {v['abstained']} abstained" if v["abstained"] else "")
        c.add_row(
            s,
            n,
            rho,
            yes[v["no_worse_than_naive"]],
            yes[v["never_worst"]],
            yes[v["rho_near_best"]],
        )
    console.print(c)
