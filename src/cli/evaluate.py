"""`rankinv evaluate`: held-out pass@k of saved checkpoints, written as a JSONL log that
`rankinv monitor` reads (rankinv.validate.checkpoints)."""

from __future__ import annotations

import typer

from rankinv.cli._app import JSON_OPTION, app, emit_json


@app.command()
def evaluate(
    checkpoints: list[str] = typer.Argument(  # noqa: B008 - typer's variadic argument
        ..., help="Checkpoint directories (global_step_120, checkpoint-120, ...)."
    ),
    benchmark: str = typer.Option(..., help="humaneval | synthetic | path.jsonl (held-out)."),
    samples: int = typer.Option(16, "--samples", "-n", help="Samples per prompt at T = 1."),
    k: list[int] = typer.Option(  # noqa: B008 - typer's repeatable option
        None, "--k", help="A k of pass@k (repeatable; pass@1 always; default 1 and min(8, n))."
    ),
    group_size: int = typer.Option(
        None, "--group-size", "-g", help="g of the group shares (default min(8, n))."
    ),
    out: str = typer.Option(..., "--out", help="JSONL log to append to (one line a checkpoint)."),
    step: list[int] = typer.Option(  # noqa: B008
        None, "--step", help="Training step of each checkpoint, in order (default: its folder)."
    ),
    planned_steps: int = typer.Option(
        None, help="The run's planned steps (written as max_steps: the monitor's planned looks)."
    ),
    limit: int = typer.Option(None, help="Only the first K prompts."),
    max_new_tokens: int = typer.Option(256, help="Tokens per completion."),
    temperature: float = typer.Option(1.0, help="Sampling temperature."),
    stop: list[str] = typer.Option(  # noqa: B008
        None, "--stop", help="Stop string (repeatable; '\\n' is a newline). Default: HumanEval's."
    ),
    chat_template: bool = typer.Option(
        False, "--chat-template", help="Wrap prompts with the tokenizer's chat template."
    ),
    engine: str = typer.Option("hf", help="hf (transformers, default) | vllm (extra 'vllm')"),
    batch_size: int = typer.Option(None, "--batch-size", help="Rows decoded at once."),
    workers: int = typer.Option(None, help="Sandbox workers (default: one per CPU)."),
    seed: int = typer.Option(0),
    as_json: bool = JSON_OPTION,
):
    """Held-out pass@k (with SE) of checkpoints, as a log `rankinv monitor` reads (resumable)."""
    from rankinv.validate.checkpoints import evaluate_checkpoints
    from rankinv.validate.heldout import HeldOutConfig

    stops = None
    if stop:
        stops = tuple(s.replace("\\n", "\n").replace("\\t", "\t") for s in stop)
    cfg = HeldOutConfig(
        samples=samples, ks=tuple(k) if k else None, group_size=group_size, temperature=temperature,
        max_new_tokens=max_new_tokens, stop=stops, chat_template=chat_template, seed=seed,
        limit=limit,
    )  # fmt: skip
    res = evaluate_checkpoints(
        checkpoints, benchmark, cfg, out, steps=step, engine=engine,
        engine_options={"batch_size": batch_size}, workers=workers,
        planned_steps=planned_steps, log=None if as_json else typer.echo,
    )  # fmt: skip
    if as_json:
        emit_json(res)
        return
    for r in res["records"]:
        cols = "  ".join(
            f"pass@{kk} {r[f'eval/pass_at_{kk}']:.3f} ± {r.get(f'eval/pass_at_{kk}_se', 0):.3f}"
            for kk in cfg.ks
        )
        typer.echo(f"step {r['step']}: {cols}  ({r['checkpoint']})")
    typer.echo(
        f"{len(res['evaluated'])} evaluated, {len(res['skipped'])} already in {res['out']}; "
        f"judge with: rankinv monitor {res['out']}"
    )
