"""Scoring of the verdicts (over 450 lines: one job, kept whole: see below).

Score every stage-1 signal and stage-2 rule on a population of simulated ladders, held out
by setting, and on the real runs we have: stage-1 and stage-2 scoring, their statistics
(AUC, thresholds, ROC) and the generator of the calibrated-constants module belong together.

Held out by setting: the settings (a ladder's configuration without its seed) are split in
two by a hash of their id; signs and thresholds are chosen on the *choose* half and every
number reported is measured on the *report* half. A ladder is one setting x seed: 5 or more
SFT depths of one base, each followed by GRPO.

Outcome (``rankinv.theory.outcomes``): the run's final held-out pass@k after RL (steps >= 1);
a run is *doomed* when neither its held-out pass@k nor its pass@1 gains DOOMED_GAIN over its
own step-0 value (one definition, two metrics: ``run_outcome``; ``DOOMED_WORDS`` says it).

Stage 1, per signal, oriented by the sign chosen on the choose half: the within-ladder
Spearman rho with the outcome (median and IQR over report ladders), the top-1 rate (the rung
the signal ranks first is within TOP1_MARGIN = 0.02 of the ladder's best outcome, over the
ladders whose rungs differ by more than that: on the others any pick is right), the mean
regret (best outcome minus the chosen rung's), and the ROC AUC for a poor start. The
signals are computed by the one function users run (``signals.stage1_signals`` on the
records' per-prompt counts; ``signals.pilot_signals`` on their traces).

Stage 2, per rule and check step (a fraction of the run): the ROC AUC of the doom score for
doomed runs, precision and recall of "stop" (score above the threshold: the paper's 0.5 for
the paper's rule, chosen by Youden's J on the choose half otherwise), the share of RL
compute saved and the post-RL gain lost by stopping healthy runs.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata, spearmanr

from rankinv import __version__
from rankinv._io import read_jsonl, write_json
from rankinv.errors import InputNotFound, UserError
from rankinv.theory import outcomes
from rankinv.verdicts import backtest, labels, rules, signals, stage2

#: Check positions as fractions of the run (the paper: step 150 of 400 = 0.375).
CHECK_FRACTIONS = (0.1, 0.25, 0.375, 0.5)
#: Fewer held-out settings than this and calibrate warns that its numbers rest on few.
MIN_REPORT_SETTINGS = 10
#: A rung is a poor start when its final held-out pass@k trails its ladder's best by more.
POOR_START_MARGIN = 0.02
#: A pick is top-1 when its rung ends within this of the ladder's best (the same 0.02: a
#: difference the mini experiment's evaluations cannot resolve reliably is no miss).
TOP1_MARGIN = POOR_START_MARGIN
#: Other definitions of a doomed run, to check the choice does not hinge on one.
SENSITIVITY_GAINS = (0.0, 0.05)
#: Reference step as a fraction of the run (the paper: step 10 of 400).
REF_FRACTION = 0.025

#: What "doomed" means, in the words calibrate.json and the README use (run_outcome's rule).
DOOMED_WORDS = (
    "neither the final held-out pass@k nor the final pass@1 gains {gain} over the run's own "
    "step 0 (pass@1 checked where the record has its step-0 value)"
)

_VISIT_KEYS = (("rl_steps",), ("batch_prompts", "batch", "B"), ("n_prompts", "n_train", "N"))


# ---------------------------------------------------------------- statistics
def check_window(last_step: int, check_fraction: float) -> tuple[int, int]:
    """(ref, check) steps of a run whose last step is ``last_step``, judged at
    ``check_fraction`` of it: the reference at REF_FRACTION of the run, at least step 1, and
    the check at least one step after it."""
    ref = max(1, int(round(REF_FRACTION * last_step)))
    return ref, max(ref + 1, int(round(check_fraction * last_step)))


def roc_auc(score: np.ndarray, label: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative), ties counted half (Mann-Whitney)."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(score)
    return float((r[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _cuts(score: np.ndarray) -> np.ndarray:
    """Thresholds between the observed scores, ascending: below the lowest (stops all), then
    each midpoint (the highest stops only the top score)."""
    cands = np.unique(score)
    return np.concatenate([[cands[0] - 1e-9], (cands[:-1] + cands[1:]) / 2])


def _best_threshold(score, label, objective) -> float | None:
    """The midpoint threshold t between observed scores maximising objective(pred, label)
    for the decision "score > t"; None when the labels are all one class."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    mids = _cuts(score)
    values = [objective(score > t, label) for t in mids]
    return float(mids[int(np.argmax(values))])


