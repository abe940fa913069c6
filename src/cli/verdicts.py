"""`rankinv monitor`, `compare`, `rank` and `calibrate`: the verdicts and their scores."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rankinv._io import claim_out_dir, write_json
from rankinv.cli._app import JSON_OPTION, OVERWRITE_OPTION, app, emit_json, hold_out
from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts._calibrated import DEFAULT_STAGE2_RULE
from rankinv.verdicts.stage2 import STAGE2_RULES

if TYPE_CHECKING:
    from rankinv.verdicts.monitor_report import MonitorResult
    from rankinv.verdicts.sweep import SweepResult

LOGS_ARGUMENT = typer.Argument(
    ...,
    help="trainer_state.json (or its directory), JSONL (verl's nested lines too), CSV, a "
    "TensorBoard directory, or a simulated run: POPULATION#LADDER_ID/RUNG (POPULATION: a "
    "`rankinv simulate --population --out` folder or its population.jsonl; RUNG: 0, 1, ..., "
    "depth=D or recipe=NAME). Several logs of one sweep are judged against each other.",
)


@app.command()
def monitor(
    logs: list[str] = LOGS_ARGUMENT,
    ref_step: int = typer.Option(
        None, help="Reference step (default: the paper's 10 for --rule paper, else calibrated)."
    ),
    check_step: int = typer.Option(
        None,
        help="Step at which the rule judges (default: the paper's 150 for --rule paper, else "
        "the fraction of the planned steps at which the rule was calibrated); at most the "
        "planned steps.",
    ),
    threshold: float = typer.Option(
        paper.DROP_THRESHOLD, help="Abort when the relative drop exceeds this."
    ),
    group_size: int = typer.Option(
        None,
        "--group-size",
        "-g",
        help="GRPO group size g (default: the log's num_generations where logged, else 8, "
        "named as assumed).",
    ),
    planned_steps: int = typer.Option(
        None,
        help="Planned RL steps, for compute saved (default: the log's max_steps, else 400).",
    ),
    reward_range: str = typer.Option(
        None,
        help="MIN,MAX of the reward (its headroom and the no-signal states use it; default "
        "0,1, named as assumed, widened with a warning when the logged rewards leave it).",
    ),
    keep: float = typer.Option(
        0.5, help="With several logs: the share of runs with signal that continue."
    ),
    entropy_key: str = typer.Option(
        None,
        help="Mean-entropy column (default: entropy, actor/entropy, policy_entropy); "
        "--rule paper_min reads the worst-token entropy (min_entropy) where logged.",
    ),
    step_key: str = typer.Option(
        None, help="Step column (default: step, global_step, _step, training/global_step)."
    ),
    zero_std_key: str = typer.Option(
        None, help="Column of the degenerate-group share (default: frac_reward_zero_std)."
    ),
    reward_key: str = typer.Option(
        None, help="Column of the mean reward (default: reward, critic/score/mean, rewards/mean)."
    ),
    rule: str = typer.Option(
        None,
        help=f"Stage-2 rule. Default: {DEFAULT_STAGE2_RULE}, the one that scored best on "
        "held-out simulated settings (`rankinv calibrate`); 'paper' is the paper's "
        "entropy-drop rule exactly (--ref-step/--check-step/--threshold are its "
        "parameters; --threshold applies to it only). One of: " + ", ".join(STAGE2_RULES) + ".",
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
    from rankinv.verdicts.monitor import MonitorConfig
    from rankinv.verdicts.monitor import monitor as run_monitor
    from rankinv.verdicts.sweep import judge_sweep

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
        reward_range=parse_range(reward_range, "--reward-range"),
        **({"rule": rule} if rule else {}),
    )
    if not 0 < keep < 1:
        raise UserError(f"--keep must be in (0, 1), got {keep}")
    if len(logs) > 1 and follow:
        raise UserError("--follow tails one log; pass a single LOG")
    if out and Path(out).is_dir():
        raise UserError(f"--out {out} is a directory; --out names the report's JSON file")
    if len(logs) > 1:
        _emit_sweep(judge_sweep(logs, cfg, keep=keep), out, as_json)
    elif follow:
        _follow(lambda: run_monitor(logs[0], cfg), out, as_json, poll_s, max_polls)
    else:
        _emit_report(run_monitor(logs[0], cfg), out, as_json)


def parse_range(text: str | None, flag: str) -> tuple[float, float] | None:
    """MIN,MAX as a pair of numbers (None when not given); one-line error otherwise."""
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"{flag} must be MIN,MAX, got {text!r}") from None
    return lo, hi


def _write(out: str | None, result: dict) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(out), result)


def _emit_report(res: MonitorResult, out: str | None, as_json: bool) -> None:
    """One monitor result: its report to --out, then as JSON (without its series) or
    printed."""
    from rankinv.render.monitor import print_monitor

    rep = res.to_json()
    _write(out, rep)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in rep.items() if k != "series"}))
    else:
        print_monitor(res)


def _emit_sweep(res: SweepResult, out: str | None, as_json: bool) -> None:
    """Several logs of one sweep judged against each other: to --out, then JSON or printed."""
    from rankinv.render.monitor import print_sweep

    _write(out, res.to_json())
    if as_json:
        typer.echo(json.dumps(res.to_json()))
    else:
        print_sweep(res)


def _follow(read, out: str | None, as_json: bool, poll_s: float, max_polls: int) -> None:
    """Tail a log being written: a report whenever the verdict changes."""
    from rankinv.render.monitor import print_follow_step, print_waiting
    from rankinv.verdicts.follow import follow as follow_log

    reports = follow_log(
        read, poll_s=poll_s, max_polls=max_polls, on_wait=None if as_json else print_waiting
    )
    for rep in reports:
        if not as_json:
            print_follow_step(rep.last_step)
        _emit_report(rep, out, as_json)


@app.command()
def compare(
    files: list[str] = typer.Argument(  # noqa: B008
        None, help="CSV or JSON, one row per checkpoint."
    ),
    example: str = typer.Option(
        None,
        "--example",
        help="paper-qwen | paper-qwen-diagnostic | paper-deepseek | paper-deepseek-table1",
    ),
    probes: list[str] = typer.Option(  # noqa: B008
        None,
        "--probes",
        help="Probe directories (`rankinv validate --out`), with --outcomes: builds the table.",
    ),
    outcomes: str = typer.Option(
        None,
        "--outcomes",
        help="CSV or JSON of post-RL results: name (the probe folder's name), post_pass_at_10.",
    ),
    outcome: str = typer.Option(None, help="Outcome column (default post_pass_at_10)."),
    group_size: int = typer.Option(
        None, "--group-size", "-g", help=f"g of p*(g) (default: the paper's, {paper.GROUP_SIZE})."
    ),
    out: str = typer.Option(None, "--out", help="Directory: writes compare.json there."),
    as_json: bool = JSON_OPTION,
):
    """Predicted vs observed ranks: seed-demeaned Spearman rho with CI and an exact
    permutation p (Holm-adjusted over the predictors tested for 'significant'), the free
    answers beside them, inversion yes/no."""
    from rankinv.render import print_compare
    from rankinv.verdicts import compare as cmp
    from rankinv.verdicts.tables import read_rows

    probes, files = list(probes or []), list(files or [])
    if probes:  # `--probes a b c`: the values after the first arrive as positional paths
        probes += files
        files = []
    if len(files) > 1:
        raise UserError(f"compare reads one FILE, got {len(files)}; for probes use --probes")
    file = files[0] if files else None
    if bool(probes) != bool(outcomes):
        raise UserError("--probes and --outcomes go together (probe folders + post-RL results)")
    table = None
    if probes:
        from rankinv.verdicts.compare_probes import probe_table

        table = probe_table(probes, outcomes, group_size)
        rows, file = table.rows, f"{len(probes)} probes + {outcomes}"
        for w in table.warnings:
            typer.echo(f"warning: {w}", err=True)
    elif (file is None) == (example is None):
        raise UserError("give either FILE or --example NAME (or --probes DIR... --outcomes FILE)")
    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out} is an existing file; --out names a directory")
    if example:
        ex = cmp.example(example)
        rows, source = ex["rows"], f"example {example}: {ex['citation']}"
        outcome = outcome or ex["outcome"]
        group_size = ex.get("group_size", group_size)
    elif probes:
        source = file
    else:
        rows, source = _share_rows(read_rows(file), file, as_json), file
    res = cmp.compare(
        rows,
        outcome or "post_pass_at_10",
        group_size,
        source=source,
        recorded_group_size=table and table.group_size,
        warnings=table and table.warnings,
    )
    for w in res.warnings[len(table.warnings) if table else 0 :]:  # the table's: said above
        typer.echo(f"warning: {w}", err=True)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "compare.json", res.to_json())
    if as_json:
        emit_json({k: v for k, v in res.to_json().items() if k != "rows"})
        return
    print_compare(res)


def _share_rows(rows: list, file: str, as_json: bool) -> list:
    """A table's pass-rate columns in percent read as shares, as `rank --table` reads them
    (the same warnings: printed, or on stderr beside --json; mixed scales refused)."""
    import re

    from rankinv.render.rank import print_inputs
    from rankinv.verdicts.rank_inputs import share_columns
    from rankinv.verdicts.tables import percent_to_share

    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return rows
    present = list(dict.fromkeys(c for r in rows for c in r))
    post = [c for c in present if re.match(r"^post_pass_at_\d+$", c)]
    cols = share_columns(rows) + post + [c + "_se" for c in post if c + "_se" in present]
    rows, warnings = percent_to_share(rows, cols, file)
    if as_json:
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
    else:
        print_inputs({"warnings": warnings})
    return rows


def parse_numbers(text: str | None, flag: str) -> list[float] | None:
    """A comma-separated list of numbers (None when not given); one-line error otherwise."""
    if text is None:
        return None
    try:
        vals = [float(x) for x in text.split(",")]
    except ValueError:
        raise UserError(f"{flag} takes comma-separated numbers, e.g. 1,2,4; got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise UserError(f"{flag} takes finite numbers, got {text!r}")
    return vals


@app.command()
def rank(
    probe_dirs: list[str] = typer.Argument(  # noqa: B008
        None,
        help="Two or more `rankinv validate --out` dirs, evalplus eval_results.json or lm-eval "
        "results_*.json / samples_*.jsonl files (named by their folder), or a folder of them "
        "(taken in natural order: e1, e2, e10).",
    ),
    table: str = typer.Option(
        None,
        "--table",
        help="CSV or JSON of per-checkpoint aggregates from any harness (columns: name, depth, "
        "pre_pass_at_1, pre_pass_at_10, entropy_rollout, entropy_prompt, entropy_step10, ...; a "
        "plain `entropy` is read as entropy_prompt, the paper's H, as compare reads it, with a "
        "warning).",
    ),
    pilot: list[str] = typer.Option(  # noqa: B008
        None,
        "--pilot",
        help="A short GRPO log per checkpoint (TRL trainer_state.json, JSONL, CSV), in the "
        "checkpoints' order: entropy and informative fraction over the first 10 RL steps.",
    ),
    signal: str = typer.Option(
        None, help="Lead signal (default: the calibrated one, then by choose-half rho)."
    ),
    group_size: int = typer.Option(
        None,
        "--group-size",
        "-g",
        help="GRPO group size g of the planned run (default: the probes' own, else 8).",
    ),
    depths: str = typer.Option(
        None,
        "--depths",
        help="Each checkpoint's SFT depth, comma-separated, in order (e.g. 1,2,4; equal values "
        "for recipes at one depth): what the free answers (least-trained, ...) pick. Default: "
        "a table's depth column, else the order given.",
    ),
    as_json: bool = JSON_OPTION,
):
    """Rank checkpoints by predicted post-RL outcome: recommend a start, or say why not."""
    from rankinv.render import print_rank
    from rankinv.verdicts.rank import rank as rank_fn
    from rankinv.verdicts.results_files import is_checkpoint_input

    probe_dirs = list(probe_dirs or [])
    pilot = list(pilot or [])
    if pilot:  # `--pilot a b c`: the values after the first log arrive as positional paths
        logs = [p for p in probe_dirs if not is_checkpoint_input(p)]
        probe_dirs = [p for p in probe_dirs if p not in logs]
        pilot += logs
    res = rank_fn(
        probe_dirs,
        signal=signal,
        table=table,
        pilot=pilot,
        group_size=group_size,
        depths=parse_numbers(depths, "--depths"),
    )
    if as_json:
        emit_json(res.to_json())
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
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
):
    """Score every stage-1 signal and stage-2 rule on held-out simulated settings."""
    from rankinv.cli.simulate import population_summary
    from rankinv.evaluation.calibrate import calibrate as calibrate_fn
    from rankinv.render import print_calibrate

    if out and Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out {out} is an existing file; --out names a directory")
    source = Path(population)
    if population in ("quick", "full"):
        out = out or f"rankinv-calibrate-{population}"
        hold_out(out)
        claim_out_dir(out, {"command": "calibrate", "population": population}, overwrite)
        population_summary(population, out, quiet=as_json)
        source = Path(out)
    elif not source.exists():
        raise UserError(f"--population must be quick, full or a directory; {source} not found")
    elif not source.is_dir() and source.name != "population.jsonl":
        raise UserError(
            f"--population {source} is a file; give quick, full or the directory "
            "`rankinv simulate --population quick|full --out DIR` wrote (DIR/population.jsonl)"
        )
    res = calibrate_fn(source, out=out, with_sensitivity=True)
    if as_json:
        emit_json(res)
        return
    print_calibrate(res)
