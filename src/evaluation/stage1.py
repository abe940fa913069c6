"""Stage 1 scored on a population of ladders: every stage-1 signal, by the one computation
users run (``signals.stage1_signals`` on each rung's probe counts under its ladder's
:class:`~rankinv.records.Plan`; ``signals.pilot_signals`` on its trace), against the
rung's final held-out pass@k, held out by setting.

Per signal, oriented by the sign chosen on the choose half: the within-ladder Spearman rho
with the outcome (median and IQR over report ladders), the top-1 rate (the rung the signal
ranks first is within TOP1_MARGIN of the ladder's best outcome, over the ladders whose rungs
differ by more than that: on the others any pick is right), the mean regret (best outcome
minus the chosen rung's), and the ROC AUC for a poor start.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from rankinv._io import read_jsonl
from rankinv.errors import InputNotFound, UserError
from rankinv.evaluation import stats
from rankinv.evaluation.stats import roc_auc, youden_threshold
from rankinv.records import LadderRecord, RunRecord
from rankinv.theory import outcomes
from rankinv.verdicts import baselines, signals

#: A rung is a poor start when its final held-out pass@k trails its ladder's best by more.
POOR_START_MARGIN = 0.02
#: A pick is top-1 when its rung ends within this of the ladder's best (the same 0.02: a
#: difference the mini experiment's evaluations cannot resolve reliably is no miss).
TOP1_MARGIN = POOR_START_MARGIN


def run_signals(run: RunRecord, ladder: LadderRecord) -> dict[str, float | None]:
    """Every stage-1 signal of one run, by the one computation users run
    (signals.stage1_signals on its probe counts and entropies under the ladder's plan;
    signals.pilot_signals on its trace's first steps)."""
    st = run.stage1
    out: dict[str, float | None] = dict.fromkeys(signals.STAGE1_SIGNALS)
    if run.counts is not None:
        out.update(
            signals.stage1_signals(
                run.counts.n,
                run.counts.c,
                ladder.plan,
                k=ladder.k,
                entropy_rollout=st.get("entropy_rollout"),
                entropy_prompt=st.get("entropy_prompt"),
            )
        )
    tr = run.trace
    if tr:
        pil = signals.pilot_signals(
            [t["step"] for t in tr],
            [t.get("entropy") for t in tr],
            [
                None if t.get("frac_reward_zero_std") is None else 1 - t["frac_reward_zero_std"]
                for t in tr
            ],
        )
        out["pilot_entropy"], out["pilot_informative"] = (
            pil["pilot_entropy"],
            pil["pilot_informative"],
        )
    return out


def run_outcome(
    run: RunRecord, doomed_gain: float = outcomes.DOOMED_GAIN
) -> tuple[float, bool | None]:
    """(final held-out pass@k, doomed) of one run.

    Doomed: RL bought (almost) nothing, on either metric: the final held-out pass@k and
    pass@1 each gain less than ``doomed_gain`` over the run's own step 0 (pass@1 is used
    where the record has its step-0 value: a run that starts at the pass@k ceiling can
    still gain pass@1, and is not doomed for that).
    """
    o = run.outcome
    final = float(o["final_pass_at_k"])
    start = o.get("start_pass_at_k")
    if start is None:
        return final, None
    doomed = final - float(start) < doomed_gain
    start1 = o.get("start_pass_at_1")
    if start1 is None and run.trace:
        start1 = run.trace[0].get("heldout_pass_at_1")
    if doomed and start1 is not None and o.get("final_pass_at_1") is not None:
        doomed = float(o["final_pass_at_1"]) - float(start1) < doomed_gain
    return final, doomed


def as_ladders(items) -> list[LadderRecord]:
    """Ladder records from records or their JSON (a one-line error names a bad one)."""
    out = []
    for i, lad in enumerate(items):
        if isinstance(lad, LadderRecord):
            out.append(lad)
            continue
        try:
            out.append(LadderRecord.from_json(lad))
        except UserError as exc:
            raise UserError(f"ladder {i}: {exc}") from None
    return out


def load_population(source: str | Path) -> list[LadderRecord]:
    """Ladders from a population directory (population.jsonl) or a JSONL file."""
    path = Path(source)
    if path.is_dir():
        path = path / "population.jsonl"
    if not path.exists():
        raise InputNotFound(f"no population at {path} (run `rankinv simulate --population`)")
    ladders = read_jsonl(path)
    if not ladders:
        raise UserError(f"{path} holds no ladders")
    try:
        return as_ladders(ladders)
    except UserError as exc:
        raise UserError(
            f"{path}: {exc} (a population written by an older rankinv: simulate it again "
            "into a new folder)"
        ) from None


def _rate(flags: list[bool | None]) -> float | None:
    """Share of True among the flags that are not None (None when there are none)."""
    kept = [f for f in flags if f is not None]
    return float(np.mean(kept)) if kept else None


def _ladder_stats(sig: np.ndarray, out: np.ndarray) -> tuple[float | None, bool | None, float]:
    """(within-ladder rho, top-1, regret) of one signal on one ladder. top-1: the rung the
    signal ranks first ends within TOP1_MARGIN of the ladder's best; None for a ladder whose
    rungs all end within TOP1_MARGIN of each other (any pick is right: not counted)."""
    ok = np.isfinite(sig)
    if ok.sum() < 3 or np.ptp(sig[ok]) == 0 or np.ptp(out[ok]) == 0:
        rho = None
    else:
        rho = float(spearmanr(sig[ok], out[ok]).statistic)
        if not math.isfinite(rho):
            rho = None
    if not ok.any():
        return rho, None, float("nan")
    idx = np.flatnonzero(ok)
    pick = idx[int(np.argmax(sig[ok]))]
    best = float(out.max())
    decisive = float(np.ptp(out)) > TOP1_MARGIN
    top1 = bool(out[pick] >= best - TOP1_MARGIN) if decisive else None
    return rho, top1, best - float(out[pick])


def _rung_table(lad: LadderRecord, half: str, doomed_gain: float) -> dict:
    """One ladder's rungs: every signal's values, the baselines' orderings, the outcome."""
    sigs = [run_signals(r, lad) for r in lad.runs]
    y = np.array([run_outcome(r, doomed_gain)[0] for r in lad.runs])
    depth = [r.depth for r in lad.runs]
    pass1 = [s["pass_at_1"] for s in sigs]  # as a probe measures it, the user's number
    return {
        "half": half,
        "setting_id": lad.setting_id,
        "signals": {
            name: np.array([np.nan if s[name] is None else s[name] for s in sigs], dtype=float)
            for name in signals.STAGE1_SIGNALS
        },
        "baselines": {b: baselines.oriented(b, depth, pass1) for b in baselines.BASELINES},
        "y": y,
    }


def _summary(rep: list[tuple[float | None, bool | None, float]]) -> dict | None:
    """Median rho, IQR, top-1 rate and mean regret over the report ladders' stats."""
    rhos = [r for r, _, _ in rep if r is not None]
    if not rhos:
        return None
    return {
        "median_rho": float(np.median(rhos)),
        "iqr": [float(np.percentile(rhos, 25)), float(np.percentile(rhos, 75))],
        "top1_rate": _rate([t for _, t, _ in rep]),
        "top1_n": sum(t is not None for _, t, _ in rep),
        "top1_margin": TOP1_MARGIN,
        "regret": float(np.nanmean([g for _, _, g in rep])),
        "n_ladders": len(rhos),
        "rhos": [round(r, 4) for r in rhos],
    }


def _baseline_regrets(t: dict) -> dict[str, float]:
    """Each baseline's regret on one ladder (random: its expectation)."""
    out = {}
    for b, x in t["baselines"].items():
        if x is not None:
            out[b] = _ladder_stats(x, t["y"])[2]
    out[baselines.RANDOM] = baselines.random_expectation(t["y"], TOP1_MARGIN)["regret"]
    return out


def _baseline_rows(tables: list[dict]) -> list[dict]:
    """The free answers scored like the signals, on the report ladders (fixed signs)."""
    rep = [t for t in tables if t["half"] == "report"]
    rows = []
    for b, meta in baselines.BASELINES.items():
        stats = [
            _ladder_stats(t["baselines"][b], t["y"]) for t in rep if t["baselines"][b] is not None
        ]
        summ = _summary(stats)
        if summ is not None:
            rows.append({"signal": b, "baseline": True, "sign": meta.sign, **summ,
                         "description": meta.description})  # fmt: skip
    rand = [baselines.random_expectation(t["y"], TOP1_MARGIN) for t in rep]
    if rand:
        rows.append(
            {
                "signal": baselines.RANDOM,
                "baseline": True,
                "sign": 0,
                "median_rho": 0.0,
                "iqr": [0.0, 0.0],
                "top1_rate": _rate([r["top1"] for r in rand]),
                "top1_n": sum(r["top1"] is not None for r in rand),
                "top1_margin": TOP1_MARGIN,
                "regret": float(np.mean([r["regret"] for r in rand])),
                "n_ladders": len(rand),
                "description": "a rung drawn uniformly at random (its expectation)",
            }
        )
    return rows


def _versus_baselines(rows: list[dict], tables: list[dict]) -> None:
    """Adds to each signal row its paired comparison with every baseline on the report
    ladders: baseline's regret minus the signal's (positive: the signal picked better),
    clustered by setting, Holm-adjusted across the signals for each baseline."""
    rep = [t for t in tables if t["half"] == "report"]
    base = [_baseline_regrets(t) for t in rep]
    for row in rows:
        x = [row["sign"] * t["signals"][row["signal"]] for t in rep]
        mine = [
            _ladder_stats(xi, t["y"])[2] if np.isfinite(xi).any() else None
            for xi, t in zip(x, rep, strict=True)
        ]
        row["vs_baselines"] = {}
        for b in baselines.NAMES:
            diffs = [(t["setting_id"], bb[b] - m) for t, bb, m in zip(rep, base, mine, strict=True)
                     if m is not None and b in bb]  # fmt: skip
            res = stats.paired_by_setting(diffs)
            if res is not None:
                row["vs_baselines"][b] = res
    for b in baselines.NAMES:
        adj = stats.holm(
            {r["signal"]: r["vs_baselines"].get(b, {}).get("p_wilcoxon_pratt") for r in rows}
        )
        for r in rows:
            if b in r["vs_baselines"]:
                r["vs_baselines"][b]["p_holm"] = adj.get(r["signal"])


def score_stage1(
    ladders: list[LadderRecord], split: dict[str, str], doomed_gain: float = outcomes.DOOMED_GAIN
) -> list[dict]:
    """Per signal: sign chosen on the choose half; on the report half the median rho, IQR,
    top-1 rate, regret, the AUC for a *poor start* (the rung's final outcome trails its
    ladder's best by more than POOR_START_MARGIN), with the threshold (chosen on the choose
    half by Youden's J) that the single-checkpoint verdict uses, and the paired comparison
    with every free answer (``vs_baselines``). The baselines follow as rows of their own
    (``baseline`` true, signs fixed)."""
    tables = [_rung_table(lad, split[lad.setting_id], doomed_gain) for lad in ladders]
    rows = []
    for name, meta in signals.STAGE1_SIGNALS.items():
        st: dict[str, list] = {"choose": [], "report": []}
        flat: dict[str, tuple[list, list]] = {"choose": ([], []), "report": ([], [])}
        for t in tables:
            x, y = t["signals"][name], t["y"]
            st[t["half"]].append((x, y))
            poor = y < y.max() - POOR_START_MARGIN  # a better rung of this ladder existed
            for xi, p in zip(x, poor, strict=True):
                if np.isfinite(xi):
                    flat[t["half"]][0].append(xi)
                    flat[t["half"]][1].append(bool(p))
        rho_choose = [_ladder_stats(x, y)[0] for x, y in st["choose"]]
        rho_choose = [r for r in rho_choose if r is not None]
        if not rho_choose:
            continue
        med = float(np.median(rho_choose))
        sign = int(np.sign(med)) or meta.expected_sign
        summ = _summary([_ladder_stats(sign * x, y) for x, y in st["report"]])
        if summ is None:
            continue
        rx, cx = np.array(flat["report"][0]), np.array(flat["choose"][0])
        ry, cy = np.array(flat["report"][1], bool), np.array(flat["choose"][1], bool)
        thr = youden_threshold(-sign * cx, cy)
        rows.append(
            {
                "signal": name,
                "baseline": False,
                "sign": sign,
                "expected_sign": meta.expected_sign,
                "agrees_with_paper": sign == meta.expected_sign,
                **summ,
                "auc_poor_start": roc_auc(-sign * rx, ry),
                "choose_auc_poor_start": roc_auc(-sign * cx, cy),
                "scale_free": meta.scale_free,
                "poor_start_threshold": None if thr is None else -sign * thr,
                "poor_start_rate": float(np.mean(ry)) if ry.size else None,
                "choose_median_rho": med,
                "description": meta.description,
            }
        )
    _versus_baselines(rows, tables)
    rows.sort(key=lambda r: (-r["choose_median_rho"], r["signal"]))
    return rows + _baseline_rows(tables)
