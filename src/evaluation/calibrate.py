"""Scoring of the verdicts: the evaluation layer's entry point.

Score every stage-1 signal and stage-2 rule on a population of simulated ladders, held out
by setting, and on the real runs we have: stage-1 and stage-2 scoring, their statistics
(AUC, thresholds, ROC) and the generator of the calibrated-constants module belong together.

Held out by setting: the settings (a ladder's configuration without its seed) are split in
two by a hash of their id; signs and thresholds are chosen on the *choose* half and every
number reported is measured on the *report* half. A ladder is one setting x seed: 5 or more
SFT depths of one base, each followed by GRPO.

The statistics are in :mod:`~rankinv.evaluation.stats`, the stage-1 scoring in
:mod:`~rankinv.evaluation.stage1`, the stage-2 scoring in :mod:`~rankinv.evaluation.stage2`,
the real back-test in :mod:`~rankinv.evaluation.backtest` on the evidence of
:mod:`~rankinv.evaluation.real_data`. Data paths are arguments: nothing here looks for a
checkout's folders.

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

Stage 2 (:mod:`~rankinv.evaluation.stage2`, :mod:`~rankinv.evaluation.stage2_labels`): every
rule and the free baselines (never stop, the reward at an edge, its trend, the no-signal stop)
against the noise-aware labels of ``rankinv.verdicts.labels``, one table per label; the
default is chosen on the choose half against the reward-edge baseline (where no rule beats
it, the default is that baseline after the mechanical facts), and each threshold's
false-stop rate is measured on both halves and the real corpus, with exact intervals.
"""

from __future__ import annotations

import time
from pathlib import Path

from rankinv import __version__
from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.evaluation import backtest, real_data, stage2_labels
from rankinv.evaluation.stage1 import as_ladders, load_population, score_stage1
from rankinv.evaluation.stage2 import CHECK_FRACTIONS, real_runs, score_real_stage2, score_stage2
from rankinv.evaluation.stats import split_settings
from rankinv.theory import outcomes
from rankinv.verdicts import signals

#: Fewer held-out settings than this and calibrate warns that its numbers rest on few.
MIN_REPORT_SETTINGS = 10
#: Other definitions of a doomed run, to check the choice does not hinge on one.
SENSITIVITY_GAINS = (0.0, 0.05)

#: What "doomed" means, in the words calibrate.json and the README use (run_outcome's rule).
DOOMED_WORDS = (
    "neither the final held-out pass@k nor the final pass@1 gains {gain} over the run's own "
    "step 0 (pass@1 checked where the record has its step-0 value)"
)


def choose_stage1(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """(default signal, risk signal), from choose-half numbers only, ties broken by name.

    Default: the largest |median within-ladder rho| on the choose half among the signals
    that may decide a ranking (not a function of pre-RL pass@1 alone). Risk signal (the
    single-checkpoint verdict): the best choose-half AUC for a poor start among the signals
    measured against p*(g), whose threshold transfers between tasks."""
    cands = [r for r in rows if not r.get("baseline")]
    may = [r for r in cands if not signals.STAGE1_SIGNALS[r["signal"]].of_pass_at_1]
    best = min(may, key=lambda r: (-abs(r["choose_median_rho"]), r["signal"]), default=None)
    risky = [r for r in cands if r["scale_free"] and r["choose_auc_poor_start"] is not None]
    risk = min(risky, key=lambda r: (-r["choose_auc_poor_start"], r["signal"]), default=None)
    return best, risk


def calibrate(
    source: str | Path | list,
    out: str | Path | None = None,
    doomed_gain: float = outcomes.DOOMED_GAIN,
    with_sensitivity: bool = False,
    real: dict | str | Path | None = None,
) -> dict:
    """Score stage 1 and stage 2 on the population at ``source`` (a folder or JSONL file of
    ladder records, or the records); choose the defaults on the choose half of the settings;
    report on the other half; score what was chosen on the real evidence (``real``: its
    dict, a file :func:`rankinv.evaluation.real_data.build` wrote, or None for the evidence
    shipped with the package) as ``real`` (stage 1) and ``real_stage2``. Writes
    calibrate.json to ``out``."""
    t0 = time.perf_counter()
    ladders = load_population(source) if not isinstance(source, list) else as_ladders(source)
    if not isinstance(real, dict):
        real = real_data.load(real)
    split = split_settings(lad.setting_id for lad in ladders)
    if len(split) < 2:
        raise UserError(f"held-out scoring needs at least 2 settings, got {len(split)}")
    s1 = score_stage1(ladders, split, doomed_gain)
    kinds = sorted({lad.kind for lad in ladders})
    by_kind = {
        k: score_stage1([lad for lad in ladders if lad.kind == k], split, doomed_gain)
        for k in kinds
    }
    s2, runs2 = score_stage2(ladders, split)
    best1, risk1 = choose_stage1(s1)
    chosen2 = stage2_labels.choose_default(s2, runs2)
    best2 = None if chosen2["stage2"] is None else chosen2
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
        "stage1_by_kind": by_kind,
        "stage2": s2,
        "chosen": {
            "stage1": None if best1 is None else best1["signal"],
            "stage1_risk": None if risk1 is None else risk1["signal"],
            **{k: v for k, v in chosen2.items() if k != "stage2_choice"},
        },
        "baseline": {"stage1": "entropy_prompt/entropy_rollout (tau_H)", "stage2": paper2},
        "held_out": {
            "by": "setting: ids ordered by hash, alternated into choose / report halves",
            "choose_settings": sum(v == "choose" for v in split.values()),
            "report_settings": sum(v == "report" for v in split.values()),
            "doomed": DOOMED_WORDS.format(gain=doomed_gain),
            "stage2_labels": stage2_labels.LABEL_WORDS,
        },
        "warnings": warnings,
        "n_ladders": len(ladders),
        "n_runs": sum(len(lad.runs) for lad in ladders),
        "source": str(source) if not isinstance(source, list) else "records",
        "version": __version__,
        "elapsed_s": time.perf_counter() - t0,
    }
    result["real"] = backtest.backtest(real)  # the shipped signs; never used to choose
    if best2 is not None:
        result.update(_stage2_sections(s2, runs2, real, chosen2))
    if with_sensitivity:
        result["sensitivity"] = [
            {"doomed_gain": g, **calibrate(ladders, doomed_gain=g, real=real)["chosen"]}
            for g in SENSITIVITY_GAINS
        ]
    if out is not None:
        write_json(Path(out) / "calibrate.json", result)
    return result


