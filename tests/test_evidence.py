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
