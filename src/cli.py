# Over 450 lines: ~14 commands' typer option declarations with their help text; each command only
# parses, calls one library function and hands the result to render.py.
"""The `rankinv` console script: thin typer commands over the library, --json everywhere.

Errors in user input exit with status 2 and one line on stderr, never a traceback.

Each command imports the library layer it calls inside its function: `rankinv threshold`
must not pay for importing jax (simulate) or torch (validate), so those imports stay lazy.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.render import (
    console,
    demo_payload,
    kv_table,
    population_table,
    print_calibrate,
    print_compare,
    print_demo_step,
    print_derive,
    print_monitor,
    print_rank,
    print_simulation,
    rho_line,
    sim_inversion,
)
from rankinv.theory import paper
from rankinv.verdicts import rules

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags show as `--json`, not `--json <bool>`
    help="Predict and check rank inversion of SFT checkpoints under GRPO.",
)
#: Width of tables printed to a pipe or file: wide enough that no column is cut.


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
#: What each `rankinv threshold` key means (shown beside the value in the table).
THRESHOLD_MEANING = {
    "group_size": "g, rollouts per prompt in a GRPO group",
    "level": "share of signal-free groups that defines p*",
    "p_star": "p*(g): below this pass rate more than {level:.0%} of groups are signal-free "
    "(all fail)",
    "p_star_upper": "1 - p*: above this more than {level:.0%} of groups are signal-free (all pass)",
    "p_star_ln2_over_g": "ln(1/L) / g, the common small-p approximation of p* (ln2/g at "
    "L = 1/2; it overstates p*)",
    "advantage_variance_at_p_star": "E[sigma^2] = p(1-p)(g-1)/g at p*: mean group reward "
    "variance, the size of the GRPO signal",
    "entropy_low_nats": "H_low = h(p*): answer entropy below this puts the prompt in the "
    "dead zone (K = {n_outcomes} answers)",
    "entropy_high_nats": "H_high = h(p*) + p* ln(K-1): answer entropy above this keeps it out",
    "n_outcomes": "K, distinct answers per prompt assumed by the entropy bounds",
}


@app.command()
def threshold(
    group_size: int = typer.Option(..., "--group-size", "-g", help="GRPO group size g (>= 2)."),
    level: float = typer.Option(0.5, help="Degenerate-group share defining p* (0 < L < 1)."),
    n_outcomes: int = typer.Option(32, "--n-outcomes", help="K, answers per prompt (Fano)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Critical success probability p*(g), E[sigma^2] at p*, entropy thresholds."""
    from rankinv import theory

    payload = theory.threshold_summary(group_size, level, n_outcomes)
    if as_json:
        _emit_json(payload)
        return
    table = kv_table(f"GRPO dead-zone thresholds, g = {group_size}, level = {level}", [])
    table.add_column("meaning")
    for key, value in payload.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown, escape(THRESHOLD_MEANING[key].format(**payload)))
    console.print(table)
    console.print(
        f"A prompt solved with probability p gives a group of {group_size} rollouts with no "
        f"learning signal (all fail or all pass) with probability p^g + (1-p)^g; below "
        f"p* = {payload['p_star']:.4g} (or above 1 - p*) that happens to more than "
        f"{level:.0%} of its groups, so GRPO hardly learns from it. Keys as in --json.",
        highlight=False,
    )


# ---------------------------------------------------------------- simulate


def _population_summary(population: str, out: str | None, quiet: bool) -> dict:
    """Run (or resume) a population, with a progress bar over ladders unless quiet."""
    from rankinv.simulate.population import design, run_population

    if population not in ("quick", "full"):
        raise UserError(f"--population must be quick or full, got {population!r}")
    pl = design(population)
    if quiet:
        return run_population(population, out, design_=pl)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"ladders ({pl.n_runs} runs)", total=len(pl.ladders))
        return run_population(
            population,
            out,
            design_=pl,
            progress=lambda done, total: bar.update(task, completed=done),
        )


