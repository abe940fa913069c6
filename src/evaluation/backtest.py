"""The real back-test of stage 1: ladders of real checkpoints with their post-RL outcomes,
never used to choose a signal, a sign or a threshold (calibrate chooses on simulated
settings; this module only scores what was chosen).

The ladders (one post-RL outcome per rung: the final held-out pass@k, steps >= 1) are the
real evidence shipped with the package (:mod:`rankinv.evaluation.real_data` says where each
comes from): the paper's Qwen and DeepSeek ladders, and the miniature experiment's ladders
(full and LoRA SFT, the clean controls, the GPU ladder, the ci-lr and ci-nomod settings).

Per ladder and per signal: the rung it picks (sign from calibration), that rung's post-RL
rank (1 = best) and regret (best outcome minus the pick's), whether it is the worst rung of
a ladder that spreads by more than SPREAD, and the within-ladder Spearman rho. The free
answers (:mod:`rankinv.verdicts.baselines`: shallowest, deepest, best_pass_at_1 (the naive
choice), lowest_pass_at_1, random by expectation) are scored on the same ladders; ``rank`` is
rank's own decision
(:func:`rankinv.verdicts.rank.decide`), which may abstain.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata, spearmanr

from rankinv.evaluation import real_data
from rankinv.verdicts import baselines
from rankinv.verdicts import signals as sg
from rankinv.verdicts.rank import decide
from rankinv.verdicts.words import rank as words

#: A ladder whose outcomes spread by more than this has a worst rung worth avoiding (the
#: success criteria's 0.02, also calibrate's top-1 margin).
SPREAD = 0.02
#: The success criteria of issue 24, fixed before the real numbers were looked at.
CRITERIA = {
    "no_worse_than_naive": "the pick's regret <= that of the best pre-RL pass@1 (the naive "
    "choice) on every real ladder",
    "never_worst": f"never the worst rung of a ladder whose outcomes spread by more than {SPREAD}",
    "rho_near_best": "median within-ladder rho over the real ladders no more than 0.1 below the "
    "best single signal's",
}


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


def _pick_entry(pick: str | None, abstain: str | None, names: list[str], y) -> dict:
    """A chooser's pick on a ladder: its post-RL rank and regret, or its abstention."""
    entry = {"recommended": pick, "abstain_reason": abstain}
    if pick is not None:
        i = names.index(pick)
        post_rank = rankdata(-y, method="min").astype(int)
        entry |= {
            "pick": pick,
            "post_rank": int(post_rank[i]),
            "regret": float(y.max() - y[i]),
            "worst": bool(np.ptp(y) > SPREAD and y[i] == y.min()),
        }
    return entry


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
    depth = [r.get("depth") for r in rungs]
    for b in baselines.BASELINES:  # the free answers, on the same ladder
        x = baselines.oriented(b, depth, values["pass_at_1"])
        res = None if x is None else _score(list(x), y, +1)
        if res is not None:
            rows[b] = res | {"pick": names[res["pick"]]}
    rnd = baselines.random_expectation(y, SPREAD)
    rows[baselines.RANDOM] = {
        "pick": None,
        "regret": rnd["regret"],
        "worst": None,
        "rho": None,
        "worst_chance": 1 / len(y) if np.ptp(y) > SPREAD else 0.0,
    }
    d = decide(values, names)
    # what `rank` recommends: the signal's pick, unless the signal did not beat the free
    # answer for this kind of ladder on held-out simulated ladders (baselines.free_answers)
    free = baselines.free_answers(names, depth, values["pass_at_1"], d.lead)
    anchor = free["adds_nothing_over"]
    final = free["baselines"][anchor] if anchor else d.recommended
    why = words.abstain_reason(d)
    rows["rank_signal"] = _pick_entry(d.recommended, why, names, y)
    rows["rank"] = _pick_entry(final, None if anchor else why, names, y)
    rows["rank"]["recommended_by"] = f"free answer: {anchor}" if anchor else "signal"
    for entry in (rows["rank"], rows["rank_signal"]):
        if entry.get("pick") is not None and "shallowest" in rows:
            entry["agrees_with_shallowest"] = entry["pick"] == rows["shallowest"]["pick"]
    return {
        "ladder": lad["ladder"],
        "source": lad["source"],
        "first_scored": lad.get("first_scored"),
        "chosen_after": lad.get("chosen_after"),
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
    names = [*sg.STAGE1_SIGNALS, *baselines.BASELINES, "rank_signal", "rank"]
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
        if m is not None and s in sg.STAGE1_SIGNALS and n_rho[s] >= most / 2
    ]
    best_rho = max(singles) if singles else None
    out = {}
    for s in names:
        on = [lad for lad in prim if "regret" in lad["signals"].get(s, {})]
        if not on:
            continue
        c1 = all(
            lad["signals"][s]["regret"] <= lad["signals"]["best_pass_at_1"]["regret"] + 1e-12
            for lad in on
            if "best_pass_at_1" in lad["signals"]
        )
        c2 = not any(lad["signals"][s]["worst"] for lad in on)
        c3 = None if med[s] is None or best_rho is None else med[s] >= best_rho - 0.1 - 1e-9
        out[s] = {
            "n_ladders": len(on),
            "abstained": sum(lad["signals"][s].get("recommended", 1) is None for lad in prim)
            if s in ("rank", "rank_signal")
            else 0,
            "median_rho": med[s],
            "n_rho": n_rho[s],
            "mean_regret": float(np.mean([lad["signals"][s]["regret"] for lad in on])),
            "worst_picks": sum(lad["signals"][s]["worst"] for lad in on),
            "held_out_ladders": sum(lad.get("chosen_after") is False for lad in on),
            "no_worse_than_naive": c1,
            "never_worst": c2,
            "rho_near_best": c3,
        }
    return {"best_single_median_rho": best_rho, "by_signal": out, "criteria": CRITERIA}