def _youden(pred: np.ndarray, label: np.ndarray) -> float:
    return float(pred[label].mean() - pred[~label].mean())


#: A stop may end at most this share of the choose half's runs that would have gone on to
#: gain (the false-positive rate the stop threshold is held to; prevalence-free, so it
#: transfers between populations where the share of doomed runs differs).
MAX_STOP_FPR = 0.10


def stop_threshold(score: np.ndarray, label: np.ndarray, max_fpr: float = MAX_STOP_FPR):
    """The lowest threshold t whose decision "score > t" stops at most ``max_fpr`` of the
    negatives (most positives stopped under that bound: Neyman-Pearson); above every score
    (stops nothing) when no threshold meets the bound. None when the labels are one class.
    Unlike F1, it cannot choose "stop every run" when most runs are positive."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    cuts = np.append(_cuts(score), score.max())  # the last stops nothing: always allowed
    # ascending: the first that meets the bound stops the most positives
    return float(next(t for t in cuts if (score[~label] > t).mean() <= max_fpr + 1e-12))


def youden_threshold(score: np.ndarray, label: np.ndarray) -> float | None:
    """The threshold t maximising TPR - FPR for the decision score > t."""
    return _best_threshold(score, label, _youden)


def roc_curve(score: np.ndarray, label: np.ndarray, max_points: int = 101) -> dict | None:
    """False- and true-positive rates of "score > t" over every threshold (for figures)."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=bool)
    if label.all() or not label.any():
        return None
    uniq = np.unique(score)[::-1]
    if uniq.size > max_points:  # thresholds at quantiles keep the curve's shape, not its size
        uniq = np.unique(np.quantile(score, np.linspace(1, 0, max_points)))[::-1]
    ts = np.concatenate([[np.inf], uniq, [-np.inf]])
    fpr = [float((score[~label] >= t).mean()) if np.isfinite(t) else float(t < 0) for t in ts]
    tpr = [float((score[label] >= t).mean()) if np.isfinite(t) else float(t < 0) for t in ts]
    return {"fpr": [round(x, 4) for x in fpr], "tpr": [round(x, 4) for x in tpr]}


def split_settings(ids) -> dict[str, str]:
    """Half the settings to choose on, half to report on: ordered by a hash of their id
    (so the split does not follow any axis), then alternated (so the halves are equal)."""

    def h(i: str) -> str:
        return hashlib.sha256(i.encode()).hexdigest()

    order = sorted(set(ids), key=h)
    return {i: ("choose", "report")[j % 2] for j, i in enumerate(order)}


# ---------------------------------------------------------------- records
def _plan(setting: dict, group_size: int, n_prompts_default: int) -> signals.Plan:
    """The planned run of a simulated setting (rl_steps x B of N prompts), for the signals
    that count draws; what the setting does not say takes the one default (signals.Plan)."""
    m = re.fullmatch(r"B(\d+)ofN(\d+)", str(setting.get("batch", "")))
    if m:
        setting = {**setting, "batch_prompts": int(m.group(1)), "n_prompts": int(m.group(2))}
    vals = []
    for keys in _VISIT_KEYS:
        vals.append(next((setting[k] for k in keys if setting.get(k) is not None), None))
    steps, batch, n = vals
    n = int(n or n_prompts_default)
    return signals.Plan(
        group_size=group_size,
        rl_steps=int(steps or signals.DEFAULT_RL_STEPS),
        batch_prompts=int(batch or n),
        n_prompts=n,
    )


