"""`rankinv validate`: probe checkpoints (per-problem p, entropy, stage-1 risk); several
``--model`` go to DIR/<name>/ on the local or the Ray backend (rankinv.validate.fanout)."""

from __future__ import annotations

import typer

from rankinv.cli._app import JSON_OPTION, OVERWRITE_OPTION, app, emit_json, hold_out
from rankinv.theory import paper

# ---------------------------------------------------------------- the command's options
MODEL_OPTION = typer.Option(
    ...,
    "--model",
    help="Local model or LoRA adapter directory, or a Hugging Face Hub id (org/name; read "
    "from the HF cache, downloaded first unless HF_HUB_OFFLINE=1). Repeatable: each goes "
    "to --out/<name>/.",
)
BENCHMARK_OPTION = typer.Option(
    "humaneval",
    help="humaneval | synthetic | path.jsonl | path.parquet (verl's layout) | a Hugging "
    "Face datasets folder (save_to_disk).",
)
REWARD_OPTION = typer.Option(
    None,
    "--reward",
    help="module:function (or file.py:function): your RL reward, called as "
    "function(prompt, completion, **row) in the sandbox; a score > 0.5 or True passes.",
)
SAMPLES_OPTION = typer.Option(128, "--samples", "-n", help="Samples per problem at T = 1.")
GROUP_SIZE_OPTION = typer.Option(
    None, "--group-size", "-g", help=f"GRPO group size g (default {paper.GROUP_SIZE}, the paper's)."
)
OUT_OPTION = typer.Option(
    ...,
    "--out",
    help="Directory for samples.jsonl and the summary (with several --model: one "
    "subdirectory per checkpoint).",
)
LIMIT_OPTION = typer.Option(None, help="Probe only the first K problems.")
MAX_NEW_TOKENS_OPTION = typer.Option(384, help="Tokens per completion.")
TEMPERATURE_OPTION = typer.Option(1.0, help="Sampling temperature (GRPO's is 1.0).")
ENTROPY_OPTION = typer.Option(
    "both", help="prompt | rollout | both (both exact at T = 1, by teacher forcing)"
)
ENGINE_OPTION = typer.Option("hf", help="hf (transformers, default) | vllm (extra 'vllm')")
BATCH_SIZE_OPTION = typer.Option(
    None, "--batch-size", help="Rows decoded at once (default: from free memory)."
)
BACKEND_OPTION = typer.Option(
    "local",
    "--backend",
    help="local (a worker process per --tensor-parallel-size visible GPUs; one worker: in "
    "this process) | ray (a Ray task per checkpoint or shard; extra 'ray'). Idle workers "
    "take shards of a checkpoint's problems.",
)
RAY_ADDRESS_OPTION = typer.Option(
    None,
    "--ray-address",
    help="As ray.init reads it: none starts a local Ray instance (even where RAY_ADDRESS is "
    "set); 'auto' joins the running cluster; host:port (or ray://host:10001) that cluster.",
)
TENSOR_PARALLEL_SIZE_OPTION = typer.Option(
    None,
    "--tensor-parallel-size",
    help="vLLM: GPUs per model (tensor parallelism); each worker takes that many, and it "
    "must divide the visible GPUs.",
)
GPU_MEMORY_UTILIZATION_OPTION = typer.Option(
    None, "--gpu-memory-utilization", help="vLLM: share of GPU memory it may take (0.9)."
)
MAX_MODEL_LEN_OPTION = typer.Option(
    None, "--max-model-len", help="vLLM: longest prompt + completion (default: the model's)."
)
TRUST_REMOTE_CODE_OPTION = typer.Option(
    False, "--trust-remote-code", help="Run the model directory's own modelling code."
)
CHAT_TEMPLATE_OPTION = typer.Option(
    False,
    "--chat-template",
    help="Wrap prompts with the tokenizer's chat template; take the code from the answer.",
)
STOP_OPTION = typer.Option(
    None,
    "--stop",
    help="Stop string (repeatable; '\\n' is a newline). Default: HumanEval's, or none "
    "with --chat-template.",
)
RL_STEPS_OPTION = typer.Option(
    None,
    "--rl-steps",
    help="Planned GRPO steps: adds the pre-RL report (pre_rl.json) and sets the budget of "
    "the theory-based stage-1 signals (default 400, the paper's).",
)
RL_PROMPTS_PER_STEP_OPTION = typer.Option(
    None,
    "--rl-prompts-per-step",
    help="Planned prompts per GRPO step, each x g samples (default 32).",
)
TAU_H_OPTION = typer.Option(
    paper.TAU_H, help="Stage-1 entropy threshold (nats), calibrated on the paper's Qwen ladder."
)
WORKERS_OPTION = typer.Option(
    None,
    help="Sandbox processes per probe worker (default: the CPUs but one, for the samplers, "
    "shared by the workers on the machine, at least one each).",
)
ALLOW_IMPORT_OPTION = typer.Option(
    None,
    "--allow-import",
    help="A site-packages module the sandboxed completions may import (repeatable, "
    "e.g. --allow-import numpy); the standard library always imports.",
)
SEED_OPTION = typer.Option(0)
RECORD_PATH_OPTION = typer.Option(
    False,
    "--record-path",
    help="Also record each checkpoint's full path in its probe (by default a probe names "
    "a checkpoint by its folder's name or Hub id, so it names no path of this machine).",
)
N_PROMPTS_OPTION = typer.Option(
    None, help="Prompts in the planned RL set (default: the problems probed)."
)
SIGNAL_OPTION = typer.Option(
    None,
    help="Stage-1 predictor (default: the one that scored best on held-out simulated "
    "settings, see `rankinv calibrate`).",
)


