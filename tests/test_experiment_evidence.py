"""The mini experiment's saved runs, recomputed with post-RL outcomes on steps >= 1."""

from pathlib import Path

import pytest

from rankinv.experiment.evidence import mini_evidence

DATA = Path(__file__).resolve().parents[1] / "figures" / "data" / "mini"


def test_outcomes_ignore_step_zero():
    ev = mini_evidence(DATA / "mini_ci.json")
    run = next(r for r in ev["runs"] if r["name"] == "teacher-s1-d1")
    # evaluations 0.565 (step 0), 0.511, 0.548, 0.518: the old peak was the step-0 value
    assert run["start"] == pytest.approx(0.565, abs=5e-4)
    assert run["peak"] == pytest.approx(0.548, abs=5e-4)
    assert run["final"] == pytest.approx(0.518, abs=5e-4)
    assert run["doomed"] is True
    assert ev["n_runs"] == 17 and ev["n_teacher"] == 15 and ev["seeds"] == [0, 1, 2]


def test_stage2_rules_on_the_mini_runs():
    ev = mini_evidence(DATA / "mini_ci.json")
    # the paper's entropy-drop rule stops none of the 17 runs (no drop reaches 50%)
    assert ev["stage2"]["paper"]["stopped"] == 0
    assert (
        ev["stage2"]["rho_informative_vs_final"]["rho"] > ev["stage2"]["rho_drop_vs_final"]["rho"]
    )


def test_gpu_ladder_depths_from_names():
    ev = mini_evidence(DATA / "gpu_h200_seed0_ladder.json")
    assert sorted(r["depth"] for r in ev["runs"]) == [1, 2, 4, 8, 16]
    assert ev["stage1"]["pre_pass_at_1"]["final"]["n"] == 5


def test_rules_on_per_step_logs(tmp_path):
    """mini_log_evidence judges every rule on real-format logs: a run whose reward never rises
    is stopped by the reward-slope rule; one whose reward climbs is not."""
    import json

    from rankinv.experiment.evidence import mini_log_evidence
    from rankinv.verdicts import rules, stage2

    runs = tmp_path / "runs"
    runs.mkdir()
    for name, slope, gain in (("flat-d16", 0.0, 0.0), ("rising-d1", 0.01, 0.2)):
        evals = [
            {"step": s, "pass_at_1": 0.3 + gain * s / 30, "pass_at_10": 0.5 + gain * s / 30}
            for s in (0, 10, 20, 30)
        ]
        (runs / f"{name}.json").write_text(json.dumps({"name": name, "evals": evals}))
        recs = [
            {
                "step": t,
                "entropy": 0.5,
                "frac_reward_zero_std": 0.5,
                "all_fail": 0.3,
                "reward": 0.3 + slope * t,
            }
            for t in range(30)
        ]
        (runs / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    ev = mini_log_evidence(tmp_path)
    rs = {r["name"]: r for r in ev["rules"]["reward_slope"]["runs"]}
    assert rs["flat-d16"]["doomed"] and not rs["rising-d1"]["doomed"]
    thr = rules.rule_threshold("reward_slope")
    assert rs["flat-d16"]["score"] == pytest.approx(0.0, abs=1e-9)
    assert rs["rising-d1"]["stop"] is False and rs["rising-d1"]["score"] < thr
    assert set(ev["rules"]) == set(stage2.STAGE2_RULES)