def run_counts(run: dict, ladder: dict) -> tuple[list[int], list[int]] | None:
    """A simulated run's per-prompt probe counts (n_i, c_i): stored as ``c`` (or ``counts``)
    with ``n`` (else the ladder's ``n_probe``) by the population records, or rebuilt from
    ``p_hat`` (multiples of 1/n_probe) in older ones."""
    st = run["stage1"]
    c_saved = st.get("c", st.get("counts"))  # "counts": the simulator's name for c
    if c_saved is not None:
        c = [int(x) for x in c_saved]
        n = st.get("n", ladder.get("n_probe"))
        n = [int(n)] * len(c) if np.isscalar(n) else [int(x) for x in n]
        return n, c
    p = st.get("p_hat")
    n_probe = ladder.get("n_probe")
    if not p or not n_probe:
        return None
    return [int(n_probe)] * len(p), [int(round(x * n_probe)) for x in p]


def run_signals(run: dict, ladder: dict) -> dict[str, float | None]:
    """Every stage-1 signal of one simulated run, by the one computation users run
    (signals.stage1_signals on its probe counts and entropies; signals.pilot_signals on
    its trace's first steps)."""
    st = run["stage1"]
    g = int(ladder["group_size"])
    k = int(ladder.get("k", signals.DEFAULT_K))
    counts = run_counts(run, ladder)
    out: dict[str, float | None] = dict.fromkeys(rules.STAGE1_SIGNALS)
    if counts is not None:
        plan = _plan(ladder.get("setting", {}), g, len(counts[0]))
        out.update(
            signals.stage1_signals(
                *counts,
                plan,
                k=k,
                entropy_rollout=st.get("entropy_rollout"),
                entropy_prompt=st.get("entropy_prompt"),
            )
        )
    tr = run.get("trace")
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


def run_outcome(run: dict, doomed_gain: float = outcomes.DOOMED_GAIN) -> tuple[float, bool | None]:
    """(final held-out pass@k, doomed) of one simulated run.

    Doomed: RL bought (almost) nothing, on either metric: the final held-out pass@k and
    pass@1 each gain less than ``doomed_gain`` over the run's own step 0 (pass@1 is used
    where the record has its step-0 value: a run that starts at the pass@k ceiling can
    still gain pass@1, and is not doomed for that).
    """
    o = run["outcome"]
    final = float(o["final_pass_at_k"])
    start = o.get("start_pass_at_k")
    if start is None:
        return final, None
    doomed = final - float(start) < doomed_gain
    start1 = o.get("start_pass_at_1")
    if start1 is None and run.get("trace"):
        start1 = run["trace"][0].get("heldout_pass_at_1")
    if doomed and start1 is not None and o.get("final_pass_at_1") is not None:
        doomed = float(o["final_pass_at_1"]) - float(start1) < doomed_gain
    return final, doomed


def load_population(source: str | Path) -> list[dict]:
    """Ladders from a population directory (population.jsonl) or a JSONL file."""
    path = Path(source)
    if path.is_dir():
        path = path / "population.jsonl"
    if not path.exists():
        raise InputNotFound(f"no population at {path} (run `rankinv simulate --population`)")
    ladders = read_jsonl(path)
    if not ladders:
        raise UserError(f"{path} holds no ladders")
    for i, lad in enumerate(ladders):
        missing = {"setting_id", "group_size", "runs"} - set(lad)
        if missing:
            raise UserError(f"{path}: ladder {i} lacks {sorted(missing)}")
    return ladders


# ---------------------------------------------------------------- stage 1
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


