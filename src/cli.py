"""The `rankinv` console script: thin typer commands over the library, --json everywhere.

Errors in user input exit with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Predict and check rank inversion of SFT checkpoints under GRPO.",
)
console = Console()


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def _emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=_json_default))


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ---------------------------------------------------------------- threshold
def threshold_payload(group_size: int, level: float, n_outcomes: int) -> dict:
    from rankinv import theory

    ps = theory.p_star(group_size, level)
    low, high = theory.entropy_threshold(group_size, n_outcomes, level)
    return {
        "group_size": group_size,
        "level": level,
        "p_star": ps,
        "p_star_upper": theory.p_star_upper(group_size, level),
        "p_star_ln2_over_g": float(__import__("math").log(2) / group_size),
        "advantage_variance_at_p_star": theory.advantage_variance(ps, group_size),
        "entropy_low_nats": low,
        "entropy_high_nats": high,
        "n_outcomes": n_outcomes,
    }


@app.command()
def threshold(
    group_size: int = typer.Option(..., "--group-size", "-g", help="GRPO group size g (>= 2)."),
    level: float = typer.Option(0.5, help="Degenerate-group share defining p* (0 < L < 1)."),
    n_outcomes: int = typer.Option(32, "--n-outcomes", help="K, answers per prompt (Fano)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Critical success probability p*(g), E[sigma^2] at p*, entropy thresholds."""
    payload = threshold_payload(group_size, level, n_outcomes)
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=f"GRPO dead-zone thresholds, g = {group_size}, level = {level}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in payload.items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)


def thresholds_table(group_sizes, level: float = 0.5, n_outcomes: int = 32) -> list[dict]:
    return [threshold_payload(g, level, n_outcomes) for g in group_sizes]


# ---------------------------------------------------------------- demo
DEMO_GROUP_SIZES = [2, 4, 8, 16, 32, 64]


@app.command()
def demo(
    out: str = typer.Option(None, "--out", help="Directory for artifacts and the report."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """The main job on built-in defaults: thresholds, the paper example, a quick simulation."""
    rows = thresholds_table(DEMO_GROUP_SIZES)
    payload: dict[str, Any] = {"thresholds": rows}
    if as_json:
        _emit_json(payload)
        return
    table = Table(title="Dead zone of GRPO with binary rewards (level 1/2, K = 32)")
    for col in ["g", "p*(g)", "ln2/g", "1-p*", "E\\[s2] at p*", "H_low", "H_high"]:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["group_size"]),
            f"{r['p_star']:.4f}",
            f"{r['p_star_ln2_over_g']:.4f}",
            f"{r['p_star_upper']:.4f}",
            f"{r['advantage_variance_at_p_star']:.4f}",
            f"{r['entropy_low_nats']:.4f}",
            f"{r['entropy_high_nats']:.4f}",
        )
    console.print(table)


# ---------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one-line errors, exit 2 on bad input."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="rankinv", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("rankinv: interrupted; results written so far are kept", file=sys.stderr)
        sys.exit(130)
    except (UserError, ValueError, FileNotFoundError, NotADirectoryError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        # click/typer usage errors (typer vendors click in recent releases): duck-typed
        if not hasattr(exc, "format_message"):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else "", file=sys.stderr)
            sys.exit(0)
        line = exc.format_message().splitlines()[0]
        print(f"rankinv: error: {line}", file=sys.stderr)
        sys.exit(2)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":
    main()
