"""Stage 2 per outcome label, the default rule chosen against the free baselines, and the
measured transfer of its false-stop rate.

- Label tables: for each label a stop is right for (``labels.STOP_LABELS``), every rule that
  claims it and every baseline, at its chosen threshold: AUC (that label against improving
  runs), precision (stops of that label / stops of determined runs), recall and the
  false-stop rate, on the report half and on the real corpus.
- The default: the monitor states the mechanical facts first, so a rule is judged as "no
  signal, or the rule stops". On the simulated choose half only, the scale-free rule (held
  to the false-stop bound MAX_STOP_FPR there, as every calibrated threshold is) with the
  highest Youden J (recall of runs worth stopping minus the false-stop rate on improving
  runs) at its chosen threshold is set against the reward-edge baseline (the same J, with
  the no-signal stop first); where it does not beat the baseline there, the default is the
  mechanical facts plus that baseline. The report half and the real corpus then say whether
  the choice held (``transfer``).
"""

from __future__ import annotations

import numpy as np

from rankinv.evaluation.stage2 import (
    MIN_CHOOSE_POSITIVES,
    NEVER_STOP,
    NO_SIGNAL,
    Run,
    catches,
    decisions,
    doom,
    is_baseline,
    stop_stats,
)
from rankinv.evaluation.stats import MAX_STOP_FPR, rate
from rankinv.theory.paper import DROP_THRESHOLD as PAPER_THRESHOLD
from rankinv.verdicts import labels, mechanical

#: The baseline the default must beat on the choose half.
EDGE_BASELINE = "reward_edge"

LABEL_WORDS = (
    "rankinv.verdicts.labels, from the check step on, on held-out pass@1 and pass@k: a change "
    f"is resolved beyond {labels.LABEL_Z:g} standard errors of the difference; sharpening = "
    "pass@k fell while pass@1 did not and training did not diverge; diverging = pass@k fell "
    "with pass@1 or with training diverging (reward "
    f"{labels.DIVERGE_REWARD_DROP:.0%} of its range below its peak, or entropy up "
    f"{labels.DIVERGE_ENTROPY_RISE:.0%}); improving = one rose, neither fell; saturated / "
    f"stranded = end reward within {labels.REWARD_EDGE:.0%} of its range from the max / min; "
    f"undetermined = the pass@k change's interval is wider than +-{labels.RESOLUTION:g}; else "
    "stalled"
)
INTERVAL_WORDS = (
    "one evaluation's standard error sqrt(v(1-v) / (N floor(m/k))) for N held-out prompts x m "
    "samples at pass@k (Hoeffding's bound on the U-statistic, Jensen over prompts: an upper "
    "bound on re-evaluating the same prompts); a logged _se column takes precedence. Simulated "
    "values are exact: they take the interval of N = {n} prompts x m = {m} samples; real runs "
    "their own N, m, k"
)


def label_tables(runs: list[Run], rows: list[dict]) -> dict[str, list[dict]]:
    """{label: rows} for every label in STOP_LABELS: each rule claiming it and every
    baseline at its threshold (``rows``: one check fraction's rows), on ``runs``."""
    cache = {}
    tables: dict[str, list[dict]] = {}
    for lab in labels.STOP_LABELS:
        table = []
        for row in rows:
            name, frac = row["rule"], row["check_fraction"]
            claims = lab in catches(name)
            if not (claims or is_baseline(name)):
                continue
            if name not in cache:
                cache[name] = decisions(name, runs, frac)
            d = cache[name]
            if not d["score"].size:
                continue
            st = stop_stats(d["score"], d["score"] > row["threshold"], d["label"], (lab,))
            keep = ("auc", "precision", "recall", "false_stop_rate", "false_stop", "n_positive")
            table.append(
                {
                    "rule": name,
                    "kind": "baseline" if is_baseline(name) else "rule",
                    "claims": claims,
                    **{k: st[k] for k in keep},
                    "n_improving": st["n_improving"],
                }
            )
        tables[lab] = sorted(table, key=lambda r: -(r["auc"] or 0.0))
    return tables


def label_counts(runs: list[Run], fracs) -> dict:
    """{fraction: {label: runs}} (fraction 0: the whole run)."""
    out = {}
    for frac in (0.0, *fracs):
        got = [r.outcome(frac)["label"] for r in runs]
        out[f"{frac:g}"] = {lab: got.count(lab) for lab in labels.LABELS if lab in got}
    return out