def score_stage1(
    ladders: list[dict], split: dict[str, str], doomed_gain: float = outcomes.DOOMED_GAIN
) -> list[dict]:
    """Per signal: sign chosen on the choose half; on the report half the median rho, IQR,
    top-1 rate, regret, and the AUC for a *poor start* (the rung's final outcome trails its
    ladder's best by more than POOR_START_MARGIN), with the threshold (chosen on the choose
    half by Youden's J) that the single-checkpoint verdict uses."""
    per = []
    for lad in ladders:
        sigs = [run_signals(r, lad) for r in lad["runs"]]
        outs = [run_outcome(r, doomed_gain) for r in lad["runs"]]
        per.append((split[lad["setting_id"]], sigs, outs))
    rows = []
    for name, meta in rules.STAGE1_SIGNALS.items():
        stats: dict[str, list] = {"choose": [], "report": []}
        flat: dict[str, tuple[list, list]] = {"choose": ([], []), "report": ([], [])}
        for half, sigs, outs in per:
            x = np.array([np.nan if s[name] is None else s[name] for s in sigs], dtype=float)
            y = np.array([o[0] for o in outs])
            stats[half].append((x, y))
            poor = y < y.max() - POOR_START_MARGIN  # a better rung of this ladder existed
            for xi, p in zip(x, poor, strict=True):
                if np.isfinite(xi):
                    flat[half][0].append(xi)
                    flat[half][1].append(bool(p))
        rho_choose = [_ladder_stats(x, y)[0] for x, y in stats["choose"]]
        rho_choose = [r for r in rho_choose if r is not None]
        if not rho_choose:
            continue
        med = float(np.median(rho_choose))
        sign = int(np.sign(med)) or meta.expected_sign
        rep = [_ladder_stats(sign * x, y) for x, y in stats["report"]]
        rhos = [r for r, _, _ in rep if r is not None]
        if not rhos:
            continue
        auc = roc_auc(-sign * np.array(flat["report"][0]), np.array(flat["report"][1], bool))
        auc_choose = roc_auc(-sign * np.array(flat["choose"][0]), np.array(flat["choose"][1], bool))
        thr = youden_threshold(-sign * np.array(flat["choose"][0]), np.array(flat["choose"][1]))
        rows.append(
            {
                "signal": name,
                "sign": sign,
                "expected_sign": meta.expected_sign,
                "agrees_with_paper": sign == meta.expected_sign,
                "median_rho": float(np.median(rhos)),
                "iqr": [float(np.percentile(rhos, 25)), float(np.percentile(rhos, 75))],
                "top1_rate": _rate([t for _, t, _ in rep]),
                "top1_n": sum(t is not None for _, t, _ in rep),
                "top1_margin": TOP1_MARGIN,
                "regret": float(np.nanmean([g for _, _, g in rep])),
                "auc_poor_start": auc,
                "choose_auc_poor_start": auc_choose,
                "scale_free": meta.scale_free,
                "poor_start_threshold": None if thr is None else -sign * thr,
                "poor_start_rate": float(np.mean(flat["report"][1])),
                "n_ladders": len(rhos),
                "rhos": [round(r, 4) for r in rhos],
                "choose_median_rho": med,
                "description": meta.description,
            }
        )
    rows.sort(key=lambda r: -r["median_rho"])
    return rows


# ---------------------------------------------------------------- stage 2
#: Prevalences of runs not worth continuing at which precision is also reported: a user's
#: sweep is not the simulator's population.
PREVALENCES = (0.05, 0.1, 0.25, 0.5)
#: The mechanical no-signal stop, scored beside the rules.
NO_SIGNAL = "no_signal"
#: A default rule is chosen only where the choose half has this many runs it should stop
#: (an AUC on a handful of positives is noise).
MIN_CHOOSE_POSITIVES = 30


def _trace(run: dict) -> rules.Trace:
    return rules.Trace.from_records(run["trace"])


