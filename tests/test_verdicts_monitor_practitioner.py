"""What a practitioner hits with `rankinv monitor` (issue 38): the reward-edge rule's reason in
one readable sentence, an assumed group size checked at the usual range of g, no TRL callback
recommended on a simulated run, and a finished log said to be judged at its check step."""

import json

import pytest

from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.words.monitor import rule_words


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def flat_run(tmp_path, reward, zero_std, name="run.jsonl", steps=range(1, 101)):
    rows = [{"step": s, "reward": reward, "frac_reward_zero_std": zero_std} for s in steps]
    return jsonl(tmp_path / name, rows)


# ---------------------------------------------------------------- item 2: the reward edge
@pytest.mark.parametrize(
    "reward,golden",
    [
        (
            0.312,
            "rule reward_edge: the mean reward was not at an edge of its range: over steps 76-100 "
            "(the last quarter of the judged steps 5-100) it averaged 0.312, 31.2% of its range "
            "from its minimum 0, farther than the stop distance 5.0% (the rule's score, 0.5 minus "
            "that distance, is 0.188: below its stop level 0.450; a free baseline: watching the "
            "reward); continue (",
        ),
        (
            0.97,
            "rule reward_edge: the mean reward sat at an edge of its range: over steps 76-100 "
            "(the last quarter of the judged steps 5-100) it averaged 0.970, 3.0% of its range "
            "from its maximum 1, within the stop distance 5.0% (the rule's score, 0.5 minus that "
            "distance, is 0.470: above its stop level 0.450; a free baseline: watching the "
            "reward); stop (",
        ),
    ],
)
def test_the_reward_edge_reason_says_what_was_measured_where_and_against_what(
    tmp_path, reward, golden
):
    """issue 38: '0.5 - that share 0.188 is below the stop level 0.450' read as a formula;
    the same numbers now in one sentence (golden text)."""
    cfg = MonitorConfig(rule="reward_edge", group_size=8, planned_steps=200)
    rep = monitor(flat_run(tmp_path, reward, 0.3), cfg)
    said = rule_words(rep.rule, rep)
    assert said.startswith(golden), said
    assert "0.5 - that share" not in said
    # the numbers are the JSON's: the rule's score and stop level
    data = rep.to_json()
    assert f"is {data['rule_score']:.3f}: " in said
    assert f"stop level {data['rule_threshold']:.3f}" in said


# ---------------------------------------------------------------- item 1: an assumed g checked
def verl_run(tmp_path, reward, name="verl.jsonl"):
    """A verl log (no zero-std share, no group size): the informative share is bounded by
    g x min(reward, 1 - reward), so g decides what the bound says."""
    rows = [
        {"step": s, "data": {"critic/score/mean": reward, "actor/entropy": 0.5}}
        for s in range(1, 101)
    ]
    return jsonl(tmp_path / name, rows)


def test_an_assumed_g_is_checked_at_4_and_16_and_said_to_hold(tmp_path, monkeypatch):
    """issue 38: on TRL logs g is assumed; the verdict is re-made at g = 4 and 16 (through
    monitor.decide, not a copy of it) and the output says whether it holds."""
    from rankinv.verdicts import monitor as mon

    calls = []
    real = mon.decide
    monkeypatch.setattr(
        mon, "decide", lambda run, cfg: calls.append(cfg.group_size) or real(run, cfg)
    )
    rep = monitor(flat_run(tmp_path, 0.312, 0.3), MonitorConfig(planned_steps=200))
    assert calls == [None, 4, 16]
    g = rep.to_json()["assumptions"][0]
    assert g["what"] == "group_size" and g["source"] == "assumed" and g["value"] == 8
    assert g["checked_at"] == [4, 16] and g["holds_for_range"] is True
    assert g["verdict_at"] == {"4": rep.verdict, "16": rep.verdict}
    assert g["label_at"] == {"4": rep.label, "16": rep.label}
    i = next(i for i, r in enumerate(rep.reasons) if r.startswith("rests on: g = 8 assumed"))
    assert rep.reasons[i + 1] == (
        "the verdict does not depend on the assumed g = 8: re-judged at g = 4 and g = 16 "
        f"(GRPO's usual range) it is the same, {rep.verdict} (predicted: {rep.label})"
    )


