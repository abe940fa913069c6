"""Logs without a zero-std column (verl, OpenRLHF): what the log allows, what it does not, the
configuration line that adds the metric, and no verdict from a rule that is not eligible."""

import json

import pytest

from rankinv.verdicts._calibrated import STAGE2_CALIBRATION
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.stage2 import STAGE2_RULES
from rankinv.verdicts.words.monitor import rule_words

#: These tests are about the informative share such logs lack (derived, bounded or named);
#: the default rule (the reward-edge baseline) reads the reward every log has.
INFORMATIVE = MonitorConfig(rule="informative")


def verl_log(path, reward, steps=120, entropy=None, extra=None):
    rows = []
    for s in range(1, steps + 1):
        data = {
            "actor/entropy": 1.0 if entropy is None else entropy(s),
            "critic/score/mean": reward(s),
            "critic/score/max": 1.0,
            "critic/score/min": 0.0,
        }
        data |= (extra or {}) if not callable(extra) else extra(s)
        rows.append({"step": s, "data": data})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_verl_run_stuck_at_reward_001_for_120_steps_is_not_continued(tmp_path):
    rep = monitor(verl_log(tmp_path / "m.jsonl", lambda s: 0.01), INFORMATIVE)
    assert rep.verdict != "continue" and rep.rule_used == "informative"
    assert rep.rule.on_bound and rep.run.log.trainer == "verl"
    assert rep.rule_score == pytest.approx(0.08)  # the bound, g = 8 x 0.01
    assert "on an upper bound of the informative share" in rep.basis
    assert rep.group_size == 8 and rep.assumptions[0].source == "assumed"
    # judged at the check step (200 of the 400 assumed planned steps), with a reward whose
    # bound g x reward sits below the calibrated stop level: stop
    low = (1 - STAGE2_CALIBRATION["informative"]["threshold"]) / (2 * 8)
    rep = monitor(verl_log(tmp_path / "m.jsonl", lambda s: low, steps=210), INFORMATIVE)
    assert rep.verdict == "stop"


def test_verl_run_without_signal_at_the_floor_is_stranded(tmp_path):
    rep = monitor(verl_log(tmp_path / "m.jsonl", lambda s: 0.002), MonitorConfig(group_size=8))
    assert rep.verdict == "stop" and rep.state == "no_signal:stranded"
    assert rep.no_signal_on_bound is True and rep.decided_by == "no_signal"
    assert rep.no_signal.reward == pytest.approx(0.002) and not rep.no_signal.at_edge


def test_verl_rising_run_is_undetermined_and_says_what_to_add(tmp_path):
    rep = monitor(verl_log(tmp_path / "m.jsonl", lambda s: 0.2 + s / 400), INFORMATIVE)
    assert rep.rule_used is None and rep.verdict == "continue"
    assert rep.label == "undetermined"
    assert rep.rule.status == "cannot_run" and rep.rule.bound_continues  # the bound is high
    assert 'metrics["critic/frac_reward_zero_std"]' in rep.run.derived.config_line
    assert any(rep.run.derived.config_line in r for r in rep.reasons)  # said, with the line


def test_verl_mean_entropy_is_never_printed_as_worst_token_entropy(tmp_path):
    rep = monitor(verl_log(tmp_path / "m.jsonl", lambda s: 0.5, entropy=lambda s: 1 - s / 150))
    assert rep.rule_used != "paper_min" and "worst-token entropy fell" not in " ".join(rep.reasons)
    rep = monitor(tmp_path / "m.jsonl", MonitorConfig(rule="paper_min"))
    assert rep.rule_used == "paper_min" and rep.run.trace.min_entropy is None
    # asked by name: named as mean (golden text)
    assert "rule paper_min: mean entropy fell" in rule_words(rep.rule, rep)


def test_rewards_that_are_not_pass_fail_give_no_bound(tmp_path):
    path = verl_log(tmp_path / "m.jsonl", lambda s: 0.01, extra={"critic/score/max": 0.3})
    rep = monitor(path, INFORMATIVE)  # no bound: the calibrated fallback reads the reward
    assert rep.rule_used == "reward_edge" and not rep.rule.on_bound
    assert any("not pass/fail" in r for r in rep.reasons)


def test_verl_dapo_dynamic_sampling_is_detected_and_says_what_is_not_measurable(tmp_path):
    path = verl_log(tmp_path / "m.jsonl", lambda s: 0.5, extra={"train/num_gen_batches": 3})
    rep = monitor(path, INFORMATIVE)
    assert rep.run.derived.dynamic_sampling.startswith("verl DAPO")
    assert any("filter_groups drops zero-std groups" in r for r in rep.run.derived.not_measurable)
    assert any(r.startswith("dynamic sampling (verl DAPO") for r in rep.reasons)
    # the kept groups' reward bounds nothing, and no rule may read it (the default does)
    assert not rep.rule.on_bound
    for r in (rep, monitor(path)):
        assert r.rule_used is None or "reward" not in STAGE2_RULES[r.rule_used].needs


def openrlhf_log(path, pass_rate=None, steps=220):
    rows = []
    for s in range(1, steps + 1):
        rec = {"train/rollout/reward_mean": 0.4, "train/reward": 0.4, "train/policy_loss": 0.1}
        if pass_rate is not None:
            rec["train/dynamic_filtering_pass_rate"] = pass_rate
        rows.append({"step": s, **rec})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_openrlhf_filter_pass_rate_is_the_informative_share(tmp_path):
    share = (1 - STAGE2_CALIBRATION["informative"]["threshold"]) / 2  # below the stop level
    rep = monitor(openrlhf_log(tmp_path / "o.jsonl", pass_rate=100 * share), INFORMATIVE)
    assert rep.run.log.trainer == "openrlhf" and rep.rule_used == "informative"
    assert rep.verdict == "stop" and abs(rep.informative_fraction - share) < 1e-9
    assert "dynamic_filtering_pass_rate / 100" in rep.to_json()["informative_source"]
    assert any("kept groups' only" in r for r in rep.reasons)


def test_openrlhf_without_filtering_prints_the_config_line(tmp_path):
    rep = monitor(openrlhf_log(tmp_path / "o.jsonl"), INFORMATIVE)
    assert rep.rule_used is None
    assert "--algo.dynamic_filtering_enable" in rep.run.derived.config_line
    assert any("--algo.dynamic_filtering_enable" in r for r in rep.reasons)
