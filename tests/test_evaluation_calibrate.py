"""calibrate on a planted population: it must recover the signal and the rule that carry the
truth, and rank the paper's entropy-drop rule where the planted data put it."""

import numpy as np
import pytest

from rankinv.evaluation import calibrate as cal
from rankinv.evaluation import stats
from rankinv.records import Plan
from rankinv.verdicts import _calibrated, labels, logs, signals, stage2


def _ladder(rng, setting_id, seed, strand_rate, steps=40):
    """Deeper rungs: pass@1 up, entropy down, more prompts stranded (p near 0). The outcome
    is driven by how many prompts escape; doomed runs' informative fraction falls, while the
    entropy drop is *larger* on healthy runs (what the simulator and mini experiment saw)."""
    g, k = 8, 10
    runs = []
    for d, depth in enumerate([1, 2, 4, 8, 16]):
        n_prompts = 40
        stranded = rng.random(n_prompts) < strand_rate * d / 4
        p = np.where(stranded, 0.0, rng.uniform(0.12, 0.5, n_prompts))
        start = float(np.mean(1 - (1 - p) ** k))
        escape = 1 - (p**g + (1 - p) ** g) ** 20
        final = float(np.mean(escape * 0.97 + (1 - escape) * (1 - (1 - p) ** k)))
        final += rng.normal(0, 0.003)
        lift1 = 0.03 * float(escape.mean())  # RL lifts pass@1 on prompts that escape
        healthy = final - start > 0.02 or lift1 > 0.02
        inf_level = 1 - np.mean(p**g + (1 - p) ** g)
        trace = []
        for t in range(steps + 1):
            h0 = 1.0 - 0.15 * d
            drop = (0.6 if healthy else 0.2) * t / steps
            inf = inf_level * (1 - (0.1 if healthy else 0.6) * t / steps)
            trace.append(
                {
                    "step": t,
                    "entropy": h0 * (1 - drop),
                    "min_entropy": 0.5 * h0 * (1 - drop),
                    "frac_reward_zero_std": 1 - inf,
                    "frac_all_fail": float(np.mean(stranded)),
                    "reward": float(p.mean()) + (0.3 if healthy else 0.0) * t / steps,
                }
            )
        runs.append(
            {
                "depth": depth,
                "counts": {"n": 64, "c": rng.binomial(64, p).tolist()},  # the probe
                "stage1": {
                    "entropy_rollout": 1.0 - 0.15 * d + rng.normal(0, 0.01),
                    "entropy_prompt": None,
                },
                "trace": trace,
                "outcome": {
                    "final_pass_at_k": final,
                    "start_pass_at_k": start,
                    "final_pass_at_1": float(p.mean()) + lift1,
                    "start_pass_at_1": float(p.mean()),
                },
            }
        )
    return {
        "ladder_id": f"{setting_id}-s{seed}",
        "setting_id": setting_id,
        "setting": {"strand": strand_rate},
        "seed": seed,
        "plan": {"group_size": g, "rl_steps": 40, "batch_prompts": 20, "n_prompts": 40},
        "k": k,
        "runs": runs,
    }


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(0)
    return [
        _ladder(rng, f"set{i}", s, rate)
        for i, rate in enumerate([0.2, 0.4, 0.6, 0.8, 0.3, 0.5, 0.7, 0.9])
        for s in range(3)
    ]


def test_roc_auc_and_youden_exact():
    assert stats.roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert stats.roc_auc(np.array([1, 2]), np.array([1, 1])) is None
    t = stats.youden_threshold(np.array([0.1, 0.2, 0.7, 0.9]), np.array([0, 0, 1, 1]))
    assert 0.2 < t < 0.7


def test_stop_threshold_holds_the_false_stop_rate_even_when_most_runs_are_positive():
    """With 80% positives F1 is maximised by stopping every run; the stop threshold instead
    stops at most MAX_STOP_FPR of the negatives, and the most positives under that bound."""
    rng = np.random.default_rng(0)
    label = np.r_[np.ones(80, bool), np.zeros(20, bool)]
    score = np.r_[rng.normal(1.0, 1.0, 80), rng.normal(0.0, 1.0, 20)]
    t = stats.stop_threshold(score, label)
    fpr = (score[~label] > t).mean()
    assert fpr <= stats.MAX_STOP_FPR
    # the next lower candidate would break the bound: no lower threshold is allowed
    lower = np.sort(score[score <= t])
    if lower.size:
        assert (score[~label] > lower[-1] - 1e-9).mean() > stats.MAX_STOP_FPR
    assert 0 < (score[label] > t).mean() < 1
    # separable scores: every positive stopped, no negative
    t2 = stats.stop_threshold(np.array([0.1, 0.2, 0.7, 0.9]), np.array([0, 0, 1, 1]))
    assert 0.2 <= t2 < 0.7
    # nothing separates: no threshold stops a positive without breaking the bound
    t3 = stats.stop_threshold(np.array([0.5] * 10), np.array([1] * 5 + [0] * 5), max_fpr=0.1)
    assert not (np.array([0.5] * 10) > t3).any()
    assert stats.stop_threshold(np.array([1.0, 2.0]), np.array([1, 1])) is None


