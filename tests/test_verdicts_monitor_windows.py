"""Every number a stage-2 verdict quotes comes from steps up to its check step, and the
quantities meant to agree (the zero-std share and the informative fraction) share a window."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rankinv.verdicts import mechanical
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.sweep import judge_sweep


def trl_log(tmp_path, rows: dict[int, dict], max_steps: int = 40, logging_steps: int = 1):
    history = [
        {"step": s, "entropy": 0.5, "reward": 0.4, "frac_reward_zero_std": 0.3, **v}
        for s, v in sorted(rows.items())
    ]
    state = {"log_history": history, "max_steps": max_steps, "logging_steps": logging_steps}
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(state))
    return path


def quoted_steps(reasons: list[str]) -> list[int]:
    """Every step a reason names as a window or step ("steps a-b", "step n")."""
    out = []
    for r in reasons:
        if r.startswith(("judged at the check step", "stopping now", "coverage:")):
            continue
        for a, b in re.findall(r"steps? (\d+)(?:-(\d+))?", r):
            out += [int(a)] + ([int(b)] if b else [])
    return out


def test_a_verdict_reads_no_step_after_its_check_step(tmp_path):
    # signal up to step 20, then the informative share collapses after it
    rows = {s: {"frac_reward_zero_std": 0.2 if s <= 20 else 0.9} for s in range(1, 41)}
    cfg = MonitorConfig(ref_step=2, check_step=20, group_size=8, rule="informative")
    rep = monitor(trl_log(tmp_path, rows), cfg)
    data = rep.to_json()
    assert data["window"]["check_step"] == 20 and data["judged_to_step"] == 20
    assert data["last_step"] == 40  # the log's own, said
    assert rep.informative_fraction == pytest.approx(0.8)  # not the later 0.1
    assert rep.verdict == "continue" and not rep.floor.raised
    assert max(quoted_steps(rep.reasons)) <= 20, rep.reasons
    note = next(r for r in rep.reasons if r.startswith("judged at the check step 20"))
    assert "as it would have been live" in note and "read steps up to 20 only" in note
    # the later steps only noted: judged at step 40 (informative share 0.1) it would be a watch
    assert "the log goes on to step 40, where it would be watch" in note
    assert data["later_steps"]["last_step"] == 40 and data["later_steps"]["verdict"] == "watch"


def test_demo_window_reads_no_later_step(tmp_path):
    # the demo's way: check 75 of 150 on a log of steps 0..149, falling after the check
    rows = {s: {"frac_reward_zero_std": 0.3 if s <= 75 else 0.8} for s in range(150)}
    cfg = MonitorConfig(ref_step=4, check_step=75, planned_steps=150, group_size=8)
    rep = monitor(trl_log(tmp_path, rows, max_steps=150), cfg)
    assert rep.floor.window[1] <= 75 and rep.verdict == "continue"
    assert max(quoted_steps(rep.reasons)) <= 75, rep.reasons


def test_no_signal_and_floor_quote_one_window_of_ten_steps(tmp_path):
    rows = {
        s: {"frac_reward_zero_std": 0.95 if s > 30 else 0.5, "reward": 0.0} for s in range(1, 41)
    }
    rows[33] = {"frac_reward_zero_std": 0.95, "reward": 0.0625}
    cfg = MonitorConfig(check_step=40, group_size=8)
    rep = monitor(trl_log(tmp_path, rows), cfg)
    ns = rep.no_signal
    assert ns is not None and ns.window == (31, 40) and ns.points == mechanical.NO_SIGNAL_STEPS
    assert rep.floor.window == ns.window
    assert rep.informative_fraction == pytest.approx(1 - ns.zero_std)
    text = " ".join(rep.reasons)
    # the rule's own window (the last quarter of its judged steps) is its own, and said so
    shares = " ".join(r for r in rep.reasons if "(the last quarter of the judged" not in r)
    assert "over steps 31-40" in shares and "over steps 30-40" not in shares
    assert "0.95 is above the no-signal level 0.95" not in text
    assert "is at the no-signal level 0.950" in text and "at or above" in text


def _rising(tmp_path, name, slope):
    rows = {s: {"reward": 0.1 + slope * s, "frac_reward_zero_std": 0.3} for s in range(1, 41)}
    d = tmp_path / name
    d.mkdir()
    return trl_log(d, rows)


def test_a_sweep_says_each_runs_own_verdict_at_its_own_check_step(tmp_path):
    paths = [_rising(tmp_path, f"r{i}", 0.002 * i) for i in range(4)]
    res = judge_sweep(paths, MonitorConfig(group_size=8))
    for p, run in zip(paths, res.to_json()["runs"], strict=True):
        alone = monitor(p, MonitorConfig(group_size=8))
        # the verdict "judged alone" is the run's own, on its own window, said with its step
        assert run["own_verdict"] == alone.verdict and run["alone"]["window"]["check_step"] == 20
        assert run["alone"]["reasons"] == alone.reasons
        assert "at its own check step 20" in run["why"] or run["verdict"] == alone.verdict
        # logs of steps 1-40 planning 40 are finished: the sweep is judged at the check step
        assert run["judged_at"] == res.step == 20 and res.at_check_step
        # predicted label, action and the structured assumptions are carried
        assert run["label"] == alone.label and run["alone"]["action"] == alone.action
        if run["verdict"] == "stop" and alone.verdict != "stop":  # the sweep stops it
            assert run["action"].startswith("stop: the sweep keeps its better runs")
        else:
            assert run["action"] == alone.action
        assert {a["what"] for a in run["assumptions"]} >= {"group_size", "reward_range"}


def test_sweep_cli_prints_the_predicted_line(tmp_path):
    paths = [str(_rising(tmp_path, f"r{i}", 0.002 * i)) for i in range(3)]
    out = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "monitor", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("predicted (judged alone at its check step 20):") == 3
    assert "; action: " in out.stdout


def test_no_held_out_evaluation_is_said_and_corpus_heldout_columns_are_read(tmp_path):
    rows = {s: {"reward": 0.3 + 0.001 * s} for s in range(1, 41)}
    rep = monitor(trl_log(tmp_path, rows), MonitorConfig(group_size=8))
    assert rep.label == "undetermined" and rep.coverage is None
    assert "no held-out evaluation" in rep.action and "HeldOutCoverageCallback" in rep.action
    assert "evaluate on more held-out prompts" not in rep.action
    # the corpus logs' heldout_pass_at_k / heldout_pass_at_1 (no SE): found, said, not tested
    for s, v in ((0, 0.005), (10, 0.02), (20, 0.05), (30, 0.07), (40, 0.094)):
        rows[s] = {**rows.get(s, {}), "heldout_pass_at_k": v, "heldout_pass_at_1": v / 4}
    rows = {s: {**v, "frac_reward_zero_std": 1.0, "reward": 0.0} for s, v in rows.items()}
    rep = monitor(trl_log(tmp_path, rows), MonitorConfig(group_size=8, check_step=40))
    assert rep.coverage is not None and rep.coverage.key == "heldout_pass_at_k"
    text = " ".join(rep.reasons)
    assert "0.005 at step 0 to 0.094 at step 40" in text and "cannot run" in text
    assert rep.label == "stranded" and "rose 0.005 -> 0.094" in rep.action


def test_nan_rewards_are_reported(tmp_path):
    rows = {s: {"reward": float("nan") if s % 3 == 0 else 0.3} for s in range(1, 41)}
    rep = monitor(trl_log(tmp_path, rows), MonitorConfig(group_size=8, check_step=40))
    issues = rep.to_json()["log_issues"]
    assert (
        len(issues) == 1 and "reward is NaN or infinite at 13 of its 40 logged steps" in issues[0]
    )
    assert "(steps 3, 6, 9," in issues[0]
    clean = monitor(trl_log(tmp_path, {s: {} for s in range(1, 41)}), MonitorConfig(group_size=8))
    assert clean.to_json()["log_issues"] == []
    cut = monitor(trl_log(tmp_path, rows), MonitorConfig(group_size=8, check_step=20))
    assert len(cut.to_json()["log_issues"]) == 1  # said once, also when judged short of the end


def test_a_two_step_log_says_too_few_steps_not_an_unlogged_signal(tmp_path):
    rep = monitor(trl_log(tmp_path, {0: {}, 1: {}}), MonitorConfig(group_size=8))
    assert rep.run.keys["reward"] == "reward"
    assert "too few steps to judge yet" in rep.basis
    assert "not logged" not in rep.basis and "?" not in rep.basis


def test_the_coverage_rule_reads_every_evaluation_past_the_check_step(tmp_path):
    rows = {s: {"reward": 0.0, "frac_reward_zero_std": 1.0} for s in range(1, 41)}
    for s, v in ((0, 0.005), (20, 0.01), (40, 0.094)):
        rows[s] = {**rows.get(s, {}), "heldout_pass_at_k": v}
    rep = monitor(trl_log(tmp_path, rows), MonitorConfig(group_size=8))  # check step 20
    assert rep.rule.check_step == 20 and rep.coverage.steps == [0, 20, 40]
    assert any("the coverage rule reads every held-out evaluation" in r for r in rep.reasons)


def test_a_sweeps_header_says_how_many_runs_it_keeps(tmp_path):
    """'the best 50%' of 3 runs keeps 2 (rounded up): the header says so."""
    import subprocess
    import sys

    paths = [_rising(tmp_path, f"r{i}", 0.01 * i) for i in range(3)]
    out = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "monitor", *map(str, paths), "-g", "8"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())  # the console wraps long lines
    assert "(rounded up, a tie at the boundary kept: 2 of 3)" in text


def _per_step_and_log10(tmp_path):
    """A run logged every step and the same run as TRL logs it at logging_steps = 10 (each
    value the mean of the 10 steps up to it): the informative share falls from 0.8."""
    share = {s: 0.8 - 0.008 * s for s in range(1, 101)}
    rows = {s: {"frac_reward_zero_std": 1 - v} for s, v in share.items()}
    means = {
        s: {"frac_reward_zero_std": 1 - sum(share[t] for t in range(s - 9, s + 1)) / 10}
        for s in range(10, 101, 10)
    }
    (tmp_path / "one").mkdir(), (tmp_path / "ten").mkdir()
    return (
        trl_log(tmp_path / "one", rows, max_steps=100),
        trl_log(tmp_path / "ten", means, max_steps=100, logging_steps=10),
    )


def test_one_run_logged_every_step_or_every_10_gets_one_verdict(tmp_path):
    one, ten = _per_step_and_log10(tmp_path)
    cfg = MonitorConfig(group_size=8)
    a, b = monitor(one, cfg), monitor(ten, cfg)
    assert (a.verdict, a.label) == (b.verdict, b.label) == ("watch", a.label)
    # the last fifth of the judged steps: the value at 50 covers steps 41-50 exactly
    assert a.floor.window == b.floor.window == (41, 50)
    assert b.informative_fraction == pytest.approx(a.informative_fraction)
    text = " ".join(b.reasons)
    assert "0.44 over steps 41-50 (the latest steps judged)" in text
    # the rule's last quarter (steps 38-50) is shorter than a value's 10 steps: the value at
    # 50 alone, and the steps it covers are quoted
    assert "over steps 41-50 (the last quarter of the judged" in text


CORPUS = Path(__file__).parent.parent / "figures/data/trl_corpus_v2/trl_logs"


def test_too_few_averaged_values_to_fit_a_trend_say_so():
    # the corpus run at logging_steps = 10 has 2 values by its check step 20: its share is
    # below the floor, but with no trend fitted the run logged every step's watch is not
    # reached, and the output says why
    name = "teacher-d1-easy-lr0.001-g4-s0"
    one, ten = (monitor(CORPUS / n / "trainer_state.json") for n in (name, f"{name}-log10"))
    assert one.verdict == "watch" and ten.verdict == "continue"
    text = " ".join(ten.reasons)
    assert "0.43 over steps 11-20 (the latest steps judged) is below the floor" in text
    assert "its trend is not fitted: 2 logged values over steps 1-20, a value every 10" in text


def test_a_sweep_of_logs_at_different_intervals_says_so(tmp_path):
    one, ten = _per_step_and_log10(tmp_path)
    res = judge_sweep([one, ten], MonitorConfig(group_size=8))
    note = res.to_json()["interval_note"]
    assert note.startswith("the logs hold values at different logging intervals (every step:")
    assert "every 10 steps: ten)" in note
    same = judge_sweep([_rising(tmp_path, f"r{i}", 0.002 * i) for i in range(2)])
    assert same.interval_note is None
