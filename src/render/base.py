"""The console every render module prints on, and the one two-column table they share."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 200


def make_console() -> Console:
    """Rich console; full-width tables when stdout is not a terminal (pipes, files, CI)."""
    if not sys.stdout.isatty():
        return Console(width=PIPE_WIDTH)
    return Console()


console = make_console()


def kv_table(title: str, items) -> Table:
    """A two-column quantity / value table."""
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in items:
        shown = "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    return table
