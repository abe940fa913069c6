"""The real back-test of stage 1: ladders of real checkpoints with their post-RL outcomes,
never used to choose a signal, a sign or a threshold (calibrate chooses on simulated
settings; this module only scores what was chosen).

Ladders (one post-RL outcome per rung: the final held-out pass@k, steps >= 1):
- paper-qwen: the paper's Qwen2.5-Coder-3B ladder, pre-RL pass@1 and prompt entropy from
  Table 1, pre-RL pass@10 from Table 5; outcome Table 5's final post-RL pass@10 (deep eval);
  paper-qwen-peak is the same ladder against Table 1's peak post-RL pass@10 (secondary: it
  is not counted again in the medians);
- paper-deepseek: Table 5's DeepSeek-Coder-6.7B rows (prompt entropy on 2 of 4 rungs only);
- mini-full-s{0,1,2}, mini-lora-s{0,1,2}: the miniature experiment's imperfect-teacher
  ladders per seed (figures/data/mini/mini_ci.json, mini_ci_lora.json), with the pilot
  signals from their runs (rollout entropy at RL step 10; informative fraction over the first
  5 steps); seed 0 of the full-SFT ladder adds the count-based signals of its saved probes
  (figures/data/mini/probes, 200 synthetic problems x 16 samples) under the run's own plan;
- mini-full-clean, mini-lora-clean: the clean controls (2 rungs: no rho, a pick and regret);
- mini-gpu: the GPU ladder (figures/data/mini/gpu_h200_seed0_ladder.json, one seed, 5 rungs);
- mini-lr-s{0,1,2}, mini-nomod-s{0,1,2}: two settings not run before (presets ci-lr: RL
  learning rate 1e-3; ci-nomod: a teacher wrong on the modular family), 3 seeds each
  (figures/data/mini/mini_ci_lr.json, mini_ci_nomod.json; absent until they are run).

Per ladder and per signal: the rung it picks (sign from calibration), that rung's post-RL
rank (1 = best) and regret (best outcome minus the pick's), whether it is the worst rung of
a ladder that spreads by more than SPREAD, and the within-ladder Spearman rho. ``naive`` is
the choice without rankinv (the highest pre-RL pass@1); ``rank`` is rank's own decision
(:func:`rankinv.verdicts.rank.decide`), which may abstain.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
from scipy.stats import rankdata, spearmanr

from rankinv.theory import outcomes, paper
from rankinv.verdicts import signals as sg
from rankinv.verdicts.probe_result import ProbeResult
from rankinv.verdicts.rank import decide

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "figures" / "data" / "mini"
#: A ladder whose outcomes spread by more than this has a worst rung worth avoiding (the
#: success criteria's 0.02, also calibrate's top-1 margin).
SPREAD = 0.02
#: The success criteria of issue 24, fixed before the real numbers were looked at.
CRITERIA = {
    "no_worse_than_naive": "the pick's regret <= that of pre-RL pass@1 (the naive choice: "
    "highest pass@1) on every real ladder",
    "never_worst": f"never the worst rung of a ladder whose outcomes spread by more than {SPREAD}",
    "rho_near_best": "median within-ladder rho over the real ladders no more than 0.1 below the "
    "best single signal's",
}


def _rung(name, depth, outcome, **values) -> dict:
    return {"name": name, "depth": depth, "outcome": outcome, "values": values}


def paper_ladders() -> list[dict]:
    data = json.loads(paper.tables_path().read_text())
    t1 = data["examples"]["paper-qwen"]["rows"]
    t5 = {r["depth"]: r for r in data["table5_qwen"]}
    q, qpeak = [], []
    for r in t1:
        v = {
            "pass_at_1": r["pre_pass_at_1"],
            "entropy_prompt": r["entropy"],
            "pass_at_k": t5[r["depth"]]["pre_pass_at_10"],
        }
        q.append(_rung(r["name"], r["depth"], t5[r["depth"]]["post_pass_at_10"], **v))
        qpeak.append(_rung(r["name"], r["depth"], r["post_pass_at_10"], **v))
    ds = [
        _rung(
            r["name"],
            r["depth"],
            r["post_pass_at_10"],
            pass_at_1=r["pre_pass_at_1"],
            pass_at_k=r["pre_pass_at_10"],
            entropy_prompt=r.get("entropy"),
        )
        for r in data["examples"]["paper-deepseek"]["rows"]
    ]
    src = "src/data/paper.json"
    return [
        {"ladder": "paper-qwen", "source": f"{src}: Table 1 + Table 5 (final)", "rungs": q},
        {
            "ladder": "paper-qwen-peak",
            "source": f"{src}: Table 1 (peak)",
            "rungs": qpeak,
            "secondary": True,
        },
        {"ladder": "paper-deepseek", "source": f"{src}: Table 5", "rungs": ds},
    ]


def _mini_rung(run: dict, k: int) -> dict:
    evals = run["evals"]
    steps = [e["step"] for e in evals]
    final = outcomes.post_rl(steps, [e[f"pass_at_{k}"] for e in evals]).final
    pilot = sg.pilot_signals(steps, [e.get("entropy") for e in evals], pilot_step=sg.PILOT_STEP)
    return _rung(
        run["name"],
        run.get("depth"),
        final,
        pass_at_1=run["pre"]["pass_at_1"],
        pass_at_k=run["pre"][f"pass_at_{k}"],
        entropy_rollout=run["pre"].get("entropy"),
        entropy_prompt=run["pre"].get("entropy_prompt"),
        pilot_entropy=pilot["pilot_entropy"],
        pilot_informative=run.get("informative"),  # first 5 GRPO steps
    )


def _probe_values(names: list[str], cfg: dict, k: int) -> dict[str, dict] | None:
    """Count-based signals of the saved probes of these rungs, under the run's own plan."""
    dirs = [MINI / "probes" / n for n in names]
    if not all(d.is_dir() for d in dirs):
        return None
    out = {}
    for name, d in zip(names, dirs, strict=True):
        p = ProbeResult.load(d)
        plan = sg.Plan(
            group_size=int(cfg["group_size"]),
            rl_steps=int(cfg["rl_steps"]),
            batch_prompts=int(cfg["rl_prompts"]),
            n_prompts=len(p.problems),
        )
        sig = sg.stage1_signals(p.n, p.c, plan, k=k)
        out[name] = {s: sig[s] for s in sg.STAGE1_SIGNALS if sg.STAGE1_SIGNALS[s].needs == "counts"}
    return out