def test_calibrate_recovers_the_planted_truth(population, tmp_path):
    res = cal.calibrate(population, out=tmp_path)
    assert (tmp_path / "calibrate.json").exists()
    assert res["n_ladders"] == 24 and res["n_runs"] == 120
    s1 = {r["signal"]: r for r in res["stage1"]}
    # escape (prompts that can draw a signal) drives the planted outcome
    assert s1["escape"]["median_rho"] > 0.8
    assert s1[res["chosen"]["stage1"]]["median_rho"] >= 0.9
    assert s1["escape"]["auc_poor_start"] > 0.9  # low escape flags the stranded rungs
    # entropy falls with depth, as the outcome does: its chosen sign is positive
    assert s1["entropy_rollout"]["sign"] == 1
    # the pilot signals are scored from the traces' first steps like every other signal
    assert s1["pilot_informative"]["n_ladders"] > 0
    s2 = [r for r in res["stage2"] if r["check_fraction"] == 0.375]
    by = {r["rule"]: r for r in s2}
    # planted: healthy runs lose MORE entropy, so the paper's drop rule is worse than chance
    assert by["paper"]["auc"] < 0.5
    assert by["informative_trend"]["auc"] > 0.9
    assert res["chosen"]["stage2"] != "paper"
    for r in res["stage2"]:
        assert 0 <= r["compute_saved"] <= 1 and r["n_runs"] > 0
    # the free baselines are scored beside every rule, against the same labels
    assert {"never_stop", "no_signal", "reward_edge", "reward_trend"} <= set(by)
    assert {by[b]["kind"] for b in ("never_stop", "reward_edge")} == {"baseline"}
    assert set(res["stage2_labels"]["tables"]["report"]) == set(labels.STOP_LABELS)
    assert res["chosen"]["stage2_beat_baseline"] in (True, False)
    moved = res["stage2_default"]["transfer"]["baseline"]
    assert {"choose", "report", "real", "real_v2"} == set(moved)
    assert moved["report"]["false_stop"]["ci"] and moved["real_v2"]["n_runs"] == 62


def test_sensitivity_and_bad_input(population, tmp_path):
    res = cal.calibrate(population, with_sensitivity=True)
    assert [r["doomed_gain"] for r in res["sensitivity"]] == list(cal.SENSITIVITY_GAINS)
    with pytest.raises(FileNotFoundError, match="no population"):
        cal.load_population(tmp_path / "nosuch")
    (tmp_path / "population.jsonl").write_text('{"runs": []}\n')
    with pytest.raises(ValueError, match="lacks"):
        cal.load_population(tmp_path)


def test_stage1_signals_from_counts():
    plan = Plan(group_size=8, rl_steps=10, batch_prompts=5, n_prompts=10)
    sig = signals.stage1_signals([16, 16, 16, 16], [0, 8, 16, 1], plan, k=10)
    assert sig["pass_at_1"] == pytest.approx((0 + 0.5 + 1 + 1 / 16) / 4)
    assert sig["share_below_p_star"] == 0.5  # p = 0 and 1/16 < p*(8) = 0.083
    assert sig["share_above_1m_p_star"] == 0.25
    # escape: p = 0 and 1 never escape; p = 1/2 escapes with 1 - (2/2^8)^5
    f = 2 / 2**8
    f16 = (1 / 16) ** 8 + (15 / 16) ** 8
    assert sig["escape"] == pytest.approx((0 + (1 - f**5) + 0 + (1 - f16**5)) / 4)
    with pytest.raises(ValueError, match="0 <= c_i <= n_i"):
        signals.stage1_signals([4], [5], plan)
    with pytest.raises(ValueError, match="batch_prompts"):
        Plan(batch_prompts=0)


def test_stage2_rule_scores_by_hand():
    recs = [
        {
            "step": s,
            "entropy": 1.0 - 0.01 * s,
            "frac_reward_zero_std": 0.2 + 0.01 * s,
            "reward": 0.1,
        }
        for s in range(0, 41)
    ]
    tr = logs.trace_of(recs)
    assert stage2.stage2_score("paper", tr, 10, 30) == pytest.approx((0.9 - 0.7) / 0.9)
    # informative over the last quarter of [10, 30]: steps 25..30 -> 1 - mean(0.45..0.5)
    assert stage2.stage2_score("informative", tr, 10, 30) == pytest.approx(1 - (1 - 0.475))
    assert stage2.stage2_score("informative_trend", tr, 10, 30) == pytest.approx(0.2)
    assert stage2.stage2_score("reward_slope", tr, 10, 30) == pytest.approx(0.0, abs=1e-12)
    assert stage2.stage2_score("all_fail", tr, 10, 30) is None  # column absent
    with pytest.raises(ValueError, match="rule must be one of"):
        stage2.stage2_score("nosuch", tr, 10, 30)


