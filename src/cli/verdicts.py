"""`rankinv monitor`, `compare`, `rank` and `calibrate`: the verdicts and their scores."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rankinv._io import write_json
from rankinv.cli._app import JSON_OPTION, app, emit_json
from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts import rules


@app.command()
def monitor(
    log: str = typer.Argument(..., help="trainer_state.json (or its directory), JSONL or CSV."),
    ref_step: int = typer.Option(paper.REF_STEP, help="Reference step for the entropy drop."),
    check_step: int = typer.Option(paper.CHECK_STEP, help="Step at which the drop is judged."),
    threshold: float = typer.Option(
        paper.DROP_THRESHOLD, help="Abort when the relative drop exceeds this."
    ),
    group_size: int = typer.Option(8, "--group-size", "-g", help="GRPO group size g."),
    planned_steps: int = typer.Option(400, help="Planned RL steps (for compute saved)."),
    entropy_key: str = typer.Option(
        None,
        help="Entropy column (default: worst-token, else "
        "mean: min_entropy, entropy, actor/entropy).",
    ),
    step_key: str = typer.Option(None, help="Step column (default: step, global_step)."),
    zero_std_key: str = typer.Option(
        None, help="Column of the degenerate-group share (default: frac_reward_zero_std)."
    ),
    reward_key: str = typer.Option(
        None, help="Column of the mean reward (default: reward, critic/score/mean, rewards/mean)."
    ),
    rule: str = typer.Option(
        None,
        help=f"Stage-2 rule. Default: {rules.DEFAULT_STAGE2_RULE}, the one that scored best on "
        "held-out simulated settings (`rankinv calibrate`); 'paper' is the paper's "
        "entropy-drop rule exactly (--ref-step/--check-step/--threshold are its "
        "parameters; --threshold applies to it only). One of: paper, paper_min, "
        "informative, informative_trend, all_fail, reward_slope, combined.",
    ),
    follow: bool = typer.Option(
        False,
        "--follow",
        help="Tail a log being written; print the verdict whenever it changes (Ctrl-C to end).",
    ),
    poll_s: float = typer.Option(2.0, help="Seconds between reads with --follow."),
    max_polls: int = typer.Option(0, help="With --follow, stop after this many reads (0: never)."),
    out: str = typer.Option(None, "--out", help="Write the report JSON to this file."),
    as_json: bool = JSON_OPTION,
):
    """Stage 2 on a GRPO log -> continue, watch or stop, by the calibrated rule (or --rule)."""
    from rankinv.render import print_monitor
    from rankinv.render.monitor import print_follow_step, print_waiting
    from rankinv.verdicts.follow import follow as follow_log
    from rankinv.verdicts.monitor import MonitorConfig
    from rankinv.verdicts.monitor import monitor as run_monitor

    cfg = MonitorConfig(
        ref_step=ref_step,
        check_step=check_step,
        threshold=threshold,
        group_size=group_size,
        planned_steps=planned_steps,
        entropy_key=entropy_key,
        step_key=step_key,
        zero_std_key=zero_std_key,
        reward_key=reward_key,
        **({"rule": rule} if rule else {}),
    )
    if out and Path(out).is_dir():
        raise UserError(f"--out {out} is a directory; --out names the report's JSON file")

    def emit(rep):
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            write_json(Path(out), rep)
        if as_json:
            typer.echo(json.dumps({k: v for k, v in rep.items() if k != "series"}))
        else:
            print_monitor(rep)

    if not follow:
        emit(run_monitor(log, cfg))
        return
    reports = follow_log(
        lambda: run_monitor(log, cfg),
        poll_s=poll_s,
        max_polls=max_polls,
        on_wait=None if as_json else print_waiting,
    )
    for rep in reports:
        if not as_json:
            print_follow_step(rep["last_step"])
        emit(rep)


@app.command()
def compare(
    file: str = typer.Argument(None, help="CSV or JSON, one row per checkpoint."),
    example: str = typer.Option(
        None,
        "--example",
        help="paper-qwen | paper-qwen-diagnostic | paper-deepseek | paper-deepseek-table1",
    ),
    outcome: str = typer.Option(None, help="Outcome column (default post_pass_at_10)."),
    group_size: int = typer.Option(8, "--group-size", "-g"),
    out: str = typer.Option(None, "--out", help="Directory: writes compare.json there."),
    as_json: bool = JSON_OPTION,
):
    """Predicted vs observed ranks: seed-demeaned rho with CI, inversion yes/no."""
    from rankinv.render import print_compare
    from rankinv.verdicts import compare as cmp

    if (file is None) == (example is None):
        raise UserError("give either FILE or --example NAME")
    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out} is an existing file; --out names a directory")
    if example:
        ex = cmp.example(example)
        rows, source = ex["rows"], f"example {example}: {ex['citation']}"
        outcome = outcome or ex["outcome"]
        group_size = ex.get("group_size", group_size)
    else:
        rows, source = cmp.read_rows(file), file
    res = cmp.compare(rows, outcome or "post_pass_at_10", group_size)
    res["source"] = source
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "compare.json", res)
    if as_json:
        emit_json({k: v for k, v in res.items() if k != "rows"})
        return
    print_compare(res)


@app.command()
def rank(
    probe_dirs: list[str] = typer.Argument(  # noqa: B008
        ..., help="Two or more `rankinv validate --out` dirs."
    ),
    signal: str = typer.Option(
        None, help="Stage-1 predictor (default: the calibrated one; see `rankinv calibrate`)."
    ),
    as_json: bool = JSON_OPTION,
):
    """Rank checkpoints by predicted post-RL outcome; recommend a starting checkpoint."""
    from rankinv.render import print_rank
    from rankinv.verdicts.rank import rank as rank_fn

    res = rank_fn(probe_dirs, signal=signal)
    if as_json:
        emit_json(res)
        return
    print_rank(res)


@app.command()
def calibrate(
    population: str = typer.Option(
        "quick",
        "--population",
        help="quick | full (simulate that population first, resumable, under --out) or a "
        "directory holding population.jsonl.",
    ),
    out: str = typer.Option(
        None, "--out", help="Directory for population.jsonl and calibrate.json."
    ),
    as_json: bool = JSON_OPTION,
):
    """Score every stage-1 signal and stage-2 rule on held-out simulated settings."""
    from rankinv.cli.simulate import population_summary
    from rankinv.render import print_calibrate
    from rankinv.verdicts.calibrate import calibrate as calibrate_fn

    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out} is an existing file; --out names a directory")
    source = Path(population)
    if population in ("quick", "full"):
        out = out or f"rankinv-calibrate-{population}"
        population_summary(population, out, quiet=as_json)
        source = Path(out)
    elif not source.exists():
        raise UserError(f"--population must be quick, full or a directory; {source} not found")
    res = calibrate_fn(source, out=out, with_sensitivity=True)
    if as_json:
        emit_json(res)
        return
    print_calibrate(res)
