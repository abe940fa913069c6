"""The miniature experiment end to end: pretrain, SFT ladders, GRPO runs, stage 1 and 2 on
each, compare predicted with observed, and the simulator's prediction beside it.

Resumable: finished checkpoints (a ``done`` marker) and runs (their result JSON) are reused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import time
from pathlib import Path

import numpy as np

from rankinv import __version__
from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.experiment.base import base_model
from rankinv.experiment.config import RUNTIME_FIELDS, MiniConfig
from rankinv.experiment.ladders import Ladder, probe, probe_path, sft, sft_paths
from rankinv.experiment.train import grpo, grpo_result_path
from rankinv.sandbox.executor import Sandbox
from rankinv.simulate import preset as sim_preset
from rankinv.simulate import run_sweep
from rankinv.verdicts.compare import compare
from rankinv.verdicts.monitor import MonitorConfig, monitor


def config_json(cfg: MiniConfig) -> dict:
    """The configuration as it is saved in config.json (tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def same_run(saved: dict, cfg: dict) -> bool:
    """Whether a saved configuration is the same run as ``cfg`` (both JSON dicts): the
    speed-only fields aside, and a field added since the run was saved taking its default
    (the value the run used)."""

    def what(c: dict) -> dict:
        c = {**config_json(MiniConfig()), **c}
        return {k: v for k, v in c.items() if k not in RUNTIME_FIELDS}

    return what(saved) == what(cfg)


def ladders_of(cfg: MiniConfig) -> list[Ladder]:
    """The SFT ladders of a preset: per seed, the teacher's depth ladder (or one ladder per
    recipe at the preset's one depth), and the clean control of seed 0."""
    if cfg.recipes:
        return [Ladder("teacher", s, cfg.depths, r) for s in range(cfg.seeds) for r in cfg.recipes]
    out = [Ladder("teacher", s, cfg.depths) for s in range(cfg.seeds)]
    return out + ([Ladder("clean", 0, cfg.control_depths)] if cfg.control_depths else [])


def run_mini(cfg: MiniConfig, out: str | Path, log=print) -> dict:
    """The whole experiment; returns (and writes) mini.json."""
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "config.json"
    cfg_json = config_json(cfg)

    if cfg_path.exists() and not same_run(json.loads(cfg_path.read_text()), cfg_json):
        raise UserError(
            f"{out} holds a run with another configuration; resume it with the same "
            "preset or choose another --out"
        )
    write_json(cfg_path, cfg_json)
    t0 = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    base = base_model(cfg, out, log)
    stage_s = {"pretrain": time.perf_counter() - t0}
    base_eval, runs = _sft_and_grpo(cfg, base, out, log, stage_s)
    t1 = time.perf_counter()
    log("stage 4/4: compare predicted with observed, and the simulator beside it")
    kmax = max(cfg.ks)
    rows = [
        {
            "name": r["name"],
            "seed": r["seed"],
            "depth": r["depth"],
            "recipe": r["recipe"],
            "pre_pass_at_1": r["pre"]["pass_at_1"],
            # named as rank names them: compare's plain "entropy" is the paper's H (prompt
            # tokens), which the rollout entropy is not
            "entropy_rollout": r["pre"]["entropy"],
            "entropy_prompt": r["pre"]["entropy_prompt"],
            f"pre_pass_at_{kmax}": r["pre"][f"pass_at_{kmax}"],
            f"post_pass_at_{kmax}": r["final_pass_at_k"],
        }
        for r in runs
        if r["variant"] == "teacher"
    ]
    cmp = compare(rows, f"post_pass_at_{kmax}", cfg.group_size) if len(rows) >= 3 else None
    cj = None if cmp is None else cmp.to_json()
    summary = {
        "config": dataclasses.asdict(cfg),
        "version": __version__,
        "base": None if base_eval is None else base_eval["pre"],
        "base_model": _base_record(cfg, base),
        "by_depth": by_rung(cfg, runs),
        "runs": runs,
        "compare": None if cmp is None else {k: v for k, v in cj.items() if k != "rows"},
        "inversion": None if cmp is None else cmp.inversion,
        "rho_entropy_vs_post": None if cmp is None else cj["predictors"]["entropy_rollout"],
        "rho_pass1_vs_post": None if cmp is None else cj["predictors"]["pre_pass_at_1"],
        "simulator": None if cfg.recipes else _simulator(cfg.depths),
    }
    summary["seconds"] = {
        **stage_s,
        "compare_and_simulator": time.perf_counter() - t1,
        "total": time.perf_counter() - t0,
    }
    write_json(out / "mini.json", summary)
    write_json(out / "compare_rows.json", rows)
    return summary


def _base_record(cfg: MiniConfig, base: Path) -> dict:
    """Which base the ladders started from: the saved one (its weights' hash) or afresh."""
    from rankinv.experiment import base as saved

    if cfg.pretrain:
        return {"saved": False, "recipe": saved.recipe(cfg)}
    m = saved.manifest()
    return {"saved": True, "recipe": m["recipe"], "sha256": m["sha256"]["model.safetensors"]}


def _simulator(depths) -> dict:
    """The simulator's prediction for the same SFT depths (its quick preset)."""
    sim = run_sweep(
        sim_preset("quick").replace(sft_depths=tuple(float(d) for d in depths)),
        p_star_groups=20_000,
    )
    return {
        "rho_pass1_vs_post": sim["spearman_pre_pass1_vs_post"],
        "rho_entropy_vs_post": sim["spearman_entropy_vs_post"],
        "inversion": sim["inversion"],
        "by_depth": sim["by_depth"],
    }


def _sft_and_grpo(cfg: MiniConfig, base: Path, out: Path, log, stage_s: dict):
    """Stages 2 and 3: the SFT ladders, a probe of every checkpoint (``probe_samples``), a
    GRPO run from each with stage 2 on its log; (the base's evaluation, the runs)."""
    ladders = ladders_of(cfg)
    plan = [(lad, d, lad.rung(cfg, d)) for lad in ladders for d in lad.depths]
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(Sandbox(cfg.workers))
        base_eval = (
            grpo(dataclasses.replace(cfg, rl_steps=0), base, out, "base", 0, sandbox, log)
            if cfg.rl_steps > 0
            else None
        )
        t1 = time.perf_counter()
        log(f"stage 2/4: SFT, {len(ladders)} ladders to {max(cfg.depths):g} epochs")
        pool = stack.enter_context(_Pool(cfg, max(len(ladders), len(plan)), sandbox, log))
        ckpts = {}
        for k, paths in pool.run([(sft, (cfg, base, out, lad)) for lad in ladders]):
            ckpts.update({ladders[k].rung(cfg, d): p for d, p in paths.items()})
        if cfg.probe_samples:
            log(f"stage 2/4: probing {len(plan)} checkpoints ({cfg.probe_samples} samples)")
            list(pool.run([(probe, (cfg, ckpts[name], out, name)) for _, _, name in plan]))
        stage_s["sft"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        grpo_jobs = [(grpo, (cfg, ckpts[name], out, name, lad.seed)) for lad, _, name in plan]

        def started(k: int) -> None:
            log(f"stage 3/4: GRPO run {k + 1}/{len(plan)} ({plan[k][2]}, {cfg.rl_steps} steps)")

        done = dict(pool.run(grpo_jobs, started))
    runs = []
    for k, (lad, d, name) in enumerate(plan):
        res = done[k]
        res.update({"variant": lad.variant, "depth": d, "recipe": lad.recipe})
        if cfg.probe_samples:
            res["probe"] = f"probes/{name}"
        check = max(3, cfg.rl_steps - 5)
        mcfg = MonitorConfig(
            ref_step=2,
            check_step=check,
            planned_steps=max(cfg.rl_steps, check),  # a check past the run is refused
            group_size=cfg.group_size,
        )
        rep = monitor(out / "runs" / f"{name}.jsonl", mcfg)
        res["stage2"] = {
            "verdict": rep.verdict,
            "entropy_drop": rep.entropy_drop,
            "informative_fraction": rep.informative_fraction,
        }
        runs.append(res)
    stage_s["grpo"] = time.perf_counter() - t1
    return base_eval, runs


#: The per-run quantities averaged over seeds in each row of the summary's by_depth.
MEANS = (
    "pre.entropy",
    "pre.entropy_prompt",
    "pre.pass_at_1",
    "pre.pass_at_{k}",
    "final_pass_at_k",
    "peak_pass_at_k",
    "final_nonlinear",
    "peak_nonlinear",
    "all_fail",
    "all_pass",
    "informative",
)


def by_rung(cfg: MiniConfig, runs: list[dict]) -> list[dict]:
    """Means over seeds per rung (variant, recipe, depth), in the order the rungs run."""
    kmax = max(cfg.ks)
    keys = [m.format(k=kmax) for m in MEANS]
    rows = []
    for lad in [lad for lad in ladders_of(cfg) if lad.seed == 0]:
        for d in lad.depths:
            rs = [
                r
                for r in runs
                if (r["variant"], r["recipe"], r["depth"]) == (lad.variant, lad.recipe, d)
            ]
            rows.append(
                {
                    "variant": lad.variant,
                    "recipe": lad.recipe,
                    "depth": d,
                    "runs": len(rs),
                    **{key: float(np.mean([_get(r, key) for r in rs])) for key in keys},
                    "stage2_stop": sum(r["stage2"]["verdict"] == "stop" for r in rs),
                }
            )
    return rows


def finished(fn, args) -> bool:
    """Whether an sft, probe or grpo call with these leading arguments has nothing left."""
    if fn is sft:
        cfg, _, out, ladder = args
        paths = sft_paths(cfg, out, ladder)
        return all((p / "done").exists() for p in paths.values())
    if fn is probe:
        return (probe_path(args[2], args[3]) / "validate_summary.json").exists()
    return grpo_result_path(args[2], args[3]).exists()


def jobs_of(cfg: MiniConfig, n: int) -> int:
    """Jobs at once (MiniConfig.jobs): one per available CPU on a CPU, one on a GPU."""
    from rankinv.experiment.model import resolve_device
    from rankinv.sandbox.executor import default_workers

    if cfg.jobs is not None:
        want = cfg.jobs
    else:
        want = default_workers() if resolve_device(cfg) == "cpu" else 1
    return max(1, min(want, n))


class _Pool:
    """Where SFT ladders and GRPO runs go: here, in order, on the caller's sandbox (one job
    at a time), or worker processes, each with a sandbox of its own (spawned: torch must
    not be forked), started once for both stages."""

    def __init__(self, cfg: MiniConfig, n_jobs: int, sandbox, log):
        self.cfg, self.sandbox, self.log = cfg, sandbox, log
        self.n = jobs_of(cfg, n_jobs)
        self.pool = None

    def _workers(self):
        if self.pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                self.n,
                mp_context=mp.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        return self.pool

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def run(self, jobs: list, started=lambda k: None):
        """``jobs``: (fn, args), sft or grpo without their sandbox and log arguments;
        yields (index, result) as each ends (its messages logged then). Jobs already done
        (a resumed run) are read here."""
        here = [k for k, (fn, args) in enumerate(jobs) if self.n <= 1 or finished(fn, args)]
        for k in here:
            started(k)
            yield k, _call(*jobs[k], self.sandbox, self.log)
        rest = sorted(set(range(len(jobs))) - set(here))
        if not rest:
            return
        from concurrent.futures import as_completed

        pool = self._workers()
        futs = {pool.submit(_job, self.cfg, *jobs[k]): k for k in rest}
        for fut in as_completed(futs):
            k = futs[fut]
            result, messages = fut.result()
            started(k)
            for m in messages:
                self.log(m)
            yield k, result


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the process that started it is gone (killed:
    it cannot shut the pool down). Left behind, a worker in a job would run on and write its
    files beside the run that resumed it; an idle one waited forever (seen: 14 minutes)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _call(fn, args, sandbox, log):
    if fn is sft or fn is probe:
        return fn(*args, log)
    return fn(*args, sandbox, log)


def _job(cfg: MiniConfig, fn, args):
    """One job in a worker process: its own torch threads and sandbox; (result, messages)."""
    import torch

    torch.set_num_threads(cfg.threads)
    messages: list[str] = []
    with contextlib.ExitStack() as stack:
        sandbox = None if fn is not grpo else stack.enter_context(Sandbox(cfg.workers))
        return _call(fn, args, sandbox, messages.append), messages


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d
