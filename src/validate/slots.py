"""The budget of a ladder's probes (rankinv.validate.fanout): which devices each worker
takes, how many sandbox processes each runs, and how the checkpoints' problems are dealt
to the workers.

- Devices: a worker holds ``tensor_parallel_size`` GPUs (vLLM's --tensor-parallel-size; 1
  otherwise), so the visible GPUs are cut into groups of that many, one worker each; a size
  that does not divide them is refused (a group would be short).
- Sandbox: the CPUs of a node, but one, shared by the workers on it, at least one each.
- Work: one unit per checkpoint; where workers outnumber checkpoints (3 checkpoints on 8
  GPUs), each checkpoint's problems are split into shards over the idle workers (3, 3 and
  2 shards), problem i of a checkpoint cut in k going to shard i mod k.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rankinv.errors import UserError


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


def check_tp(tp: int, gpus: int, where: str = "visible") -> None:
    """A tensor-parallel size ``tp`` must divide the ``gpus`` there are (none: anything goes,
    the engine says what it lacks)."""
    if not isinstance(tp, int) or isinstance(tp, bool) or tp < 1:
        raise UserError(f"--tensor-parallel-size must be an integer >= 1, got {tp!r}")
    if gpus and gpus % tp:
        raise UserError(
            f"--tensor-parallel-size {tp} does not divide the {gpus} {where} GPUs: give a "
            f"divisor of {gpus} (or set CUDA_VISIBLE_DEVICES)"
        )


def device_slots(devices: list[str], tp: int = 1) -> list[str]:
    """One CUDA_VISIBLE_DEVICES value per worker: ``devices`` in groups of ``tp``."""
    check_tp(tp, len(devices))
    return [",".join(devices[i : i + tp]) for i in range(0, len(devices), tp)]


def node_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def sandbox_budget(cpus: int, workers_on_node: int) -> int:
    """Sandbox processes per worker: the node's CPUs but one (the samplers'), shared by the
    workers on it, at least one each: (cpus - 1) // workers."""
    return max(1, (int(cpus) - 1) // max(1, int(workers_on_node)))


@dataclass(frozen=True)
class Unit:
    """One worker's piece of a ladder: checkpoint ``job``'s shard ``shard`` of ``of`` (of 1:
    the whole checkpoint, into its own folder), holding ``problems`` (indices into its task
    set; None: all)."""

    job: int
    shard: int = 0
    of: int = 1
    problems: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        return "" if self.of == 1 else f"shard {self.shard + 1}/{self.of}"


def plan_units(n_jobs: int, n_slots: int, n_problems: int) -> list[Unit]:
    """The units of ``n_jobs`` checkpoints of ``n_problems`` problems each on ``n_slots``
    workers: one per checkpoint, or, with workers to spare, checkpoint j in
    n_slots // n_jobs shards (one more for the first n_slots % n_jobs), at most one per
    problem; in checkpoint order."""
    if n_jobs >= n_slots or n_problems < 2:
        return [Unit(j) for j in range(n_jobs)]
    units = []
    for j in range(n_jobs):
        k = min(n_problems, n_slots // n_jobs + (j < n_slots % n_jobs))
        if k == 1:
            units.append(Unit(j))
            continue
        units += [Unit(j, s, k, tuple(range(s, n_problems, k))) for s in range(k)]
    return units


def ray_nodes_budget(nodes: list[dict], tp: int) -> tuple[int, dict[str, int], dict]:
    """On a Ray cluster (``ray.nodes()``, live ones): the workers it holds at once, each
    node's sandbox budget by node id, and what one task asks for (``num_gpus`` = ``tp``
    where the cluster has GPUs, one CPU otherwise)."""
    live = [n for n in nodes if n.get("Alive", True)]
    res = [(n["NodeID"], n.get("Resources", {})) for n in live]
    gpus = [int(r.get("GPU", 0)) for _, r in res]
    if sum(gpus):
        check_tp(tp, sum(gpus), "GPUs of the Ray cluster's")
        if max(gpus) < tp:
            raise UserError(
                f"--tensor-parallel-size {tp}: no node of the Ray cluster has {tp} GPUs "
                f"(at most {max(gpus)})"
            )
        per_node = [g // tp for g in gpus]
        ask = {"num_gpus": tp}
    else:
        per_node = [int(r.get("CPU", 0)) for _, r in res]
        ask = {"num_cpus": 1}
    budget = {
        nid: sandbox_budget(r.get("CPU", 1), w) for (nid, r), w in zip(res, per_node, strict=True)
    }
    return max(1, sum(per_node)), budget, ask