def test_stage1_verdict_orientation(monkeypatch):
    from rankinv.verdicts import signals
    from rankinv.verdicts.signals import stage1_verdict
    from rankinv.verdicts.words.probe import verdict_words

    cal = {
        "escape": {"sign": 1, "poor_start_threshold": 0.5, "median_rho": 0.8, "top1_rate": 0.7},
        "pass_at_1": {"sign": -1, "poor_start_threshold": 0.4, "median_rho": 0.5, "top1_rate": 0.6},
    }
    monkeypatch.setattr(signals, "STAGE1_CALIBRATION", cal)
    assert stage1_verdict({"escape": 0.3}, "escape").risk == "high"  # few prompts escape
    assert stage1_verdict({"escape": 0.7}, "escape").risk == "low"
    # negative sign: a high pass@1 is the risky side (the paper's inversion)
    assert stage1_verdict({"pass_at_1": 0.6}, "pass_at_1").risk == "high"
    low = stage1_verdict({"pass_at_1": 0.2}, "pass_at_1")
    assert low.risk == "low" and low.sign == -1 and low.threshold == 0.4
    assert low.past_threshold is False
    assert "pass_at_1 = 0.200 is below 0.400" in verdict_words(low)  # golden text
    assert stage1_verdict({"escape": None}, "escape").risk == "unknown"


def test_roc_curve_ends_and_matches_auc():
    s = np.array([0.1, 0.4, 0.35, 0.8])
    lab = np.array([0, 0, 1, 1], bool)
    roc = stats.roc_curve(s, lab)
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(stats.roc_auc(s, lab))


def test_shipped_defaults_are_the_saved_calibration():
    """The verdicts' defaults (src/data/calibrated.json, read by verdicts/_calibrated.py) are
    generated from the saved calibrate run; regenerate with scripts/update_calibrated.py
    after recalibrating."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    res = json.loads((root / "figures/data/calibrate/calibrate.json").read_text())
    shipped = json.loads((root / "src/data/calibrated.json").read_text())
    assert shipped == json.loads(json.dumps(cal.calibrated_constants(res)))
    assert _calibrated.STAGE1_VERSUS == shipped["STAGE1_VERSUS"]
    assert _calibrated.DEFAULT_STAGE1_SIGNAL == res["chosen"]["stage1"]
    assert _calibrated.DEFAULT_STAGE2_RULE == res["chosen"]["stage2"]


def test_cli_calibrate_on_a_population_dir(population, tmp_path):
    import json
    import subprocess
    import sys

    pop = tmp_path / "pop"
    pop.mkdir()
    (pop / "population.jsonl").write_text("".join(json.dumps(lad) + "\n" for lad in population))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rankinv.cli",
            "calibrate",
            "--population",
            str(pop),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert {"stage1", "stage2", "chosen", "held_out", "n_ladders", "n_runs"} <= set(res)
    assert {"signal", "median_rho", "iqr", "top1_rate", "regret"} <= set(res["stage1"][0])
    assert {"rule", "check_step", "auc", "precision", "recall", "compute_saved"} <= set(
        res["stage2"][0]
    )
    assert (tmp_path / "out" / "calibrate.json").exists()
    text = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "calibrate", "--population", str(pop)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert text.returncode == 0 and "held-out ladders" in text.stdout
    assert "reward-edge baseline" in " ".join(text.stdout.split())


def test_no_default_moves_when_the_report_half_changes(population):
    """Everything chosen (defaults, signs, thresholds, the deciding order's numbers) comes
    from the choose half: scrambling every report-half outcome and trace changes none of it."""
    import copy

    rng = np.random.default_rng(7)
    split = stats.split_settings(lad["setting_id"] for lad in population)
    scrambled = copy.deepcopy(population)
    for lad in scrambled:
        if split[lad["setting_id"]] != "report":
            continue
        for run in lad["runs"]:
            run["outcome"]["final_pass_at_k"] = float(rng.random())
            run["outcome"]["final_pass_at_1"] = float(rng.random())
            for t in run["trace"]:
                t["frac_reward_zero_std"] = float(rng.random())
                t["entropy"] = float(rng.random())
    a, b = cal.calibrate(population), cal.calibrate(scrambled)
    assert a["chosen"] == b["chosen"]

    def chosen_numbers(res):
        s1 = {
            r["signal"]: (r["sign"], r["choose_median_rho"], r["poor_start_threshold"])
            for r in res["stage1"]
            if not r["baseline"]
        }
        s2 = {(r["rule"], r["check_fraction"]): r["threshold"] for r in res["stage2"]}
        return s1, s2

    assert chosen_numbers(a) == chosen_numbers(b)
    # and the report half did move: the scramble reached the numbers that are reported
    ra = {r["signal"]: r["median_rho"] for r in a["stage1"]}
    rb = {r["signal"]: r["median_rho"] for r in b["stage1"]}
    assert ra != rb
