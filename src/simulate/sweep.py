"""Preset sweeps over SFT depths x seeds (through the batch driver): summary and artifacts."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rankinv import __version__, theory
from rankinv._io import write_json
from rankinv.records import SIMULATED_COLUMN
from rankinv.simulate.config import SimConfig
from rankinv.simulate.tasks import make_demonstrations
from rankinv.theory import outcomes

#: Bumped whenever the simulator's random stream or update rule changes, so that a rerun
#: into an output directory recomputes instead of resuming results of another revision.
#: 2: counter-hash uniforms and one-hot sampling (was threefry per step).
#: 3: std advantages divide by the sample std (ddof = 1), as TRL and verl.
#: 5: one engine (grpo.py) and one batch driver (batch.py) for every policy.
SIMULATOR_REVISION = 5


def config_hash(cfg: SimConfig) -> str:
    """Hash of the configuration (less its name) and the simulator revision."""
    fields = {k: v for k, v in cfg.to_dict().items() if k != "name"}
    fields["simulator_revision"] = SIMULATOR_REVISION
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Metrics(NamedTuple):
    """A sweep's per-run metrics: pass@k on the held-out prompts (family policy) or on the
    training prompts (legacy policies, which have no held-out ones); the rest on training
    prompts."""

    pass_at_k: np.ndarray
    greedy_pass: np.ndarray
    entropy: np.ndarray
    min_entropy: np.ndarray
    informative: np.ndarray
    all_fail: np.ndarray
    all_pass: np.ndarray
    reward: np.ndarray


def _metrics(cfg: SimConfig, st) -> Metrics:
    return Metrics(
        st.heldout_pass if cfg.n_heldout else st.train_pass,
        st.greedy_pass,
        st.entropy,
        st.min_entropy,
        st.informative,
        st.all_fail,
        st.all_pass,
        st.reward,
    )


def run_batch(cfg: SimConfig):
    """Run every (depth, seed) pair through the batch driver (batch.Runner): one call.

    Returns numpy arrays: pre, per_step, final (Metrics with a leading run axis), the run
    table (depth, seed, demo share correct), compile and run seconds.
    """
    from rankinv.simulate.batch import Runner, RunSpec, run_tuned

    runner = Runner()
    task = runner.task(cfg)
    specs, depths, seeds, demo_ok = [], [], [], []
    for d, n_steps in zip(cfg.sft_depths, cfg.sft_step_counts, strict=True):
        for s in range(cfg.seeds):
            specs.append(RunSpec(cfg, s, n_steps))
            depths.append(d)
            seeds.append(s)
            demo_ok.append(make_demonstrations(cfg, task, s)[1].mean())
    chosen = None
    if cfg.rl_lr_grid:  # one ladder per seed, its rate chosen on its training reward
        order = [[i for i in range(len(specs)) if seeds[i] == s] for s in range(cfg.seeds)]
        tuned = run_tuned(runner, [[specs[i] for i in rows] for rows in order])
        back = np.argsort(np.concatenate(order))
        per_step, final = (_take(x, back) for x in (tuned.per_step, tuned.final))
        chosen = {"rl_lr": tuned.chosen_lr, "sweep": tuned.sweep}
    else:
        _, per_step, final = runner.run(specs)
    steps_m = _metrics(cfg, per_step)
    pre = Metrics(*(x[:, 0] for x in steps_m))
    runs = {
        "depth": np.asarray(depths),
        "seed": np.asarray(seeds),
        "demo_correct_share": np.asarray(demo_ok),
        "tuned": chosen,
    }
    return pre, steps_m, _metrics(cfg, final), runs, runner.compile_s, runner.run_s


def _take(tree, idx):
    return type(tree)(*(np.asarray(x)[idx] for x in tree))


def _rho(x, y) -> float | None:
    """Plain Spearman rho of one ladder (None when either side is constant)."""
    from scipy.stats import spearmanr

    if len(set(np.round(x, 12))) < 2 or len(set(np.round(y, 12))) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def per_seed_rhos(pre_k, pre_1, post_k, seeds) -> list[dict]:
    """Within each seed's ladder: rho of pre-RL pass@k and of pre-RL pass@1 against the
    final post-RL pass@k (the Table 5 comparison)."""
    out = []
    for s in sorted(set(seeds.tolist())):
        m = seeds == s
        out.append(
            {
                "seed": int(s),
                "rho_pass_at_k": _rho(pre_k[m], post_k[m]),
                "rho_pass_at_1": _rho(pre_1[m], post_k[m]),
            }
        )
    return out


def _rank_summary(x, y, seeds) -> dict:
    try:
        r = theory.spearman(x, y, groups=seeds, n_bootstrap=1000, n_permutations=2000)
    except ValueError as exc:
        return {"rho": None, "ci_low": None, "ci_high": None, "p_value": None, "error": str(exc)}
    return r.to_dict()


def summarise(cfg: SimConfig, pre, per_step, final, runs) -> dict:
    ks = list(cfg.ks)
    k_main = max(ks)
    ki = ks.index(k_main)
    evals = per_step.pass_at_k[:, :: cfg.eval_every, :]  # [R, E, K]
    evals = np.concatenate([evals, final.pass_at_k[:, None, :]], axis=1)
    peak = evals.max(axis=1)  # [R, K]
    pre_pass1 = pre.pass_at_k[:, ks.index(1)] if 1 in ks else pre.greedy_pass
    seeds = runs["seed"]
    post = peak[:, ki]
    rho_p = _rank_summary(pre_pass1, post, seeds)
    rho_h = _rank_summary(pre.entropy, post, seeds)
    depths = list(cfg.sft_depths)
    by_depth = {
        key: [float(np.mean(arr[runs["depth"] == d])) for d in depths]
        for key, arr in {
            "pre_pass_at_1": pre_pass1,
            "pre_entropy": pre.entropy,
            "post_peak": post,
            "post_final": final.pass_at_k[:, ki],
            "pre_pass_at_k": pre.pass_at_k[:, ki],
            "informative_pre": pre.informative,
            "all_fail_pre": pre.all_fail,
            "all_pass_pre": pre.all_pass,
        }.items()
    }
    best_pre = int(np.argmax(by_depth["pre_pass_at_1"]))
    worst_pre = int(np.argmin(by_depth["pre_pass_at_1"]))
    call = outcomes.inversion_call(rho_p["rho"], rho_p.get("p_value"))
    inversion = bool(
        call == "inversion" and by_depth["post_peak"][best_pre] < by_depth["post_peak"][worst_pre]
    )
    inversion = None if rho_p["rho"] is None else inversion  # undefined below 3 rows
    return {
        "config": cfg.to_dict(),
        "config_hash": config_hash(cfg),
        "version": __version__,
        "depths": runs["depth"].tolist(),
        "run_seeds": seeds.tolist(),  # the seed of each run (depths: its depth)
        "pre": {
            "pass_at_1": pre_pass1.tolist(),
            "entropy": pre.entropy.tolist(),
            "min_entropy": pre.min_entropy.tolist(),
            "greedy_pass": pre.greedy_pass.tolist(),
            "pass_at_k": pre.pass_at_k[:, ki].tolist(),
            "informative": pre.informative.tolist(),
            "all_fail": pre.all_fail.tolist(),
            "all_pass": pre.all_pass.tolist(),
        },
        "post": {
            "pass_at_k": post.tolist(),
            "final_pass_at_k": final.pass_at_k[:, ki].tolist(),
            "peak_pass_at_1": peak[:, ks.index(1)].tolist() if 1 in ks else None,
            "entropy": final.entropy.tolist(),
        },
        "k": k_main,
        "by_depth": {"depth": depths, **by_depth},
        "spearman_pre_pass1_vs_post": rho_p,
        "spearman_entropy_vs_post": rho_h,
        "inversion": inversion,
        "inversion_call": None if rho_p["rho"] is None else call,
        "demo_correct_share": runs["demo_correct_share"].tolist(),
        "seeds": per_seed_rhos(pre.pass_at_k[:, ki], pre_pass1, final.pass_at_k[:, ki], seeds),
        "seeds_outcome": f"final post-RL pass@{k_main}",
        "rl_lr_tuned": runs.get("tuned"),
    }


def write_logs(out: Path, cfg: SimConfig, per_step, runs) -> None:
    """One JSONL per run in the monitor's format (step, entropy, frac_reward_zero_std...)."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for r, (d, s) in enumerate(zip(runs["depth"], runs["seed"], strict=True)):
        path = logs / f"depth{d:g}_seed{s}.jsonl"
        with path.open("w") as fh:
            for t in range(per_step.entropy.shape[1]):
                rec = {
                    "step": t,
                    "entropy": float(per_step.entropy[r, t]),
                    "min_entropy": float(per_step.min_entropy[r, t]),
                    "frac_reward_zero_std": float(1.0 - per_step.informative[r, t]),
                    "all_fail": float(per_step.all_fail[r, t]),
                    "all_pass": float(per_step.all_pass[r, t]),
                    "reward": float(per_step.reward[r, t]),
                    "pass_at_k": [float(x) for x in per_step.pass_at_k[r, t]],
                    "group_size": cfg.group_size,
                    "max_steps": cfg.rl_steps,  # the planned total, for `rankinv monitor`
                    SIMULATED_COLUMN: 1,  # a simulation's log, not a trainer's
                }
                fh.write(json.dumps(rec) + "\n")


