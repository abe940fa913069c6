"""The probe's overall summary: the mechanical fact first, numbers that agree with the
signals, and an accuracy note that calls a chance-level AUC what it is."""

import pytest

from rankinv.validate.config import ProbeConfig
from rankinv.validate.summary import overall_summary, probe_verdict, summary_numbers
from rankinv.verdicts import signals
from rankinv.verdicts.words import probe as words


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
    pv = probe_verdict(summary_numbers(_problems([0, 0, 16, 0]), cfg, 600), cfg)
    assert s["informative_fraction"] == pv.informative_fraction == 0.0 and pv.no_signal
    assert s["reasons"] == words.reasons(pv) and s["risk"] == pv.risk
    # golden text: the fact comes first
    assert s["reasons"][0].startswith("no signal: every problem was all-fail or all-pass")
    mixed = overall_summary(_problems([0, 3, 16, 8]), cfg, vocab_size=600)
    assert not probe_verdict(mixed, cfg).no_signal
    assert not any(r.startswith("no signal") for r in mixed["reasons"])
    assert mixed["plan"]["group_size"] == 8 and mixed["plan"]["n_prompts"] == 4


def test_the_verdict_rests_on_the_summarys_numbers():
    cfg = ProbeConfig(benchmark="synthetic", samples=16, group_size=8)
    s = overall_summary(_problems([1, 3, 5, 8]), cfg, vocab_size=600)
    pv = probe_verdict(s, cfg)
    v = pv.verdict
    assert (v.signal, v.value, v.accuracy) == (
        s["signal"], s["signal_value"], s["signal_accuracy"]
    )  # fmt: skip
    assert v.signal == signals.DEFAULT_STAGE1_RISK_SIGNAL and v.rule == "calibrated"
    assert v.value == s["signals"][v.signal] and pv.risk == s["risk"]
    assert v.past_threshold == (pv.risk == "high")
    assert pv.small and (pv.n_problems, pv.samples_per_problem) == (4, 16)  # 4 < 30 problems
    assert pv.screen_kind == "rollout" and pv.screen_entropy == pytest.approx(0.3)
    assert pv.screen_flag is (0.3 < cfg.tau_h)


def test_accuracy_note_calls_a_chance_auc_chance(monkeypatch):
    cal = {"x": {"median_rho": 0.1, "top1_rate": 0.5, "auc_poor_start": 0.52, "n_ladders": 9}}
    monkeypatch.setattr(signals, "STAGE1_CALIBRATION", cal)
    assert "AUC 0.52, about chance (0.5)" in signals.stage1_accuracy_note("x")
    cal["x"]["auc_poor_start"] = 0.7
    assert "chance" not in signals.stage1_accuracy_note("x")
    assert "over the 9 simulated ladders where it varies" in signals.stage1_accuracy_note("x")
    cal["x"]["regret"] = 0.0144
    assert "median within-ladder rho +0.10, mean regret 0.0144;" in signals.stage1_accuracy_note(
        "x"
    )


@pytest.mark.parametrize("n_prompts", [None, 400])
def test_summary_plan_counts_the_planned_prompt_set(n_prompts):
    cfg = ProbeConfig(benchmark="synthetic", samples=16, group_size=8, n_prompts=n_prompts)
    s = overall_summary(_problems([1, 3, 5, 8]), cfg, vocab_size=600)
    assert s["plan"]["n_prompts"] == (n_prompts or 4)
    assert s["plan"]["visits_per_prompt"] == pytest.approx(
        400 * min(32, n_prompts or 4) / (n_prompts or 4)
    )
