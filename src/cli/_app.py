"""The typer app every command module registers on, and the JSON printer they share."""

from __future__ import annotations

import json
from typing import Any

import typer

from rankinv._io import json_default

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
