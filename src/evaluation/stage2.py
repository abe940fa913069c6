"""Stage 2 scored on simulated runs and on a real GRPOTrainer corpus: every rule (and the
mechanical no-signal stop) at each check fraction, against outcome labels from the check
step on (``rankinv.verdicts.labels``); thresholds chosen on the choose half only.

Per rule and check step (a fraction of the run): the ROC AUC of the doom score for the
labels the rule claims to catch, precision and recall of "stop" (score above the threshold:
the paper's 0.5 for the paper's rule; otherwise the lowest threshold that stops at most
MAX_STOP_FPR of the choose half's runs that went on to gain), the share of RL compute
saved and the post-RL gain lost by stopping healthy runs.
"""

from __future__ import annotations

import numpy as np

from rankinv.errors import UserError
from rankinv.evaluation.stats import (
    precision_at,
    roc_auc,
    roc_curve,
    stop_threshold,
    youden_threshold,
)
from rankinv.records import LadderRecord, RunRecord
from rankinv.verdicts import labels, rules, stage2
from rankinv.verdicts.stage2 import check_window

#: Check positions as fractions of the run (the paper: step 150 of 400 = 0.375).
CHECK_FRACTIONS = (0.1, 0.25, 0.375, 0.5)

#: Prevalences of runs not worth continuing at which precision is also reported: a user's
#: sweep is not the simulator's population.
PREVALENCES = (0.05, 0.1, 0.25, 0.5)
#: The mechanical no-signal stop, scored beside the rules.
NO_SIGNAL = "no_signal"
#: A default rule is chosen only where the choose half has this many runs it should stop
#: (an AUC on a handful of positives is noise).
MIN_CHOOSE_POSITIVES = 30


def _trace(run: RunRecord) -> rules.Trace:
    return rules.Trace.from_records(run.trace)


def _stop_stats(stop, positive, label, saved, gain) -> dict:
    """Precision, recall, per-label stop rates and precision at other prevalences."""
    stop, positive = np.asarray(stop, bool), np.asarray(positive, bool)
    label = np.asarray(label)
    tp = int((stop & positive).sum())
    tpr = None if not positive.any() else tp / int(positive.sum())
    fpr = None if positive.all() else int((stop & ~positive).sum()) / int((~positive).sum())
    return {
        "precision": None if not stop.any() else tp / int(stop.sum()),
        "recall": tpr,
        "false_stop_rate": fpr,
        "precision_at_prevalence": {
            f"{p:g}": None if tpr is None or fpr is None else precision_at(tpr, fpr, p)
            for p in PREVALENCES
        },
        "stop_rate_by_label": {
            lab: float(stop[label == lab].mean()) for lab in labels.LABELS if (label == lab).any()
        },
        "compute_saved": float(np.sum(np.asarray(saved) * stop) / len(stop)),
        "outcome_lost": float(np.sum(np.clip(gain, 0, None) * (stop & ~positive)) / len(stop)),
        "stop_rate": float(stop.mean()),
        "prevalence": float(positive.mean()),
        "n_runs": int(len(stop)),
    }


def _labelled_runs(ladders, split, gain: float) -> list[tuple]:
    """(half, trace, records, gain) of every run with a trace and held-out evaluations."""
    runs = []
    for lad in ladders:
        half = split[lad.setting_id]
        for r in lad.runs:
            if not r.trace:
                continue
            records = labels.with_outcome(r.trace, r.outcome)
            if labels.label_run(records, gain=gain)["label"] is None:
                continue
            runs.append((half, _trace(r), records, gain))
    return runs


def _label_at(records, check: int, gain: float) -> tuple[str | None, float]:
    """The run's label from the check step on (what continuing bought), and that gain."""
    lab = labels.label_run(records, gain=gain, from_step=check)
    g = max(lab["gain_pass_at_k"] or 0.0, lab["gain_pass_at_1"] or 0.0)
    return lab["label"], g


