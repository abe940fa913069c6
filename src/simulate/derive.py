"""What the simulator derives, in one call: numeric p*(g) two ways, the numeric entropy
threshold, the mitigation table, and the no-inversion condition. Written to derive.json."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.simulate.config import SimConfig
from rankinv.simulate.numeric import (
    dynamic_p_star,
    entropy_threshold_numeric,
    p_star_monte_carlo,
)
from rankinv.simulate.sweep import run_batch, summarise

GROUP_SIZES = (4, 8, 16, 32)

#: Rescue attempts for a collapsed checkpoint, as config overrides.
MITIGATIONS: dict[str, dict] = {
    "none": {},
    "KL beta=0.01": {"kl_beta": 0.01},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "std-normalised advantage": {"advantage": "std"},
    "DAPO dynamic sampling (budget 4)": {"dynamic_sampling": True},
    "entropy bonus 0.01": {"entropy_coef": 0.01},
    "g = 16": {"group_size": 16},
    "g = 32": {"group_size": 32},
}


def p_star_table(n_groups: int = 100_000, steps: int = 50, seeds: int = 16) -> list[dict]:
    rows = []
    for g in GROUP_SIZES:
        mc = p_star_monte_carlo(g, n_groups=n_groups)
        dyn = dynamic_p_star(g, steps=steps, seeds=seeds)
        rows.append(
            {
                "g": g,
                "p_star_analytic": theory.p_star(g),
                "p_star_monte_carlo": mc["p_star_numeric"],
                "monte_carlo_se": mc["se"],
                "monte_carlo_z": (mc["p_star_numeric"] - theory.p_star(g)) / mc["se"],
                "p_star_dynamic": dyn["p_star_dynamic"],
                "dynamic_steps": steps,
                "p_first_signal_half": dyn["p_first_signal_half"],
            }
        )
    return rows


def _outcome(cfg: SimConfig) -> dict:
    pre, per_step, final, runs, _, _ = run_batch(cfg)
    s = summarise(cfg, pre, per_step, final, runs)
    return s


def entropy_sweep(base: SimConfig) -> dict:
    depths = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
    s = _outcome(base.replace(sft_depths=depths))
    res = entropy_threshold_numeric(s)
    low, high = theory.entropy_threshold_per_token(base.group_size, base.n_answers, base.seq_len)
    res.update(
        {
            "theory_low_per_token": low,
            "theory_high_per_token": high,
            "by_depth": s["by_depth"],
            "spearman_pre_pass1_vs_post": s["spearman_pre_pass1_vs_post"],
        }
    )
    return res


def mitigation_table(base: SimConfig) -> list[dict]:
    rows = []
    depths = (1.0, max(base.sft_depths))
    for name, overrides in MITIGATIONS.items():
        s = _outcome(base.replace(sft_depths=depths, **overrides))
        bd = s["by_depth"]
        rows.append(
            {
                "mitigation": name,
                "shallow_pre_pass_at_1": bd["pre_pass_at_1"][0],
                "deep_pre_pass_at_1": bd["pre_pass_at_1"][1],
                "deep_pre_entropy": bd["pre_entropy"][1],
                "shallow_post_peak": bd["post_peak"][0],
                "deep_post_peak": bd["post_peak"][1],
                "deep_all_fail_pre": bd["all_fail_pre"][1],
                "gap_deep_minus_shallow": bd["post_peak"][1] - bd["post_peak"][0],
            }
        )
    base_gap = rows[0]["gap_deep_minus_shallow"]
    base_deep = rows[0]["deep_post_peak"]
    for r in rows:
        r["deep_gain_vs_none"] = r["deep_post_peak"] - base_deep
        r["rescues"] = bool(r["gap_deep_minus_shallow"] > base_gap / 2 and base_gap < 0)
    return rows


def control_runs(base: SimConfig) -> dict:
    """The no-inversion conditions: clean demonstrations, and a strong base (high-base)."""
    out = {}
    for name, cfg in {
        "clean demonstrations": base.replace(demo_correct_fraction=1.0),
        "high base p, clean demonstrations": base.replace(
            base_beta=(6.0, 2.0), demo_correct_fraction=1.0
        ),
        "high base p, imperfect demonstrations": base.replace(base_beta=(6.0, 2.0)),
    }.items():
        s = _outcome(cfg)
        out[name] = {
            "by_depth": s["by_depth"],
            "inversion": s["inversion"],
            "rho_pre_pass1_vs_post": s["spearman_pre_pass1_vs_post"]["rho"],
            "rho_entropy_vs_post": s["spearman_entropy_vs_post"]["rho"],
        }
    return out


def derive(base: SimConfig, out: str | Path | None = None) -> dict:
    t0 = time.perf_counter()
    result = {
        "config": base.to_dict(),
        "p_star": p_star_table(),
        "entropy_threshold": entropy_sweep(base),
        "mitigations": mitigation_table(base),
        "controls": control_runs(base),
    }
    result["elapsed_s"] = time.perf_counter() - t0
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        (path / "derive.json").write_text(json.dumps(result, indent=1, default=_np))
    return result


def _np(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)
