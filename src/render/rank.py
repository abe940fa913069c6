"""`rankinv rank`'s ranking and verdict lines, and calibrate's real back-test tables."""

from __future__ import annotations

import sys

from rich.table import Table

from rankinv.render.base import console
from rankinv.verdicts.rank_result import RankResult
from rankinv.verdicts.words import rank_table


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
    for w in (inputs or {}).get("warnings") or []:  # on stderr, apart from the results
        print(f"warning: {w}", file=sys.stderr)


def print_rank(res: RankResult) -> None:
    """Rank's result: how the inputs were read, the ranking, then its words
    (``rankinv.verdicts.words.rank``, in the order ``words.rank_table.lines_under`` gives):
    the recommendation (or why none), the inversion call, the lead's accuracy and the free
    answers."""
    print_inputs(res.inputs)
    title, cols, rows = rank_table.ranking_table(res)
    t = Table(title=title)
    for col in cols:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*row)
    console.print(t)
    for line in rank_table.lines_under(res, _bold):
        console.print(line, highlight=False)


def _bold(s: str) -> str:
    return f"[bold]{s}[/]"


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
