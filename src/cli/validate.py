"""`rankinv validate`: probe checkpoints (per-problem p, entropy, stage-1 risk); several
``--model`` go to DIR/<name>/ on the local or the Ray backend (rankinv.validate.fanout)."""

from __future__ import annotations

import typer

from rankinv.cli._app import JSON_OPTION, OVERWRITE_OPTION, app, emit_json, hold_out
from rankinv.theory import paper


@app.command()
def validate(
    model: list[str] = typer.Option(  # noqa: B008 - typer's repeatable option
        ...,
        "--model",
        help="Local model or LoRA adapter directory, or a Hugging Face Hub id (org/name; read "
        "from the HF cache, downloaded first unless HF_HUB_OFFLINE=1). Repeatable: each goes "
        "to --out/<name>/.",
    ),
    benchmark: str = typer.Option(
        "humaneval",
        help="humaneval | synthetic | path.jsonl | path.parquet (verl's layout) | a Hugging "
        "Face datasets folder (save_to_disk).",
    ),
    reward: str = typer.Option(
        None,
        "--reward",
        help="module:function (or file.py:function): your RL reward, called as "
        "function(prompt, completion, **row) in the sandbox; a score > 0.5 or True passes.",
    ),
    samples: int = typer.Option(128, "--samples", "-n", help="Samples per problem at T = 1."),
    group_size: int = typer.Option(
        paper.GROUP_SIZE, "--group-size", "-g", help="GRPO group size g."
    ),
    out: str = typer.Option(
        ...,
        "--out",
        help="Directory for samples.jsonl and the summary (with several --model: one "
        "subdirectory per checkpoint).",
    ),
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
    backend: str = typer.Option(
        "local",
        "--backend",
        help="local (one checkpoint after another; one per GPU when several are visible) | "
        "ray (one Ray task per checkpoint; extra 'ray').",
    ),
    ray_address: str = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: start a local instance)."
    ),
    tensor_parallel_size: int = typer.Option(
        None, "--tensor-parallel-size", help="vLLM: GPUs per model (tensor parallelism)."
    ),
    gpu_memory_utilization: float = typer.Option(
        None, "--gpu-memory-utilization", help="vLLM: share of GPU memory it may take (0.9)."
    ),
    max_model_len: int = typer.Option(
        None, "--max-model-len", help="vLLM: longest prompt + completion (default: the model's)."
    ),
    trust_remote_code: bool = typer.Option(
        False, "--trust-remote-code", help="Run the model directory's own modelling code."
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
    workers: int = typer.Option(
        None, help="Sandbox workers (default: one per available CPU but one, for the sampler)."
    ),
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
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
):
    """Probe checkpoints: per-problem p and entropy, stage-1 risk (resumable)."""
    from rankinv.render.probe import print_interrupted, print_probe, print_probes
    from rankinv.validate.fanout import check_inputs, job_template, validate_many
    from rankinv.validate.probe import ProbeConfig, ProbeInterrupted

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
        n_prompts=n_prompts,
        signal=signal,
        reward=reward,
        **{  # the planned run's defaults are ProbeConfig's (rankinv.records.Plan's)
            k: v
            for k, v in (("rl_steps", rl_steps), ("batch_prompts", rl_prompts_per_step))
            if v is not None
        },
    )
    template = job_template(
        out,
        cfg,
        entropy=entropy,
        engine=engine,
        engine_options={
            "batch_size": batch_size,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "trust_remote_code": trust_remote_code,
        },
        chat_template=chat_template,
        stop=stop,
        rl_steps=rl_steps,
        rl_prompts_per_step=rl_prompts_per_step,
        allow_imports=allow_import,
        progress=not as_json,
        overwrite=overwrite,
    )
    check_inputs(model, benchmark, reward)
    hold_out(out)
    try:
        summaries = validate_many(model, out, template, backend, ray_address)
    except ProbeInterrupted as exc:
        print_interrupted(str(exc))
        raise typer.Exit(130) from None
    if len(model) == 1:
        if as_json:
            emit_json(summaries[0])
        else:
            print_probe(summaries[0], model[0], out)
        return
    if as_json:
        emit_json({"backend": backend, "out": out, "checkpoints": summaries})
    else:
        print_probes(summaries, out)