def precision_at(tpr: float, fpr: float, prevalence: float) -> float | None:
    """Precision of "stop" at a given share of positive runs: TPR pi / (TPR pi + FPR (1-pi))."""
    den = tpr * prevalence + fpr * (1 - prevalence)
    return None if den == 0 else tpr * prevalence / den


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
        half = split[lad["setting_id"]]
        for r in lad["runs"]:
            if not r.get("trace"):
                continue
            records = labels.with_outcome(r["trace"], r.get("outcome"))
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
    ladders: list[dict], split: dict[str, str], doomed_gain: float = labels.GAIN
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


def default_corpus() -> Path:
    """figures/data/trl_corpus of this checkout (absent from an installed wheel)."""
    return Path(__file__).resolve().parents[2] / "figures" / "data" / "trl_corpus"


def score_real_stage2(corpus: str | Path, chosen: list[dict]) -> dict | None:
    """Every rule at its calibrated check fraction and threshold (chosen on simulated runs,
    never on these) on the real GRPOTrainer corpus: runs.jsonl (labels) + trl_logs/."""
    from rankinv.verdicts import logs

    corpus = Path(corpus)
    if not (corpus / "runs.jsonl").exists():
        return None
    runs = []
    for rec in read_jsonl(corpus / "runs.jsonl"):
        path = corpus / "trl_logs" / rec["name"] / "trainer_state.json"
        if rec.get("label") is None or not path.exists():
            continue
        records = logs.read_log(path).records
        runs.append((logs.trace(records)[0], records, labels.GAIN))
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
    return {"source": str(corpus), "n_runs": len(runs), "labels": counts, "rules": rows}


# ---------------------------------------------------------------- whole
def calibrate(
    source: str | Path,
    out: str | Path | None = None,
    doomed_gain: float = outcomes.DOOMED_GAIN,
    with_sensitivity: bool = False,
    corpus: str | Path | None = None,
) -> dict:
    """Score stage 1 and stage 2 on the population at ``source``; choose the defaults on the
    choose half of the settings; report on the other half; score the stage-2 rules, as
    chosen, on the real GRPOTrainer corpus (``corpus``, default figures/data/trl_corpus of
    this checkout) as ``real_stage2``. Writes calibrate.json to ``out``."""
    t0 = time.perf_counter()
    ladders = load_population(source) if not isinstance(source, list) else source
    split = split_settings(lad["setting_id"] for lad in ladders)
    if len(split) < 2:
        raise UserError(f"held-out scoring needs at least 2 settings, got {len(split)}")
    s1 = score_stage1(ladders, split, doomed_gain)
    s2 = score_stage2(ladders, split, doomed_gain)
    best1 = max(s1, key=lambda r: r["choose_median_rho"] * r["sign"]) if s1 else None
    # the single-checkpoint verdict needs a threshold that transfers between tasks: only
    # signals measured against p*(g) (no task-specific pass-rate or entropy level)
    risk1 = max(
        (r for r in s1 if r["scale_free"] and r["choose_auc_poor_start"] is not None),
        key=lambda r: r["choose_auc_poor_start"],
        default=None,
    )
    # like the stage-1 risk signal: only rules whose threshold means the same on any task
    best2 = max(
        (
            r
            for r in s2
            if r["scale_free"]
            and r["choose_auc"] is not None
            and (r["choose_positives"] or 0) >= MIN_CHOOSE_POSITIVES
        ),
        key=lambda r: r["choose_auc"],
        default=None,
    )
    paper2 = [r for r in s2 if r["rule"] == "paper"]
    n_report = sum(v == "report" for v in split.values())
    warnings = []
    if n_report < MIN_REPORT_SETTINGS:
        warnings.append(
            f"only {n_report} settings are held out: every number rests on few settings "
            f"(use a population of at least {2 * MIN_REPORT_SETTINGS} settings)"
        )
    if best2 is None:
        warnings.append(
            "no stage-2 rule could be scored: one half of the settings has no doomed run"
        )
    result = {
        "stage1": s1,
        "stage2": s2,
        "chosen": {
            "stage1": None if best1 is None else best1["signal"],
            "stage1_risk": None if risk1 is None else risk1["signal"],
            "stage2": None if best2 is None else best2["rule"],
            "stage2_check_fraction": None if best2 is None else best2["check_fraction"],
            "stage2_threshold": None if best2 is None else best2["threshold"],
        },
        "baseline": {"stage1": "entropy_prompt/entropy_rollout (tau_H)", "stage2": paper2},
        "held_out": {
            "by": "setting: ids ordered by hash, alternated into choose / report halves",
            "choose_settings": sum(v == "choose" for v in split.values()),
            "report_settings": sum(v == "report" for v in split.values()),
            "doomed": DOOMED_WORDS.format(gain=doomed_gain),
            "stage2_labels": "rankinv.verdicts.labels, from the check step on: gained = "
            f"held-out pass@1 or pass@k +{doomed_gain} by the end; else saturated / stranded = "
            f"end reward within {labels.REWARD_EDGE:.0%} of its range from the max / min; "
            "else stalled",
        },
        "warnings": warnings,
        "n_ladders": len(ladders),
        "n_runs": sum(len(lad["runs"]) for lad in ladders),
        "source": str(source) if not isinstance(source, list) else "records",
        "version": __version__,
        "elapsed_s": time.perf_counter() - t0,
    }
    result["real"] = backtest.backtest()  # scored with the shipped signs; never used to choose
    if best2 is not None:
        frac = best2["check_fraction"]
        at = [r for r in s2 if r["check_fraction"] == frac]
        result["real_stage2"] = score_real_stage2(corpus or default_corpus(), at)
    if with_sensitivity:
        result["sensitivity"] = [
            {"doomed_gain": g, **calibrate(ladders, doomed_gain=g)["chosen"]}
            for g in SENSITIVITY_GAINS
        ]
    if out is not None:
        write_json(Path(out) / "calibrate.json", result)
    return result


