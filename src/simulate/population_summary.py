"""The summary of a population: the share of inverted ladders overall, per axis value (over
the random design, and against the base setting over the one-at-a-time design), the
validation targets, the learning-rate study and the recipe ladders apart."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rankinv.simulate.recipes import RECIPE_DEPTH, RECIPES, is_recipe
from rankinv.simulate.settings import (
    AXES,
    DEPTHS,
    POPULATION_LR_SWEEP,
    POPULATION_REVISION,
    RANDOM_SEED0,
    Design,
    base_setting,
    is_study,
)
from rankinv.simulate.targets import coverage_loss_share, validation
from rankinv.theory.outcomes import ladder_inverted


def is_inverted(rec: dict, outcome: str = "final_pass_at_k") -> bool:
    pre = [r["stage1"]["pass_at_1"] for r in rec["runs"]]
    post = [r["outcome"][outcome] for r in rec["runs"]]
    return ladder_inverted(pre, post)


def summarise(design_: Design, records: list[dict]) -> dict:
    """inverted_share over all ladders; per axis value: ``by_axis`` over the random design
    (the axis's effect averaged over the others), ``by_axis_vs_base`` over the
    one-at-a-time design (the base setting with only that axis changed); the validation
    targets (targets.validation) over the tuned ladders; ``lr_study``: the untuned rates."""
    study = [r for r in records if is_study(r["setting"])]
    recipes = [r for r in records if is_recipe(r["setting"])]
    records = [r for r in records if not is_study(r["setting"]) and not is_recipe(r["setting"])]
    inv = [is_inverted(r) for r in records]
    inv1 = [is_inverted(r, "final_pass_at_1") for r in records]
    base = base_setting()
    random = [i for i, r in enumerate(records) if r["seed"] >= RANDOM_SEED0]
    oat = [i for i, r in enumerate(records) if r["seed"] < RANDOM_SEED0]
    by_axis: dict[str, dict] = {}
    vs_base: dict[str, dict] = {}
    for axis, values in AXES.items():
        by_axis[axis], vs_base[axis] = {}, {}
        for v in values:
            sel = [i for i in random if records[i]["setting"][axis] == v]
            by_axis[axis][str(v)] = _share(inv, sel)
            only = [
                i
                for i in oat
                if records[i]["setting"][axis] == v
                and all(a == axis or records[i]["setting"][a] == base[a] for a in AXES)
            ]
            vs_base[axis][str(v)] = _share(inv, only)
    n_runs = sum(len(r["runs"]) for r in records)
    return {
        "population": design_.name,
        "n_runs": n_runs,
        "n_ladders": len(records),
        "k": records[0]["k"] if records else None,
        "settings": {a: list(v) for a, v in AXES.items()},
        "depths": list(DEPTHS),
        "base_setting": base,
        "inverted_share": float(np.mean(inv)) if inv else None,
        "inverted_share_pass_at_1": float(np.mean(inv1)) if inv1 else None,
        "n_ladders_random": len(random),
        "inverted_share_random": _share(inv, random)["inverted_share"],
        "by_axis": by_axis,
        "by_axis_vs_base": vs_base,
        **validation(records, [records[i] for i in random]),
        "lr": {
            "tuned_over": list(POPULATION_LR_SWEEP),
            "chosen": {
                f"{lr:g}": sum(r["rl_lr"] == lr for r in records) for lr in POPULATION_LR_SWEEP
            },
            "rule": "per ladder, the rate with the best mean final training pass@1 over its "
            "rungs (batch.run_tuned); never a held-out number",
        },
        "lr_study": _lr_study(study),
        "recipe_ladders": {
            "n_ladders": len(recipes),
            "recipes": list(RECIPES),
            "depth": RECIPE_DEPTH,
            "inverted_share": float(np.mean([is_inverted(r) for r in recipes]))
            if recipes
            else None,
        },
        "n_runs_study": sum(len(r["runs"]) for r in study),
        "outcome": "final held-out pass@k (inverted_share_pass_at_1: final held-out pass@1); "
        "inversion: rankinv.theory.outcomes.ladder_inverted on stage-1 pass@1; every share "
        "over the tuned depth ladders (the learning-rate study and the recipe ladders apart)",
        "revision": POPULATION_REVISION,
    }


def _lr_study(study: list[dict]) -> dict:
    """The base setting at each fixed (untuned) learning rate."""
    out = {}
    for lr in sorted({r["setting"]["rl_lr"] for r in study}):
        recs = [r for r in study if r["setting"]["rl_lr"] == lr]
        out[f"{lr:g}"] = {
            "n_ladders": len(recs),
            "inverted_share": float(np.mean([is_inverted(r) for r in recs])),
            "coverage_loss_share": coverage_loss_share(recs),
            "mean_final_pass_at_k": float(
                np.mean([x["outcome"]["final_pass_at_k"] for r in recs for x in r["runs"]])
            ),
        }
    return out


def _share(inv: list[bool], sel: Iterable[int]) -> dict:
    sel = list(sel)
    return {
        "n_ladders": len(sel),
        "inverted_share": float(np.mean([inv[i] for i in sel])) if sel else None,
    }
