"""`rankinv simulate`: a preset sweep of SFT depths x seeds, or a population of ladders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from rankinv._io import claim_out_dir
from rankinv.cli._app import JSON_OPTION, OVERWRITE_OPTION, app, emit_json, hold_out
from rankinv.errors import UserError


def population_summary(population: str, out: str | None, quiet: bool) -> dict:
    """Run (or resume) a population, with a progress bar over ladders unless quiet."""
    from rankinv.simulate.population import run_population
    from rankinv.simulate.settings import design

    if population not in ("quick", "full"):
        raise UserError(f"--population must be quick or full, got {population!r}")
    pl = design(population)
    if quiet:
        return run_population(population, out, design_=pl)
    from rankinv.render.simulate import population_progress

    with population_progress(pl.n_runs, len(pl.ladders)) as progress:
        return run_population(population, out, design_=pl, progress=progress)


#: Options that change the simulated regime, by config field (seeds only add replicates).
_REGIME_OPTIONS = {"sft_depths": "depths", "group_size": "g", "rl_steps": "rl-steps"}


def sweep_name(preset: str, changes: dict) -> str:
    """The sweep's name: the preset's, plus what changed its regime (--seeds does not)."""
    changed = [opt for field, opt in _REGIME_OPTIONS.items() if field in changes]
    return f"{preset}+overrides ({', '.join(changed)})" if changed else preset


def float_list(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"{option} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise UserError(f"{option} must name at least one value, got {text!r}")
    return values


@app.command()
def simulate(
    preset: str = typer.Option(
        "quick", help="quick | paper | high-base | family | qwen-like | deepseek-like"
    ),
    population: str = typer.Option(
        None,
        "--population",
        help="quick | full: a population of ladders across settings (family policy), "
        "appended to OUT/population.jsonl, resumable.",
    ),
    out: str = typer.Option(None, "--out", help="Directory for simulate.json and per-run logs."),
    derive: bool = typer.Option(
        False,
        "--derive",
        help="Also derive p*(g) two ways, the entropy threshold and the mitigation table (~1 min).",
    ),
    seeds: int = typer.Option(None, "--seeds", help="Seeds per depth (overrides the preset)."),
    depths: str = typer.Option(
        None, "--depths", help="SFT depths in epochs, comma-separated, e.g. 1,2,4,8,16."
    ),
    group_size: int = typer.Option(None, "--group-size", "-g", help="GRPO group size g."),
    rl_steps: int = typer.Option(None, "--rl-steps", help="GRPO steps per run."),
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
):
    """JAX sweep over SFT depths x seeds, then GRPO: the inversion and rho.

    With --population: ladders across settings of the generalising (family) policy."""
    from rankinv import render
    from rankinv.render.simulate import print_population, simulation_status

    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out} is an existing file; --out names a directory")
    if population is not None:
        given = [
            name
            for name, value in (
                ("--preset", preset != "quick"),
                ("--derive", derive),
                ("--seeds", seeds is not None),
                ("--depths", depths is not None),
                ("--group-size", group_size is not None),
                ("--rl-steps", rl_steps is not None),
            )
            if value
        ]
        if given:
            raise UserError(
                f"--population runs its own grid of settings; {', '.join(given)} would be "
                "ignored (leave them out, or drop --population)"
            )
        if out:
            hold_out(out)
            claim_out_dir(out, {"command": "simulate", "population": population}, overwrite)
        summary = population_summary(population, out, quiet=as_json)
        if as_json:
            emit_json(summary)
        else:
            print_population(summary, out)
        return
    from rankinv.simulate import config as sim_config
    from rankinv.simulate import run_sweep

    cfg = sim_config.preset(preset)
    changes = {}
    if seeds is not None:
        changes["seeds"] = seeds
    if depths is not None:
        changes["sft_depths"] = float_list(depths, "--depths")
    if group_size is not None:
        changes["group_size"] = group_size
    if rl_steps is not None:
        changes["rl_steps"] = rl_steps
        changes["eval_every"] = min(cfg.eval_every, rl_steps)
    if changes:
        cfg = cfg.replace(name=sweep_name(cfg.name, changes), **changes)
    if out:
        identity = {"command": "simulate", "config": dataclasses.asdict(cfg), "derive": derive}
        hold_out(out)
        claim_out_dir(out, identity, overwrite)
    status = simulation_status(
        f"simulating {cfg.n_runs} runs x {cfg.rl_steps} GRPO steps...", quiet=as_json
    )
    with status:
        result = run_sweep(cfg, out)
        if derive:
            from rankinv.simulate.derive import derive as derive_fn

            log = None if as_json else (lambda m: status.update(f"{m} (resumable with --out)"))
            result["derive"] = derive_fn(cfg, out, log=log)
    payload = {k: v for k, v in result.items() if k != "trajectories"}
    payload["inversion"] = render.sim_inversion(result)[0]
    if as_json:
        emit_json(payload)
        return
    render.print_simulation(result, out)
