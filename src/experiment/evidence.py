"""Evidence beyond the simulator: the miniature experiment's saved runs, recomputed with the
outcome defined once (``rankinv.theory.outcomes``: post-RL means steps >= 1).

For each saved summary (mini.json-like: runs with their evaluations at steps 0, 10, ...):
- per run: the final and peak held-out pass@k over steps >= 1, the gain over step 0, and
  whether the run is doomed (neither pass@k nor pass@1 gains DOOMED_GAIN);
- stage 1: Spearman rho (seed-demeaned when there are seeds) of each pre-RL signal with the
  final and the peak outcome, with its permutation p;
- stage 2: what the paper's rule (entropy drop > 0.5) and the informative-fraction rule
  would have stopped, against which runs were doomed;
- the two mechanisms: the all-fail share and the nonlinear family's final pass@k, imperfect
  (teacher) ladder against the clean control.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import outcomes, paper
from rankinv.verdicts import logs, rules, stage2
from rankinv.verdicts._calibrated import STAGE2_CALIBRATION
from rankinv.verdicts.stage2 import check_window

STAGE1 = {
    "pre_pass_at_1": ("pre", "pass_at_1"),
    "pre_pass_at_k": ("pre", "pass_at_{k}"),
    "entropy_rollout": ("pre", "entropy"),
    "entropy_prompt": ("pre", "entropy_prompt"),
    "all_fail_early": ("all_fail",),
    "informative_early": ("informative",),
}


def _get(run: dict, path: tuple[str, ...], k: int):
    v = run
    for part in path:
        if not isinstance(v, dict):
            return None
        v = v.get(part.format(k=k))
    return v


def run_outcomes(run: dict, k: int, doomed_gain: float = outcomes.DOOMED_GAIN) -> dict:
    evals = run["evals"]
    steps = [e["step"] for e in evals]
    ok = outcomes.post_rl(steps, [e[f"pass_at_{k}"] for e in evals])
    o1 = outcomes.post_rl(steps, [e["pass_at_1"] for e in evals])
    nl_key = f"pass_at_{k}_nonlinear"
    nl = outcomes.post_rl(steps, [e[nl_key] for e in evals]) if nl_key in evals[0] else None
    return {
        "final": ok.final,
        "peak": ok.peak,
        "start": ok.start,
        "gain": ok.gain,
        "gain_pass_at_1": o1.gain,
        "doomed": ok.gain < doomed_gain and o1.gain < doomed_gain,
        "final_nonlinear": None if nl is None else nl.final,
        "start_nonlinear": None if nl is None else nl.start,
    }


def _rho(x, y, groups):
    pairs = [(a, b, g) for a, b, g in zip(x, y, groups, strict=True) if a is not None]
    if len(pairs) < 3:
        return None
    xs, ys, gs = zip(*pairs, strict=True)
    use_groups = list(gs) if len(set(gs)) > 1 else None
    r = theory.spearman(list(xs), list(ys), use_groups, n_bootstrap=200, n_permutations=2000)
    return {"rho": r.rho, "p_value": r.p_value, "n": len(xs)}


def mini_evidence(path: str | Path, label: str | None = None) -> dict:
    data = json.loads(Path(path).read_text())
    k = max(data["config"].get("ks", [1, 10]))
    runs = data["runs"]
    for r in runs:
        r.setdefault("variant", "teacher" if "teacher" in r.get("name", "") else "clean")
        if r.get("depth") is None:  # older summaries: the depth is in the name (...-d16)
            m = re.search(r"-d(\d+)$", r.get("name", ""))
            r["depth"] = int(m.group(1)) if m else None
    rows = []
    for r in runs:
        o = run_outcomes(r, k)
        st2 = r.get("stage2") or {}
        rows.append(
            {
                "name": r["name"],
                "variant": r["variant"],
                "seed": r.get("seed", 0),
                "depth": r.get("depth"),
                **{name: _get(r, p, k) for name, p in STAGE1.items()},
                "entropy_drop": st2.get("entropy_drop"),
                "informative_check": st2.get("informative_fraction"),
                **o,
            }
        )
    teacher = [r for r in rows if r["variant"] == "teacher"]
    groups = [r["seed"] for r in teacher]
    stage1 = {}
    for name in STAGE1:
        stage1[name] = {
            outcome: _rho([r[name] for r in teacher], [r[outcome] for r in teacher], groups)
            for outcome in ("final", "peak")
        }
    thr = rules.rule_threshold("informative")
    stage2 = {}
    if any(r["entropy_drop"] is not None for r in rows):
        for rule, stop in (
            (
                "paper",
                lambda r: (
                    r["entropy_drop"] is not None and r["entropy_drop"] > paper.DROP_THRESHOLD
                ),
            ),
            (
                "informative",
                lambda r: r["informative_check"] is not None and 1 - r["informative_check"] > thr,
            ),
        ):
            stops = [stop(r) for r in rows]
            doomed = [r["doomed"] for r in rows]
            stage2[rule] = {
                "stopped": int(sum(stops)),
                "stopped_doomed": int(sum(s and d for s, d in zip(stops, doomed, strict=True))),
                "stopped_healthy": int(
                    sum(s and not d for s, d in zip(stops, doomed, strict=True))
                ),
                "doomed": int(sum(doomed)),
                "n": len(rows),
            }
        stage2["rho_drop_vs_final"] = _rho(
            [r["entropy_drop"] for r in teacher], [r["final"] for r in teacher], groups
        )
        stage2["rho_informative_vs_final"] = _rho(
            [r["informative_check"] for r in teacher], [r["final"] for r in teacher], groups
        )
        stage2["informative_threshold"] = thr
    mech = {}
    for variant in ("teacher", "clean"):
        rs = [r for r in rows if r["variant"] == variant]
        if not rs:
            continue
        depths = sorted({r["depth"] for r in rs})
        lo, hi = depths[0], depths[-1]

        def mean(key, d, rs=rs):
            vals = [r[key] for r in rs if r["depth"] == d and r[key] is not None]
            return float(np.mean(vals)) if vals else None

        mech[variant] = {
            "depths": [lo, hi],
            "final": [mean("final", lo), mean("final", hi)],
            "start": [mean("start", lo), mean("start", hi)],
            "all_fail_early": [mean("all_fail_early", lo), mean("all_fail_early", hi)],
            "final_nonlinear": [mean("final_nonlinear", lo), mean("final_nonlinear", hi)],
            "runs_per_depth": sum(r["depth"] == lo for r in rs),
        }
    return {
        "source": str(path),
        "label": label or Path(path).stem,
        "k": k,
        "n_runs": len(rows),
        "n_teacher": len(teacher),
        "seeds": sorted(set(groups)),
        "runs": rows,
        "stage1": stage1,
        "stage2": stage2,
        "mechanism": mech,
        "doomed_definition": f"final pass@{k} and pass@1 each gain < {outcomes.DOOMED_GAIN} "
        "over step 0 (post-RL: steps >= 1 only)",
    }


def mini_log_evidence(out_dir: str | Path, label: str | None = None) -> dict:
    """Every stage-2 rule on the per-step logs of a miniature-experiment output directory
    (runs/<name>.jsonl beside runs/<name>.json), judged where calibration judged it (the
    same fraction of the run), against which runs were doomed."""
    out_dir = Path(out_dir)
    results = sorted((out_dir / "runs").glob("*.json"))
    runs = []
    for res_path in results:
        res = json.loads(res_path.read_text())
        log = res_path.with_suffix(".jsonl")
        if not log.exists() or res.get("name") == "base":
            continue
        recs = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        if len(recs) < 4:
            continue
        k = max(
            int(key.removeprefix("pass_at_"))
            for key in res["evals"][0]
            if key.startswith("pass_at_") and key.removeprefix("pass_at_").isdigit()
        )
        runs.append((res, logs.trace_of(recs), run_outcomes(res, k)))
    if not runs:
        raise UserError(f"{out_dir}: no run with a per-step log under runs/")
    table = {}
    for rule in stage2.STAGE2_RULES:
        frac = STAGE2_CALIBRATION.get(rule, {}).get("check_fraction", 0.375)
        thr = rules.rule_threshold(rule)
        watch = rules.rule_watch_threshold(rule)
        rows = []
        for res, tr, o in runs:
            last = int(tr.steps.max())
            ref, check = check_window(last, frac)
            score = stage2.stage2_score(rule, tr, ref, check)
            rows.append(
                {
                    "name": res["name"],
                    "score": score,
                    "stop": score is not None and score > thr,
                    "watch": score is not None and watch < score <= thr,
                    "doomed": o["doomed"],
                    "gain": o["gain"],
                }
            )
        table[rule] = {
            "check_fraction": frac,
            "threshold": thr,
            "stopped": sum(r["stop"] for r in rows),
            "stopped_doomed": sum(r["stop"] and r["doomed"] for r in rows),
            "stopped_healthy": sum(r["stop"] and not r["doomed"] for r in rows),
            "watched": sum(r["watch"] for r in rows),
            "doomed": sum(r["doomed"] for r in rows),
            "n": len(rows),
            "runs": rows,
        }
    return {"source": str(out_dir), "label": label or out_dir.name, "rules": table}
