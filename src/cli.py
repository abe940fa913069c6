"""The `rankinv` console script: thin typer commands over the library, --json everywhere.

Errors in user input exit with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from rankinv._io import write_json
from rankinv.theory import paper

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
    console.print(
        _kv_table(f"GRPO dead-zone thresholds, g = {group_size}, level = {level}", payload.items())
    )


def _kv_table(title: str, items) -> Table:
    """A two-column quantity / value table."""
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in items:
        shown = "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    return table


def thresholds_table(group_sizes, level: float = 0.5, n_outcomes: int = 32) -> list[dict]:
    return [threshold_payload(g, level, n_outcomes) for g in group_sizes]


# ---------------------------------------------------------------- simulate
def _sim_table(result: dict) -> Table:
    bd = result["by_depth"]
    table = Table(
        title=f"Simulated SFT depth sweep ({result['config']['name']}), "
        f"g = {result['work']['group_size']}, mean over seeds"
    )
    for col in [
        "SFT epochs",
        "H pre (nats)",
        "pass@1 pre",
        f"pass@{result['k']} pre",
        f"peak pass@{result['k']} post",
        "all-fail",
        "all-pass",
    ]:
        table.add_column(col, justify="right")
    for i, d in enumerate(bd["depth"]):
        table.add_row(
            f"{d:g}",
            f"{bd['pre_entropy'][i]:.3f}",
            f"{bd['pre_pass_at_1'][i]:.3f}",
            f"{bd['pre_pass_at_k'][i]:.3f}",
            f"{bd['post_peak'][i]:.3f}",
            f"{bd['all_fail_pre'][i]:.2f}",
            f"{bd['all_pass_pre'][i]:.2f}",
        )
    return table


def _rho_line(name: str, r: dict) -> str:
    if r.get("rho") is None:
        return f"{name}: undefined ({r.get('error', 'constant input')})"
    return (
        f"{name}: rho = {r['rho']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}], "
        f"p = {r['p_value']:.3g}"
    )


def print_simulation(result: dict) -> None:
    console.print(_sim_table(result))
    console.print(
        _rho_line("pre-RL pass@1 vs post (seed-demeaned)", result["spearman_pre_pass1_vs_post"])
    )
    console.print(
        _rho_line("pre-RL entropy vs post (seed-demeaned)", result["spearman_entropy_vs_post"])
    )
    console.print(
        f"inversion: {'yes' if result['inversion'] else 'no'};  p*(g) Monte Carlo "
        f"{result['p_star_numeric']:.4f} +- {result['p_star_numeric_se']:.4f} vs exact "
        f"{result['p_star_analytic']:.4f};  {result['elapsed_s']:.1f} s "
        f"(compile {result['compile_s']:.1f} s)"
    )


@app.command()
def simulate(
    preset: str = typer.Option("quick", help="quick | paper | high-base"),
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
    """JAX sweep over SFT depths x seeds, then GRPO: the inversion and rho."""
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
    if as_json:
        _emit_json(payload)
        return
    print_simulation(result)
    if derive:
        _print_derive(result["derive"])
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


def _print_derive(d: dict) -> None:
    t = Table(title="p*(g): analytic vs numeric")
    for col in ["g", "exact", "Monte Carlo", "z", "dynamic (T steps)", "first signal 1/2"]:
        t.add_column(col, justify="right")
    for r in d["p_star"]:
        t.add_row(
            str(r["g"]),
            f"{r['p_star_analytic']:.4f}",
            f"{r['p_star_monte_carlo']:.4f}",
            f"{r['monte_carlo_z']:+.1f}",
            f"{r['p_star_dynamic']:.4f} ({r['dynamic_steps']})",
            f"{r['p_first_signal_half']:.4f}",
        )
    console.print(t)
    e = d["entropy_threshold"]
    onset = "none" if e["onset_nats"] is None else f"{e['onset_nats']:.3f}"
    console.print(
        f"entropy: inversion onset at {onset} nats (mean token entropy); theory per "
        f"token H_low {e['theory_low_per_token']:.3f}, H_high "
        f"{e['theory_high_per_token']:.3f}"
    )
    m = Table(title="Mitigations on the deepest checkpoint (peak pass@k after RL)")
    for col in ["mitigation", "shallow", "deep", "deep vs none", "rescues"]:
        m.add_column(col, justify="right")
    for r in d["mitigations"]:
        m.add_row(
            r["mitigation"],
            f"{r['shallow_post_peak']:.3f}",
            f"{r['deep_post_peak']:.3f}",
            f"{r['deep_gain_vs_none']:+.3f}",
            "yes" if r["rescues"] else "no",
        )
    console.print(m)


# ---------------------------------------------------------------- monitor
def _print_monitor(rep: dict) -> None:
    colour = {"continue": "green", "watch": "yellow", "stop": "red"}[rep["verdict"]]
    console.print(
        f"verdict: [bold {colour}]{rep['verdict']}[/] (signal: {rep['entropy_signal']})",
        highlight=False,
    )
    for r in rep["reasons"]:
        console.print(f"  - {r}", highlight=False)
    for i in rep["log_issues"]:
        console.print(f"  ! log: {i}", highlight=False)
    if rep["verdict"] == "stop":
        console.print(f"  stopping now saves {rep['compute_saved']:.1%} of the planned RL compute")


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
    """Stage 2 on a GRPO log: entropy drop and informative groups -> continue, watch or stop."""
    import time as _time

    from rankinv.validate.monitor import MonitorConfig
    from rankinv.validate.monitor import monitor as run_monitor

    cfg = MonitorConfig(
        ref_step=ref_step,
        check_step=check_step,
        threshold=threshold,
        group_size=group_size,
        planned_steps=planned_steps,
        entropy_key=entropy_key,
        step_key=step_key,
        zero_std_key=zero_std_key,
    )

    def emit(rep):
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            write_json(Path(out), rep)
        if as_json:
            typer.echo(json.dumps({k: v for k, v in rep.items() if k != "series"}))
        else:
            _print_monitor(rep)

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
            key = (rep["verdict"], rep["last_step"] >= cfg.check_step)
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
def _flag_upper(v) -> str:
    from rankinv.validate.compare import flag_word

    return flag_word(v).upper() if v else flag_word(v)


def _print_compare(res: dict) -> None:
    t = Table(
        title=f"Predictors of {res['outcome']} (n = {res['n']}, seed-demeaned: "
        f"{res['seed_demeaned']})"
    )
    for col in ["predictor", "rho", "95% CI", "p"]:
        t.add_column(col, justify="right")
    for k, v in res["predictors"].items():
        if v["rho"] is None:
            t.add_row(k, "-", "-", v.get("error", ""))
        else:
            t.add_row(
                k,
                f"{v['rho']:+.2f}",
                f"[{v['ci_low']:+.2f}, {v['ci_high']:+.2f}]",
                f"{v['p_value']:.3g}",
            )
    console.print(t)
    inv = (
        "n/a (no pre_pass_at_1 column)"
        if "pre_pass_at_1" not in res["predictors"]
        else "yes"
        if res["inversion"]
        else "no"
    )
    console.print(
        f"inversion of the pre-RL pass@1 ranking: {inv}; favoured predictor: "
        f"{res['favoured_predictor']}",
        highlight=False,
    )
    s = Table(title="Stage-1 / stage-2 verdicts next to what happened")
    s.add_column("checkpoint", no_wrap=True)
    for col in ["H", "stage 1", "stage-2 drop", "stage 2", "headroom", "outcome", "rank"]:
        s.add_column(col, justify="right")
    for r in res["stage"]:
        s.add_row(
            str(r["name"]),
            "-" if r["entropy"] is None else f"{r['entropy']:.3f}",
            _flag_upper(r["stage1_flag"]),
            "-" if r["stage2_drop"] is None else f"{r['stage2_drop']:.0%}",
            _flag_upper(r["stage2_flag"]),
            "-" if r["headroom"] is None else f"{r['headroom']:.1f}x",
            f"{r['outcome']:.3f}",
            str(r["observed_rank"]),
        )
    console.print(s)


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
    from rankinv.validate import compare as cmp

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
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "compare.json", res)
    if as_json:
        _emit_json({k: v for k, v in res.items() if k != "rows"})
        return
    console.print(f"source: {source}", highlight=False)
    _print_compare(res)


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
        None, "--rl-steps", help="Planned GRPO steps: adds the pre-RL report (pre_rl.json)."
    ),
    rl_prompts_per_step: int = typer.Option(
        None, "--rl-prompts-per-step", help="Planned prompts per GRPO step (each x g samples)."
    ),
    tau_h: float = typer.Option(
        paper.TAU_H, help="Stage-1 entropy threshold (nats), calibrated on the paper's Qwen ladder."
    ),
    workers: int = typer.Option(2, help="Sandbox workers."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Probe a checkpoint: per-problem p and entropy, stage-1 risk (resumable)."""
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
    t = _kv_table(f"Stage-1 probe of {model}", ((k, summary[k]) for k in keys))
    console.print(t)
    if summary.get("pass_at_64_note"):
        console.print(f"pass_at_64 '-': {summary['pass_at_64_note']}", highlight=False)
    colour = {"low": "green", "medium": "yellow", "high": "red"}[summary["risk"]]
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
    preset: str = typer.Option("ci", help="ci (under 10 min on 2 CPU cores) | gpu"),
    out: str = typer.Option("runs/mini", "--out", help="Directory (resumable)."),
    sft: str = typer.Option("full", "--sft", help="full fine-tuning | lora (peft adapters)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Pretrain a small Qwen2 coder, SFT to several depths, GRPO, predicted vs observed."""
    import dataclasses

    from rankinv.experiment.mini import preset as mini_preset
    from rankinv.experiment.mini import run_mini

    cfg = dataclasses.replace(mini_preset(preset), sft_mode=sft)
    log = (lambda m: None) if as_json else (lambda m: console.print(m, highlight=False))
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
        console.print(_rho_line(f"rho(pre-RL pass@1, peak pass@{k})", res["rho_pass1_vs_post"]))
        console.print(_rho_line(f"rho(rollout entropy, peak pass@{k})", res["rho_entropy_vs_post"]))
        console.print(f"inversion: {'yes' if res['inversion'] else 'no'}")
    sim = res["simulator"]
    console.print(_rho_line("simulator rho(pass@1, post)", sim["rho_pass1_vs_post"]))
    console.print(_rho_line("simulator rho(entropy, post)", sim["rho_entropy_vs_post"]))
    console.print(f"{res['seconds']['total']:.0f} s; artifacts in {out}")


# ---------------------------------------------------------------- report
@app.command()
def report(
    directory: str = typer.Argument(..., help="Directory holding rankinv artifacts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """One Markdown report with PNG figures from the artifacts in DIR."""
    from rankinv.validate.report import build_report

    path = build_report(directory)
    figures = sorted(str(p) for p in Path(directory).glob("*.png"))
    if as_json:
        _emit_json({"report": str(path), "figures": figures})
    else:
        console.print(f"report: {path}\nfigures: {', '.join(figures)}", highlight=False)


# ---------------------------------------------------------------- demo
DEMO_GROUP_SIZES = [2, 4, 8, 16, 32, 64]


@app.command()
def demo(
    out: str = typer.Option(
        None,
        "--out",
        help="Directory for artifacts and the report (default: a new temporary directory).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """The main job on built-in defaults: thresholds, a quick simulation with its stage-2
    monitor, the paper's example, and a report with figures."""
    import tempfile

    from rankinv.simulate import preset as sim_preset
    from rankinv.simulate import run_sweep
    from rankinv.validate import compare as cmp
    from rankinv.validate.monitor import MonitorConfig
    from rankinv.validate.monitor import monitor as run_monitor
    from rankinv.validate.report import build_report

    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="rankinv-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = thresholds_table(DEMO_GROUP_SIZES)
    if not as_json:
        table = Table(title="1. Dead zone of GRPO with binary rewards (level 1/2, K = 32)")
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
        console.print("\n[bold]2. Simulation[/]: SFT to 5 depths x 3 seeds, then GRPO (JAX)")
    cfg = sim_preset("quick")
    if as_json:
        sim = run_sweep(cfg, out_dir)
    else:
        with console.status("simulating...", spinner="dots"):
            sim = run_sweep(cfg, out_dir)
        print_simulation(sim)
    mcfg = MonitorConfig(
        ref_step=10,
        check_step=cfg.rl_steps - 10,
        planned_steps=cfg.rl_steps,
        group_size=cfg.group_size,
    )
    monitors = {}
    for d in (min(cfg.sft_depths), max(cfg.sft_depths)):
        rep = run_monitor(out_dir / "logs" / f"depth{d:g}_seed0.jsonl", mcfg)
        write_json(out_dir / f"monitor_sim_depth{d:g}.json", rep)
        monitors[f"depth{d:g}"] = {k: v for k, v in rep.items() if k != "series"}
        if not as_json:
            console.print(f"\nstage-2 monitor on the simulated {d:g}-epoch run:")
            _print_monitor(rep)
    ex = cmp.example("paper-qwen")
    res = cmp.compare(ex["rows"], ex["outcome"], ex["group_size"])
    res["source"] = "example paper-qwen"
    write_json(out_dir / "compare.json", res)
    diag = cmp.example("paper-qwen-diagnostic")
    res_diag = cmp.compare(diag["rows"], diag["outcome"], diag["group_size"])
    if not as_json:
        console.print("\n[bold]3. The paper's Qwen2.5-Coder-3B ladder[/] (Table 1)")
        _print_compare(res)
        console.print("\nTable 3 (seed 42), two-stage diagnostic:")
        _print_compare(res_diag)
    path = build_report(out_dir)
    payload = {
        "thresholds": rows,
        "simulation": {k: v for k, v in sim.items() if k != "trajectories"},
        "monitor": monitors,
        "paper_qwen": {k: v for k, v in res.items() if k != "rows"},
        "paper_qwen_diagnostic": {k: v for k, v in res_diag.items() if k != "rows"},
        "report": str(path),
        "out": str(out_dir),
    }
    if as_json:
        _emit_json(payload)
    else:
        console.print(f"\n[bold]4. Report[/]: {path} (figures beside it)", highlight=False)


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
        if os.environ.get("RANKINV_DEBUG"):
            raise  # the full traceback, for bug reports
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