#: The real corpora scored: key in the real evidence -> (the half their rows are reported
#: as, their section in calibrate.json).
REAL_CORPORA = {
    "trl_corpus": ("real", "real_stage2"),
    "trl_corpus_v2": ("real_v2", "real_stage2_v2"),
}


def decides_stop(name: str, run: Run, frac: float, thr: float) -> bool:
    """The monitor's decision at the check step: no signal, or the rule stops."""
    if mechanical.no_signal(run.trace, run.window(frac)[1]) is not None:
        return True
    s = doom(name, run, frac)
    return s is not None and s > thr


def with_mechanical(name: str, runs: list[Run], frac: float, thr: float) -> dict:
    """The monitor's decision "no signal, or the rule stops" on every labelled run: recall of
    runs worth stopping, the false-stop rate (exact interval), precision and Youden J."""
    label, stop = [], []
    for run in runs:
        lab = run.outcome(frac)["label"]
        if lab is None:
            continue
        label.append(lab)
        stop.append(decides_stop(name, run, frac, thr))
    label, stop = np.asarray(label), np.asarray(stop, bool)
    worth = np.isin(label, labels.STOP_LABELS)
    neg = label == labels.CONTINUE_LABEL
    det = label != "undetermined"
    recall = None if not worth.any() else float((stop & worth).sum() / worth.sum())
    fs = rate(int((stop & neg).sum()), int(neg.sum()))
    stops = int((stop & det).sum())
    return {
        "rule": name,
        "check_fraction": frac,
        "threshold": thr,
        "recall": recall,
        "false_stop": fs,
        "precision": None if not stops else float((stop & worth).sum() / stops),
        "stop_rate": float(stop.mean()) if stop.size else None,
        "youden": None if recall is None or fs["rate"] is None else recall - fs["rate"],
        "n_runs": int(label.size),
    }


def _within_bound(fs: dict | None) -> bool:
    """The rule alone stops at most MAX_STOP_FPR of the choose half's improving runs (the
    calibrated thresholds do by construction; the paper's fixed 0.5 may not)."""
    return fs is not None and fs["rate"] is not None and fs["rate"] <= MAX_STOP_FPR + 1e-12


def _j(res: dict) -> float:
    return -np.inf if res["youden"] is None else res["youden"]


def choose_default(rows: list[dict], runs: list[Run]) -> dict:
    """The default rule, chosen on the choose half against the reward-edge baseline (see
    the module docstring): (stage2, check fraction, threshold) and the comparison."""
    choose = [r for r in runs if r.half == "choose"]
    cands = [
        with_mechanical(r["rule"], choose, r["check_fraction"], r["threshold"])
        for r in rows
        if r["kind"] == "rule"
        and r["scale_free"]
        and (r["choose_positives"] or 0) >= MIN_CHOOSE_POSITIVES
        and _within_bound(r["false_stop_by_half"]["choose"])
    ]
    edges = [
        with_mechanical(r["rule"], choose, r["check_fraction"], r["threshold"])
        for r in rows
        if r["rule"] == EDGE_BASELINE
    ]
    best = max(cands, key=_j, default=None)
    edge = max(edges, key=_j, default=None)
    beat = best is not None and (edge is None or _j(best) > _j(edge))
    pick = best if beat else edge
    return {
        "stage2": None if pick is None else pick["rule"],
        "stage2_check_fraction": None if pick is None else pick["check_fraction"],
        "stage2_threshold": None if pick is None else pick["threshold"],
        "stage2_beat_baseline": beat,
        "stage2_choice": {
            "criterion": "Youden J (recall of runs worth stopping - false-stop rate on "
            "improving runs) of 'no signal, or the rule stops' on the choose half; the best "
            f"scale-free rule with >= {MIN_CHOOSE_POSITIVES} runs to stop there and at most "
            f"{MAX_STOP_FPR:.0%} of its improving runs stopped by the rule alone, against "
            f"{EDGE_BASELINE} (the mechanical facts plus the baseline); a tie goes to the "
            "baseline",
            "best_rule": best,
            "baseline": edge,
        },
    }


