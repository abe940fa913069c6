"""The stage-2 accuracy note: precision next to the base rate it is compared to, flagged when
it is not clearly above it, and the prevalence-adjusted precision in plain words."""

import pytest

from rankinv.verdicts import _calibrated, rules

CAL = {
    "auc": 0.73,
    "precision": 0.88,
    "prevalence": 0.78,
    "recall": 0.62,
    "watch_recall": 0.72,
    "n_runs": 732,
    "precision_at_prevalence": {"0.1": 0.11},
}


@pytest.fixture
def calibrated(monkeypatch):
    def set_cal(**kw):
        monkeypatch.setitem(_calibrated.STAGE2_CALIBRATION, "informative", CAL | kw)
        return rules.stage2_accuracy_note("informative")

    return set_cal


def test_note_names_the_base_rate_and_says_the_adjusted_precision_plainly(calibrated):
    note = calibrated()
    assert "stop precision 88% against a base rate of 78%" in note
    assert "precision 11% if 10% of runs were worth stopping" in note
    assert "random" not in note.split("stopping at random is right that often")[1]


def test_precision_barely_above_the_base_rate_is_flagged(calibrated):
    note = calibrated(precision=0.79)  # 1 point above 78% over ~570 stopped runs: noise
    assert "against a base rate of 78%" in note
    assert "): no better than stopping at random;" in note


def test_precision_below_the_base_rate_is_called_worse(calibrated):
    assert ": worse than stopping at random;" in calibrated(precision=0.5, recall=0.03)


def test_precision_vs_base_rate_uses_the_stopped_runs_standard_error():
    # 193 stopped runs (800 x 0.8 x 0.25 / 0.83): SE = sqrt(0.83 x 0.17 / 193) = 0.027, so 3
    # points above the base rate is within 2 SE; 10 points is not
    rule = {"precision": 0.83, "prevalence": 0.8, "recall": 0.25, "n_runs": 800}
    assert rules.precision_vs_base_rate(rule) == "no better"
    assert rules.precision_vs_base_rate(rule | {"precision": 0.9}) == "above"
    assert rules.precision_vs_base_rate(rule | {"precision": 0.7}) == "below"
    assert rules.precision_vs_base_rate({"precision": 0.5}) is None
