"""The real back-test: every real ladder, each signal's pick scored against what RL did."""

import pytest

from rankinv.evaluation import backtest as bt


@pytest.fixture(scope="module")
def real():
    return bt.backtest()


def test_every_real_ladder_is_there(real):
    names = [lad["ladder"] for lad in real["ladders"]]
    assert names[:3] == ["paper-qwen", "paper-qwen-peak", "paper-deepseek"]
    for want in ("mini-full-s0", "mini-full-s2", "mini-lora-s1", "mini-full-clean", "mini-gpu"):
        assert want in names


def test_qwen_pass_at_k_picks_the_worst_rung_and_rank_abstains(real):
    qwen = real["ladders"][0]["signals"]
    # Table 5: pre-RL pass@10 is highest at 5.8 epochs, which ends worst (0.553 of 0.643)
    assert qwen["pass_at_k"]["pick"] == "qwen-5.8ep" and qwen["pass_at_k"]["worst"]
    assert qwen["pass_at_k"]["regret"] == pytest.approx(0.643 - 0.553)
    assert qwen["pass_at_k"]["rho"] == pytest.approx(-0.7)
    assert qwen["rank"]["recommended"] is None


def test_criteria_by_hand_on_the_saved_ladders(real):
    by = real["by_signal"]
    assert by["pass_at_k"]["never_worst"] is False  # the Qwen ladder
    assert by["naive"]["worst_picks"] >= 5
    assert by["rank"]["never_worst"] is True and by["rank"]["abstained"] == 1
    # secondary ladders (Qwen against its peak) are not counted twice
    assert by["pass_at_k"]["n_ladders"] == len([x for x in real["ladders"] if not x["secondary"]])