def _run_population(population: str, out: str | None, as_json: bool) -> None:
    summary = _population_summary(population, out, quiet=as_json)
    if as_json:
        _emit_json(summary)
        return
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
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """JAX sweep over SFT depths x seeds, then GRPO: the inversion and rho.

    With --population: ladders across settings of the generalising (family) policy."""
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
        _run_population(population, out, as_json)
        return
    from rankinv.simulate import config as sim_config
    from rankinv.simulate import run_sweep

    cfg = sim_config.preset(preset)
    changes = {}
    if seeds is not None:
        changes["seeds"] = seeds
    if depths is not None:
        changes["sft_depths"] = _float_list(depths, "--depths")
    if group_size is not None:
        changes["group_size"] = group_size
    if rl_steps is not None:
        changes["rl_steps"] = rl_steps
        changes["eval_every"] = min(cfg.eval_every, rl_steps)
    if changes:
        cfg = cfg.replace(name=f"{cfg.name}+overrides", **changes)
    status = (
        console.status(
            f"simulating {cfg.n_runs} runs x {cfg.rl_steps} GRPO steps...", spinner="dots"
        )
        if not as_json
        else contextlib.nullcontext()
    )
    with status:
        result = run_sweep(cfg, out)
        if derive:
            from rankinv.simulate.derive import derive as derive_fn

            log = None if as_json else (lambda m: status.update(f"{m} (resumable with --out)"))
            result["derive"] = derive_fn(cfg, out, log=log)
    payload = {k: v for k, v in result.items() if k != "trajectories"}
    payload["inversion"] = sim_inversion(result)[0]
    if as_json:
        _emit_json(payload)
        return
    print_simulation(result)
    if derive:
        print_derive(result["derive"])
    if out:
        console.print(f"artifacts in {out}")


def _float_list(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"{option} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise UserError(f"{option} must name at least one value, got {text!r}")
    return values


# ---------------------------------------------------------------- monitor


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
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Stage 2 on a GRPO log -> continue, watch or stop, by the calibrated rule (or --rule)."""
    import time as _time

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
    last = None
    polls = 0
    while True:
        try:
            rep = run_monitor(log, cfg)
        except (FileNotFoundError, ValueError) as exc:
            rep = None
            if last is None and polls == 0:
                console.print(f"waiting for a usable log: {exc}", highlight=False)
        if rep is not None:
            key = (rep["verdict"], rep["check_reached"])
            if key != last:
                if not as_json:
                    console.print(f"[step {rep['last_step']}]", highlight=False)
                emit(rep)
                last = key
            if rep["verdict"] == "stop":
                return
        polls += 1
        if max_polls and polls >= max_polls:
            return
        _time.sleep(poll_s)


# ---------------------------------------------------------------- compare


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
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Predicted vs observed ranks: seed-demeaned rho with CI, inversion yes/no."""
    from rankinv.verdicts import compare as cmp

    if (file is None) == (example is None):
        raise UserError("give either FILE or --example NAME")
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
        if Path(out).exists() and not Path(out).is_dir():
            raise UserError(f"--out {out} is an existing file; --out names a directory")
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "compare.json", res)
    if as_json:
        _emit_json({k: v for k, v in res.items() if k != "rows"})
        return
    console.print(f"source: {source}", highlight=False)
    print_compare(res)


