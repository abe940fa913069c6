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
    assert rep.basis.endswith(
        "no rule computable on this log (rule reward_edge wanted: its line says why none ran)"
    )
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


def test_unreadable_csv_cells_are_reported_with_column_and_steps(tmp_path):
    rows = [f"{s},{'n/a' if s in (3, 9, 14, 22) else 0.3},0.4" for s in range(1, 31)]
    path = tmp_path / "na.csv"
    path.write_text("step,reward,frac_reward_zero_std\n" + "\n".join(rows) + "\n")
    rep = monitor(path)
    issues = rep.to_json()["log_issues"]
    assert (
        "reward could not be read as a number ('n/a') at 4 of its 30 logged steps (steps 3, 9, "
        "14, 22): those steps are skipped"
    ) in issues
    assert rep.run.trace.reward[2] != rep.run.trace.reward[2]  # NaN: skipped, not 0


def test_steps_logged_twice_after_a_resume_keep_the_last_copy_and_say_so(tmp_path):
    rows = [{"step": s, "reward": 0.2, "frac_reward_zero_std": 0.4} for s in range(1, 21)]
    rows += [{"step": s, "reward": 0.6, "frac_reward_zero_std": 0.4} for s in range(10, 31)]
    rep = monitor(jsonl(tmp_path / "resumed.jsonl", rows))
    issues = rep.to_json()["log_issues"]
    assert issues == [
        "11 steps logged more than once (steps 10-20; a resumed run logs again the steps since "
        "its checkpoint): the last copy of each is kept, as the resumed run overwrote them"
    ]
    trace = rep.run.trace
    assert list(trace.steps) == list(range(1, 31))
    assert trace.reward[trace.steps == 15][0] == 0.6  # the resumed copy


def test_trls_records_of_one_step_are_merged_not_called_duplicates():
    from rankinv.verdicts.logs import merge_by_step

    issues = []
    recs = [
        {"step": 10, "epoch": 0.5, "reward": 0.3},
        {"step": 10, "epoch": 0.5, "eval_pass_at_1": 0.2},
    ]
    assert (
        merge_by_step(recs, issues)
        == [{"step": 10, "epoch": 0.5, "reward": 0.3, "eval_pass_at_1": 0.2}]
        and issues == []
    )


def test_no_evaluation_and_a_later_stops_claim_are_said_consistently(tmp_path):
    # the paper's rule: no stop at its check step 150, a stop (claiming sharpening) by the
    # log's last step 300; no held-out evaluation anywhere
    rows = [
        {"step": s, "entropy": 1.0 if s <= 150 else 1.0 - (s - 150) / 200, "reward": 0.5}
        for s in range(1, 301)
    ]
    rep = monitor(jsonl(tmp_path / "r.jsonl", rows), MonitorConfig(rule="paper"))
    assert rep.verdict == "continue" and rep.label == "undetermined"
    assert "the log has no held-out evaluation at any step and no stop here claims an " in (
        rep.action
    )
    later = next(r for r in rep.reasons if "the log goes on to step 300" in r)
    assert (
        "where it would be stop (predicted: sharpening) (the outcome rule paper's stop claims, "
        "not a held-out evaluation)"
    ) in later


def test_the_sweeps_doom_score_says_what_the_score_is(tmp_path):
    from rankinv.verdicts.sweep import judge_sweep

    paths = []
    for i, r in enumerate((0.3, 0.9)):
        rows = [{"step": s, "reward": r, "frac_reward_zero_std": 0.3} for s in range(1, 41)]
        paths.append(jsonl(tmp_path / f"r{i}.jsonl", rows))
    said = judge_sweep(paths).to_json()["doom_score"]
    assert "0.5 minus the distance of the mean reward" in said
    assert "(higher = nearer an edge)" in said and "less worth continuing" in said
    assert "toward either edge alike" in said and "below 5%" not in said


def test_the_bound_no_signal_skip_gives_its_numbers(tmp_path):
    rows = [{"step": s, "data": {"critic/score/mean": 0.3}} for s in range(1, 101)]
    rep = monitor(jsonl(tmp_path / "verl.jsonl", rows))
    text = " ".join(rep.reasons)
    assert (
        "averages 1.000 over steps 91-100, so the zero-std share is at least 0.000, below the "
        "no-signal level 0.950: the bound cannot show no signal"
    ) in text


def test_a_check_step_past_an_assumed_plan_is_refused_in_a_sentence(tmp_path):
    import pytest

    from rankinv.errors import UserError

    path = jsonl(tmp_path / "p.jsonl", [{"step": s, "entropy": 0.5} for s in range(1, 50)])
    with pytest.raises(UserError) as e:
        monitor(path, MonitorConfig(rule="informative", check_step=1000))
    assert str(e.value) == (
        "check step 1000 is after the run's end: the run plans 400 steps, assumed (the paper's; "
        "pass --planned-steps). Give a check step of at most 400, or the run's planned total "
        "with --planned-steps"
    )
