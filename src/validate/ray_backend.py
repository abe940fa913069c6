"""The Ray backend of a ladder (``--backend ray``, ``pip install 'rankinv[ray]'``): one Ray
task per unit (a checkpoint, or a shard of one where workers outnumber checkpoints).

- Where: ``--ray-address`` as ``ray.init`` reads it: none starts a local instance
  (``address="local"``: never a cluster found through RAY_ADDRESS or the last
  ``ray start``), ``auto`` joins the running cluster (RAY_ADDRESS, or the one ``ray start``
  made on this machine), ``host:port`` or ``ray://host:10001`` that cluster. A Ray already
  started in this process is used as it is.
- Budget: a task asks for ``--tensor-parallel-size`` GPUs where the cluster has GPUs (one
  CPU otherwise); its sandbox takes its node's CPUs but one, shared by the tasks the node
  holds at once (rankinv.validate.slots.ray_nodes_budget).
- Progress: every task sends its lines to a Ray queue (an actor), printed by the driver.

rankinv must be importable on the cluster's nodes and DIR on a filesystem they share.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace

from rankinv.errors import UserError
from rankinv.validate.progress import EVERY_S, Printer
from rankinv.validate.workers import outcome, run_unit


def _ray_unit(job, unit, budgets: dict, lines, every_s: float) -> dict:
    """One unit in a Ray task: the sandbox budget of the node it landed on, its lines to
    the driver's queue."""
    import ray

    ctx = ray.get_runtime_context()
    node = ctx.get_node_id()
    if job.cfg.workers is None and node in budgets:
        job = replace(job, cfg=replace(job.cfg, workers=budgets[node]))
    gpus = ",".join(str(g) for g in ray.get_gpu_ids())
    where = f"Ray node {node[:8]}" + (f" (GPU {gpus})" if gpus else "")
    return run_unit(job, unit, where, lines.put if lines is not None else None, every_s)


@contextlib.contextmanager
def ray_session(address: str | None):
    """Ray, started (and stopped after) unless this process already runs it."""
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs ray: pip install 'rankinv[ray]'") from None
    if ray.is_initialized():
        yield ray
        return
    addr = address or "local"
    env = None
    if addr == "local" and os.environ.get("PYTHONPATH"):  # the workers import rankinv as we do
        env = {"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}}
    try:
        ray.init(address=addr, runtime_env=env, include_dashboard=False, log_to_driver=False)
    except ConnectionError as exc:
        where = f"--ray-address {address}" if address else "--backend ray (a local instance)"
        raise UserError(f"{where}: {str(exc).strip().splitlines()[0]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_budget(ray, tp: int) -> tuple[int, dict, dict]:
    """(workers at once, sandbox budget by node, what a task asks) of the cluster."""
    from rankinv.validate.slots import ray_nodes_budget

    return ray_nodes_budget(ray.nodes(), tp)


def run_ray_units(ray, jobs, units, budgets: dict, ask: dict, every_s: float = EVERY_S):
    """Every unit as one Ray task; their outcomes in unit order."""
    from ray.util.queue import Queue

    lines = Queue(actor_options={"num_cpus": 0}) if any(j.progress for j in jobs) else None
    task = ray.remote(_ray_unit).options(**ask, max_retries=0)
    with Printer(lines.get) if lines is not None else contextlib.nullcontext():
        refs = [task.remote(replace(jobs[u.job], progress=False), u, budgets, lines, every_s)
                for u in units]  # fmt: skip
        outcomes = [outcome(lambda r=r: ray.get(r)) for r in refs]
    if lines is not None:
        lines.shutdown()
    return outcomes