def mini_ladders(path: Path, label: str, probes: bool = False) -> list[dict]:
    """The ladders of one saved miniature-experiment summary ([] when it is not there: the
    saved artifacts live in the repository, not in an installed package)."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    cfg = data["config"]
    k = max(cfg.get("ks", [1, 10]))
    runs = data["runs"]
    for r in runs:  # older summaries: the depth and variant are in the name (...-d16)
        m = re.search(r"-d(\d+)$", r.get("name", ""))
        r.setdefault("depth", int(m.group(1)) if m else None)
        r.setdefault("variant", "teacher" if "teacher" in r.get("name", "") else "clean")
    ladders = []
    for variant in ("teacher", "clean"):
        rs = [r for r in runs if r.get("variant", "teacher") == variant]
        for seed in sorted({r.get("seed", 0) for r in rs}):
            lad = sorted((r for r in rs if r.get("seed", 0) == seed), key=lambda r: r["depth"])
            if len(lad) < 2:
                continue
            rungs = [_mini_rung(r, k) for r in lad]
            name = f"{label}-s{seed}" if variant == "teacher" else f"{label}-clean"
            if len({r.get("seed", 0) for r in rs}) == 1 and variant == "teacher":
                name = label
            extra = None
            if probes and variant == "teacher" and seed == 0:  # the probes are of seed 0
                extra = _probe_values([r["name"] for r in lad], cfg, k)
            if extra:
                for rung in rungs:
                    rung["values"].update(extra[rung["name"]])
            ladders.append(
                {
                    "ladder": name,
                    "source": str(path.relative_to(ROOT))
                    + (" + probes/ (counts)" if extra else ""),
                    "rungs": rungs,
                }
            )
    return ladders


def real_ladders() -> list[dict]:
    """Every real ladder of the back-test (see the module docstring)."""
    return (
        paper_ladders()
        + mini_ladders(MINI / "mini_ci.json", "mini-full", probes=True)
        + mini_ladders(MINI / "mini_ci_lora.json", "mini-lora")
        + mini_ladders(MINI / "gpu_h200_seed0_ladder.json", "mini-gpu")
        + mini_ladders(MINI / "mini_ci_lr.json", "mini-lr")
        + mini_ladders(MINI / "mini_ci_nomod.json", "mini-nomod")
    )


def _score(values: list[float | None], y: np.ndarray, sign: int) -> dict | None:
    if any(v is None for v in values):
        return None
    x = sign * np.asarray(values, dtype=float)
    pick = int(np.argmax(x))  # first of ties: the shallowest rung
    post_rank = rankdata(-y, method="min").astype(int)
    spread = float(np.ptp(y))
    rho = None
    if len(y) >= 3 and np.ptp(x) > 0 and spread > 0:
        rho = float(spearmanr(x, y).statistic)
        rho = round(rho, 4) if math.isfinite(rho) else None
    return {
        "pick": pick,
        "post_rank": int(post_rank[pick]),
        "regret": float(y.max() - y[pick]),
        "worst": bool(spread > SPREAD and y[pick] == y.min()),
        "rho": rho,
    }


def score_ladder(lad: dict) -> dict:
    """Every signal's pick, its post-RL rank and regret, and the within-ladder rho."""
    rungs = lad["rungs"]
    y = np.array([r["outcome"] for r in rungs], dtype=float)
    names = [r["name"] for r in rungs]
    values = {s: [r["values"].get(s) for r in rungs] for s in sg.STAGE1_SIGNALS}
    rows = {}
    for s in sg.STAGE1_SIGNALS:
        res = _score(values[s], y, sg.signal_sign(s))
        if res is not None:
            rows[s] = res | {"pick": names[res["pick"]]}
    naive = _score(values["pass_at_1"], y, +1)
    if naive is not None:
        rows["naive"] = naive | {"pick": names[naive["pick"]]}
    d = decide(values, names)
    entry = {"recommended": d["recommended"], "abstain_reason": d["abstain_reason"]}
    if d["recommended"] is not None:
        i = names.index(d["recommended"])
        post_rank = rankdata(-y, method="min").astype(int)
        entry |= {
            "pick": d["recommended"],
            "post_rank": int(post_rank[i]),
            "regret": float(y.max() - y[i]),
            "worst": bool(np.ptp(y) > SPREAD and y[i] == y.min()),
        }
    rows["rank"] = entry
    return {
        "ladder": lad["ladder"],
        "source": lad["source"],
        "secondary": bool(lad.get("secondary")),
        "n_rungs": len(rungs),
        "spread": float(np.ptp(y)),
        "best": names[int(np.argmax(y))],
        "worst_rung": names[int(np.argmin(y))],
        "signals": rows,
    }


