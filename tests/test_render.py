"""What the CLI prints (rankinv.render): the words and numbers each command shows, checked
on hand-made result dicts (no simulation or model run)."""

from rankinv import render


def _rho(rho, lo, hi, p, method="bootstrap", n=6):
    return {
        "rho": rho, "ci_low": lo, "ci_high": hi, "p_value": p, "ci_method": method,
        "p_method": "permutation", "n": n, "power": 0.5,
    }  # fmt: skip


def sim_result(seeds=None):
    return {
        "config": {"name": "qwen-like", "seeds": 2},
        "work": {"group_size": 8},
        "k": 10,
        "by_depth": {
            "depth": [1.0, 4.0, 16.0],
            **{
                key: [0.5, 0.4, 0.3]
                for key in ("pre_entropy", "pre_pass_at_1", "pre_pass_at_k", "post_peak")
            },
            "all_fail_pre": [0.1, 0.2, 0.3],
            "all_pass_pre": [0.0, 0.1, 0.2],
        },
        "spearman_pre_pass1_vs_post": _rho(-0.7, -0.95, -0.1, 0.01),
        "spearman_entropy_vs_post": _rho(0.7, 0.1, 0.95, 0.01),
        "seeds": seeds
        if seeds is not None
        else [
            {"seed": 0, "rho_pass_at_k": -0.09, "rho_pass_at_1": -0.66},
            {"seed": 1, "rho_pass_at_k": None, "rho_pass_at_1": 0.5},
        ],
        "seeds_outcome": "final post-RL pass@10",
        "inversion": True,
        "inversion_call": "inversion",
        "depths": [1.0, 1.0, 4.0, 4.0, 16.0, 16.0],
        "p_star_numeric": 0.083,
        "p_star_numeric_se": 0.001,
        "p_star_analytic": 0.083,
        "elapsed_s": 1.0,
        "compile_s": 0.5,
    }


def test_simulation_prints_each_seeds_rho_and_which_outcome_each_number_uses(printed):
    out = printed(render.print_simulation, sim_result())
    assert "pre-RL pass@1 vs peak post-RL pass@10, all runs seed-demeaned: rho = -0.70" in out
    assert "per seed, within-ladder rho against the final post-RL pass@10" in out
    assert "seed 0: pre-RL pass@10 -0.09, pre-RL pass@1 -0.66" in out
    assert "seed 1: pre-RL pass@10 undefined (constant), pre-RL pass@1 +0.50" in out
    assert "mean over 2 seeds" in out


def _monitor_rep(log, rule, ref, check, planned=150):
    from rankinv.verdicts.monitor import MonitorConfig, monitor

    cfg = MonitorConfig(ref_step=ref, check_step=check, planned_steps=planned, rule=rule)
    return monitor(log, cfg)


def test_demo_says_the_papers_rule_window_is_scaled_to_its_run(printed, tmp_path):
    import json

    log = tmp_path / "run.jsonl"
    rows = [{"step": s, "entropy": 1.0, "frac_reward_zero_std": 0.4} for s in range(150)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = {"depth1": {"informative": _monitor_rep(log, "informative", 4, 75)}}
    result["depth1"]["paper"] = _monitor_rep(log, "paper", 4, 75)
    out = printed(render.print_demo_step, "monitor", result, None)
    assert "the calibrated rule (informative), judged on steps 4-75 of 150" in out
    assert (
        "the paper's rule with its window scaled to this run (steps 4-75 of 150; the paper's "
        "own: steps 10-150 of 400, which `rankinv monitor --rule paper` uses)"
    ) in out