# ---------------------------------------------------------------- rank / calibrate
@app.command()
def rank(
    probe_dirs: list[str] = typer.Argument(  # noqa: B008
        ..., help="Two or more `rankinv validate --out` dirs."
    ),
    signal: str = typer.Option(
        None, help="Stage-1 predictor (default: the calibrated one; see `rankinv calibrate`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Rank checkpoints by predicted post-RL outcome; recommend a starting checkpoint."""
    from rankinv.verdicts.rank import rank as rank_fn

    res = rank_fn(probe_dirs, signal=signal)
    if as_json:
        _emit_json(res)
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
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Score every stage-1 signal and stage-2 rule on held-out simulated settings."""
    from rankinv.verdicts.calibrate import calibrate as calibrate_fn

    source = Path(population)
    if population in ("quick", "full"):
        out = out or f"rankinv-calibrate-{population}"
        _population_summary(population, out, quiet=as_json)
        source = Path(out)
    elif not source.exists():
        raise UserError(f"--population must be quick, full or a directory; {source} not found")
    res = calibrate_fn(source, out=out, with_sensitivity=True)
    if as_json:
        _emit_json(res)
        return
    print_calibrate(res)


# ---------------------------------------------------------------- validate
@app.command()
def validate(
    model: str = typer.Option(..., "--model", help="Local model or LoRA adapter directory."),
    benchmark: str = typer.Option("humaneval", help="humaneval | synthetic | path.jsonl"),
    samples: int = typer.Option(128, "--samples", "-n", help="Samples per problem at T = 1."),
    group_size: int = typer.Option(8, "--group-size", "-g", help="GRPO group size g."),
    out: str = typer.Option(..., "--out", help="Directory for samples.jsonl and the summary."),
    limit: int = typer.Option(None, help="Probe only the first K problems."),
    max_new_tokens: int = typer.Option(384, help="Tokens per completion."),
    temperature: float = typer.Option(1.0, help="Sampling temperature (GRPO's is 1.0)."),
    entropy: str = typer.Option(
        "both", help="prompt | rollout | both (both exact at T = 1, by teacher forcing)"
    ),
    engine: str = typer.Option("hf", help="hf (transformers, default) | vllm (extra 'vllm')"),
    batch_size: int = typer.Option(
        None, "--batch-size", help="Rows decoded at once (default: from free memory)."
    ),
    chat_template: bool = typer.Option(
        False,
        "--chat-template",
        help="Wrap prompts with the tokenizer's chat template; take the code from the answer.",
    ),
    stop: list[str] = typer.Option(  # noqa: B008
        None,
        "--stop",
        help="Stop string (repeatable; '\\n' is a newline). Default: HumanEval's, or none "
        "with --chat-template.",
    ),
    rl_steps: int = typer.Option(
        None,
        "--rl-steps",
        help="Planned GRPO steps: adds the pre-RL report (pre_rl.json) and sets the budget of "
        "the theory-based stage-1 signals (default 400, the paper's).",
    ),
    rl_prompts_per_step: int = typer.Option(
        None,
        "--rl-prompts-per-step",
        help="Planned prompts per GRPO step, each x g samples (default 32).",
    ),
    tau_h: float = typer.Option(
        paper.TAU_H, help="Stage-1 entropy threshold (nats), calibrated on the paper's Qwen ladder."
    ),
    workers: int = typer.Option(2, help="Sandbox workers."),
    allow_import: list[str] = typer.Option(  # noqa: B008 - typer's repeatable option
        None,
        "--allow-import",
        help="A site-packages module the sandboxed completions may import (repeatable, "
        "e.g. --allow-import numpy); the standard library always imports.",
    ),
    seed: int = typer.Option(0),
    n_prompts: int = typer.Option(
        None, help="Prompts in the planned RL set (default: the problems probed)."
    ),
    signal: str = typer.Option(
        None,
        help="Stage-1 predictor (default: the one that scored best on held-out simulated "
        "settings, see `rankinv calibrate`).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Probe a checkpoint: per-problem p and entropy, stage-1 risk (resumable)."""
    from rankinv.sandbox import executor
    from rankinv.validate.probe import ProbeConfig, ProbeInterrupted, check_probe_args, run_probe
    from rankinv.validate.sampler import resolve_model_dir

    # every check that needs no model first: bad arguments never wait for a model load
    check_probe_args(out, entropy, engine)
    if batch_size is not None and batch_size < 1:
        raise UserError(f"--batch-size must be >= 1, got {batch_size}")
    rl_plan = None
    if (rl_steps is None) != (rl_prompts_per_step is None):
        raise UserError("--rl-steps and --rl-prompts-per-step go together")
    if rl_steps is not None:
        if rl_steps < 1 or rl_prompts_per_step < 1:
            raise UserError("--rl-steps and --rl-prompts-per-step must be >= 1")
        rl_plan = (rl_steps, rl_prompts_per_step)
    stops = None
    if stop:
        stops = tuple(s.replace("\\n", "\n").replace("\\t", "\t") for s in stop)
        if any(not s for s in stops):
            raise UserError("--stop: empty stop string")
    executor.set_default_allow_imports(tuple(allow_import or ()))
    cfg = ProbeConfig(
        benchmark=benchmark,
        samples=samples,
        group_size=group_size,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        limit=limit,
        seed=seed,
        tau_h=tau_h,
        workers=workers,
        rl_steps=rl_steps or 400,
        batch_prompts=rl_prompts_per_step or 32,
        n_prompts=n_prompts,
        signal=signal,
    )
    from rankinv.sandbox import tasks as task_sets

    task_sets.load(benchmark)  # a missing or malformed benchmark file, before the model
    resolve_model_dir(model)  # clear errors before anything heavy
    try:
        summary = run_probe(
            model,
            cfg,
            out,
            progress=not as_json,
            entropy_mode=entropy,
            engine=engine,
            batch_size=batch_size,
            chat_template=chat_template,
            stop=stops,
            rl_plan=rl_plan,
        )
    except ProbeInterrupted as exc:
        print(f"rankinv: {exc}", file=sys.stderr)
        raise typer.Exit(130) from None
    if as_json:
        _emit_json(summary)
        return
    keys = (
        "pass_at_1",
        "pass_at_64",
        "entropy_prompt",
        "entropy_rollout",
        "informative_fraction",
        "frac_below_p_star",
        "headroom",
        "diversity_ratio",
    )
    t = kv_table(f"Stage-1 probe of {model}", ((k, summary[k]) for k in keys))
    console.print(t)
    if summary.get("pass_at_64_note"):
        console.print(f"pass_at_64 '-': {summary['pass_at_64_note']}", highlight=False)
    colour = {"low": "green", "medium": "yellow", "high": "red"}.get(summary["risk"], "white")
    console.print(f"risk: [bold {colour}]{summary['risk']}[/]")
    for r in summary["reasons"]:
        console.print(f"  - {r}", highlight=False)
    if summary.get("pre_rl"):
        _print_pre_rl(summary["pre_rl"], out)
    console.print(f"samples in {out}/samples.jsonl; summary in {out}/validate_summary.json")


def _print_pre_rl(rep: dict, out: str) -> None:
    hist = Table(title=f"p-hat of {rep['n_prompts']} prompts (samples passed / drawn)")
    hist.add_column("p-hat")
    hist.add_column("prompts", justify="right")
    for row in rep["histogram"]:
        hist.add_row(row["bin"], str(row["count"]))
    console.print(hist)
    g, d = rep["group_size"], rep["draws_per_prompt"]
    console.print(
        f"before RL: {rep['steps']} steps x {rep['prompts_per_step']} prompts x g = {g} "
        f"draws each prompt {d:.2f} times; expected share stranded (every group degenerate, "
        f"no signal): {rep['expected_stranded_share']:.1%} "
        f"(plug-in at p-hat {rep['expected_stranded_share_plugin']:.1%}); "
        f"{rep['frac_below_p_star']:.1%} below p*({g}) = {rep['p_star']:.3f}, "
        f"{rep['frac_never_solved']:.1%} never solved",
        highlight=False,
    )
    lift = rep["group_size_to_lift_all_below"]
    if lift:
        console.print(
            f"g = {lift} lifts every prompt seen solved above p*; per-prompt g in "
            f"{out}/pre_rl.json",
            highlight=False,
        )


# ---------------------------------------------------------------- experiment
experiment_app = typer.Typer(
    help="End-to-end experiments on models trained here.", no_args_is_help=True
)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("mini")
def experiment_mini(
    preset: str = typer.Option("ci", help="ci (CPU, minutes: 24 on a busy 2-core machine) | gpu"),
    out: str = typer.Option("runs/mini", "--out", help="Directory (resumable)."),
    sft: str = typer.Option("full", "--sft", help="full fine-tuning | lora (peft adapters)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Pretrain a small Qwen2 coder, SFT to several depths, GRPO, predicted vs observed."""
    import dataclasses

    from rankinv.experiment.mini import preset as mini_preset
    from rankinv.experiment.mini import run_mini

    cfg = dataclasses.replace(mini_preset(preset), sft_mode=sft)
    if as_json:
        res = run_mini(cfg, out, log=lambda m: None)
    else:  # every message printed; the spinner line names the stage it is in
        with console.status("starting", spinner="dots") as status:
            stage = [""]

            def log(m: str) -> None:
                console.print(m, highlight=False)
                if m.startswith("stage "):
                    stage[0] = m
                status.update(f"{stage[0]} | {m}" if stage[0] and m != stage[0] else m)

            res = run_mini(cfg, out, log=log)
    if as_json:
        _emit_json({k: v for k, v in res.items() if k != "runs"})
        return
    k = max(cfg.ks)
    t = Table(
        title=f"Miniature experiment ({preset}), means over seeds: pre-RL rollout and "
        f"prompt entropy, pass@k, peak post-RL pass@{k} (all, nonlinear family), "
        "all-fail / all-pass groups, stage-2 stops"
    )
    for col in [
        "demos",
        "ep",
        "H roll",
        "H prm",
        "p@1",
        f"p@{k}",
        f"post p@{k}",
        "nonlin",
        "fail",
        "pass",
        "stop",
    ]:
        t.add_column(col, justify="right")
    for b in res["by_depth"]:
        t.add_row(
            b["variant"],
            str(b["depth"]),
            f"{b['pre.entropy']:.3f}",
            f"{b['pre.entropy_prompt']:.3f}",
            f"{b['pre.pass_at_1']:.3f}",
            f"{b[f'pre.pass_at_{k}']:.3f}",
            f"{b['peak_pass_at_k']:.3f}",
            f"{b['peak_nonlinear']:.3f}",
            f"{b['all_fail']:.2f}",
            f"{b['all_pass']:.2f}",
            f"{b['stage2_stop']}/{b['runs']}",
        )
    console.print(t)
    if res["compare"]:
        console.print(rho_line(f"rho(pre-RL pass@1, peak pass@{k})", res["rho_pass1_vs_post"]))
        console.print(rho_line(f"rho(rollout entropy, peak pass@{k})", res["rho_entropy_vs_post"]))
        console.print(f"inversion: {'yes' if res['inversion'] else 'no'}")
    sim = res["simulator"]
    console.print(rho_line("simulator rho(pass@1, post)", sim["rho_pass1_vs_post"]))
    console.print(rho_line("simulator rho(entropy, post)", sim["rho_entropy_vs_post"]))
    console.print(f"{res['seconds']['total']:.0f} s; artifacts in {out}")


# ---------------------------------------------------------------- report
@app.command()
def report(
    directory: str = typer.Argument(..., help="Directory holding rankinv artifacts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """One Markdown report with PNG figures from the artifacts in DIR."""
    from rankinv.report import build_report

    path = build_report(directory)
    figures = sorted(str(p) for p in Path(directory).glob("*.png"))
    if as_json:
        _emit_json({"report": str(path), "figures": figures})
    else:
        console.print(f"report: {path}\nfigures: {', '.join(figures)}", highlight=False)


# ---------------------------------------------------------------- demo
#: Where `rankinv demo` writes unless told otherwise (relative to the working directory).
DEMO_OUT = "rankinv-demo"


@app.command()
def demo(
    out: str = typer.Option(
        DEMO_OUT,
        "--out",
        help="Directory for artifacts and the report (reused and resumed on a rerun).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """The main job on built-in defaults: thresholds, a simulation on the generalising policy
    with its stage-2 monitor (calibrated rule beside the paper's), the paper's example, and a
    report with figures."""
    from rankinv.experiment.demo import demo_steps

    out_dir = Path(out or DEMO_OUT).resolve()
    payload: dict = {"out": str(out_dir)}
    if not as_json:
        console.print(f"outputs (artifacts, report.md, figures) go to {out_dir}", highlight=False)
    steps = demo_steps(out_dir)
    status = contextlib.nullcontext() if as_json else console.status("working...", spinner="dots")
    while True:
        with status:
            item = next(steps, None)
        if item is None:
            break
        name, result = item
        payload[name] = demo_payload(name, result)
        if not as_json:
            print_demo_step(name, result, out_dir)
    if as_json:
        paper_part = payload.pop("paper")  # the JSON keys of earlier releases
        payload["paper_qwen"] = paper_part["table1"]
        payload["paper_qwen_diagnostic"] = paper_part["diagnostic"]
        _emit_json(payload)


# ---------------------------------------------------------------- entry point
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _flag_given_a_value(args: list[str]) -> str | None:
    """`--json true` (a flag given a value): the one-line error to print, else None."""
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--json" and value.lower() in _BOOL_WORDS:
            return (
                f"--json is a flag and takes no value (got {value!r}): write --json for "
                "JSON, leave it out for tables"
            )
    return None


def _report_bug(exc: BaseException) -> None:
    """Anything but a UserError is rankinv's bug: one line that says so, exit 1."""
    if os.environ.get("RANKINV_DEBUG"):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    print(
        f"rankinv: internal error (a bug in rankinv, not in your input): "
        f"{type(exc).__name__}: {first} -- rerun with RANKINV_DEBUG=1 for the traceback",
        file=sys.stderr,
    )
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one-line errors, exit 2 on bad input."""
    msg = _flag_given_a_value(list(sys.argv[1:] if argv is None else argv))
    if msg:
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="rankinv", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("rankinv: interrupted; results written so far are kept", file=sys.stderr)
        sys.exit(130)
    except (UserError, OSError) as exc:
        # the user's mistake (UserError) or the file system's answer about a path they gave
        if os.environ.get("RANKINV_DEBUG"):
            raise  # the full traceback, for bug reports
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        # click/typer usage errors (typer vendors click in recent releases): duck-typed
        if not hasattr(exc, "format_message"):
            _report_bug(exc)
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
