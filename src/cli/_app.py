"""The typer app every command module registers on, and the JSON printer they share."""

from __future__ import annotations

import json
from typing import Any

import typer

from rankinv._io import hold_folder, json_default

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags show as `--json`, not `--json <bool>`
    help="Predict and check rank inversion of SFT checkpoints under GRPO.",
)

#: The --json option every command takes.
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


def emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=json_default))


#: --overwrite: an --out folder holding another run's results is refused unless given.
OVERWRITE_OPTION = typer.Option(
    False,
    "--overwrite",
    help="Replace the results of another run in --out (the same run always resumes).",
)


def hold_out(out) -> None:
    """Be the one process writing the folder ``out`` until this process ends
    (:func:`rankinv._io.hold_folder`): another command on it meanwhile stops with one line
    naming this process's pid (exit 2). Call it before the folder is checked or written."""
    hold_folder(out)