@app.command()
def validate(
    model: list[str] = MODEL_OPTION,
    benchmark: str = BENCHMARK_OPTION,
    reward: str = REWARD_OPTION,
    samples: int = SAMPLES_OPTION,
    group_size: int = GROUP_SIZE_OPTION,
    out: str = OUT_OPTION,
    limit: int = LIMIT_OPTION,
    max_new_tokens: int = MAX_NEW_TOKENS_OPTION,
    temperature: float = TEMPERATURE_OPTION,
    entropy: str = ENTROPY_OPTION,
    engine: str = ENGINE_OPTION,
    batch_size: int = BATCH_SIZE_OPTION,
    backend: str = BACKEND_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    tensor_parallel_size: int = TENSOR_PARALLEL_SIZE_OPTION,
    gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION_OPTION,
    max_model_len: int = MAX_MODEL_LEN_OPTION,
    trust_remote_code: bool = TRUST_REMOTE_CODE_OPTION,
    chat_template: bool = CHAT_TEMPLATE_OPTION,
    stop: list[str] = STOP_OPTION,
    rl_steps: int = RL_STEPS_OPTION,
    rl_prompts_per_step: int = RL_PROMPTS_PER_STEP_OPTION,
    tau_h: float = TAU_H_OPTION,
    workers: int = WORKERS_OPTION,
    allow_import: list[str] = ALLOW_IMPORT_OPTION,
    seed: int = SEED_OPTION,
    n_prompts: int = N_PROMPTS_OPTION,
    signal: str = SIGNAL_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
    record_path: bool = RECORD_PATH_OPTION,
    as_json: bool = JSON_OPTION,
):
    """Probe checkpoints: per-problem p and entropy, stage-1 risk (resumable)."""
    from rankinv.render.probe import print_interrupted, print_probe, print_probes
    from rankinv.validate.config import ProbeConfig
    from rankinv.validate.fanout import check_inputs, job_template, validate_many
    from rankinv.validate.probe import ProbeInterrupted

    # the planned run's defaults are ProbeConfig's (rankinv.records.Plan's); what was typed
    # is recorded as given, even where it equals the default
    planned = {"group_size": group_size, "rl_steps": rl_steps, "batch_prompts": rl_prompts_per_step}
    typed = {**planned, "n_prompts": n_prompts}
    given = tuple(k for k, v in typed.items() if v is not None)
    cfg = ProbeConfig(
        benchmark=benchmark,
        samples=samples,
        given=given,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        limit=limit,
        seed=seed,
        tau_h=tau_h,
        workers=workers,
        n_prompts=n_prompts,
        signal=signal,
        reward=reward,
        **{k: v for k, v in planned.items() if v is not None},
    )
    # every engine option given, by the name its engine declares; the registry
    # (rankinv.validate.engines) checks them against --engine's own
    engine_options = {
        "batch_size": batch_size,
        "tensor_parallel_size": tensor_parallel_size,
        "gpu_memory_utilization": gpu_memory_utilization,
        "max_model_len": max_model_len,
        "trust_remote_code": trust_remote_code,
    }
    template = job_template(
        out, cfg, entropy=entropy, engine=engine, engine_options=engine_options,
        chat_template=chat_template, stop=stop, rl_steps=rl_steps,
        rl_prompts_per_step=rl_prompts_per_step, allow_imports=allow_import,
        progress=not as_json, overwrite=overwrite, record_path=record_path,
    )  # fmt: skip
    too_many = check_inputs(model, benchmark, reward, limit)
    if too_many:
        typer.echo(f"warning: {too_many}", err=True)
    hold_out(out)
    try:
        summaries = validate_many(model, out, template, backend, ray_address)
    except ProbeInterrupted as exc:
        print_interrupted(str(exc))
        raise typer.Exit(130) from None
    if as_json:
        emit_json(summaries[0] if len(model) == 1 else
                  {"backend": backend, "out": out, "checkpoints": summaries})  # fmt: skip
    elif len(model) == 1:
        print_probe(summaries[0], model[0], out)
    else:
        print_probes(summaries, out)
