"""A fourth fresh-clone try of `rankinv monitor`: what the JSON holds is also in the words
(an entropy that rose), and two JSON numbers that looked alike say what each counts."""

import json
import re

from rankinv.verdicts.monitor import MonitorConfig, monitor


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rising(tmp_path):
    rows = [{"step": 0, "heldout_pass_at_k": 0.5}]
    rows += [
        {"step": s, "reward": 0.5, "frac_reward_zero_std": 0.2, "entropy": 0.2 + 0.02 * s}
        for s in range(1, 41)
    ]
    return monitor(jsonl(tmp_path / "r.jsonl", rows))


def test_an_entropy_that_rose_is_said_in_words_with_the_json_number(tmp_path):
    rep = _rising(tmp_path)
    js = rep.to_json()
    assert js["rule_used"] not in ("paper", "paper_min") and js["entropy_drop"] < 0
    line = [r for r in rep.reasons if "mean token entropy (entropy), which did not decide" in r]
    assert len(line) == 1, rep.reasons
    got = re.search(r"it rose (\d+)%", line[0])
    assert got and int(got.group(1)) == round(-100 * js["entropy_drop"])
    ref, chk = js["entropy_ref"], js["entropy_check"]
    assert f"at step {ref['step']} to {chk['value']:.3g} at step {chk['step']}" in line[0]


def test_the_paper_rule_says_its_own_drop_once(tmp_path):
    rows = [{"step": s, "reward": 0.5, "entropy": 1.0 - 0.02 * s} for s in range(1, 201)]
    rep = monitor(jsonl(tmp_path / "p.jsonl", rows), MonitorConfig(rule="paper"))
    assert not [r for r in rep.reasons if "which did not decide" in r]


def test_steps_logged_and_steps_done_say_what_each_counts(tmp_path):
    js = _rising(tmp_path).to_json()
    assert "steps_seen" not in js
    assert js["steps_logged"] == 41 and js["steps_done"] == 40  # step 0: evaluation only


def test_the_configs_threshold_is_named_the_paper_rules(tmp_path):
    js = _rising(tmp_path).to_json()
    assert "threshold" not in js["config"] and js["config"]["paper_threshold"] == 0.5
    assert js["rule_threshold"] != js["config"]["paper_threshold"]


def _noisy(pct: float, zero_scale: float = 1.0):
    rows = []
    for s in range(1, 41):
        zero = 0.3 + 0.15 * ((s * 7) % 5) / 4
        rows.append({"step": s, "reward": 0.4 + 0.01 * (s % 3), "entropy": 0.5,
                     "frac_reward_zero_std": zero * zero_scale,
                     "frac_all_fail": pct * zero})  # fmt: skip
    return rows


def test_a_zero_std_share_logged_in_percent_is_read_as_percent_and_said(tmp_path):
    share = monitor(jsonl(tmp_path / "s.jsonl", _noisy(1.0)))
    pct = monitor(jsonl(tmp_path / "p.jsonl", _noisy(100.0, 100.0)))
    assert pct.verdict == share.verdict == "continue" and pct.state == share.state
    assert pct.to_json()["informative_fraction"] == share.to_json()["informative_fraction"]
    issues = pct.to_json()["log_issues"]
    assert any(i.startswith("frac_reward_zero_std holds values up to 45") for i in issues)
    assert any(i.startswith("frac_all_fail holds values up to 45") for i in issues)
    assert not share.to_json()["log_issues"]


def test_a_share_outside_0_to_100_is_refused_in_one_line(tmp_path):
    import pytest

    from rankinv.errors import UserError

    with pytest.raises(UserError, match="'frac_reward_zero_std' is a share of groups but holds"):
        monitor(jsonl(tmp_path / "b.jsonl", _noisy(1.0, 300.0)))


def test_stalled_says_what_its_claim_rests_on():
    from rankinv.verdicts.monitor_label import label

    name, action = label("stop", "no_signal:mixed", True, None)
    assert name == "stalled" and action.endswith("(no gradient: the policy cannot change)")
    name, action = label("stop", "signal", True, None, claim=None)
    assert name == "stalled"
    assert action.endswith("(predicted: the log has no held-out evaluation to check it)")


def test_an_unchanged_entropy_is_said_unchanged_not_risen_0_percent():
    from pathlib import Path

    rep = monitor(Path(__file__).parent / "data" / "trl" / "stalled" / "trainer_state.json")
    line = [r for r in rep.reasons if "which did not decide" in r]
    assert "did not change (within 0.5%)" in line[0] and "rose 0%" not in line[0]


def test_a_check_step_after_the_runs_end_is_said_never_reached(tmp_path):
    rows = [{"step": s, "reward": 0.5, "frac_reward_zero_std": 0.2, "entropy": 0.5}
            for s in range(1, 41)]  # fmt: skip
    rep = monitor(jsonl(tmp_path / "e.jsonl", rows), MonitorConfig(rule="paper", planned_steps=40))
    assert rep.provisional
    line = [r for r in rep.reasons if r.startswith("provisional")][0]
    assert "that check step is after the run's end (40 planned steps" in line
    assert "--check-step N with N <= 40" in line


def test_a_held_out_pass_at_k_without_k_says_k_is_not_stated(tmp_path):
    rows = [{"step": 0, "heldout_pass_at_k": 0.5}]
    rows += [{"step": s, "reward": 0.5, "frac_reward_zero_std": 0.2} for s in range(1, 41)]
    rows += [{"step": 40, "heldout_pass_at_k": 0.6}]
    rep = monitor(jsonl(tmp_path / "k.jsonl", rows))
    cov = [r for r in rep.reasons if r.startswith("coverage:")][0]
    assert "held-out pass@k (heldout_pass_at_k: k not stated in the log)" in cov


def test_a_logging_interval_read_off_the_steps_says_so(tmp_path):
    hist = [{"step": s, "reward": 0.5, "frac_reward_zero_std": 0.2} for s in range(10, 81, 10)]
    d = tmp_path / "run"
    d.mkdir()
    (d / "trainer_state.json").write_text(json.dumps({"log_history": hist, "max_steps": 80}))
    iv = monitor(d).assumptions[3]
    assert iv.value == {"steps": 10, "averaged": True}
    assert "(the logged steps' spacing)" in iv.words and "logging_steps = 10" not in iv.words
    state = json.loads((d / "trainer_state.json").read_text()) | {"logging_steps": 10}
    (d / "trainer_state.json").write_text(json.dumps(state))
    assert "(logging_steps = 10)" in monitor(d).assumptions[3].words


def test_a_log_with_nothing_a_verdict_reads_is_refused(tmp_path):
    import pytest

    from rankinv.errors import UserError

    with pytest.raises(UserError, match="the log has no column a verdict reads"):
        monitor(jsonl(tmp_path / "n.jsonl", [{"step": 1, "loss": 0.3}, {"step": 2, "loss": 0.2}]))
