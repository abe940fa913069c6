"""Probe a ladder of checkpoints: `rankinv validate --model A --model B ... --out DIR` writes
each checkpoint's probe to DIR/<name>/ (one model: DIR itself, as always), then
`rankinv rank DIR/*` ranks them.

Backends:
- ``local`` (default): one checkpoint after another in this process; when several GPUs are
  visible, one worker process per GPU (CUDA_VISIBLE_DEVICES set to that one), each taking
  the next checkpoint as it finishes one.
- ``ray`` (``pip install 'rankinv[ray]'``): one Ray task per checkpoint, ``num_gpus=1`` where
  the cluster has GPUs and one CPU otherwise, on a local Ray instance or the cluster at
  ``ray_address`` (rankinv must be importable on its nodes, and DIR on a shared filesystem).

Every job is one :func:`rankinv.validate.probe.run_probe` into its own directory, so a job
that is interrupted, or fails, resumes from its samples.jsonl when the command is rerun.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rankinv._io import claim_folder, claim_out_dir
from rankinv.errors import UserError
from rankinv.validate.models import model_key

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class ProbeJob:
    """One checkpoint's probe: everything :func:`run_probe` needs, picklable."""

    model: str
    out: str
    cfg: object  # rankinv.validate.config.ProbeConfig
    engine: str = "hf"
    engine_options: dict = field(default_factory=dict)
    entropy_mode: str = "both"
    chat_template: bool = False
    stop: tuple[str, ...] | None = None
    pre_rl: bool = False  # also write pre_rl.json for the config's planned run
    allow_imports: tuple[str, ...] = ()
    progress: bool = False
    overwrite: bool = False  # replace another run's results in ``out``


def run_identity(job: ProbeJob) -> dict:
    """What makes a probe folder's samples one run (rankinv._io.claim_out_dir)."""
    cfg = job.cfg
    return {
        "command": "validate",
        "model": model_key(job.model),
        "benchmark": cfg.benchmark,
        "temperature": cfg.temperature,
        "max_new_tokens": cfg.max_new_tokens,
        "seed": cfg.seed,
        "stop": list(job.stop) if job.stop else None,
        "chat_template": job.chat_template,
        "engine": job.engine,
    } | ({"reward": cfg.reward} if cfg.reward else {})  # none: as recorded before --reward


def checkpoint_names(models: list[str]) -> list[str]:
    """A directory name per checkpoint: its last path part, or its last two joined by "-"
    where last parts repeat (run1/final, run2/final); a UserError when those repeat too."""
    parts = [Path(model_key(m)).parts for m in models]
    for depth in (1, 2):
        names = ["-".join(p[-depth:]) for p in parts]
        names = [re.sub(r"[^A-Za-z0-9._-]+", "_", n) for n in names]
        if len(set(names)) == len(names):
            return names
    dup = sorted({n for n in names if names.count(n) > 1})
    raise UserError(f"--model: checkpoints would share the output directory {dup[0]!r}")


def plan_jobs(models: list[str], out: str | Path, template: ProbeJob) -> list[ProbeJob]:
    """One job per model: into ``out`` for one model, ``out/<name>`` for several."""
    if not models:
        raise UserError("--model: give at least one checkpoint directory")
    if len(set(models)) != len(models):
        raise UserError("--model: a checkpoint is given twice")
    if len(models) == 1:
        return [replace(template, model=models[0], out=str(out))]
    return [
        replace(template, model=m, out=str(Path(out) / n))
        for m, n in zip(models, checkpoint_names(models), strict=True)
    ]


def probe_job(job: ProbeJob) -> dict:
    """Run one job (in this process, a device worker or a Ray task); its summary."""
    from rankinv.validate.probe import run_probe

    return run_probe(
        job.model,
        replace(job.cfg, allow_imports=tuple(job.allow_imports)),
        job.out,
        engine=job.engine,
        engine_options=dict(job.engine_options),
        progress=job.progress,
        entropy_mode=job.entropy_mode,
        chat_template=job.chat_template,
        stop=job.stop,
        pre_rl=job.pre_rl,
    )


def visible_devices() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries (empty on a
    machine without CUDA)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def run_local(jobs: list[ProbeJob], devices: list[str] | None = None) -> list[dict]:
    """Jobs one after another in this process, or with two or more ``devices`` (default:
    the visible CUDA devices) one worker process per device, pinned to it."""
    devices = visible_devices() if devices is None else list(devices)
    if len(devices) < 2 or len(jobs) < 2:
        return [probe_job(j) for j in jobs]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # CUDA cannot be forked; each worker starts clean
    slots = ctx.Queue()
    for d in devices:
        slots.put(d)
    n = min(len(devices), len(jobs))
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_pin, initargs=(slots,)) as pool:
        futs = [pool.submit(probe_job, replace(j, progress=False)) for j in jobs]
        return _gather(jobs, [_outcome(f.result) for f in futs])


def _pin(slots) -> None:
    """Worker initializer: take one device for the life of this worker process."""
    os.environ["CUDA_VISIBLE_DEVICES"] = slots.get()


