"""`rankinv validate`: probe a checkpoint (per-problem p, entropy, stage-1 risk)."""

from __future__ import annotations

import typer

from rankinv.cli._app import JSON_OPTION, app, emit_json
from rankinv.errors import UserError
from rankinv.theory import paper


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
    as_json: bool = JSON_OPTION,
):
    """Probe a checkpoint: per-problem p and entropy, stage-1 risk (resumable)."""
    from rankinv.render.probe import print_interrupted, print_probe
    from rankinv.sandbox import executor
    from rankinv.sandbox import tasks as task_sets
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
        print_interrupted(str(exc))
        raise typer.Exit(130) from None
    if as_json:
        emit_json(summary)
        return
    print_probe(summary, model, out)