def criteria(ladders: list[dict]) -> dict:
    """Each signal (and rank's decision) against the success criteria, over the primary
    ladders where it was measured (``n``)."""
    prim = [lad for lad in ladders if not lad["secondary"]]
    names = list(sg.STAGE1_SIGNALS) + ["naive", "rank"]
    med, n_rho = {}, {}
    for s in names:
        rhos = [
            lad["signals"][s]["rho"]
            for lad in prim
            if lad["signals"].get(s, {}).get("rho") is not None
        ]
        med[s] = round(float(np.median(rhos)), 4) if rhos else None
        n_rho[s] = len(rhos)
    # the best single signal among those measured on at least half the ladders with a rho
    most = max(n_rho.values(), default=0)
    singles = [
        m
        for s, m in med.items()
        if m is not None and s not in ("naive", "rank") and n_rho[s] >= most / 2
    ]
    best_rho = max(singles) if singles else None
    out = {}
    for s in names:
        on = [lad for lad in prim if "regret" in lad["signals"].get(s, {})]
        if not on:
            continue
        c1 = all(
            lad["signals"][s]["regret"] <= lad["signals"]["naive"]["regret"] + 1e-12
            for lad in on
            if "naive" in lad["signals"]
        )
        c2 = not any(lad["signals"][s]["worst"] for lad in on)
        c3 = None if med[s] is None or best_rho is None else med[s] >= best_rho - 0.1 - 1e-9
        out[s] = {
            "n_ladders": len(on),
            "abstained": sum(lad["signals"][s].get("recommended", 1) is None for lad in prim)
            if s == "rank"
            else 0,
            "median_rho": med[s],
            "n_rho": n_rho[s],
            "mean_regret": float(np.mean([lad["signals"][s]["regret"] for lad in on])),
            "worst_picks": sum(lad["signals"][s]["worst"] for lad in on),
            "no_worse_than_naive": c1,
            "never_worst": c2,
            "rho_near_best": c3,
        }
    return {"best_single_median_rho": best_rho, "by_signal": out, "criteria": CRITERIA}


def backtest() -> dict:
    """The `real` section of `rankinv calibrate --json`: per ladder and signal, and the
    criteria."""
    ladders = [score_ladder(lad) for lad in real_ladders()]
    return {"ladders": ladders, **criteria(ladders)}