def score_rule(name: str, runs, frac: float, thr: float, watch: float | None = None) -> dict:
    """One rule (or the no-signal stop) at a check fraction and fixed thresholds, on
    (trace, records, gain threshold) runs, each labelled from the check step on: AUC for the
    labels it claims to catch, and stop statistics."""
    catches = ("saturated", "stranded") if name == NO_SIGNAL else rules.STAGE2_RULES[name].catches
    sc, pos, lab, saved, gains, stop, match = [], [], [], [], [], [], []
    for tr, records, gain_min in runs:
        last = int(tr.steps.max())
        ref, check = check_window(last, frac)
        label, gain = _label_at(records, check, gain_min)
        if label is None:
            continue
        if name == NO_SIGNAL:
            st = stage2.no_signal(tr, check)
            s = 0.0 if st is None else 1.0
            if st is not None:  # does the state it names match the run's outcome?
                match.append(label in stage2.NO_SIGNAL_CATCHES[st["state"]])
        else:
            s = rules.stage2_score(name, tr, ref, check)
            if s is None:
                continue
        stop.append(s > thr)
        pos.append(label in catches)
        sc.append(s)
        lab.append(label)
        saved.append((last - check) / last)
        gains.append(gain)
    if not sc:
        return {}
    out = {
        "auc": roc_auc(np.array(sc), np.array(pos, bool)),
        **_stop_stats(stop, pos, lab, saved, gains),
        "roc": roc_curve(np.array(sc), np.array(pos, bool)),
        "catches": list(catches),
    }
    if name == NO_SIGNAL:
        out["state_matches_label"] = None if not match else float(np.mean(match))
    if watch is not None:
        p = np.array(pos, bool)
        out["watch_recall"] = None if not p.any() else float((np.array(sc)[p] > watch).mean())
        out["watch_rate"] = float((np.array(sc) > watch).mean())
    return out


def score_stage2(
    ladders: list[LadderRecord], split: dict[str, str], doomed_gain: float = labels.GAIN
) -> list[dict]:
    """Per rule (and the no-signal stop) and check fraction, on the report half: AUC for the
    outcome labels the rule claims to catch, precision (also at other prevalences), recall,
    compute saved, held-out gain lost; thresholds (other than the paper's) chosen on the
    choose half. Labels: rankinv.verdicts.labels (gained, saturated, stranded, stalled)."""
    runs = _labelled_runs(ladders, split, doomed_gain)
    if not runs:
        raise UserError("no run with a trace and a held-out outcome: nothing to score stage 2 on")
    halves = {h: [(t, rec, g) for hh, t, rec, g in runs if hh == h] for h in ("choose", "report")}
    rows = []
    for frac in CHECK_FRACTIONS:
        for name, rule in [*rules.STAGE2_RULES.items(), (NO_SIGNAL, None)]:
            if rule is None:
                thr = watch = 0.5
            else:
                data = []
                for tr, records, gain_min in halves["choose"]:
                    ref, check = check_window(int(tr.steps.max()), frac)
                    s = rules.stage2_score(name, tr, ref, check)
                    label = _label_at(records, check, gain_min)[0]
                    if s is not None and label is not None:
                        data.append((s, label in rule.catches))
                if not data:
                    continue
                cs = np.array([d[0] for d in data])
                cl = np.array([d[1] for d in data])
                if name == "paper":  # the paper's rule as published: stop above a 50% drop
                    thr = watch = rule.threshold
                else:  # stop: FPR <= MAX_STOP_FPR on the choose half; watch: Youden (lower)
                    thr = stop_threshold(cs, cl)
                    watch = youden_threshold(cs, cl)
                    thr = rule.threshold if thr is None else thr
                    watch = thr if watch is None else min(watch, thr)
                choose_auc = roc_auc(cs, cl)
                choose_pos = int(cl.sum())
            rep = score_rule(name, halves["report"], frac, thr, watch)
            if not rep:
                continue
            rows.append(
                {
                    "rule": name,
                    "check_fraction": frac,
                    "check_step": f"{frac:g} of the run",
                    "threshold": float(thr),
                    "watch_threshold": float(watch),
                    **rep,
                    "choose_auc": None if rule is None else choose_auc,
                    "choose_positives": None if rule is None else choose_pos,
                    "scale_free": True if rule is None else rule.scale_free,
                    "doomed_rate": rep["prevalence"],
                    "description": "mechanical: zero-std share >= "
                    f"{stage2.NO_SIGNAL_ZERO_STD} over {stage2.NO_SIGNAL_STEPS} steps"
                    if rule is None
                    else rule.description,
                }
            )
    return rows


def score_real_stage2(real: dict | None, chosen: list[dict]) -> dict | None:
    """Every rule at its calibrated check fraction and threshold (chosen on simulated runs,
    never on these) on the real GRPOTrainer corpus of the shipped real data
    (``rankinv.evaluation.real_data``: each run's log records and label)."""
    corpus = (real or {}).get("trl_corpus")
    if not corpus:
        return None
    from rankinv.verdicts import logs

    runs = [
        (logs.trace(r["records"])[0], r["records"], labels.GAIN)
        for r in corpus["runs"]
        if r.get("label") is not None and r.get("records")
    ]
    if not runs:
        return None
    rows = []
    for row in chosen:
        res = score_rule(row["rule"], runs, row["check_fraction"], row["threshold"])
        if res:
            res.pop("roc", None)
            rows.append({"rule": row["rule"], "check_fraction": row["check_fraction"], **res})
    whole = [labels.label_run(r[1])["label"] for r in runs]
    counts = {lab: whole.count(lab) for lab in labels.LABELS}
    return {"source": corpus["source"], "n_runs": len(runs), "labels": counts, "rules": rows}
