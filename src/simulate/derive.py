"""What the simulator derives, in one call: numeric p*(g) two ways, the numeric entropy
threshold, the mitigation table, and the no-inversion condition. Written to derive.json
part by part as each is computed; a rerun into the same directory with the same config
(and simulator revision) keeps the finished parts and computes the rest."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rankinv import theory
from rankinv._io import write_json
from rankinv.simulate.config import SimConfig
from rankinv.simulate.numeric import (
    dynamic_p_star,
    entropy_threshold_numeric,
    p_star_monte_carlo,
)
from rankinv.simulate.sweep import config_hash, run_batch, summarise

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


def p_star_row(g: int, n_groups: int = 100_000, steps: int = 50, seeds: int = 16) -> dict:
    mc = p_star_monte_carlo(g, n_groups=n_groups)
    dyn = dynamic_p_star(g, steps=steps, seeds=seeds)
    return {
        "g": g,
        "p_star_analytic": theory.p_star(g),
        "p_star_monte_carlo": mc["p_star_numeric"],
        "monte_carlo_se": mc["se"],
        "monte_carlo_z": (mc["p_star_numeric"] - theory.p_star(g)) / mc["se"],
        "p_star_dynamic": dyn["p_star_dynamic"],
        "dynamic_steps": steps,
        "p_first_signal_half": dyn["p_first_signal_half"],
    }


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


def mitigation_row(base: SimConfig, name: str) -> dict:
    depths = (1.0, max(base.sft_depths))
    s = _outcome(base.replace(sft_depths=depths, **MITIGATIONS[name]))
    bd = s["by_depth"]
    return {
        "mitigation": name,
        "shallow_pre_pass_at_1": bd["pre_pass_at_1"][0],
        "deep_pre_pass_at_1": bd["pre_pass_at_1"][1],
        "deep_pre_entropy": bd["pre_entropy"][1],
        "shallow_post_peak": bd["post_peak"][0],
        "deep_post_peak": bd["post_peak"][1],
        "deep_all_fail_pre": bd["all_fail_pre"][1],
        "gap_deep_minus_shallow": bd["post_peak"][1] - bd["post_peak"][0],
    }


def rank_mitigations(rows: list[dict]) -> list[dict]:
    """Gains against the first row ("none"), and whether each rescues the deep checkpoint."""
    base_gap = rows[0]["gap_deep_minus_shallow"]
    base_deep = rows[0]["deep_post_peak"]
    for r in rows:
        r["deep_gain_vs_none"] = r["deep_post_peak"] - base_deep
        r["rescues"] = bool(r["gap_deep_minus_shallow"] > base_gap / 2 and base_gap < 0)
    return rows


CONTROLS = {
    "clean demonstrations": {"demo_correct_fraction": 1.0},
    "high base p, clean demonstrations": {"base_beta": (6.0, 2.0), "demo_correct_fraction": 1.0},
    "high base p, imperfect demonstrations": {"base_beta": (6.0, 2.0)},
}


def control_row(base: SimConfig, name: str) -> dict:
    """A no-inversion condition: clean demonstrations, and a strong base (high-base)."""
    s = _outcome(base.replace(**CONTROLS[name]))
    return {
        "by_depth": s["by_depth"],
        "inversion": s["inversion"],
        "rho_pre_pass1_vs_post": s["spearman_pre_pass1_vs_post"]["rho"],
        "rho_entropy_vs_post": s["spearman_entropy_vs_post"]["rho"],
    }


def derive(base: SimConfig, out: str | Path | None = None, log=None) -> dict:
    """Every derived table for ``base``; with ``out``, saved after each finished piece
    (a p* row, the entropy sweep, a mitigation, a control) and resumed from there.
    ``log(message)`` is told what is being computed."""
    t0 = time.perf_counter()
    path = Path(out) / "derive.json" if out is not None else None
    key = config_hash(base)
    done: dict = {}
    if path is not None and path.exists():
        try:
            prev = json.loads(path.read_text())
        except json.JSONDecodeError:
            prev = {}
        if prev.get("config_hash") == key:
            done = prev.get("parts", {})
    parts: dict = {}

    def piece(name: str, compute):
        if name in done:
            parts[name] = done[name]
            return parts[name]
        if log is not None:
            log(f"derive: {name}")
        parts[name] = compute()
        if path is not None:  # saved as it is produced
            blob = {"config": base.to_dict(), "config_hash": key, "complete": False, "parts": parts}
            write_json(path, blob)
        return parts[name]

    p_star = [piece(f"p_star g={g}", lambda g=g: p_star_row(g)) for g in GROUP_SIZES]
    entropy = piece("entropy threshold", lambda: entropy_sweep(base))
    rows = [
        piece(f"mitigation {name}", lambda name=name: mitigation_row(base, name))
        for name in MITIGATIONS
    ]
    controls = {
        name: piece(f"control {name}", lambda name=name: control_row(base, name))
        for name in CONTROLS
    }
    result = {
        "config": base.to_dict(),
        "config_hash": key,
        "complete": True,
        "p_star": p_star,
        "entropy_threshold": entropy,
        "mitigations": rank_mitigations([dict(r) for r in rows]),
        "controls": controls,
        "resumed_parts": sorted(set(done) & set(parts)),
        "elapsed_s": time.perf_counter() - t0,
    }
    if path is not None:  # the finished pieces stay in the file, for a later resume
        write_json(path, {**result, "parts": parts})
    return result
