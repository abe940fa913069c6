"""The probe's overall summary: the mechanical fact first, numbers that agree with the
signals, and an accuracy note that calls a chance-level AUC what it is."""

import pytest

from rankinv.validate.config import ProbeConfig
from rankinv.validate.summary import overall_summary
from rankinv.verdicts import signals


def _problems(cs, n=16):
    return [
        {
            "task_id": f"t{i}",
            "n": n,
            "c": c,
            "mean_token_entropy": 0.3,
            "prompt_entropy": None,
            "distinct_correct": min(c, 1),
            "mean_tokens": 12,
        }
        for i, c in enumerate(cs)
    ]


def test_no_mixed_group_is_said_first_as_fact():
    cfg = ProbeConfig(benchmark="synthetic", samples=16, group_size=8)
    s = overall_summary(_problems([0, 0, 16, 0]), cfg, vocab_size=600)
    assert s["informative_fraction"] == 0.0
    assert s["reasons"][0].startswith("no signal: every problem was all-fail or all-pass")
    mixed = overall_summary(_problems([0, 3, 16, 8]), cfg, vocab_size=600)
    assert not mixed["reasons"][0].startswith("no signal")
    assert mixed["plan"]["group_size"] == 8 and mixed["plan"]["n_prompts"] == 4


def test_accuracy_note_calls_a_chance_auc_chance(monkeypatch):
    cal = {"x": {"median_rho": 0.1, "top1_rate": 0.5, "auc_poor_start": 0.52, "n_ladders": 9}}
    monkeypatch.setattr(signals, "STAGE1_CALIBRATION", cal)
    assert "AUC 0.52, about chance (0.5)" in signals.stage1_accuracy_note("x")
    cal["x"]["auc_poor_start"] = 0.7
    assert "chance" not in signals.stage1_accuracy_note("x")
    assert "over the 9 simulated ladders where it varies" in signals.stage1_accuracy_note("x")


@pytest.mark.parametrize("n_prompts", [None, 400])
def test_summary_plan_counts_the_planned_prompt_set(n_prompts):
    cfg = ProbeConfig(benchmark="synthetic", samples=16, group_size=8, n_prompts=n_prompts)
    s = overall_summary(_problems([1, 3, 5, 8]), cfg, vocab_size=600)
    assert s["plan"]["n_prompts"] == (n_prompts or 4)
    assert s["plan"]["visits_per_prompt"] == pytest.approx(
        400 * min(32, n_prompts or 4) / (n_prompts or 4)
    )