def run_ray(jobs: list[ProbeJob], address: str | None = None) -> list[dict]:
    """One Ray task per job: ``num_gpus=1`` where the cluster has GPUs, else one CPU."""
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs ray: pip install 'rankinv[ray]'") from None
    started = not ray.is_initialized()
    if started:
        env = {"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}} if address is None and (
            os.environ.get("PYTHONPATH")
        ) else None  # fmt: skip
        try:
            ray.init(address=address, runtime_env=env, include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
        except ConnectionError as exc:
            raise UserError(f"--ray-address {address}: {exc}") from None
    try:
        has_gpu = ray.cluster_resources().get("GPU", 0) >= 1
        task = ray.remote(probe_job).options(
            **({"num_gpus": 1} if has_gpu else {"num_cpus": 1}), max_retries=0
        )
        refs = [task.remote(replace(j, progress=False)) for j in jobs]
        return _gather(jobs, [_outcome(lambda r=r: ray.get(r)) for r in refs])
    finally:
        if started:
            ray.shutdown()


def _outcome(get):
    try:
        return get(), None
    except Exception as exc:  # noqa: BLE001 - reported per checkpoint by _gather
        return None, exc


def _gather(jobs: list[ProbeJob], outcomes) -> list[dict]:
    """The summaries in job order, after every job has ended; the first failure is raised
    then, naming its checkpoint (the others' probes are complete on disk)."""
    for job, (_, exc) in zip(jobs, outcomes, strict=True):
        if exc is not None:
            cause = getattr(exc, "cause", None) or exc  # a Ray task error wraps the original
            if isinstance(cause, UserError):
                raise UserError(f"{job.model}: {cause}") from None
            raise RuntimeError(f"probe of {job.model} failed: {cause!r}") from exc
    return [s for s, _ in outcomes]


def validate_many(
    models: list[str], out: str | Path, template: ProbeJob, backend: str = "local",
    ray_address: str | None = None, devices: list[str] | None = None,
) -> list[dict]:  # fmt: skip
    """Probe every model with ``template``'s settings; one summary per model, in order,
    each with the directory it went to (``out``)."""
    if backend not in BACKENDS:
        raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if ray_address and backend != "ray":
        raise UserError("--ray-address goes with --backend ray")
    jobs = plan_jobs(list(models), out, template)
    with contextlib.ExitStack() as held:  # one writer per checkpoint folder too (DIR/<name>/)
        for job in jobs:
            held.enter_context(claim_folder(job.out))
        for job in jobs:  # a folder holding another run is refused before any model loads
            claim_out_dir(job.out, run_identity(job), job.overwrite)
        sums = run_ray(jobs, ray_address) if backend == "ray" else run_local(jobs, devices)
    return [{**s, "out": j.out} for s, j in zip(sums, jobs, strict=True)]


def job_template(
    out: str,
    cfg,
    entropy: str = "both",
    engine: str = "hf",
    engine_options: dict | None = None,
    chat_template: bool = False,
    stop: list[str] | None = None,
    rl_steps: int | None = None,
    rl_prompts_per_step: int | None = None,
    allow_imports: list[str] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> ProbeJob:
    """The `validate` command's options as a job template, every check that needs no model
    done first (bad arguments never wait for a model load). ``stop`` strings take ``\\n`` and
    ``\\t`` escapes."""
    from rankinv.sandbox import executor
    from rankinv.validate.engines.registry import check_options
    from rankinv.validate.probe import check_probe_args

    check_probe_args(out, entropy, engine)
    executor.check_allow_imports(tuple(allow_imports or ()))  # an unknown module: now
    opts = check_options(engine, engine_options or {})  # the engine's own, range-checked
    if (rl_steps is None) != (rl_prompts_per_step is None):
        raise UserError("--rl-steps and --rl-prompts-per-step go together")
    if rl_steps is not None and (rl_steps < 1 or rl_prompts_per_step < 1):
        raise UserError("--rl-steps and --rl-prompts-per-step must be >= 1")
    stops = None
    if stop:
        stops = tuple(s.replace("\\n", "\n").replace("\\t", "\t") for s in stop)
        if any(not s for s in stops):
            raise UserError("--stop: empty stop string")
    return ProbeJob(
        model="",
        out=str(out),
        cfg=cfg,
        engine=engine,
        engine_options=opts,
        entropy_mode=entropy,
        chat_template=chat_template,
        stop=stops,
        pre_rl=rl_steps is not None,
        allow_imports=tuple(allow_imports or ()),
        progress=progress,
        overwrite=overwrite,
    )


def check_inputs(models: list[str], benchmark: str, reward: str | None = None) -> None:
    """The benchmark (with the reward, where given) and every model, checked before any
    model loads."""
    from rankinv.sandbox import tasks as task_sets
    from rankinv.validate.models import resolve_model_dir

    task_sets.load(benchmark, reward=reward)
    for m in models:
        resolve_model_dir(m)