def backtest(real: dict | None = None) -> dict:
    """The `real` section of `rankinv calibrate --json`: per ladder and signal, and the
    criteria, on ``real`` (default: the evidence shipped with the package)."""
    real = real_data.load() if real is None else real
    ladders = [score_ladder(lad) for lad in real["ladders"]]
    fresh = [lad for lad in ladders if lad["chosen_after"] is False]
    return {
        "ladders": ladders,
        **criteria(ladders),
        "versus": versus(ladders),
        "held_out": {
            "ladders": [lad["ladder"] for lad in fresh],
            "note": "the real ladders nothing was chosen after (first_scored, chosen_after "
            "on each ladder); the others are partly in sample",
            "versus": versus(fresh),
        },
    }


def versus(ladders: list[dict], choosers=("rank", "rank_signal")) -> dict:
    """Each chooser's regret against each free answer's, ladder by ladder (primary ladders
    where both picked): wins, losses, ties (within 1e-9) and the two-sided sign test's p
    over the ladders that differ. Real ladders are few: the p says how little they settle."""
    from scipy.stats import binomtest

    out: dict[str, dict] = {}
    prim = [lad for lad in ladders if not lad["secondary"]]
    for c in choosers:
        out[c] = {}
        for b in baselines.NAMES:
            d = [
                lad["signals"][b]["regret"] - lad["signals"][c]["regret"]
                for lad in prim
                if lad["signals"].get(c, {}).get("regret") is not None
                and lad["signals"].get(b, {}).get("regret") is not None
            ]
            if not d:
                continue
            w = sum(x > 1e-9 for x in d)
            lo = sum(x < -1e-9 for x in d)
            out[c][b] = {
                "n_ladders": len(d),
                "wins": w,
                "losses": lo,
                "ties": len(d) - w - lo,
                "mean_regret_saved": float(np.mean(d)),
                "p_sign": float(binomtest(w, w + lo, 0.5).pvalue) if w + lo else 1.0,
            }
    return out
