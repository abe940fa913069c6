"""The stage-2 monitor: the no-signal state first, then a rule; one comparison per threshold;
compute saved from the log's step; provisional verdicts; sweeps."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rankinv import theory
from rankinv.errors import UserError
from rankinv.verdicts import _calibrated, rules, stage2
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.stage2 import check_window
from rankinv.verdicts.sweep import judge_sweep
from rankinv.verdicts.words.monitor import floor_words, rule_words

PAPER = MonitorConfig(rule="paper")  # the paper's entropy-drop rule, exactly


def trl_state(rows: dict[int, dict], max_steps: int | None = 400) -> dict:
    """A trainer_state.json as TRL's GRPOTrainer writes it (log_history per logging step,
    then the train summary entry without metrics)."""
    history = []
    for step, vals in sorted(rows.items()):
        rec = {
            "clip_ratio/region_mean": 0.0,
            "completions/mean_length": 48.5,
            "entropy": 0.5,
            "epoch": step / 400,
            "frac_reward_zero_std": 0.3,
            "grad_norm": 0.21,
            "loss": 0.003,
            "reward": 0.42,
            "reward_std": 0.31,
            "step": step,
        }
        rec.update(vals)
        history.append(rec)
    history.append({"epoch": 1.0, "step": max(rows), "train_loss": 0.002, "train_runtime": 12.0})
    state = {"global_step": max(rows), "log_history": history, "logging_steps": 10}
    if max_steps is not None:
        state["max_steps"] = max_steps
    return state


def write(tmp_path, rows, name="trainer_state.json", **kw):
    path = tmp_path / name
    path.write_text(json.dumps(trl_state(rows, **kw)))
    return path


def entropy_rows(h0, h_end, steps):
    steps = list(steps)
    return {
        s: {"entropy": h0 + (h_end - h0) * (s - steps[0]) / (steps[-1] - steps[0])} for s in steps
    }


def test_collapsing_run_stops_and_saves_from_its_own_step(tmp_path):
    path = write(tmp_path, entropy_rows(0.5, 0.2, range(10, 151, 10)))
    rep = monitor(tmp_path, PAPER)  # a checkpoint directory works too
    assert rep.verdict == "stop" and rep.entropy_drop == pytest.approx(0.6)
    assert rep.compute_saved == pytest.approx(250 / 400)  # step 150 of max_steps 400
    assert rep.run.planned_src == "the log's max_steps"
    # the same run logged on to step 200: stopping now saves 200 of 400 steps, not 62.5%
    rows = entropy_rows(0.5, 0.2, range(10, 151, 10)) | {s: {"entropy": 0.2} for s in (160, 200)}
    path.write_text(json.dumps(trl_state(rows)))
    rep = monitor(path, PAPER)
    assert rep.verdict == "stop" and rep.compute_saved == pytest.approx(0.5)
    assert rep.last_step == 200 and rep.planned_steps == 400 and rep.steps_done == 200


def test_planned_steps_before_the_last_step_is_refused(tmp_path):
    rows = entropy_rows(0.5, 0.2, range(10, 151, 10)) | {200: {"entropy": 0.2}}
    path = write(tmp_path, rows, max_steps=None)
    with pytest.raises(UserError, match="planned steps 100 .* before the log's last step 200"):
        monitor(path, MonitorConfig(rule="paper", planned_steps=100))
    rep = monitor(path, MonitorConfig(rule="paper", planned_steps=1000))
    assert rep.compute_saved == pytest.approx(0.8)


def test_healthy_run_continues_and_words_say_the_drop_is_below(tmp_path):
    rows = entropy_rows(0.5, 0.37, range(10, 151, 10)) | {200: {"entropy": 0.37}}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.verdict == "continue" and rep.compute_saved == 0.0
    assert rep.entropy_drop == pytest.approx(0.26) and rep.rule.stop_side == "below"
    assert rep.rule.threshold == 0.5 and rep.decided_by == "rule"
    # golden text: the rule's sentence
    words = "mean entropy fell 26% over steps 1-150: the drop 26% is below the stop threshold 50%"
    assert words in rule_words(rep.rule, rep)


def test_log_before_the_check_step_is_provisional(tmp_path):
    path = write(tmp_path, entropy_rows(1.0, 0.3, range(10, 61, 10)))
    rep = monitor(path, PAPER)
    assert rep.provisional is True and rep.verdict == "watch"  # never stop before
    assert rep.rule.stop_side == "above" and not rep.check_reached
    assert rep.rule.check_step == 150 and rep.rule.window_src == "the paper's steps"
    full = write(tmp_path, entropy_rows(1.0, 0.3, range(10, 161, 10)))
    assert monitor(full, PAPER).provisional is False


def test_log_ending_one_step_before_the_check_step_is_judged(tmp_path):
    path = tmp_path / "sim.jsonl"  # the simulator logs steps 0..149 for 150 updates
    path.write_text(
        "\n".join(json.dumps({"step": s, "entropy": 1.0 - 0.002 * s}) for s in range(150))
    )
    rep = monitor(path, PAPER)
    assert rep.check_reached is True and rep.entropy_check[0] == 149
    assert rep.rule.check == 149 and rep.rule.check_step == 150 and not rep.provisional


def test_check_step_past_the_planned_steps_is_refused(tmp_path):
    path = write(tmp_path, entropy_rows(0.5, 0.2, range(10, 151, 10)))  # max_steps 400
    with pytest.raises(
        UserError,
        match=r"check step 1000 is after the run's end: the run plans 400 steps \(the log's "
        r"max_steps\)\. Give a check step of at most 400",
    ):
        monitor(path, MonitorConfig(rule="informative", check_step=1000))


def test_a_given_check_step_states_its_own_fraction_of_the_run(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.4, "entropy": 0.5} for s in range(10, 151, 10)}
    rep = monitor(write(tmp_path, rows), MonitorConfig(rule="informative", check_step=300))
    assert rep.rule.window_src == "check step given; the check at 0.75 of the 400 planned steps"
    assert "0.5 of the 400" not in " ".join(rep.reasons)


def test_every_window_in_the_reasons_says_which_it_is(tmp_path):
    path = tmp_path / "sim.jsonl"  # 150 steps, judged at 200 of 400: provisional
    path.write_text(
        "\n".join(json.dumps({"step": s, "frac_reward_zero_std": 0.6}) for s in range(150))
    )
    rep = monitor(path, MonitorConfig(rule="informative"))
    ref = rep.rule.ref
    text = " ".join(rep.reasons)
    assert f"over steps 114-149 (the last quarter of the judged steps {ref}-149)" in text
    assert f"the rule judged steps {ref}-149 (reference step to the last logged step)" in text
    assert "over steps 122-149 (the latest steps judged)" in text  # the last fifth
    assert f"over steps {ref}-149, a fitted line" in text


def test_a_log_counted_from_step_0_saves_the_steps_not_yet_run(tmp_path):
    path = tmp_path / "sim.jsonl"  # steps 0..149: 150 updates done
    path.write_text(
        "\n".join(json.dumps({"step": s, "entropy": 1.0 - 0.006 * s}) for s in range(150))
    )
    rep = monitor(path, MonitorConfig(rule="paper", planned_steps=150))
    assert rep.verdict == "stop" and rep.steps_done == 150
    assert rep.compute_saved == 0.0 and rep.last_step == 149
    rep = monitor(path, MonitorConfig(rule="paper", planned_steps=400))
    assert rep.compute_saved == pytest.approx(250 / 400) and rep.steps_done == 150
    # golden text: the steps done are said to count from step 0
    assert (
        "stopping now (step 149 (150 steps done, counted from step 0) of 400 planned, "
        "--planned-steps) saves 250 steps, 62.5% of the RL compute"
    ) in rep.reasons


def test_sweep_of_logs_from_step_0_counts_saved_steps_the_same_way(tmp_path):
    paths = []
    for i, slope in enumerate((0.002, -0.001)):
        path = tmp_path / f"r{i}.jsonl"
        path.write_text(
            "\n".join(
                json.dumps({"step": s, "reward": 0.2 + slope * s, "frac_reward_zero_std": 0.4})
                for s in range(100)
            )
        )
        paths.append(path)
    res = judge_sweep(paths, MonitorConfig(rule="reward_trend", planned_steps=400))
    saved = {r.log.split("/")[-1]: r.compute_saved for r in res.runs}
    assert saved == {"r0.jsonl": 0.0, "r1.jsonl": pytest.approx(300 / 400)}  # 100 steps done


def test_json_rule_score_and_threshold_are_the_printed_quantities(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.7, "entropy": 0.5} for s in range(10, 301, 10)}
    rep = monitor(write(tmp_path, rows), MonitorConfig(rule="informative"))
    assert rep.rule_score == pytest.approx(0.3)  # the informative fraction, as printed
    assert rep.doom_score == pytest.approx(0.7) and rep.rule_stops_when == "below"
    stop_level = 1 - rules.rule_threshold("informative")
    assert rep.rule_threshold == pytest.approx(stop_level)
    said = rule_words(rep.rule, rep)  # the words print the JSON's numbers
    assert f"fraction {rep.rule_score:.2f} over steps" in said
    assert f"the stop level {rep.rule_threshold:.2f}" in said


def test_informative_fraction_at_the_floor_is_at_it_and_a_zero_trend_is_flat(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.5, "entropy": 0.5} for s in range(10, 201, 10)}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.floor.comparison.side == "at" and rep.floor.fraction == pytest.approx(0.5)
    assert stage2.trend_word(rep.floor.change_per_100) == "flat" and not rep.floor.raised
    text = " ".join(floor_words(rep))  # golden text
    assert (
        "the informative-group fraction 0.50 over steps 131-150 (the latest steps judged) is at "
        "the floor 1 - f_g(p*) at g = 8 assumed (the log does not state the group size; pass "
        "--group-size): 0.50"
    ) in text
    # read up to the check step 150 only (the log's steps 160-200 come after it)
    assert "flat (0.00 over steps 11-150, a fitted line)" in text
    assert "falling" not in text and rep.verdict == "continue"


def test_comparison_tolerance_and_words():
    c = stage2.compare(0.5000001, 0.5)
    assert c.side == "at" and c.words("x", "the floor", ".2f") == "x 0.50 is at the floor 0.50"
    assert stage2.compare(0.49, 0.5).side == "below"
    assert stage2.trend_word(-0.00001) == "flat" and stage2.trend_word(-0.01) == "falling"
    assert stage2.compare(-5e-6, 0.0).words("c", "z", "+.3f") == "c 0.000 is at z 0.000"


def test_all_groups_zero_std_for_100_steps_stops_saturated_whatever_the_rule(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.5, "reward": 0.5 + s / 80} for s in range(1, 41)}
    rows |= {s: {"frac_reward_zero_std": 1.0, "reward": 1.0} for s in range(41, 201)}
    for rule in ("paper", _calibrated.DEFAULT_STAGE2_RULE):
        rep = monitor(write(tmp_path, rows), MonitorConfig(rule=rule))
        assert rep.verdict == "stop" and rep.state == "no_signal:saturated"
        assert rep.decided_by == "no_signal" and rep.no_signal.zero_std == 1.0
        assert rep.compute_saved == pytest.approx(0.5)


def test_all_fail_run_is_stranded(tmp_path):
    rows = {s: {"frac_reward_zero_std": 1.0, "reward": 0.0} for s in range(1, 60)}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.state == "no_signal:stranded" and rep.verdict == "stop"
    assert rep.provisional is False  # a fact of the log, not a prediction


def test_rule_reads_only_its_columns_and_falls_back_by_name(tmp_path):
    path = tmp_path / "reward_only.csv"
    path.write_text("step,reward\n" + "".join(f"{s},{0.1 + s / 1000}\n" for s in range(0, 200)))
    rep = monitor(path, MonitorConfig(rule="reward_gain", rule_threshold=0.0))
    assert rep.rule_used == "reward_gain" and rep.entropy_drop is None
    rep = monitor(path, MonitorConfig(rule="informative"))
    # reward only: the informative rule asked speaks on its bound from the mean reward,
    # which here decides nothing
    assert rep.rule_used is None and rep.verdict == "continue"
    assert rep.rule.status == "cannot_run" and rep.rule.rule_asked == "informative"
    assert rep.rule.bound_continues  # its bound from the mean reward decides nothing
    # the paper's rule asked: the reward-edge baseline is eligible and scored best of the
    # rules the log has columns for (reward_slope is not scale-free)
    rep = monitor(path, MonitorConfig(rule="paper"))
    assert rep.rule_used == "reward_edge" and rep.verdict == "continue"
    rows = [{"step": s, "entropy": 1.0, "min_entropy": 1 - s / 400} for s in range(200)]
    path = tmp_path / "worst_token.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = monitor(path, MonitorConfig(rule="informative"))
    # paper_min could be computed, but its held-out stops are no better than stopping at
    # random: no fallback, and said so
    assert rep.rule_used is None and rep.rule.status == "cannot_run"
    assert "paper_min (no better than stopping at random" in rep.to_json()["rule_choice"]
    with pytest.raises(UserError, match=r"lacks key\(s\) \['nosuch'\]"):
        monitor(path, MonitorConfig(reward_key="nosuch"))


def test_scale_free_reward_gain_reads_alike_on_two_reward_scales(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(
        "".join(json.dumps({"step": s, "reward": 0.05 + s / 2000}) + "\n" for s in range(200))
    )
    b.write_text("".join(json.dumps({"step": s, "reward": 5 + s / 20}) + "\n" for s in range(200)))
    ra = monitor(a, MonitorConfig(rule="reward_gain"))
    rb = monitor(b, MonitorConfig(rule="reward_gain", reward_range=(0.0, 100.0)))
    assert ra.rule_score == pytest.approx(rb.rule_score)
    assert ra.verdict == rb.verdict


def test_signal_panel_holds_the_series_the_rule_read_and_its_threshold(tmp_path):
    rows = {s: {"reward": 0.1 + s / 1000, "entropy": 0.5} for s in range(1, 201)}
    rep = monitor(write(tmp_path, rows), MonitorConfig(rule="reward_gain"))
    sig = rep.to_json()["signal"]
    assert sig["name"] == "reward" and sig["key"] == "reward"
    assert sig["values"][0] == pytest.approx(0.101)
    # judged where the rule was calibrated: its fraction of the 400 planned steps (max_steps)
    frac = _calibrated.STAGE2_CALIBRATION["reward_gain"]["check_fraction"]
    assert sig["threshold_line"]["steps"] == list(check_window(400, frac))
    assert rep.rule.window_src.startswith(f"{frac:g} of the 400 planned steps")
    paper = monitor(write(tmp_path, rows), PAPER).to_json()["signal"]
    assert paper["name"] == "entropy" and paper["threshold_line"]["values"][0] == pytest.approx(
        0.25
    )


def test_sweep_stops_the_worse_half_and_runs_without_signal(tmp_path):
    paths = []
    for i, slope in enumerate((0.002, 0.001, 0.0, -0.001)):
        rows = {s: {"reward": 0.2 + slope * s, "frac_reward_zero_std": 0.4} for s in range(1, 101)}
        paths.append(write(tmp_path, rows, name=f"r{i}.json"))
    dead = {s: {"reward": 0.0, "frac_reward_zero_std": 1.0} for s in range(1, 121)}
    paths.append(write(tmp_path, dead, name="dead.json"))
    # a rule whose score has an SE (a fitted line): the gaps are tested, not watched untested
    res = judge_sweep(paths, MonitorConfig(rule="reward_trend"))
    assert res.step == 100 and res.rule == "reward_trend"
    verdicts = {r.log.split("/")[-1]: r.verdict for r in res.runs}
    assert verdicts == {
        "r0.json": "continue",
        "r1.json": "continue",
        "r2.json": "stop",
        "r3.json": "stop",
        "dead.json": "stop",
    }
    with pytest.raises(UserError, match="at least two logs"):
        judge_sweep(paths[:1])


def test_bad_monitor_config():
    with pytest.raises(
        UserError, match="check step must be an integer after the reference step 100"
    ):
        MonitorConfig(ref_step=100, check_step=50)
    # no reference step given: no internal 0 is quoted (a fresh-clone try)
    with pytest.raises(UserError, match="check step must be a positive integer, got 0"):
        MonitorConfig(check_step=0)
    with pytest.raises(UserError, match="threshold"):
        MonitorConfig(threshold=2.0)
    with pytest.raises(UserError, match="rule must be one of"):
        MonitorConfig(rule="nosuch")
    with pytest.raises(UserError, match="reward_range"):
        MonitorConfig(reward_range=(1.0, 0.0))


# ---------------------------------------------------------------- real TRL logs
# tests/data/trl: genuine GRPOTrainer runs (beta = 0, g = 4), made by scripts/trl_test_logs.py
REAL = Path(__file__).parent / "data" / "trl"


def test_real_trl_run_zero_std_for_over_100_steps_stops_saturated():
    path = REAL / "saturated" / "trainer_state.json"
    hist = [r for r in json.loads(path.read_text())["log_history"] if "frac_reward_zero_std" in r]
    tail = []  # the steps at the end of the run where every group had zero reward variance
    for r in reversed(hist):
        if r["frac_reward_zero_std"] != 1.0:
            break
        tail.append(r["step"])
    assert tail[0] - tail[-1] > 100
    rep = monitor(path, MonitorConfig(group_size=4))
    assert rep.verdict == "stop" and rep.state == "no_signal:saturated"


def test_real_trl_stalled_run_stops():
    rep = monitor(REAL / "stalled" / "trainer_state.json", MonitorConfig(group_size=4))
    assert rep.verdict == "stop" and rep.state.startswith("no_signal")
    rewards = rep.to_json()["series"]["reward"]
    assert 0.3 < sum(rewards) / len(rewards) < 0.7  # flat in the middle: neither solved nor failed


def test_real_trl_run_rising_with_signal_continues():
    rep = monitor(REAL / "rising" / "trainer_state.json", MonitorConfig(group_size=4))
    assert rep.verdict == "continue" and rep.state == "signal"
    r = [v for v in rep.to_json()["series"]["reward"] if v is not None]
    assert r[-1] > r[0] + 0.2 and rep.informative_fraction > 0.5


# ---------------------------------------------------------------- issue 38: assumptions named
def test_group_size_is_named_as_assumed_or_read_from_the_log(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.5} for s in range(1, 101)}
    rep = monitor(write(tmp_path, rows))
    assert rep.group_size == 8 and rep.assumptions[0].source == "assumed"
    assert any("g = 8 assumed" in r for r in rep.reasons)
    rows = {s: {"frac_reward_zero_std": 0.5, "num_generations": 4} for s in range(1, 101)}
    rep = monitor(write(tmp_path, rows))
    assert rep.group_size == 4 and rep.assumptions[0].source == "log"
    assert not any("g = 4 assumed" in r or "g = 8" in r for r in rep.reasons)
    assert rep.informative_floor == pytest.approx(
        theory.informative_probability(theory.p_star(4), 4)
    )


def test_rewards_on_a_0_10_scale_are_warned_and_judged_on_that_range(tmp_path):
    # a half-solved run on a 0-10 reward: every group all-pass or all-fail, reward 5
    rows = {s: {"frac_reward_zero_std": 1.0, "reward": 5.0} for s in range(1, 101)}
    rep = monitor(write(tmp_path, rows))
    assert rep.state == "no_signal:mixed"  # not "saturated" (5 > 1 on [0, 1])
    assert rep.reward_range == (0.0, 10.0)
    assert any("outside the assumed range [0, 1]: judged on [0, 10]" in r for r in rep.reasons)
    assert rep.no_signal.reward == 5.0 and rep.no_signal.reward_range == (0.0, 10.0)
    rows = {s: {"frac_reward_zero_std": 0.4, "reward": 1 + 2 * s / 200} for s in range(1, 201)}
    rep = monitor(write(tmp_path, rows), MonitorConfig(rule="reward_gain"))
    # a rise over the window as a share of the headroom to 10: about +21% (on [0, 1]: +3800%)
    assert rep.rule_score == pytest.approx(0.21, abs=0.005)
    given = monitor(write(tmp_path, rows), MonitorConfig(reward_range=(0.0, 2.0)))
    assert any("outside the given range [0, 2]: kept as given" in r for r in given.reasons)


def test_a_finished_run_without_max_steps_claims_no_saved_steps(tmp_path):
    path = tmp_path / "run.jsonl"
    rows = [{"step": s, "frac_reward_zero_std": 1.0, "reward": 0.0} for s in range(1, 41)]
    rows.append({"step": 40, "train_runtime": 12.0, "train_loss": 0.0})  # TRL's summary
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = monitor(path)
    assert rep.verdict == "stop" and rep.planned_steps == 40
    assert rep.compute_saved == 0.0 and "saves 360" not in " ".join(rep.reasons)
    assert "the run finished at step 40: stopping saves nothing now" in rep.reasons
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))  # still running
    rep = monitor(path)
    assert rep.planned_steps == 400 and rep.assumptions[2].source == "assumed"
    assert rep.compute_saved == pytest.approx(360 / 400)


def test_a_finished_tensorboard_run_without_max_steps_claims_no_saved_steps(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(log_dir=str(tmp_path / "runs"))
    for s in range(1, 41):
        w.add_scalar("train/frac_reward_zero_std", 1.0, s)
        w.add_scalar("train/reward", 0.0, s)
    w.add_scalar("train/train_runtime", 12.0, 40)  # TRL's end-of-training summary
    w.close()
    rep = monitor(tmp_path / "runs")
    assert rep.verdict == "stop" and rep.compute_saved == 0.0


def _windows(reasons):
    return [(int(a), int(b)) for r in reasons for a, b in re.findall(r"steps (\d+)-(\d+)", r)]


def test_a_two_step_log_quotes_no_backwards_window(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.5, "entropy": 0.5} for s in (1, 2)}
    rep = monitor(write(tmp_path, rows))
    assert all(a <= b for a, b in _windows(rep.reasons))
    assert "judged steps 10-2" not in " ".join(rep.reasons)
    assert rep.rule.status == "too_early" and rep.rule.judged_col is None and rep.provisional


def test_logging_every_10_steps_quotes_the_steps_its_values_cover(tmp_path):
    rows = {s: {"frac_reward_zero_std": 0.7, "entropy": 0.5} for s in range(10, 71, 10)}
    rep = monitor(write(tmp_path, rows))  # logging_steps 10, judged from step 10 of 400
    logged = set(range(10, 71, 10))  # each TRL's mean over the 10 steps up to it
    wins = _windows(rep.reasons)
    assert wins and all(a - 1 + 10 in logged and b in logged for a, b in wins), wins
    assert rep.assumptions[3].value == {"steps": 10, "averaged": True}


def test_averaged_values_stand_for_the_centre_of_their_steps():
    # a linear reward logged every 10 steps as TRL's means: 0.01 * s averaged over s-9..s
    steps = np.arange(10, 201, 10)
    reward = 0.01 * (steps - 4.5)
    tr = stage2.Trace(steps=steps, reward=reward, interval=10, averaged=True)
    change, _, start = stage2.linear_fit(tr, tr.reward, 10, 200)
    assert start == pytest.approx(0.10) and change == pytest.approx(1.90)  # reward at step 10


def test_the_paper_rules_watch_says_why(tmp_path):
    rows = entropy_rows(0.5, 0.315, range(10, 161, 10))  # a 37% drop
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.verdict == "watch" and rep.decided_by == "rule"
    assert rep.rule.stop_side == "below" and rep.rule.watch_side == "above"
    assert rep.rule.watch_threshold == pytest.approx(0.3)
    assert (  # golden text: why a watch
        "is below the stop threshold 50%; it is above the watch level 30% (0.6 of the stop "
        "threshold), hence watch" in rule_words(rep.rule, rep)
    )


def test_a_sweep_prints_each_runs_reasons_and_explains_the_doom_score(tmp_path, printed):
    from rankinv.render.monitor import print_sweep

    paths = []
    for i, slope in enumerate((0.002, -0.001)):
        rows = {s: {"reward": 0.2 + slope * s, "frac_reward_zero_std": 0.4} for s in range(1, 101)}
        paths.append(write(tmp_path, rows, name=f"r{i}.json"))
    res = judge_sweep(paths, MonitorConfig(rule="reward_trend"))
    out = " ".join(printed(print_sweep, res).split())
    assert "the doom score is rule reward_trend's score" in out
    assert "higher means less worth continuing" in out
    for r in res.runs:
        assert all(" ".join(line.split()) in out for line in r.result.reasons)
    stopped = next(r for r in res.runs if r.verdict == "stop")
    assert (stopped.rank, stopped.n_ranked) == (2, 2) and stopped.compute_saved > 0
    why = next(j["why"] for j in res.to_json()["runs"] if j["verdict"] == "stop")
    assert why.startswith(  # golden text
        f"doom score {stopped.score:+.3f} over steps 55-100, rank 2 of 2 (1 = least doomed): "
        "outside the best "
        "50% of the sweep"
    )
    assert " ".join(why.split()) in out
    assert ("its own verdict would be" in why) == (stopped.own_verdict != "stop")


# ---------------------------------------------------------------- issue 37: decide, then explain
def test_decide_returns_a_typed_result_and_the_json_keeps_the_public_fields(tmp_path):
    import dataclasses

    from rankinv.verdicts import monitor as mon
    from rankinv.verdicts import monitor_run
    from rankinv.verdicts.logs import read_log
    from rankinv.verdicts.monitor_decision import MonitorDecision

    path = write(tmp_path, entropy_rows(0.5, 0.2, range(10, 151, 10)))
    res = mon.decide(monitor_run.read(read_log(path), PAPER), PAPER)
    assert isinstance(res, MonitorDecision) and dataclasses.is_dataclass(res)
    # the decision holds no reason: its only str fields are the verdict, label and action
    # (what to do), the state and what decided; the reasons are phrased from the numbers
    words = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    assert {k for k, v in words.items() if isinstance(v, str)} == {
        "verdict", "label", "action", "state", "decided_by",
    }  # fmt: skip
    assert (res.verdict, res.decided_by, res.rule.status) == ("stop", "rule", "judged")
    assert res.rule.score == pytest.approx(0.6) and res.rule.threshold == 0.5
    j = res.to_json()
    assert {
        "verdict", "label", "action", "reasons", "rule_used", "entropy_signal", "entropy_drop",
        "informative_fraction", "compute_saved", "best_coverage_step",
    } <= set(j)  # fmt: skip
    assert j["reasons"] == res.reasons and j["verdict"] == res.verdict
    assert j["entropy_drop"] == res.entropy_drop and j["rule_score"] == res.rule_score
    # monitor() is decide() on the read log, with g (assumed here) checked at its usual range
    judged = monitor(path, PAPER)
    assert judged.group_size_check is not None and res.group_size_check is None
    unchecked = dataclasses.replace(judged, group_size_check=None)
    assert json.loads(json.dumps(j)) == json.loads(json.dumps(unchecked.to_json()))


def test_the_no_signal_words_say_every_sample_only_at_the_edge(tmp_path):
    """issue 38: "stranded: every sample fails" was printed for a mean reward of 0.017."""
    rows = {s: {"frac_reward_zero_std": 1.0, "reward": 0.017} for s in range(1, 60)}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.state == "no_signal:stranded" and not rep.no_signal.at_edge
    text = " ".join(rep.reasons)
    assert "almost every sample fails: mean reward 0.017" in text
    assert "every sample fails" not in text.replace("almost every sample fails", "")
    rows = {s: {"frac_reward_zero_std": 1.0, "reward": 0.0} for s in range(1, 60)}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.no_signal.at_edge
    assert "groups fail whole: the reward is at its minimum, every sample fails" in " ".join(
        rep.reasons
    )
    rows = {s: {"frac_reward_zero_std": 1.0, "reward": 0.97} for s in range(1, 60)}
    rep = monitor(write(tmp_path, rows), PAPER)
    assert rep.state == "no_signal:saturated" and not rep.no_signal.at_edge
    text = " ".join(rep.reasons)
    assert "almost every sample passes: mean reward 0.970" in text
    assert "the training prompts are solved" not in text
