"""Predicted against observed ranks: which pre-RL signal ranks checkpoints by RL outcome.

Input, one row per checkpoint (CSV or JSON list, or JSON {"rows": [...]}):

  name            checkpoint label (optional)
  seed            seed label; rows sharing a seed are demeaned together (optional)
  depth           SFT depth in epochs (optional)
  pre_pass_at_1   pre-RL pass@1 at T = 1
  entropy         pre-RL mean token entropy, nats (stage 1)
  pre_pass_at_10, pre_pass_at_64   pre-RL pass@k (optional)
  adv_var         E[sigma^2] = p(1-p)(g-1)/g; computed from pre_pass_at_1 when absent
  entropy_step10  entropy at RL step 10 (optional)
  stage2_drop     relative entropy drop from RL step 10 to 150 (optional)
  <outcome>       the observed post-RL outcome, default column post_pass_at_10

Every numeric column other than the outcome and the labels is treated as a predictor.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.theory import paper
from rankinv.validate.tables import read_csv_records

LABEL_COLUMNS = ("name", "seed", "depth")
TAU_H = paper.TAU_H
STAGE2_THRESHOLD = paper.DROP_THRESHOLD


def flag_word(flag: bool | None) -> str:
    """How a stage-1/2 flag reads in tables: '-' (not measured), 'flag' or 'ok'."""
    return "-" if flag is None else ("flag" if flag else "ok")


def load_paper() -> dict:
    return json.loads(paper.tables_path().read_text())


def example(name: str) -> dict:
    data = load_paper()
    if name not in data["examples"]:
        raise ValueError(f"example must be one of {sorted(data['examples'])}, got {name!r}")
    ex = dict(data["examples"][name])
    ex["citation"] = data["citation"]
    return ex


def read_rows(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"file not found: {p}")
    if p.suffix == ".csv":
        return read_csv_records(p.read_text())
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p.name} is neither CSV nor valid JSON ({exc.msg})") from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{p.name}: expected a list of row objects or {{'rows': [...]}}")
    return rows


def _column(rows, key) -> np.ndarray | None:
    vals = [r.get(key) for r in rows]
    if any(v is None or isinstance(v, str) for v in vals):
        return None
    arr = np.asarray(vals, dtype=float)
    return arr if np.all(np.isfinite(arr)) else None


def compare(
    rows: list[dict],
    outcome: str = "post_pass_at_10",
    group_size: int = 8,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict:
    """Seed-demeaned Spearman of every predictor against the outcome, inversion, verdicts.

    JSON fields: predictors (each: rho, ci_low, ci_high, p_value, n), inversion (bool),
    n, favoured_predictor, stage1 (per checkpoint verdicts next to the observed rank).
    """
    if len(rows) < 3:
        raise ValueError(f"compare needs at least 3 checkpoints, got {len(rows)}")
    present = set().union(*(r.keys() for r in rows))
    if outcome not in present:
        raise ValueError(f"missing outcome column {outcome!r}; columns there: {sorted(present)}")
    y = _column(rows, outcome)
    if y is None:
        raise ValueError(f"outcome column {outcome!r} has missing or non-numeric values")
    seeds = [r.get("seed") for r in rows]
    groups = seeds if all(s is not None for s in seeds) and len(set(seeds)) > 1 else None
    rows = [dict(r) for r in rows]
    if "adv_var" not in present and "pre_pass_at_1" in present:
        p1 = _column(rows, "pre_pass_at_1")
        if p1 is not None:
            for r, v in zip(rows, theory.advantage_variance(p1, group_size), strict=True):
                r["adv_var"] = float(v)
            present.add("adv_var")
    predictors = {}
    for key in sorted(present - {outcome, *LABEL_COLUMNS}):
        sub = [
            (r[key], yy, g)
            for r, yy, g in zip(rows, y, groups or [None] * len(rows), strict=True)
            if isinstance(r.get(key), int | float) and math.isfinite(r[key])
        ]
        if len(sub) < 3:
            continue
        x_ = [s[0] for s in sub]
        y_ = [s[1] for s in sub]
        g_ = [s[2] for s in sub] if groups else None
        try:
            res = theory.spearman(x_, y_, groups=g_, n_bootstrap=n_bootstrap, seed=seed)
        except ValueError as exc:
            predictors[key] = {
                "rho": None,
                "ci_low": None,
                "ci_high": None,
                "p_value": None,
                "n": len(sub),
                "error": str(exc),
            }
            continue
        predictors[key] = res.to_dict()
    if not predictors:
        raise ValueError(
            f"no numeric predictor column with at least 3 values; columns there: {sorted(present)}"
        )
    inv = predictors.get("pre_pass_at_1", {}).get("rho")
    inversion = bool(inv is not None and inv < 0)
    ranked = [(k, v["rho"]) for k, v in predictors.items() if v["rho"] is not None]
    favoured = max(ranked, key=lambda kv: kv[1])[0] if ranked else None
    ps = theory.p_star(group_size)
    order = np.argsort(-y)
    observed_rank = np.empty(len(y), dtype=int)
    observed_rank[order] = np.arange(1, len(y) + 1)
    stage = []
    for r, rank in zip(rows, observed_rank, strict=True):
        h = r.get("entropy")
        drop = r.get("stage2_drop")
        p1 = r.get("pre_pass_at_1")
        s1 = None if h is None else bool(h < TAU_H)
        s2 = None if drop is None else bool(drop > STAGE2_THRESHOLD)
        flags = [f for f in (s1, s2) if f is not None]
        stage.append(
            {
                "name": r.get("name"),
                "depth": r.get("depth"),
                "seed": r.get("seed"),
                "entropy": h,
                "stage1_flag": s1,
                "stage2_drop": drop,
                "stage2_flag": s2,
                "headroom": None if p1 is None else p1 / ps,
                "below_p_star": None if p1 is None else bool(p1 < ps),
                "risk": None
                if not flags
                else ("high" if all(flags) else "medium" if any(flags) else "low"),
                "outcome": r[outcome],
                "observed_rank": int(rank),
            }
        )
    return {
        "predictors": predictors,
        "inversion": inversion,
        "n": len(rows),
        "outcome": outcome,
        "seed_demeaned": groups is not None,
        "favoured_predictor": favoured,
        "tau_h": TAU_H,
        "stage2_threshold": STAGE2_THRESHOLD,
        "group_size": group_size,
        "stage": stage,
        "rows": rows,
    }