def test_a_verdict_that_changes_with_g_says_at_which_g_and_names_group_size(tmp_path):
    # the informative rule on its bound g x 0.03: 0.12 at g = 4, 0.24 at 8, 0.48 at 16
    cfg = MonitorConfig(rule="informative", planned_steps=200)
    rep = monitor(verl_run(tmp_path, 0.03), cfg)
    g = rep.to_json()["assumptions"][0]
    assert g["holds_for_range"] is False
    assert g["verdict_at"] == {"4": "watch", "16": "continue"} and rep.verdict == "watch"
    line = next(r for r in rep.reasons if "depends on the assumed g" in r)
    assert line == (
        "the verdict depends on the assumed g = 8: at g = 8 it is watch (predicted: "
        "undetermined); at g = 4 the same as at g = 8; at g = 16 it would be continue (predicted: "
        "undetermined); --group-size (the run's g) settles it"
    )
    # given, g is not assumed: nothing to check
    given = monitor(verl_run(tmp_path, 0.03), MonitorConfig(rule="informative", group_size=16))
    assert given.group_size_check is None and given.verdict == "continue"
    assert "verdict_at" not in given.to_json()["assumptions"][0]
    assert not any("assumed g" in r for r in given.reasons)


def test_a_sweep_checks_its_verdict_on_each_run_whose_g_is_assumed(tmp_path):
    from rankinv.verdicts.sweep import judge_sweep

    paths = [verl_run(tmp_path, r, f"r{r}.jsonl") for r in (0.03, 0.01)]
    res = judge_sweep(paths, MonitorConfig(rule="informative", planned_steps=200))
    runs = res.to_json()["runs"]
    assert [r["verdict"] for r in runs] == ["continue", "stop"]
    # at g = 4 the 0.01 run has no signal (its zero-std share is at least 1 - 4 x 0.01) and
    # stops, and the 0.03 run is the one ranked; at g = 16 the 0.01 run's bound 0.16 is the
    # only score (0.48 decides nothing), so it is the best ranked and continues
    assert [r["assumptions"][0]["verdict_at"] for r in runs] == [
        {"4": "continue", "16": "continue"},
        {"4": "stop", "16": "continue"},
    ]
    assert [r["assumptions"][0]["holds_for_range"] for r in runs] == [True, False]
    assert runs[1]["group_size_note"] == (
        "the sweep's verdict on it depends on the assumed g = 8: at g = 8 it is stop; at g = 4 "
        "the same as at g = 8; at g = 16 it would be continue; --group-size (the run's g) "
        "settles it"
    )
    # each run judged alone carries its own check
    assert any("assumed g = 8" in r for r in runs[0]["alone"]["reasons"])


# ---------------------------------------------------------------- item 3: simulated runs
def test_a_log_rankinv_simulate_wrote_names_the_simulations_summary_not_a_trl_callback(tmp_path):
    from rankinv.records import SIMULATED_COLUMN

    rows = [
        {"step": s, "reward": 0.4, "frac_reward_zero_std": 0.3, "group_size": 8, "max_steps": 150}
        for s in range(150)
    ]
    trl_like = monitor(jsonl(tmp_path / "trainer.jsonl", rows), MonitorConfig())
    assert "HeldOutCoverageCallback" in trl_like.action  # a trainer's log: the callback
    sim = monitor(
        jsonl(tmp_path / "sim.jsonl", [r | {SIMULATED_COLUMN: 1} for r in rows]), MonitorConfig()
    )
    assert sim.run.log.trainer == "simulator" and sim.to_json()["trainer"] == "simulator"
    assert (sim.verdict, sim.label) == (trl_like.verdict, trl_like.label)  # the same decision
    assert "HeldOutCoverageCallback" not in " ".join([sim.action, *sim.reasons])
    assert sim.action.endswith(
        "the simulation already gives each run's pass@k after RL (simulate.json beside its "
        "logs/ folder, under post)"
    )


def test_the_simulator_marks_its_logs(tmp_path):
    """rankinv simulate's logs carry the column that tells them from a trainer's."""
    pytest.importorskip("jax")
    from rankinv.records import SIMULATED_COLUMN
    from rankinv.simulate import SimConfig, run_sweep
    from rankinv.verdicts import logs

    cfg = SimConfig(n_prompts=8, rl_steps=10, eval_every=5, sft_depths=(1.0, 2.0), seeds=2)
    run_sweep(cfg, out=tmp_path, p_star_groups=2_000)
    log = logs.read_log(next((tmp_path / "logs").glob("*.jsonl")))
    assert all(r[SIMULATED_COLUMN] == 1 for r in log.records) and log.trainer == "simulator"


# ---------------------------------------------------------------- item 4: a finished log
def finished_trl_log(tmp_path, reward_at, zero_std=0.5):
    """A finished TRL run of 150 steps logged every 10 (its check step 75 falls between two
    logged steps), with its end-of-training summary."""
    history = [
        {"step": s, "reward": reward_at(s), "frac_reward_zero_std": zero_std, "entropy": 0.4}
        for s in range(10, 151, 10)
    ] + [{"step": 150, "train_runtime": 100.0}]
    state = {"log_history": history, "max_steps": 150, "logging_steps": 10}
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(state))
    return path


