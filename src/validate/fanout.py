"""Probe a ladder of checkpoints: `rankinv validate --model A --model B ... --out DIR` writes
each checkpoint's probe to DIR/<name>/ (one model: DIR itself, as always), then
`rankinv rank DIR/*` ranks them.

Backends:
- ``local`` (default): one checkpoint after another in this process; with room for two or
  more workers (the visible GPUs in groups of ``--tensor-parallel-size``), one worker
  process per group (CUDA_VISIBLE_DEVICES set to its devices), each taking the next unit as
  it finishes one (rankinv.validate.workers).
- ``ray`` (``pip install 'rankinv[ray]'``): one Ray task per unit, asking for
  ``--tensor-parallel-size`` GPUs where the cluster has GPUs and one CPU otherwise
  (rankinv.validate.ray_backend).

A unit is a checkpoint, or, where workers outnumber checkpoints (3 checkpoints on 8 GPUs),
a shard of one: its problems are dealt to the idle workers and merged into the checkpoint's
one folder (rankinv.validate.slots, rankinv.validate.shards). Each worker's sandbox takes
its share of its node's CPUs; each worker sends progress lines, printed here. Every unit is
one :func:`rankinv.validate.probe.run_probe`, so a run that is interrupted, or fails,
resumes from the samples on disk when the command is rerun.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rankinv._io import claim_folder, claim_out_dir
from rankinv.errors import UserError
from rankinv.validate import shards
from rankinv.validate.models import model_key
from rankinv.validate.progress import EVERY_S
from rankinv.validate.slots import (
    Unit,
    check_tp,
    device_slots,
    node_cpus,
    plan_units,
    sandbox_budget,
    visible_devices,
)
from rankinv.validate.workers import run_inline, run_pool

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
    name: str | None = None  # how the probe names the checkpoint (None: its folder's name)
    record_path: bool = False  # also record the checkpoint's full path


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
    """One job per model: into ``out`` for one model, ``out/<name>`` for several (the
    probe then names its checkpoint <name> too)."""
    if not models:
        raise UserError("--model: give at least one checkpoint directory")
    if len(set(models)) != len(models):
        raise UserError("--model: a checkpoint is given twice")
    if len(models) == 1:
        return [replace(template, model=models[0], out=str(out))]
    return [
        replace(template, model=m, out=str(Path(out) / n), name=n)
        for m, n in zip(models, checkpoint_names(models), strict=True)
    ]


def tensor_parallel_size(job: ProbeJob) -> int:
    """The GPUs one worker of ``job`` holds (vLLM's --tensor-parallel-size; 1 otherwise)."""
    return int(job.engine_options.get("tensor_parallel_size") or 1)


def job_tasks(job: ProbeJob) -> list[str]:
    """The problems a job probes (their task ids, in order)."""
    from rankinv.sandbox import tasks as task_sets

    tasks = task_sets.load(job.cfg.benchmark, reward=job.cfg.reward)
    return [t.task_id for t in (tasks[: job.cfg.limit] if job.cfg.limit else tasks)]


def _prepare(jobs: list[ProbeJob], units: list[Unit], task_ids: list[str]) -> None:
    """Fold what earlier shard folders hold into each checkpoint's samples, then give each
    shard of this run the records of its problems (rankinv.validate.shards)."""
    for job in jobs:
        shards.fold(job.out)
    for u in units:
        if u.of > 1:
            shards.seed(jobs[u.job].out, u, [task_ids[i] for i in u.problems])


def _finish(jobs: list[ProbeJob], units: list[Unit], outcomes, task_ids) -> list[dict]:
    """Each checkpoint's summary, with the workers that ran it (``workers``): a whole
    checkpoint's from its probe, a split one's from the merge of its shards. Once every
    unit has ended, the first failure is raised, naming its checkpoint (the other
    checkpoints' probes are complete on disk; a failed one's shards stay for a rerun)."""
    sums, failed = [], None
    for j, job in enumerate(jobs):
        mine = [(u, o) for u, o in zip(units, outcomes, strict=True) if u.job == j]
        exc = next((e for _, (_, e) in mine if e is not None), None)
        if exc is not None:
            failed = failed or (job, exc)
            sums.append(None)
            continue
        workers = [v["worker"] for _, (v, _) in mine]
        if mine[0][0].of == 1:
            summary = mine[0][1][0]["result"]
            shards.clear(job.out)  # any earlier run's shards were folded before it
        else:
            took = max(w["end"] for w in workers) - min(w["start"] for w in workers)
            runs = [v["result"]["probe_run"] for _, (v, _) in mine]
            cfg = replace(job.cfg, allow_imports=tuple(job.allow_imports))
            path = model_key(job.model) if job.record_path else None
            summary = shards.finish(job.out, task_ids, cfg, runs, job.pre_rl, took, path)
        sums.append({**summary, "out": job.out, "workers": workers})
    if failed is not None:
        job, exc = failed
        cause = getattr(exc, "cause", None) or exc  # a Ray task error wraps the original
        if isinstance(cause, UserError):
            raise UserError(f"{job.model}: {cause}") from None
        raise RuntimeError(f"probe of {job.model} failed: {cause!r}") from exc
    return sums


def run_split(jobs: list[ProbeJob], n_slots: int, run) -> list[dict]:
    """The jobs as units for ``n_slots`` workers (rankinv.validate.slots.plan_units), run by
    ``run(jobs, units)`` (their outcomes, in unit order), shards merged: the checkpoints'
    summaries, in order."""
    task_ids = job_tasks(jobs[0])
    units = plan_units(len(jobs), n_slots, len(task_ids))
    _prepare(jobs, units, task_ids)
    return _finish(jobs, units, run(jobs, units), task_ids)


def run_local(jobs: list[ProbeJob], slots: list[str], every_s: float = EVERY_S) -> list[dict]:
    """The jobs on this machine: one after another in this process, or with two or more
    ``slots`` (CUDA_VISIBLE_DEVICES values, rankinv.validate.slots.device_slots) one worker
    process per slot, pinned to it, each checkpoint split into shards over the workers it
    leaves idle; each worker's sandbox gets its share of the CPUs."""
    if len(slots) < 2:
        return run_split(jobs, 1, run_inline)
    n_units = len(plan_units(len(jobs), len(slots), len(job_tasks(jobs[0]))))
    budget = sandbox_budget(node_cpus(), min(len(slots), n_units))
    jobs = [j if j.cfg.workers is not None else replace(j, cfg=replace(j.cfg, workers=budget))
            for j in jobs]  # fmt: skip
    return run_split(jobs, len(slots), lambda js, us: run_pool(js, us, slots, every_s))


def run_ray(jobs: list[ProbeJob], address: str | None = None, every_s=EVERY_S) -> list[dict]:
    """The jobs as Ray tasks (rankinv.validate.ray_backend), split into shards where the
    cluster holds more workers than there are checkpoints."""
    from rankinv.validate.ray_backend import cluster_budget, ray_session, run_ray_units

    with ray_session(address) as ray:
        n_slots, budgets, ask = cluster_budget(ray, tensor_parallel_size(jobs[0]))
        return run_split(
            jobs, n_slots, lambda js, us: run_ray_units(ray, js, us, budgets, ask, every_s)
        )


def validate_many(
    models: list[str], out: str | Path, template: ProbeJob, backend: str = "local",
    ray_address: str | None = None, devices: list[str] | None = None, every_s: float = EVERY_S,
) -> list[dict]:  # fmt: skip
    """Probe every model with ``template``'s settings; one summary per model, in order,
    each with the directory it went to (``out``) and the workers that ran it (``workers``:
    job, shard, of, where, pid, start, end). ``devices``: the local backend's GPUs (default:
    the visible ones); ``every_s``: seconds between a worker's progress lines."""
    if backend not in BACKENDS:
        raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if ray_address and backend != "ray":
        raise UserError("--ray-address goes with --backend ray")
    tp = tensor_parallel_size(template)
    check_tp(tp, 0)
    if backend == "local":  # Ray's GPUs are the cluster's, counted once it is joined
        slots = device_slots(visible_devices() if devices is None else list(devices), tp)
    jobs = plan_jobs(list(models), out, template)
    with contextlib.ExitStack() as held:  # one writer per checkpoint folder too (DIR/<name>/)
        for job in jobs:
            held.enter_context(claim_folder(job.out))
        for job in jobs:  # a folder holding another run is refused before any model loads
            claim_out_dir(job.out, run_identity(job), job.overwrite)
        if backend == "ray":
            return run_ray(jobs, ray_address, every_s)
        return run_local(jobs, slots, every_s)


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
    record_path: bool = False,
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
        record_path=record_path,
    )


def check_inputs(
    models: list[str], benchmark: str, reward: str | None = None, limit: int | None = None
) -> str | None:
    """The benchmark (with the reward, where given) and every model, checked before any
    model loads; a warning where --limit is more than the benchmark holds (None: none)."""
    from rankinv.sandbox import tasks as task_sets
    from rankinv.validate.models import resolve_model_dir

    n = len(task_sets.load(benchmark, reward=reward))
    for m in models:
        resolve_model_dir(m)
    if limit and limit > n:
        return f"--limit {limit} is more than {benchmark}'s {n} problems: all {n} are probed"
    return None
