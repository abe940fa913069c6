"""The miniature experiment end to end: pretrain, SFT ladders, GRPO runs, stage 1 and 2 on
each, compare predicted with observed, and the simulator's prediction beside it.

Resumable: finished checkpoints (a ``done`` marker) and runs (their result JSON) are reused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from rankinv import __version__
from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.experiment.config import RUNTIME_FIELDS, MiniConfig
from rankinv.experiment.train import _mode_tag, grpo, pretrain, sft
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
    n_sft = cfg.seeds + (1 if cfg.control_depths else 0)
    n_runs = cfg.seeds * len(cfg.depths) + len(cfg.control_depths)
    log(f"stage 1/4: pretraining the base model ({cfg.pretrain_steps} steps)")
    base = pretrain(cfg, out, log)
    t_pre = time.perf_counter() - t0
    stage_s = {"pretrain": t_pre}
    runs = []
    with Sandbox(cfg.workers) as sandbox:
        base_eval = (
            grpo(dataclasses.replace(cfg, rl_steps=0), base, out, "base", 0, sandbox, log)
            if cfg.rl_steps > 0
            else None
        )
        plan = [("teacher", s, d) for s in range(cfg.seeds) for d in cfg.depths]
        plan += [("clean", 0, d) for d in cfg.control_depths]
        ckpts = {}
        t1 = time.perf_counter()
        log(f"stage 2/4: SFT, {n_sft} ladders to {max(cfg.depths)} epochs")
        for variant in ("teacher", "clean"):
            for s in range(cfg.seeds if variant == "teacher" else 1):
                depths = cfg.depths if variant == "teacher" else cfg.control_depths
                if depths:
                    ckpts.update(
                        {
                            (variant, s, d): p
                            for d, p in sft(cfg, base, out, variant, s, depths, log).items()
                        }
                    )
        stage_s["sft"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        for i, (variant, s, d) in enumerate(plan, 1):
            name = f"{variant}{_mode_tag(cfg)}-s{s}-d{d}"
            log(f"stage 3/4: GRPO run {i}/{n_runs} ({name}, {cfg.rl_steps} steps)")
            res = grpo(cfg, ckpts[(variant, s, d)], out, name, s, sandbox, log)
            res.update({"variant": variant, "depth": d})
            check = max(3, cfg.rl_steps - 5)
            mcfg = MonitorConfig(
                ref_step=2,
                check_step=check,
                planned_steps=max(cfg.rl_steps, check),  # a check past the run is refused
                group_size=cfg.group_size,
            )
            rep = monitor(out / "runs" / f"{name}.jsonl", mcfg)
            res["stage2"] = {k: rep[k] for k in ("verdict", "entropy_drop", "informative_fraction")}
            runs.append(res)
    stage_s["grpo"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    log("stage 4/4: compare predicted with observed, and the simulator beside it")
    main = [r for r in runs if r["variant"] == "teacher"]
    kmax = max(cfg.ks)
    rows = [
        {
            "name": r["name"],
            "seed": r["seed"],
            "depth": r["depth"],
            "pre_pass_at_1": r["pre"]["pass_at_1"],
            "entropy": r["pre"]["entropy"],
            "entropy_prompt": r["pre"]["entropy_prompt"],
            f"pre_pass_at_{kmax}": r["pre"][f"pass_at_{kmax}"],
            f"post_pass_at_{kmax}": r["final_pass_at_k"],
        }
        for r in main
    ]
    cmp = compare(rows, f"post_pass_at_{kmax}", cfg.group_size) if len(rows) >= 3 else None
    by_depth = []
    for variant, depths in (("teacher", cfg.depths), ("clean", cfg.control_depths)):
        for d in depths:
            rs = [r for r in runs if r["variant"] == variant and r["depth"] == d]
            if not rs:
                continue
            by_depth.append(
                {
                    "variant": variant,
                    "depth": d,
                    "runs": len(rs),
                    **{
                        key: float(np.mean([_get(r, key) for r in rs]))
                        for key in (
                            "pre.entropy",
                            "pre.entropy_prompt",
                            "pre.pass_at_1",
                            f"pre.pass_at_{kmax}",
                            "final_pass_at_k",
                            "peak_pass_at_k",
                            "final_nonlinear",
                            "peak_nonlinear",
                            "all_fail",
                            "all_pass",
                            "informative",
                        )
                    },
                    "stage2_stop": sum(r["stage2"]["verdict"] == "stop" for r in rs),
                }
            )
    sim = run_sweep(
        sim_preset("quick").replace(sft_depths=tuple(float(d) for d in cfg.depths)),
        p_star_groups=20_000,
    )
    summary = {
        "config": dataclasses.asdict(cfg),
        "version": __version__,
        "base": None if base_eval is None else base_eval["pre"],
        "by_depth": by_depth,
        "runs": runs,
        "compare": None if cmp is None else {k: v for k, v in cmp.items() if k != "rows"},
        "inversion": None if cmp is None else cmp["inversion"],
        "rho_entropy_vs_post": None if cmp is None else cmp["predictors"]["entropy"],
        "rho_pass1_vs_post": None if cmp is None else cmp["predictors"]["pre_pass_at_1"],
        "simulator": {
            "rho_pass1_vs_post": sim["spearman_pre_pass1_vs_post"],
            "rho_entropy_vs_post": sim["spearman_entropy_vs_post"],
            "inversion": sim["inversion"],
            "by_depth": sim["by_depth"],
        },
        "seconds": {
            **stage_s,
            "compare_and_simulator": time.perf_counter() - t1,
            "total": time.perf_counter() - t0,
        },
    }
    write_json(out / "mini.json", summary)
    write_json(out / "compare_rows.json", rows)
    return summary


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d