def transfer(choice: dict, runs: list[Run], real: dict[str, list[Run]]) -> dict:
    """The best rule, the reward-edge baseline (one of them the default), the mechanical
    facts alone and the paper's rule, each with the no-signal stop first, measured on the
    choose half, the report half and each real corpus (``real``: half name -> runs, e.g.
    "real" for version 1 and "real_v2")."""
    out = {}
    c = choice["stage2_choice"]
    frac = choice["stage2_check_fraction"]
    roles = [
        ("best_rule", c["best_rule"]),
        ("baseline", c["baseline"]),
        # the mechanical facts alone, and the paper's rule as published, at the default's
        # check fraction
        ("mechanical", {"rule": NEVER_STOP, "check_fraction": frac, "threshold": 0.5}),
        ("paper", {"rule": "paper", "check_fraction": frac, "threshold": PAPER_THRESHOLD}),
    ]
    for role, res in roles:
        if res is None or res["check_fraction"] is None:
            continue
        name, frac, thr = res["rule"], res["check_fraction"], res["threshold"]
        pools = {h: [r for r in runs if r.half == h] for h in ("choose", "report")}
        pools.update({h: pool for h, pool in real.items() if pool})  # every run of a corpus
        out[role] = {half: with_mechanical(name, pool, frac, thr) for half, pool in pools.items()}
    return out


def real_false_stops(rows: list[dict], real_rows: list[dict], half: str = "real") -> None:
    """Add each real row's false-stop rate to its simulated row (same rule and fraction),
    under ``half`` (the corpus: "real" for version 1, "real_v2")."""
    by = {(r["rule"], r["check_fraction"]): r for r in real_rows}
    for row in rows:
        hit = by.get((row["rule"], row["check_fraction"]))
        if hit is not None:
            row["false_stop_by_half"][half] = hit["false_stop"]


def stage2_labels(runs: list[Run], real: dict[str, list[Run]], rows, frac: float, fracs):
    """The ``stage2_labels`` section of calibrate.json: definitions, counts per half and
    fraction, and one table per label at the chosen check fraction (report half, each real
    corpus of ``real``: half name -> runs)."""
    from rankinv.evaluation.stage2 import SIM_EVAL_PROMPTS, SIM_EVAL_SAMPLES

    at = [r for r in rows if r["check_fraction"] == frac]
    report = [r for r in runs if r.half == "report"]
    return {
        "definition": LABEL_WORDS,
        "interval": INTERVAL_WORDS.format(n=SIM_EVAL_PROMPTS, m=SIM_EVAL_SAMPLES),
        "actions": labels.ACTIONS,
        "check_fraction": frac,
        "counts": {
            "choose": label_counts([r for r in runs if r.half == "choose"], fracs),
            "report": label_counts(report, fracs),
            **{h: label_counts(pool, fracs) if pool else None for h, pool in real.items()},
        },
        "tables": {
            "report": label_tables(report, at),
            **{h: label_tables(pool, at) if pool else None for h, pool in real.items()},
        },
    }


def logging_pairs(runs: list[Run], choice: dict) -> dict | None:
    """The same training logged twice: each run logged at TRL's default logging_steps = 10
    (named ``<twin>-log10``) beside its twin logged every step (same seed). Whether the
    held-out evaluations are identical (the same training), the whole-run labels agree, and
    the default (the mechanical facts plus its rule) decides alike on both logs."""
    by = {r.name: r for r in runs}
    rule, frac, thr = (choice[k] for k in ("stage2", "stage2_check_fraction", "stage2_threshold"))
    if rule is None:
        return None
    pairs = []
    for name, r10 in by.items():
        twin = by.get(name.removesuffix("-log10")) if name.endswith("-log10") else None
        if twin is None:
            continue
        ev = [
            [x.get("heldout_pass_at_k") for x in run.records if "heldout_pass_at_k" in x]
            for run in (twin, r10)
        ]
        pairs.append(
            {
                "run": twin.name,
                "same_evaluations": ev[0] == ev[1],
                "label": [twin.outcome(0.0)["label"], r10.outcome(0.0)["label"]],
                "stop": [decides_stop(rule, twin, frac, thr), decides_stop(rule, r10, frac, thr)],
            }
        )
    if not pairs:
        return None
    return {
        "rule": rule,
        "check_fraction": frac,
        "n_pairs": len(pairs),
        "same_evaluations": sum(p["same_evaluations"] for p in pairs),
        "same_label": sum(p["label"][0] == p["label"][1] for p in pairs),
        "same_decision": sum(p["stop"][0] == p["stop"][1] for p in pairs),
        "pairs": pairs,
    }


__all__ = [
    "NO_SIGNAL",
    "REAL_CORPORA",
    "choose_default",
    "label_tables",
    "logging_pairs",
    "stage2_labels",
    "transfer",
]
