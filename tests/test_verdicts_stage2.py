"""Stage-2 rules and the no-signal state as pure functions of a trace."""

import json

import numpy as np
import pytest

from rankinv.verdicts import logs, mechanical, panels, stage2
from rankinv.verdicts.monitor import MonitorConfig, monitor


def _log(path, entropy_drop, informative_end, steps=160):
    with path.open("w") as fh:
        for t in range(steps + 1):
            rec = {
                "step": t,
                "entropy": 1.0 - entropy_drop * t / steps,
                "frac_reward_zero_std": 1 - (0.8 + (informative_end - 0.8) * t / steps),
                "reward": 0.3,
            }
            fh.write(json.dumps(rec) + "\n")
    return path


def trace(steps, **cols):
    return stage2.Trace(
        steps=np.asarray(steps), **{k: np.asarray(v, dtype=float) for k, v in cols.items()}
    )


def test_healthy_run_with_a_large_entropy_drop(tmp_path):
    """Entropy falls 70% but most groups carry signal: the paper stops it, the informative
    rule lets it run."""
    path = _log(tmp_path / "healthy.jsonl", entropy_drop=0.7, informative_end=0.75)
    assert monitor(path, MonitorConfig(rule="paper")).verdict == "stop"
    inf = monitor(path, MonitorConfig(rule="informative", rule_threshold=0.5))
    assert inf.verdict == "continue" and inf.rule_score == pytest.approx(0.75, abs=0.02)
    assert inf.doom_score == pytest.approx(0.25, abs=0.02) and inf.rule_threshold == 0.5


def test_low_signal_run_with_a_small_entropy_drop(tmp_path):
    path = _log(tmp_path / "stranded.jsonl", entropy_drop=0.1, informative_end=0.1)
    assert monitor(path, MonitorConfig(rule="paper")).verdict != "stop"
    rep = monitor(path, MonitorConfig(rule="informative", rule_threshold=0.5, planned_steps=160))
    assert rep.verdict == "stop" and rep.compute_saved == 0.0  # the run has ended
    assert rep.rule.check_step == 80  # half of the 160 planned steps
    early = monitor(
        path,
        MonitorConfig(rule="informative", rule_threshold=0.5, check_step=400, planned_steps=400),
    )
    assert early.verdict == "watch" and early.provisional is True


def test_no_signal_needs_the_window_and_names_the_state():
    steps = np.arange(0, 30)
    full = trace(steps, informative=np.zeros(30), reward=np.ones(30))
    assert mechanical.no_signal(full, 9) is None  # the log does not span 10 steps yet
    st = mechanical.no_signal(full)
    # the last NO_SIGNAL_STEPS = 10 steps: 20-29
    assert st.state == "saturated" and st.window == (20, 29) and st.zero_std == 1.0
    assert st.at_edge and st.reward == 1.0 and st.reward_range == (0.0, 1.0)
    stranded = mechanical.no_signal(trace(steps, informative=np.zeros(30), reward=np.zeros(30)))
    assert stranded.state == "stranded" and stranded.at_edge
    near = mechanical.no_signal(trace(steps, informative=np.zeros(30), reward=np.full(30, 0.017)))
    assert near.state == "stranded" and not near.at_edge  # almost every sample fails
    half = trace(steps, informative=np.full(30, 0.5), reward=np.full(30, 0.5))
    assert mechanical.no_signal(half) is None
    # a log every 10 steps: the last three logged steps make the window
    sparse = trace(np.arange(0, 160, 10), informative=np.zeros(16), reward=np.full(16, 0.5))
    st = mechanical.no_signal(sparse)
    assert st.state == "mixed" and st.window == (130, 150) and st.points == 3


def test_reward_gain_is_a_share_of_the_headroom():
    steps = np.arange(0, 101)
    tr = trace(steps, reward=0.6 + 0.2 * steps / 100)  # 0.6 -> 0.8 of a headroom of 0.4
    assert stage2.reward_gain(tr, 0, 100) == pytest.approx(0.5)
    assert stage2.stage2_score("reward_gain", tr, 0, 100) == pytest.approx(-0.5)
    scaled = stage2.Trace(steps=steps, reward=10 * tr.reward, reward_range=(0.0, 10.0))
    assert stage2.reward_gain(scaled, 0, 100) == pytest.approx(0.5)


def test_trace_of_records_reads_any_trainers_names():
    recs = [{"step": s, "actor/entropy": 1.0, "critic/score/mean": 0.1 * s} for s in range(5)]
    tr = logs.trace_of(recs)
    assert tr.reward.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert tr.informative is None and tr.entropy.tolist() == [1.0] * 5


def test_every_rule_states_what_it_reads_and_catches():
    from rankinv.verdicts.labels import STOP_LABELS

    for rule in stage2.STAGE2_RULES.values():
        assert rule.needs and rule.catches and set(rule.catches) <= set(STOP_LABELS)
    assert stage2.STAGE2_RULES["reward_slope"].scale_free is False
    assert {r.name for r in stage2.STAGE2_RULES.values() if r.baseline} == {
        "reward_edge",
        "reward_trend",
    }


def test_reward_baselines_by_hand():
    steps = np.arange(0, 41)
    low = trace(steps, reward=np.full(41, 0.03))
    mid = trace(steps, reward=np.full(41, 0.5))
    high = trace(steps, reward=np.full(41, 0.97), reward_range=(0.0, 1.0))
    edge = stage2.STAGE2_RULES["reward_edge"]
    # 0.5 - distance to the nearer edge; the fixed threshold stops within 5% of an edge
    assert stage2.stage2_score("reward_edge", low, 1, 40) == pytest.approx(0.47)
    assert stage2.stage2_score("reward_edge", high, 1, 40) == pytest.approx(0.47)
    assert stage2.stage2_score("reward_edge", mid, 1, 40) == pytest.approx(0.0)
    assert edge.threshold == pytest.approx(0.45)
    on_scale = trace(steps, reward=np.full(41, 9.7), reward_range=(0.0, 10.0))
    assert stage2.stage2_score("reward_edge", on_scale, 1, 40) == pytest.approx(0.47)
    # the trend: minus the rise over the last half of the window, as a share of the range
    rising = trace(steps, reward=0.01 * steps, reward_range=(0.0, 2.0))
    assert stage2.stage2_score("reward_trend", rising, 0, 40) == pytest.approx(-0.1)
    assert stage2.stop_claim("reward_edge", low, 1, 40) == "stranded"
    assert stage2.stop_claim("reward_edge", high, 1, 40) == "saturated"
    assert stage2.stop_claim("reward_trend", mid, 1, 40) == "stalled"
    assert stage2.stop_claim("paper", mid, 1, 40) == "sharpening"


def test_informative_signal_names_its_column_as_computed(tmp_path):
    panel = {"name": "informative", "key": "frac_reward_zero_std"}
    assert panels.signal_source(panel) == "1 - frac_reward_zero_std"
    assert panels.signal_source({"name": "reward", "key": "reward"}) == "reward"
    path = _log(tmp_path / "run.jsonl", entropy_drop=0.1, informative_end=0.6)
    rep = monitor(path, MonitorConfig(rule="informative"))
    assert "signal: informative (1 - frac_reward_zero_std)" in rep.basis
