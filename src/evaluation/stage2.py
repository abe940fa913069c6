"""Stage 2 scored on simulated runs and on a real GRPOTrainer corpus: every rule, the paper's
included, and the free baselines (never stop, the reward at an edge, the reward's trend, the
mechanical no-signal stop) at each check fraction, against one set of outcome labels from the
check step on (``rankinv.verdicts.labels``: improving, sharpening, saturated, stranded,
diverging, stalled, undetermined); thresholds chosen on the choose half only.

A stop is *false* on an improving run and *right* on a run whose label is one the rule
claims (its ``catches``); undetermined runs are counted apart (neither). Per rule and check
fraction: the ROC AUC of the doom score for its claimed labels against improving runs,
precision (right stops / stops of determined runs, also at other prevalences), recall, the
false-stop rate with its exact interval on each half, the share of RL compute saved and the
held-out gain lost by false stops. Thresholds: the paper's 0.5 for the paper's rule, the
fixed ones of the baselines, else the lowest that stops at most MAX_STOP_FPR of the choose
half's improving runs.

Simulated held-out values are exact; their labels take the interval of a real evaluation of
the simulator's SIM_EVAL_PROMPTS held-out prompts x SIM_EVAL_SAMPLES samples at the record's
k (``labels.eval_se``: one evaluation's 95% interval within +-0.05 at any pass rate, the
resolution issue 33 asks of a real corpus). Real runs take the size their evaluation had.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rankinv.errors import UserError
from rankinv.evaluation.stats import (
    precision_at,
    rate,
    roc_auc,
    roc_curve,
    stop_threshold,
    youden_threshold,
)
from rankinv.records import LadderRecord
from rankinv.verdicts import labels, logs, mechanical
from rankinv.verdicts.stage2 import STAGE2_RULES, Trace, check_window, stage2_score

#: Check positions as fractions of the run (the paper: step 150 of 400 = 0.375).
CHECK_FRACTIONS = (0.1, 0.25, 0.375, 0.5)
#: Prevalences of runs worth stopping at which precision is also reported.
PREVALENCES = (0.05, 0.1, 0.25, 0.5)
#: The mechanical no-signal stop and "never stop", scored beside the rules as baselines.
NO_SIGNAL = "no_signal"
NEVER_STOP = "never_stop"
#: A default rule is chosen only where the choose half has this many runs it should stop.
MIN_CHOOSE_POSITIVES = 30
#: The interval of the simulated labels: a real evaluation of the simulator's 64 held-out
#: prompts (population base setting) with 64 samples each.
SIM_EVAL_PROMPTS = 64
SIM_EVAL_SAMPLES = 64


@dataclass
class Run:
    """One run to score: its half ("choose", "report" or "real"), log, records with the
    held-out evaluations, and the evaluation's size (for the labels' interval)."""

    half: str
    trace: Trace
    records: list[dict]
    size: labels.EvalSize | None
    name: str = ""
    _labels: dict = field(default_factory=dict, repr=False)

    def window(self, frac: float) -> tuple[int, int]:
        return check_window(int(self.trace.steps.max()), frac)

    def outcome(self, frac: float) -> dict:
        """The label dict from the check step at ``frac`` on (cached)."""
        if frac not in self._labels:
            check = self.window(frac)[1]
            self._labels[frac] = labels.label_run(
                self.records, self.trace.reward_range, check, self.size
            )
        return self._labels[frac]


def is_baseline(name: str) -> bool:
    return name in (NO_SIGNAL, NEVER_STOP) or STAGE2_RULES[name].baseline


def catches(name: str) -> tuple[str, ...]:
    if name == NO_SIGNAL:
        return ("saturated", "stranded")
    if name == NEVER_STOP:
        return labels.STOP_LABELS
    return STAGE2_RULES[name].catches


def doom(name: str, run: Run, frac: float) -> float | None:
    """The doom score of a rule or baseline on a run at a check fraction (None: not
    computable on its log); the no-signal stop scores 1 when it fires, never stop 0."""
    ref, check = run.window(frac)
    if name == NEVER_STOP:
        return 0.0
    if name == NO_SIGNAL:
        return float(mechanical.no_signal(run.trace, check) is not None)
    return stage2_score(name, run.trace, ref, check)


def decisions(name: str, runs: list[Run], frac: float) -> dict:
    """Per labelled run where the score is computable: score, label, gain after the check
    step (the larger of pass@1's and pass@k's) and the share of the run left to save."""
    out = {"score": [], "label": [], "gain": [], "saved": []}
    for run in runs:
        lab = run.outcome(frac)
        s = doom(name, run, frac) if lab["label"] is not None else None
        if s is None:
            continue
        last = int(run.trace.steps.max())
        out["score"].append(s)
        out["label"].append(lab["label"])
        out["gain"].append(max(lab["gain_pass_at_k"] or 0.0, lab["gain_pass_at_1"] or 0.0))
        out["saved"].append((last - run.window(frac)[1]) / last)
    return {k: np.asarray(v) for k, v in out.items()}


def stop_stats(score, stop, label, target, saved=None, gain=None) -> dict:
    """AUC (target labels against improving runs), precision, recall, the false-stop rate
    (with its exact interval) and the stop rate per label of a stop decision."""
    score, stop, label = np.asarray(score, float), np.asarray(stop, bool), np.asarray(label)
    pos, neg = np.isin(label, target), label == labels.CONTINUE_LABEL
    det = label != "undetermined"
    both = pos | neg
    stops = int((stop & det).sum())
    recall = None if not pos.any() else float((stop & pos).sum() / pos.sum())
    fsr = rate(int((stop & neg).sum()), int(neg.sum()))
    prevalence = None if not det.any() else float(pos.sum() / det.sum())
    out = {
        "auc": roc_auc(score[both], pos[both]) if both.any() else None,
        "precision": None if not stops else float((stop & pos).sum() / stops),
        "precision_any": None
        if not stops
        else float((stop & np.isin(label, labels.STOP_LABELS)).sum() / stops),
        "recall": recall,
        "false_stop_rate": fsr["rate"],
        "false_stop": fsr,
        "precision_at_prevalence": {
            f"{p:g}": None
            if recall is None or fsr["rate"] is None
            else precision_at(recall, fsr["rate"], p)
            for p in PREVALENCES
        },
        "stop_rate_by_label": {
            lab: float(stop[label == lab].mean()) for lab in labels.LABELS if (label == lab).any()
        },
        "stop_rate": float(stop.mean()) if stop.size else None,
        "prevalence": prevalence,
        "n_runs": int(det.sum()),
        "n_positive": int(pos.sum()),
        "n_improving": int(neg.sum()),
        "n_undetermined": int((~det).sum()),
    }
    if saved is not None:
        out["compute_saved"] = float(np.sum(np.asarray(saved) * stop) / max(stop.size, 1))
    if gain is not None:
        lost = np.clip(np.asarray(gain, float), 0, None) * (stop & neg)
        out["outcome_lost"] = float(lost.sum() / max(stop.size, 1))
    return out


def choose_threshold(name: str, runs: list[Run], frac: float) -> dict:
    """The stop (and watch) threshold of a rule, chosen on ``runs`` (the choose half): fixed
    for the paper's rule and the baselines; else the lowest that stops at most MAX_STOP_FPR
    of the improving runs (watch: Youden's J, never above the stop threshold)."""
    d = decisions(name, runs, frac)
    pos = np.isin(d["label"], catches(name))
    both = pos | (d["label"] == labels.CONTINUE_LABEL)
    fixed = name in (NO_SIGNAL, NEVER_STOP) or name == "paper" or STAGE2_RULES[name].baseline
    base = 0.5 if name in (NO_SIGNAL, NEVER_STOP) else STAGE2_RULES[name].threshold
    thr = watch = base
    if not fixed and both.any():
        s, y = d["score"][both], pos[both]
        thr = stop_threshold(s, y)
        thr = base if thr is None else thr
        w = youden_threshold(s, y)
        watch = thr if w is None else min(w, thr)
    auc = roc_auc(d["score"][both], pos[both]) if both.any() else None
    return {"threshold": float(thr), "watch_threshold": float(watch), "auc": auc,
            "positives": int(pos.sum())}  # fmt: skip


def score_at(name: str, runs: list[Run], frac: float, thr: float, watch=None) -> dict:
    """A rule or baseline at a fixed threshold on ``runs``, against its claimed labels."""
    d = decisions(name, runs, frac)
    if not d["score"].size:
        return {}
    stop = d["score"] > thr
    out = stop_stats(d["score"], stop, d["label"], catches(name), d["saved"], d["gain"])
    pos = np.isin(d["label"], catches(name))
    both = pos | (d["label"] == labels.CONTINUE_LABEL)
    out["roc"] = roc_curve(d["score"][both], pos[both]) if both.any() else None
    if watch is not None:
        out["watch_recall"] = None if not pos.any() else float((d["score"][pos] > watch).mean())
        out["watch_rate"] = float((d["score"] > watch).mean())
    return out


def names() -> list[str]:
    return [*STAGE2_RULES, NO_SIGNAL, NEVER_STOP]


def describe(name: str) -> str:
    if name == NO_SIGNAL:
        return (
            f"mechanical: zero-std share >= {mechanical.NO_SIGNAL_ZERO_STD} over "
            f"{mechanical.NO_SIGNAL_STEPS} steps (baseline)"
        )
    if name == NEVER_STOP:
        return "never stop (baseline)"
    return STAGE2_RULES[name].description


def simulated_runs(ladders: list[LadderRecord], split: dict[str, str]) -> list[Run]:
    """Every simulated run with a trace and held-out values, labelled with the interval of a
    SIM_EVAL_PROMPTS x SIM_EVAL_SAMPLES evaluation at the ladder's k."""
    runs = []
    for lad in ladders:
        size = labels.EvalSize(SIM_EVAL_PROMPTS, SIM_EVAL_SAMPLES, int(lad.k))
        for r in lad.runs:
            if not r.trace:
                continue
            records = labels.with_outcome(r.trace, r.outcome)
            run = Run(split[lad.setting_id], logs.trace_of(r.trace), records, size)
            if run.outcome(0.0)["label"] is not None:
                runs.append(run)
    return runs


def score_stage2(ladders: list[LadderRecord], split: dict[str, str]) -> tuple[list, list]:
    """(rows, runs) of :func:`score_runs` on the simulated runs of ``ladders``."""
    runs = simulated_runs(ladders, split)
    if not runs:
        raise UserError("no run with a trace and a held-out outcome: nothing to score stage 2 on")
    return score_runs(runs), runs


def score_runs(runs: list[Run]) -> list[dict]:
    """Per rule and baseline and check fraction: the threshold chosen on the choose half,
    the numbers measured on the report half, and the false-stop rate on both halves."""
    choose = [r for r in runs if r.half == "choose"]
    report = [r for r in runs if r.half == "report"]
    rows = []
    for frac in CHECK_FRACTIONS:
        for name in names():
            ch = choose_threshold(name, choose, frac)
            rep = score_at(name, report, frac, ch["threshold"], ch["watch_threshold"])
            if not rep:
                continue
            on_choose = score_at(name, choose, frac, ch["threshold"])
            rule = STAGE2_RULES.get(name)
            rows.append(
                {
                    "rule": name,
                    "kind": "baseline" if is_baseline(name) else "rule",
                    "check_fraction": frac,
                    "check_step": f"{frac:g} of the run",
                    "threshold": ch["threshold"],
                    "watch_threshold": ch["watch_threshold"],
                    **rep,
                    "catches": list(catches(name)),
                    "choose_auc": ch["auc"],
                    "choose_positives": ch["positives"],
                    "false_stop_by_half": {
                        "choose": on_choose.get("false_stop"),
                        "report": rep["false_stop"],
                    },
                    "scale_free": True if rule is None else rule.scale_free,
                    "doomed_rate": rep["prevalence"],
                    "description": describe(name),
                }
            )
    return rows


def real_runs(real: dict | None, key: str = "trl_corpus") -> tuple[list[Run], dict | None]:
    """The real GRPOTrainer corpus ``key`` of the shipped real data as runs to score (half
    "real"), each with its evaluation's size; ([], None) without that corpus."""
    corpus = (real or {}).get(key)
    if not corpus:
        return [], None
    runs = []
    for r in corpus["runs"]:
        if not r.get("records"):
            continue
        size = None
        if r.get("eval_prompts") and r.get("eval_samples") and r.get("k"):
            size = labels.EvalSize(int(r["eval_prompts"]), int(r["eval_samples"]), int(r["k"]))
        run = Run("real", logs.trace(r["records"])[0], r["records"], size, r["name"])
        if run.outcome(0.0)["label"] is not None:
            runs.append(run)
    return runs, corpus


def score_real_stage2(real: dict | None, chosen: list[dict], key="trl_corpus") -> dict | None:
    """Every rule and baseline at its calibrated check fraction and threshold (chosen on
    simulated runs, never on these) on the real GRPOTrainer corpus ``key``."""
    runs, corpus = real_runs(real, key)
    if not runs:
        return None
    rows = []
    for row in chosen:
        res = score_at(row["rule"], runs, row["check_fraction"], row["threshold"])
        if res:
            res.pop("roc", None)
            rows.append({"rule": row["rule"], "check_fraction": row["check_fraction"], **res})
    whole = [r.outcome(0.0)["label"] for r in runs]
    return {
        "source": corpus["source"],
        "first_scored": corpus.get("first_scored"),
        "n_runs": len(runs),
        "labels": {lab: whole.count(lab) for lab in labels.LABELS},
        "rules": rows,
    }
