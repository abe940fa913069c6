"""The coverage rule: held-out pass@k fell beyond its noise under Bonferroni over all pairs of
the planned looks; its false-stop rate measured on simulated runs that keep their coverage;
the evaluation columns of TRL, verl and OpenRLHF read; monitor's best_coverage_step."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from rankinv.verdicts import coverage, logs
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.words.monitor import coverage_words

SCRIPT = Path(__file__).parents[1] / "scripts" / "coverage_rule_score.py"


def _script():
    spec = importlib.util.spec_from_file_location("coverage_rule_score", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_critical_z_is_bonferroni_over_the_pairs_of_the_planned_looks():
    # 21 looks: 210 pairs, each tested at 0.05 / 210
    assert coverage.critical_z(21) == pytest.approx(norm.isf(0.05 / 210))
    assert coverage.critical_z(2) == pytest.approx(norm.isf(0.05))


def test_first_fall_by_hand():
    x = np.array([0.50, 0.60, 0.55, 0.40])
    se = np.array([0.02, 0.02, 0.02, 0.02])
    fired, z = coverage.first_fall(x, se, z_crit=3.0)
    # look 2: (0.60 - 0.55) / (0.02 sqrt 2) = 1.77; look 3: (0.60 - 0.40) / 0.0283 = 7.07
    assert z[2] == pytest.approx(0.05 / (0.02 * math.sqrt(2)))
    assert z[3] == pytest.approx(0.20 / (0.02 * math.sqrt(2)))
    assert fired == 3


def test_false_stop_rate_over_all_looks_is_held_and_first_drop_is_not():
    res = _script().score(runs=150, seed=1)
    for kind in ("fresh", "flat", "keep"):  # runs whose true held-out pass@k never falls
        rate = res[kind]["coverage rule"]["stop_rate"]
        # alpha plus two binomial standard errors of 150 runs
        assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 150), (kind, rate)
        assert res[kind]["first drop"]["stop_rate"] > 0.9  # stopping at the first drop
    sharpen = res["sharpen"]
    assert sharpen["coverage rule"]["stop_rate"] > 0.9
    # never stopping keeps the run's end, far below its best; the rule keeps close to it
    assert sharpen["coverage rule"]["regret"] < sharpen["never stop"]["regret"] / 10


def _eval_log(path, values, ses, pass1=None, key="eval/pass_at_8", max_steps=200):
    rows = []
    for i, (v, s) in enumerate(zip(values, ses, strict=True)):
        step = 10 * (i + 1)
        rows.append({"step": step, "reward": 0.3, "frac_reward_zero_std": 0.4})
        ev = {"step": step, key: v, f"{key}_se": s}
        if pass1 is not None:
            ev |= {"eval/pass_at_1": pass1[i], "eval/pass_at_1_se": 0.01}
        rows.append(ev)
    rows[0]["max_steps"] = max_steps
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_monitor_stops_a_sharpening_run_and_names_the_step_to_keep(tmp_path):
    k_vals = [0.60, 0.66, 0.70, 0.69, 0.62, 0.55]
    p1 = [0.20, 0.24, 0.28, 0.33, 0.38, 0.44]
    path = _eval_log(tmp_path / "run.jsonl", k_vals, [0.01] * 6, p1)
    rep = monitor(path, MonitorConfig(group_size=8))
    assert rep.verdict == "stop" and rep.best_coverage_step == 30
    assert rep.decided_by == "coverage" and rep.coverage.k == 8 and rep.coverage.keep_step == 30
    said = coverage_words(rep.coverage)  # golden text
    assert said.startswith("coverage: held-out pass@8") and said in rep.reasons
    assert "Bonferroni over all pairs of the planned looks" in said
    assert "keep the checkpoint of step 30" in said
    assert rep.coverage.fell_at == 50  # (0.70 - 0.62) / 0.0141 = 5.7 > z* (20 looks)
    assert rep.label == "sharpening"


def test_noise_within_the_test_does_not_stop(tmp_path):
    path = _eval_log(tmp_path / "run.jsonl", [0.60, 0.62, 0.61, 0.63, 0.60], [0.02] * 5)
    rep = monitor(path, MonitorConfig(group_size=8))
    assert rep.coverage.fell is False and rep.best_coverage_step == 40
    assert rep.coverage.best_value == 0.63 and rep.coverage.z_max is not None
    assert rep.coverage.z_max < rep.coverage.z_crit and rep.decided_by != "coverage"


def test_without_standard_errors_the_test_does_not_run(tmp_path):
    rows = [{"step": 10 * i, "eval_pass_at_4": v} for i, v in enumerate((0.5, 0.6, 0.3), 1)]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": rows}))
    rep = monitor(tmp_path)
    assert rep.coverage.ses is None and rep.best_coverage_step == 20
    assert rep.coverage.z_crit is None and not rep.coverage.fell and rep.verdict != "stop"


def test_evaluation_columns_of_each_trainer_are_mapped():
    recs = [
        {"step": 1, "eval_pass_at_4": 0.5, "eval_pass_at_4_se": 0.1},  # TRL's eval_ prefix
        {"step": 2, "val-core/gsm8k/acc/mean@8": 0.3, "val-core/gsm8k/acc/best@8/mean": 0.7},
        {"step": 3, "eval/eval_math_pass1": 0.2, "eval/eval_math_pass16": 0.6},  # OpenRLHF TB
    ]
    out = logs.merge_by_step([logs._strip_prefix(r) for r in recs])
    assert out[0]["eval/pass_at_4"] == 0.5 and out[0]["eval/pass_at_4_se"] == 0.1
    assert out[1]["eval/pass_at_1"] == 0.3 and out[1]["eval/pass_at_8"] == 0.7
    assert out[2]["eval/pass_at_1"] == 0.2 and out[2]["eval/pass_at_16"] == 0.6


def test_a_fall_with_pass_at_1_falling_too_is_diverging_and_names_its_action(tmp_path):
    from rankinv.verdicts.labels import ACTIONS

    k_vals = [0.60, 0.66, 0.70, 0.69, 0.62, 0.55]
    p1 = [0.30, 0.32, 0.33, 0.30, 0.26, 0.22]
    path = _eval_log(tmp_path / "run.jsonl", k_vals, [0.01] * 6, p1)
    rep = monitor(path, MonitorConfig(group_size=8))
    assert rep.verdict == "stop" and rep.label == "diverging"
    assert rep.action.startswith(ACTIONS["diverging"]) and "step 30" in rep.action


def test_a_reward_edge_stop_predicts_stranded(tmp_path):
    from rankinv.verdicts.labels import ACTIONS

    rows = [
        {"step": s, "reward": 0.02, "frac_reward_zero_std": 0.8, "entropy": 1.0, "max_steps": 40}
        for s in range(1, 41)
    ]
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = MonitorConfig(group_size=8, rule="reward_edge", ref_step=5, check_step=30)
    rep = monitor(path, cfg)
    assert rep.verdict == "stop" and rep.rule_used == "reward_edge"
    assert rep.label == "stranded" and rep.action == ACTIONS["stranded"]
    assert "a free baseline" in " ".join(rep.reasons)


def test_the_headline_names_coverage_when_coverage_stopped_the_run():
    """fresh clone: "verdict: stop (rule reward_edge ...)" while that rule said continue."""
    from pathlib import Path

    from rankinv.verdicts.monitor import monitor

    log = Path(__file__).parent / "data" / "trl" / "sharpening"
    rep = monitor(log)
    assert rep.verdict == "stop" and rep.decided_by == "coverage"
    assert rep.basis == "held-out coverage fell beyond its noise; keep step 0"
