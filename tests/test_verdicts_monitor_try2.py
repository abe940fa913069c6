"""A second fresh-clone practitioner try of `rankinv monitor`: a log without a reward column
falls back to no rule at chance and says which rule was wanted, which used and why; dropped
data is reported; the demo's two sentences agree; the sweep's and checks' wording."""

import json

from rankinv.verdicts.monitor import MonitorConfig, monitor


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_log_without_reward_falls_back_to_no_rule_at_chance_and_says_so(tmp_path):
    rows = [{"step": s, "entropy": 0.5 - 0.005 * s} for s in range(1, 41)]
    rep = monitor(jsonl(tmp_path / "noreward.jsonl", rows))
    data = rep.to_json()
    assert data["rule"] == "reward_edge" and data["rule_used"] is None  # was: paper
    text = " ".join(rep.reasons)
    assert text.startswith(
        "rule reward_edge was wanted and no rule could be used: the log has no reward column "
        "(reward / critic/score/mean"
    )
    assert "paper (no better than stopping at random on held-out settings)" in text
    assert data["rule_choice"] in text
    # no reward: no reward range is assumed
    assert "reward range" not in text and data["reward_range"] is None
    assert [a["what"] for a in data["assumptions"]] == [
        "group_size",
        "planned_steps",
        "logging_interval",
    ]


def test_a_fallback_says_which_rule_was_wanted_which_used_and_why(tmp_path):
    rows = [{"step": s, "reward": 0.4, "frac_reward_zero_std": 0.3} for s in range(1, 41)]
    rep = monitor(jsonl(tmp_path / "r.jsonl", rows), MonitorConfig(rule="all_fail"))
    choice = rep.to_json()["rule_choice"]
    assert choice.startswith(
        "rule all_fail was wanted, rule reward_edge was used: the log has no all_fail column"
    )
    assert choice in " ".join(rep.reasons)
