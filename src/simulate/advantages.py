"""GRPO variants compared at their own learning rates (figures/population_advantages.py): a
variant's gain is not its effective step size."""

from __future__ import annotations

import numpy as np

from rankinv.simulate import settings
from rankinv.simulate.batch import Runner
from rankinv.simulate.population import ladder_record, run_ladders, slice_tree
from rankinv.simulate.population_summary import is_inverted
from rankinv.simulate.settings import N_FEAT, base_setting, rungs_of

#: Learning rates of the mean-vs-std comparison's sweep.
LR_GRID = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)


def compare_advantages(
    setting: dict | None = None,
    variants: tuple[str, ...] = ("dr-grpo", "grpo"),
    lrs: tuple[float, ...] = LR_GRID,
    tune_seeds: tuple[int, ...] = (0, 1),
    test_seeds: tuple[int, ...] = (2, 3, 4),
    score: str = "final_pass_at_1",
) -> dict:
    """Each GRPO variant at its own learning rate: the rate is chosen on ``tune_seeds`` (the
    best mean ``score`` over every rung, held-out prompts), then the variants are compared on
    ``test_seeds`` (other tasks, other demonstrations) at their chosen rates, so that a
    variant's gain is not its effective step size. Returns the sweep, the chosen rates and
    the test means (score, final pass@k, inverted share)."""
    setting = {**base_setting(), **(setting or {})}
    runner = Runner(n_feat=N_FEAT, penalties=True)

    def ladders(variant, lr, seeds):
        s = {**setting, "variant": variant}
        cfgs = [settings.config_of(s, seed).replace(rl_lr=lr, rl_lr_grid=()) for seed in seeds]
        res = run_ladders(runner, [s] * len(cfgs), cfgs, list(seeds))
        nd = len(rungs_of(s, cfgs[0]))
        out = []
        for j, (cfg, seed) in enumerate(zip(cfgs, seeds, strict=True)):
            pick = slice_tree(slice(j * nd, (j + 1) * nd))
            rec = ladder_record(
                s,
                seed,
                cfg,
                pick(res.start),
                pick(res.per_step),
                pick(res.final),
                cfg.rl_steps,
            )
            out.append(rec)
        return out

    def mean_of(recs, key):
        return float(np.mean([r["outcome"][key] for rec in recs for r in rec["runs"]]))

    result = {"setting": setting, "lrs": list(lrs), "score": score, "variants": {}}
    for v in variants:
        sweep = {lr: mean_of(ladders(v, lr, tune_seeds), score) for lr in lrs}
        best = max(sweep, key=sweep.get)
        test = ladders(v, best, test_seeds)
        result["variants"][v] = {
            "sweep": {str(lr): round(x, 5) for lr, x in sweep.items()},
            "chosen_lr": best,
            "chosen_at_edge": best in (min(lrs), max(lrs)),
            "test_" + score: round(mean_of(test, score), 5),
            "test_final_pass_at_k": round(mean_of(test, "final_pass_at_k"), 5),
            "test_inverted_share": float(np.mean([is_inverted(r) for r in test])),
        }
    result["tune_seeds"], result["test_seeds"] = list(tune_seeds), list(test_seeds)
    return result
