"""A sweep's compute saved and coverage mean what they mean in a single run: "now" is each
log's own last step, the stop at the sweep's step is what it would have saved then, and the
coverage rule reads every held-out evaluation (a new user's try of finished corpus logs)."""

import json
from pathlib import Path

import pytest

from rankinv.verdicts.monitor import monitor
from rankinv.verdicts.sweep import judge_sweep

CORPUS = Path(__file__).parent.parent / "figures/data/trl_corpus_v2/trl_logs"
STRANDED = "teacher-d4-hard-lr0.001-g8-s1"
SWEEP = [STRANDED, "base-d0-easy-lr0.0001-g4-s1", "base-d0-easy-lr0.0001-g4-s2"]


def _paths(names):
    return [CORPUS / n / "trainer_state.json" for n in names]


def test_a_sweep_of_finished_logs_says_now_as_a_single_run_does():
    # the stranded run's sweep line said "stopping now (step 20 of 40 planned) saves 20
    # steps", compute_saved 0.5, where alone it said step 40 saves 0 (and 50% judged live)
    alone = monitor(_paths([STRANDED])[0])
    res = judge_sweep(_paths(SWEEP))
    run = res.runs[0]
    assert res.step == 20 and res.at_check_step and run.verdict == "stop"
    assert run.compute_saved == alone.compute_saved == 0.0
    assert run.compute_saved_at_check == alone.compute_saved_at_check == pytest.approx(0.5)
    js = res.to_json()
    assert js["runs"][0]["compute_saved"] == 0.0
    assert js["runs"][0]["compute_saved_at_check"] == pytest.approx(0.5)
    assert js["compute_saved"] == 0.0 and js["compute_saved_at_check"] > 0
    text = "\n".join(run.result.reasons)
    assert "stopping now (step 40 of 40 planned" in text
    assert "judged live at step 20, as here, the stop would have saved 20" in text
    # the sweep set the check step, not the user
    assert "judged at the check step 20 (the sweep's step; the check at 0.5" in text
    assert "steps given" not in text
    # the coverage line quotes the evaluations the single run quotes (step 40's among them)
    cov = [r for r in run.result.reasons if r.startswith("coverage:")]
    assert cov and cov == [r for r in alone.reasons if r.startswith("coverage:")]
    assert "at step 40" in cov[0]


def test_the_sweeps_table_and_footer_name_which_saving_they_show(capsys):
    from rankinv.render.monitor import print_sweep

    print_sweep(judge_sweep(_paths(SWEEP)))
    out = " ".join(capsys.readouterr().out.split())
    assert "saves now" in out and "would have saved at step 20" in out
    assert "stopping as above at step 20, live, would have saved" in out
    assert "now (each log at its last step) saves 0.0% of the sweep's planned compute" in out


def test_live_logs_of_different_progress_count_now_from_their_own_last_step(tmp_path):
    # one live run at step 30, another at step 40: the sweep is judged at step 30, and the
    # run at step 40 counts what stopping now saves from its own step 40
    paths = []
    for name, last in ((STRANDED, 40), ("teacher-d4-hard-lr0.001-g8-s2", 30)):
        state = json.loads(_paths([name])[0].read_text())
        state["log_history"] = [
            h for h in state["log_history"] if "train_runtime" not in h and h["step"] <= last
        ]
        folder = tmp_path / name
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps(state))
        paths.append(folder / "trainer_state.json")
    res = judge_sweep(paths)
    assert res.step == 30 and not res.at_check_step
    ahead = res.runs[0]
    assert ahead.verdict == "stop" and ahead.result.run.now.last == 40
    assert ahead.compute_saved == 0.0 and ahead.compute_saved_at_check == pytest.approx(0.25)
    behind = res.runs[1]
    assert behind.result.run.now.last == 30 and behind.compute_saved_at_check is None
    assert behind.compute_saved == (pytest.approx(0.25) if behind.verdict == "stop" else 0.0)


