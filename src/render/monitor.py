"""`rankinv monitor`: the verdict of one log, of a sweep, and the lines printed while a log
is tailed."""

from __future__ import annotations

from rankinv.render.base import console
from rankinv.verdicts.monitor_report import MonitorResult
from rankinv.verdicts.sweep import SweepResult
from rankinv.verdicts.words.sweep import doom_words, saved_words, sweep_header


def print_follow_step(step) -> None:
    console.print(f"[step {step}]", highlight=False, markup=False)  # not a rich tag


def print_waiting(exc: Exception) -> None:
    console.print(f"waiting for a usable log: {exc}", highlight=False, markup=False)


def headline(res: MonitorResult) -> str:
    """The verdict line: the verdict, whether it is provisional, and what it rests on."""
    return f"{res.verdict} ({res.basis})"


def print_monitor(res: MonitorResult) -> None:
    """The verdict, what it rests on, the predicted outcome and action, every reason (from
    ``rankinv.verdicts.words.monitor``) and what the log reader noticed."""
    colour = {"continue": "green", "watch": "yellow", "stop": "red"}[res.verdict]
    console.print(
        f"verdict: [bold {colour}]{res.verdict}[/] ({res.basis})",
        highlight=False,
    )
    if res.label:
        console.print(f"predicted: {res.label}; action: {res.action}", highlight=False)
    for r in res.reasons:
        console.print(f"  - {r}", highlight=False)
    for i in res.run.log.issues:
        console.print(f"  ! log: {i}", highlight=False)


def print_sweep(res: SweepResult) -> None:
    """One line per run of a sweep judged at its common step, then each run's why and its
    own reasons (``rankinv.verdicts.words.monitor``)."""
    from rich.table import Table

    ranked = [r for r in res.runs if r.rank is not None]
    kept = sum(r.verdict == "continue" for r in ranked)
    console.print(
        sweep_header(res.step, res.at_check_step, res.rule, res.keep, kept, len(ranked)),
        highlight=False,
    )
    for note in (res.interval_note, res.planned_note):
        if note:
            console.print(note, highlight=False)
    t = Table()
    then = res.compute_saved_at_check is not None
    cols = ["log", "verdict", "rank", "doom score", "state", "saves now"]
    for col in [*cols, *([f"would have saved at step {res.step}"] if then else [])]:
        t.add_column(col)
    runs = res.to_json()["runs"]
    for r in runs:
        at = r["compute_saved_at_check"]
        t.add_row(
            r["log"],
            r["verdict"],
            "-" if r["rank"] is None else str(r["rank"]),
            "-" if r["score"] is None else f"{r['score']:+.3f}",
            r["state"],
            f"{r['compute_saved']:.0%}",
            *([f"{r['compute_saved'] if at is None else at:.0%}"] if then else []),
        )
    console.print(t)
    console.print(f"{doom_words(res.rule)}.", highlight=False)
    for r in runs:
        console.print(f"{r['log']}: {r['verdict']} ({r['why']})", highlight=False)
        alone = r["alone"]
        at = (
            f"at its check step {alone['window']['check_step']}"
            if alone["check_reached"]
            else alone["at"]
        )
        console.print(
            f"  predicted (judged alone {at}): {r['label']}; action: {r['action']}",
            highlight=False,
        )
        if r["group_size_note"]:
            console.print(f"  {r['group_size_note']}", highlight=False)
        console.print(f"  the sweep's numbers, judged at step {r['judged_at']}:", highlight=False)
        for line in r["reasons"]:
            console.print(f"  - {line}", highlight=False)
    console.print(
        saved_words(res.compute_saved, res.compute_saved_at_check, res.step), highlight=False
    )