def constants_module(result: dict) -> str:
    """The source of ``rankinv/verdicts/_calibrated.py`` for a calibrate result: the chosen
    defaults and, per signal and rule, the held-out numbers the verdicts quote."""
    import pprint

    chosen = result["chosen"]
    s1 = {
        r["signal"]: {
            k: r[k]
            for k in (
                "sign",
                "median_rho",
                "top1_rate",
                "top1_n",
                "top1_margin",
                "regret",
                "auc_poor_start",
                "poor_start_threshold",
                "poor_start_rate",
                "n_ladders",
            )
        }
        for r in result["stage1"]
    }
    frac = chosen["stage2_check_fraction"]
    s2 = {
        r["rule"]: {
            k: r[k]
            for k in (
                "threshold",
                "watch_threshold",
                "auc",
                "precision",
                "recall",
                "watch_recall",
                "compute_saved",
                "n_runs",
                "prevalence",
                "precision_at_prevalence",
                "scale_free",
            )
            if k in r
        }
        | {"check_fraction": frac}
        for r in result["stage2"]
        if r["check_fraction"] == frac
    }
    return (
        '"""Generated by scripts/update_calibrated.py from figures/data/calibrate/calibrate.json;\n'
        'do not edit by hand (tests/test_verdicts_calibrate.py compares the two)."""\n\n'
        f"DEFAULT_STAGE1_SIGNAL = {chosen['stage1']!r}\n"
        f"DEFAULT_STAGE1_RISK_SIGNAL = {chosen['stage1_risk']!r}\n"
        f"DEFAULT_STAGE2_RULE = {chosen['stage2']!r}\n"
        f"STAGE1_CALIBRATION: dict = {pprint.pformat(s1, width=90, sort_dicts=True)}\n"
        f"STAGE2_CALIBRATION: dict = {pprint.pformat(s2, width=90, sort_dicts=True)}\n"
    )