def test_a_sweep_mixing_plan_lengths_names_each_and_an_unreached_check_step(tmp_path, capsys):
    # a verl log (400 steps assumed, at step 40) beside finished 40-step runs: the header
    # said nothing of the plans, and the verl run's line claimed it was judged alone at its
    # check step 200, which its log does not reach
    from rankinv.render.monitor import print_sweep

    rows = [
        {
            "step": s,
            "data": {
                "critic/score/mean": 0.3 + 0.005 * s + (0.03 if s % 2 else -0.03),
                "critic/frac_reward_zero_std": 0.3,
                "actor/entropy": 0.5 - 0.002 * s,
            },
        }
        for s in range(1, 41)
    ]
    verl = tmp_path / "verl.jsonl"
    verl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths = [verl, *_paths(["teacher-d4-mixed-lr0.0003-g8-s1", "base-d0-easy-lr0.0001-g4-s1"])]
    res = judge_sweep(paths)
    note = res.planned_note
    assert note is not None and note == res.to_json()["planned_note"]
    assert "400 steps, assumed" in note and "verl.jsonl" in note
    assert "40 steps, the log's max_steps: teacher-d4-mixed-lr0.0003-g8-s1" in note
    alone = res.to_json()["runs"][0]["alone"]
    assert alone["check_reached"] is False
    assert (
        alone["at"] == "provisionally (its own check step 200 not reached; judged on steps 10-40)"
    )
    print_sweep(res)
    out = " ".join(capsys.readouterr().out.split())
    assert "judged alone at its check step 200" not in out and "step 200 not reached" in out
    # runs of one plan: no note
    assert judge_sweep(paths[1:]).planned_note is None


def test_a_check_step_given_judges_the_sweep_there():
    # --check-step 30 was overridden by the logs' common last step 40
    from rankinv.verdicts.monitor import MonitorConfig

    res = judge_sweep(_paths(SWEEP), MonitorConfig(check_step=30))
    assert res.step == 30 and not res.at_check_step
    assert all(r.result.rule.check == 30 for r in res.runs)
    assert all(r.to_json(res.keep)["judged_at"] == 30 for r in res.runs)


def test_the_sweeps_saved_share_is_of_its_summed_planned_compute():
    # runs planning 40 and 80 steps: a share of the sweep's compute weights each run's share
    # by its planned steps (a fresh-clone try: 35% printed, the mean of the runs' shares, where
    # the stops saved 100 of 240 planned steps, 41.7%)
    sharp = Path(__file__).parent / "data" / "trl" / "sharpening" / "trainer_state.json"
    res = judge_sweep([*_paths(SWEEP), sharp])
    planned = [r.result.planned_steps for r in res.runs]
    saved = [r.compute_saved_at_check or r.compute_saved for r in res.runs]
    assert len(set(planned)) > 1
    want = sum(p * s for p, s in zip(planned, saved, strict=True)) / sum(planned)
    assert res.compute_saved_at_check == pytest.approx(want)
    assert res.compute_saved_at_check != pytest.approx(sum(saved) / len(saved))


def test_a_sweep_across_trainers_and_plans_says_so(tmp_path):
    from rankinv.records import SIMULATED_COLUMN

    sim = tmp_path / "sim.jsonl"
    rows = [{"step": s, "reward": 0.3 + 0.004 * s, "frac_reward_zero_std": 0.3,
             SIMULATED_COLUMN: 1, "max_steps": 150} for s in range(150)]  # fmt: skip
    sim.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rising = Path(__file__).parent / "data" / "trl" / "rising" / "trainer_state.json"
    note = judge_sweep([sim, rising]).planned_note
    assert "the logs come from different trainers (simulator: sim.jsonl; trl: rising)" in note
    # the header promised "provisionally" lines for runs whose own check step lies past the
    # sweep's step; such a run is ranked before its own rule judges it, and that is said
    assert "is ranked before its own rule would judge it" in note and "provisionally" not in note
