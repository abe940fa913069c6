"""The monitor's calibrated rules against the paper's rule, on logs where they disagree."""

import json

import pytest

from rankinv.verdicts import rules
from rankinv.verdicts.monitor import MonitorConfig, monitor


def _log(path, entropy_drop, informative_end, steps=160):
    with path.open("w") as fh:
        for t in range(steps + 1):
            fh.write(
                json.dumps(
                    {
                        "step": t,
                        "entropy": 1.0 - entropy_drop * t / steps,
                        "frac_reward_zero_std": 1 - (0.8 + (informative_end - 0.8) * t / steps),
                        "reward": 0.3,
                    }
                )
                + "\n"
            )
    return path


def test_healthy_run_with_a_large_entropy_drop(tmp_path):
    """Entropy falls 70% but most groups still carry signal: the paper stops it, the
    informative rule lets it run."""
    path = _log(tmp_path / "healthy.jsonl", entropy_drop=0.7, informative_end=0.75)
    paper = monitor(path, MonitorConfig(rule="paper"))
    assert paper["verdict"] == "stop" and paper["rule"] == "paper"
    inf = monitor(path, MonitorConfig(rule="informative", rule_threshold=0.5))
    assert inf["verdict"] == "continue"
    assert inf["rule_score"] == pytest.approx(0.25, abs=0.02)
    assert "rule informative" in inf["reasons"][0]


def test_stranded_run_with_a_small_entropy_drop(tmp_path):
    path = _log(tmp_path / "stranded.jsonl", entropy_drop=0.1, informative_end=0.1)
    assert monitor(path, MonitorConfig(rule="paper"))["verdict"] != "stop"
    rep = monitor(path, MonitorConfig(rule="informative", rule_threshold=0.5))
    assert rep["verdict"] == "stop" and rep["compute_saved"] > 0
    # before the check step the same score reads "watch", not "stop"
    early = monitor(path, MonitorConfig(rule="informative", rule_threshold=0.5, check_step=400))
    assert early["verdict"] == "watch"


def test_default_rule_is_the_calibrated_one_and_quotes_its_accuracy(tmp_path):
    path = _log(tmp_path / "x.jsonl", entropy_drop=0.3, informative_end=0.5)
    rep = monitor(path)
    assert rep["rule"] == rules.DEFAULT_STAGE2_RULE
    assert rep["rule_threshold"] == rules.rule_threshold(rules.DEFAULT_STAGE2_RULE)
    assert rep["rule_accuracy"] == rules.stage2_accuracy_note(rules.DEFAULT_STAGE2_RULE)
    with pytest.raises(ValueError, match="rule must be one of"):
        MonitorConfig(rule="nosuch")


def test_rule_without_its_columns_says_so(tmp_path):
    path = tmp_path / "noinf.jsonl"
    path.write_text("".join(json.dumps({"step": t, "entropy": 1.0}) + "\n" for t in range(200)))
    rep = monitor(path, MonitorConfig(rule="informative"))
    assert rep["verdict"] == "continue" and rep["rule_score"] is None
    assert "cannot be computed" in rep["reasons"][0] and "--rule paper" in rep["reasons"][0]


def test_empty_and_binary_logs_are_named(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.jsonl is empty"):
        monitor(empty)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="bin.jsonl is not a text log"):
        monitor(binary)
