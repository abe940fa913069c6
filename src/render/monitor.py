"""`rankinv monitor --follow`: the lines printed while a log is tailed."""

from __future__ import annotations

from rankinv.render import console


def print_follow_step(step) -> None:
    console.print(f"[step {step}]", highlight=False)


def print_waiting(exc: Exception) -> None:
    console.print(f"waiting for a usable log: {exc}", highlight=False)
