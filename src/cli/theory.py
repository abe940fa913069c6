"""`rankinv threshold`: the closed forms of the dead zone."""

from __future__ import annotations

import typer

from rankinv.cli._app import JSON_OPTION, app, emit_json


@app.command()
def threshold(
    group_size: int = typer.Option(..., "--group-size", "-g", help="GRPO group size g (>= 2)."),
    level: float = typer.Option(0.5, help="Degenerate-group share defining p* (0 < L < 1)."),
    n_outcomes: int = typer.Option(32, "--n-outcomes", help="K, answers per prompt (Fano)."),
    as_json: bool = JSON_OPTION,
):
    """Critical success probability p*(g), E[sigma^2] at p*, entropy thresholds."""
    from rankinv import theory

    payload = theory.threshold_summary(group_size, level, n_outcomes)
    if as_json:
        emit_json(payload)
        return
    from rankinv.render.theory import print_threshold

    print_threshold(payload)
