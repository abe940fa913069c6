"""`rankinv simulate --population`: its progress bar and its summary lines."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.table import Table

from rankinv.render.base import console


def population_table(summary: dict) -> Table:
    t = Table(
        title=f"Simulated population ({summary['population']}): share of inverted ladders "
        "per setting (base setting with one axis changed | random settings)"
    )
    for col in ["axis", "value", "inverted (one change)", "inverted (random)"]:
        t.add_column(col, justify="right")

    def cell(d):
        if d["inverted_share"] is None:
            return "-"
        return f"{d['inverted_share']:.2f} (n={d['n_ladders']})"

    for axis, values in summary["by_axis"].items():
        for v, d in values.items():
            t.add_row(axis, v, cell(summary["by_axis_vs_base"][axis][v]), cell(d))
    return t


@contextlib.contextmanager
def population_progress(n_runs: int, n_ladders: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over ladders; yields the callback ``(done, total)`` to update it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"ladders ({n_runs} runs)", total=n_ladders)
        yield lambda done, total: bar.update(task, completed=done)


def print_population(summary: dict, out: str | None) -> None:
    console.print(population_table(summary))
    console.print(
        f"{summary['n_ladders']} ladders, {summary['n_runs']} runs; inverted share "
        f"{summary['inverted_share']:.2f} (final held-out pass@{summary['k']}); "
        f"{summary['elapsed_s']:.1f} s ({summary['n_compiles']} compiles, "
        f"{summary['compile_s']:.1f} s)"
        + (f"; resumed {summary['resumed_ladders']} ladders" if summary["resumed_ladders"] else "")
    )
    if out:
        console.print(f"ladders in {Path(out) / 'population.jsonl'}")


def simulation_status(message: str, quiet: bool):
    """A spinner with ``message`` (a no-op context when ``quiet``, e.g. under --json)."""
    return contextlib.nullcontext() if quiet else console.status(message, spinner="dots")