def test_a_finished_log_is_judged_at_its_check_step_as_live_and_the_rest_only_noted(tmp_path):
    """issue 38: a finished log is judged at its check step (0.5 of the planned steps) as it
    would have been live, said once, with what its later steps show and --check-step."""
    path = finished_trl_log(tmp_path, lambda s: 0.97 if s <= 80 else 0.5)
    rep = monitor(path, MonitorConfig(group_size=8))
    # live, the first log past step 75 (step 80) saw the check step reached: no provisional
    # watch because the log has no step 75 itself
    assert rep.check_reached and not rep.provisional
    assert (rep.verdict, rep.decided_by, rep.label) == ("stop", "rule", "saturated")
    notes = [r for r in rep.reasons if "as it would have been live" in r]
    assert notes == [
        "judged at the check step 75 (0.5 of the 150 planned steps, where rule reward_edge "
        "was calibrated), as it would have been live: the rule, the informative floor and the "
        "no-signal check read steps up to 70 only; the log goes on to step 150, where it would "
        "be continue (predicted: undetermined) and the mean reward has moved from 0.970 to "
        "0.500 (each over the last quarter of the steps judged, to step 70 and to step 150); "
        "--check-step N judges at step N instead"
    ]
    later = rep.to_json()["later_steps"]
    assert later == {
        "last_step": 150, "verdict": "continue", "label": "undetermined",
        "reward_at_check": pytest.approx(0.97), "reward_at_last": pytest.approx(0.5),
    }  # fmt: skip
    # the later steps change nothing the verdict quotes; --check-step judges there
    there = monitor(path, MonitorConfig(group_size=8, check_step=150))
    assert there.verdict == later["verdict"] and there.later is None


def test_a_stop_judged_short_of_a_finished_log_says_what_it_would_have_saved(tmp_path):
    """A finished log's stop said only 'stopping now (step 150 of 150) saves 0 steps'; judged
    at its check step as live, it also says what the stop would have saved then."""
    path = finished_trl_log(tmp_path, lambda s: 0.97)
    rep = monitor(path, MonitorConfig(group_size=8))
    assert rep.verdict == "stop" and rep.run.last == 70 and rep.run.now.last == 150
    js = rep.to_json()
    assert js["compute_saved"] == 0.0
    assert js["compute_saved_at_check"] == pytest.approx(80 / 150)
    text = "\n".join(rep.reasons)
    assert (
        "judged live at step 70, as here, the stop would have saved 80 of the 150 planned "
        "steps, 53.3% of the RL compute"
    ) in text


def test_a_sweep_of_finished_logs_is_judged_at_the_runs_check_step_as_live(tmp_path):
    """issue 38: a sweep of finished logs was judged at their common last step, where a stop
    saves nothing, while each run alone was judged at its check step as live."""
    from rankinv.verdicts.sweep import judge_sweep

    paths = []
    # run2 has no signal (every group all-pass or all-fail): a stop whatever its rank (a
    # relative stop needs a gap the sweep can test, and one value per window gives no SE)
    for i, (level, zero_std) in enumerate(((0.2, 0.5), (0.5, 0.5), (0.8, 1.0))):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        paths.append(finished_trl_log(folder, lambda s, v=level: v, zero_std))
    res = judge_sweep(paths, MonitorConfig(group_size=8))
    assert res.at_check_step and res.step == 75 and res.to_json()["at_check_step"] is True
    stopped = [r for r in res.runs if r.verdict == "stop"]
    # what the stop would have saved live at step 75; stopping now (step 150) saves nothing
    assert stopped and all(r.compute_saved_at_check == pytest.approx(80 / 150) for r in stopped)
    assert all(r.compute_saved == 0.0 for r in stopped)
    late = judge_sweep(paths, MonitorConfig(group_size=8, check_step=150))
    assert not late.at_check_step and late.step == 150
    live = tmp_path / "live"
    live.mkdir()
    state = json.loads(paths[0].read_text())
    # live: no summary and short of its 150 planned steps (a log at step 150 of 150 without
    # the summary is finished: its steps done reach the plan)
    state["log_history"] = [
        h for h in state["log_history"] if "train_runtime" not in h and h["step"] <= 140
    ]
    (live / "trainer_state.json").write_text(json.dumps(state))
    unfinished = judge_sweep([live / "trainer_state.json", *paths[1:]], MonitorConfig(group_size=8))
    assert not unfinished.at_check_step and unfinished.step == 140