def _stage2_sections(s2: list[dict], runs2: list, real: dict, chosen2: dict) -> dict:
    """The stage-2 parts scored at the chosen check fraction: the rules and baselines on the
    real corpus, the label tables, and the default's choice with its measured transfer."""
    frac = chosen2["stage2_check_fraction"]
    at = [r for r in s2 if r["check_fraction"] == frac]
    out, pools = {}, {}
    for key, (half, section) in stage2_labels.REAL_CORPORA.items():
        scored = score_real_stage2(real, at, key)
        if scored is not None:
            stage2_labels.real_false_stops(s2, scored["rules"], half)
        out[section] = scored
        pools[half] = real_runs(real, key)[0]
    v2 = out.get("real_stage2_v2")
    if v2 is not None:
        v2["logging_pairs"] = stage2_labels.logging_pairs(pools["real_v2"], chosen2)
    return {
        **out,
        "stage2_labels": stage2_labels.stage2_labels(runs2, pools, s2, frac, CHECK_FRACTIONS),
        "stage2_default": {
            **chosen2["stage2_choice"],
            "beat_baseline": chosen2["stage2_beat_baseline"],
            "transfer": stage2_labels.transfer(chosen2, runs2, pools),
        },
    }


def calibrated_constants(result: dict) -> dict:
    """The shipped defaults for a calibrate result, as ``rankinv/data/calibrated.json`` holds
    them (scripts/update_calibrated.py writes it, ``rankinv.verdicts._calibrated`` reads it,
    tests compare the two): the chosen defaults and, per signal and rule, the held-out
    numbers the verdicts quote."""
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
                "choose_median_rho",
            )
        }
        for r in result["stage1"]
        if not r.get("baseline")
    }
    keep = ("n_settings", "mean", "ci", "wins", "losses", "ties", "p_wilcoxon_pratt", "p_holm")
    kinds = {"all": result["stage1"], **result.get("stage1_by_kind", {})}
    versus = {
        kind: {
            r["signal"]: {
                b: {k: c[k] for k in keep if k in c} for b, c in r["vs_baselines"].items()
            }
            for r in rows
            if not r.get("baseline")
        }
        for kind, rows in kinds.items()
    }
    free = {
        kind: {
            r["signal"]: {k: r[k] for k in ("median_rho", "top1_rate", "regret", "n_ladders")}
            for r in rows
            if r.get("baseline")
        }
        for kind, rows in kinds.items()
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
                "kind",
                "false_stop_rate",
            )
            if k in r
        }
        | {"check_fraction": frac}
        for r in result["stage2"]
        if r["check_fraction"] == frac
    }
    return {
        "DEFAULT_STAGE1_SIGNAL": chosen["stage1"],
        "DEFAULT_STAGE1_RISK_SIGNAL": chosen["stage1_risk"],
        "DEFAULT_STAGE2_RULE": chosen["stage2"],
        "DEFAULT_STAGE2_BEAT_BASELINE": chosen.get("stage2_beat_baseline"),
        "STAGE1_CALIBRATION": s1,
        "STAGE2_CALIBRATION": s2,
        "STAGE1_BASELINES": free,
        "STAGE1_VERSUS": versus,
    }
