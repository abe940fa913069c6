"""The workers of a ladder (rankinv.validate.fanout): one unit's probe as a worker runs it
(:func:`run_unit`), the units one after another in this process (:func:`run_inline`), and
local worker processes, one per device slot (:func:`run_pool`). The Ray backend is
:mod:`rankinv.validate.ray_backend`.

Each unit's outcome is ``(value, None)`` or ``(None, exception)``; the value holds the
probe's result and which worker ran it, where and when (``worker``)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace
from pathlib import Path

from rankinv.validate.progress import EVERY_S, reporter
from rankinv.validate.shards import shard_dir
from rankinv.validate.slots import Unit


def run_unit(job, unit: Unit, where: str = "this process", send=None, every_s=EVERY_S) -> dict:
    """Probe ``unit`` of ``job`` (a :class:`rankinv.validate.fanout.ProbeJob`): the whole
    checkpoint into its folder, or a shard into its shard folder. With ``send``, progress
    lines go there (else ``job.progress``: a bar on this terminal, or nothing)."""
    from rankinv.validate.probe import run_probe

    label = " ".join(x for x in (Path(job.out).name, unit.label) if x)
    progress = reporter(label, send, every_s) if send is not None else job.progress
    start = time.time()
    if send is not None:
        send(f"[{label}] started on {where} (pid {os.getpid()})")
    result = run_probe(
        job.model,
        replace(job.cfg, allow_imports=tuple(job.allow_imports)),
        job.out if unit.of == 1 else shard_dir(job.out, unit),
        engine=job.engine,
        engine_options=dict(job.engine_options),
        progress=progress,
        entropy_mode=job.entropy_mode,
        chat_template=job.chat_template,
        stop=job.stop,
        pre_rl=job.pre_rl,
        problems=unit.problems,
        name=job.name,
        record_path=job.record_path,
    )
    end = time.time()
    if send is not None:
        send(f"[{label}] done in {end - start:.0f} s")
    worker = {"job": unit.job, "shard": unit.shard, "of": unit.of, "where": where,
              "pid": os.getpid(), "start": start, "end": end}  # fmt: skip
    return {"result": result, "worker": worker}


def outcome(get):
    """``(get(), None)``, or ``(None, the exception)``: every unit ends before any is judged."""
    try:
        return get(), None
    except Exception as exc:  # noqa: BLE001 - reported per checkpoint by fanout
        return None, exc


def run_inline(jobs, units: list[Unit]) -> list[tuple]:
    """The units one after another in this process (a bar each, where the job asks)."""
    return [outcome(lambda u=u: run_unit(jobs[u.job], u)) for u in units]


# ---------------------------------------------------------------- local worker processes
_SLOT: tuple[int, str] | None = None  # this worker process's (slot, its devices)
_SEND = None


def _init(slots, lines) -> None:
    """Worker initializer: take one device slot for the life of this worker process."""
    global _SLOT, _SEND
    _SLOT = slots.get()
    os.environ["CUDA_VISIBLE_DEVICES"] = _SLOT[1]
    _SEND = lines.put if lines is not None else None


def _pool_unit(job, unit: Unit, every_s: float) -> dict:
    slot, devices = _SLOT
    where = f"slot {slot}" + (f" (GPU {devices})" if devices else "")
    return run_unit(job, unit, where, _SEND, every_s)


def run_pool(jobs, units: list[Unit], slots: list[str], every_s: float = EVERY_S) -> list[tuple]:
    """The units on one spawned worker process per slot (CUDA_VISIBLE_DEVICES set to the
    slot's devices), each taking the next unit as it finishes one; progress lines from
    every worker printed here where the jobs ask for progress."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from rankinv.validate.progress import Printer

    ctx = mp.get_context("spawn")  # CUDA cannot be forked; each worker starts clean
    free = ctx.Queue()
    for i, devices in enumerate(slots):
        free.put((i, devices))
    lines = ctx.Queue() if any(j.progress for j in jobs) else None
    n = min(len(slots), len(units))
    with (
        Printer(lines.get) if lines is not None else contextlib.nullcontext(),
        ProcessPoolExecutor(n, mp_context=ctx, initializer=_init, initargs=(free, lines)) as pool,
    ):
        futs = [pool.submit(_pool_unit, replace(jobs[u.job], progress=False), u, every_s)
                for u in units]  # fmt: skip
        return [outcome(f.result) for f in futs]