def run_sweep(cfg: SimConfig, out: str | Path | None = None, p_star_groups: int = 100_000) -> dict:
    """Run the sweep, summarise it, derive p*(g) by Monte Carlo; write artifacts to ``out``.

    Resumable: when ``out/simulate.json`` exists for the same config hash, it is returned
    without recomputing.
    """
    from rankinv.simulate.numeric import p_star_monte_carlo

    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        cached = out_dir / "simulate.json"
        if cached.exists():
            try:
                prev = json.loads(cached.read_text())
            except json.JSONDecodeError:
                prev = None
            if prev and prev.get("config_hash") == config_hash(cfg):
                prev["resumed"] = True
                return prev
    t0 = time.perf_counter()
    pre, per_step, final, runs, compile_s, run_s = run_batch(cfg)
    result = summarise(cfg, pre, per_step, final, runs)
    mc = p_star_monte_carlo(cfg.group_size, n_groups=p_star_groups, seed=cfg.task_seed)
    result["p_star_numeric"] = mc["p_star_numeric"]
    result["p_star_numeric_se"] = mc["se"]
    result["p_star_analytic"] = theory.p_star(cfg.group_size)
    low, high = theory.entropy_threshold_per_token(cfg.group_size, cfg.n_answers, cfg.seq_len)
    result["entropy_threshold_per_token"] = {"low": low, "high": high}
    result["trajectories"] = {
        "entropy": [per_step.entropy[runs["depth"] == d].mean(0).tolist() for d in cfg.sft_depths],
        "informative": [
            per_step.informative[runs["depth"] == d].mean(0).tolist() for d in cfg.sft_depths
        ],
        "all_fail": [
            per_step.all_fail[runs["depth"] == d].mean(0).tolist() for d in cfg.sft_depths
        ],
        "all_pass": [
            per_step.all_pass[runs["depth"] == d].mean(0).tolist() for d in cfg.sft_depths
        ],
    }
    result["elapsed_s"] = time.perf_counter() - t0
    result["compile_s"] = compile_s
    result["run_s"] = run_s
    result["work"] = {
        "runs": cfg.n_runs,
        "rl_steps": cfg.rl_steps,
        "group_size": cfg.group_size,
        "n_prompts": cfg.n_prompts,
        "n_answers": cfg.n_answers,
        "seq_len": cfg.seq_len,
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_logs(out_dir, cfg, per_step, runs)
        write_json(out_dir / "simulate.json", result)
    return result
