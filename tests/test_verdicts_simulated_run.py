"""`rankinv monitor POPULATION#LADDER_ID/RUNG`: a simulated run's per-step trace read as a log
(rankinv.verdicts.simulated_run), on a hand-written population and on a tiny one the
simulator writes."""

import json

import pytest
from typer.testing import CliRunner

from rankinv.cli import app
from rankinv.records import LadderRecord, Plan, RunRecord
from rankinv.verdicts import logs, simulated_run
from rankinv.verdicts.monitor import MonitorConfig, monitor

OUTCOME = {"final_pass_at_k": 0.5}


def _trace(steps, reward, zero_std):
    return [
        {
            "step": s, "entropy": 1.0 - s / 400, "min_entropy": 0.2, "frac_reward_zero_std": z,
            "frac_all_fail": 0.1, "reward": r, "heldout_pass_at_1": 0.3, "heldout_pass_at_k": 0.6,
        }
        for s, r, z in zip(steps, reward, zero_std, strict=True)
    ]  # fmt: skip


@pytest.fixture
def population(tmp_path):
    """Two ladders; in the first, rung 0 keeps learning and rung 1 has no signal left."""
    steps = list(range(0, 151, 10))
    n = len(steps)
    learning = _trace(steps, [0.2 + 0.3 * i / n for i in range(n)], [0.3] * n)
    dead = _trace(steps, [1.0] * n, [1.0] * n)
    plan = Plan(group_size=4, rl_steps=150, batch_prompts=16, n_prompts=64)
    for lid, runs in (("abc-s0", [learning, dead]), ("abd-s1", [learning])):
        rec = LadderRecord(
            lid, lid[:3], 0, plan, 10,
            [RunRecord(float(2**i), None, {}, t, OUTCOME) for i, t in enumerate(runs)],
        )  # fmt: skip
        with (tmp_path / "population.jsonl").open("a") as fh:
            fh.write(json.dumps(rec.to_json()) + "\n")
    return tmp_path


def test_a_simulated_run_is_its_trace_with_the_ladders_plan(population):
    log = logs.read_log(f"{population}#abc-s0/1")
    assert log.format == "simulated" and log.trainer == "simulator"
    assert log.max_steps == 150 and [r["step"] for r in log.records] == list(range(0, 151, 10))
    assert {r["group_size"] for r in log.records} == {4}
    same = logs.read_log(f"{population / 'population.jsonl'}#abc-s0/depth=2")
    assert same.records == log.records


def test_monitor_reads_a_simulated_run_as_it_reads_a_log_of_its_trace(population, tmp_path):
    rep = monitor(f"{population}#abc-s0/1", MonitorConfig())
    assert rep.verdict == "stop" and rep.state.startswith("no_signal")
    assert rep.group_size == 4 and rep.planned_steps == 150
    # the step's own values: not TRL's means over a logging interval
    assert rep.assumptions[3].value == {"steps": 10, "averaged": False}
    assert monitor(f"{population}#abc-s0/0", MonitorConfig()).state == "signal"


@pytest.mark.parametrize(
    "name,match",
    [
        ("{p}#abc-s0", "POPULATION#LADDER_ID/RUNG"),
        ("{p}#nope/0", "has no ladder 'nope'; ladders there include abc-s0, abd-s1"),
        ("{p}#abc-s0/7", r"no single rung '7' .* rungs: 0 \(depth 1\), 1 \(depth 2\)"),
        ("{p}/elsewhere#abc-s0/0", "population not found"),
    ],
)
def test_a_bad_run_name_says_what_to_write(population, name, match):
    with pytest.raises(ValueError, match=match):
        simulated_run.read(name.format(p=population))


def test_cli_monitor_judges_a_ladders_rungs_against_each_other(population):
    runner = CliRunner()
    one = runner.invoke(app, ["monitor", f"{population}#abc-s0/1", "--json"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.output)["log_format"] == "simulated"
    both = runner.invoke(app, ["monitor", f"{population}#abc-s0/0", f"{population}#abc-s0/1"])
    assert both.exit_code == 0, both.output
    bad = runner.invoke(app, ["monitor", f"{population}#abc-s0/9"])
    assert "no single rung '9'" in str(bad.exception)  # the CLI's entry point: one line, exit 2


def test_monitor_reads_a_run_of_a_population_the_simulator_wrote(tmp_path, monkeypatch):
    """A tiny population (3 depths, 20 RL steps, as tests/test_simulate_population.py
    builds it): every rung's trace is a log monitor judges."""
    P = pytest.importorskip("rankinv.simulate.population")
    from rankinv.simulate import settings as S

    monkeypatch.setattr(S, "DEPTHS", (0.5, 4.0, 16.0))
    real = S.config_of

    def small(setting, seed):
        return real(setting, seed).replace(rl_steps=20, n_heldout=16, sft_depths=S.DEPTHS)

    monkeypatch.setattr(S, "config_of", small)
    P.run_population("test", tmp_path, design_=S.Design("test", ((S.base_setting(), 0),), 5))
    lid = json.loads((tmp_path / "population.jsonl").read_text())["ladder_id"]
    for rung in range(3):
        rep = monitor(f"{tmp_path}#{lid}/{rung}", MonitorConfig())
        assert rep.verdict in ("continue", "watch", "stop")
        assert rep.last_step == 20 and rep.planned_steps == 20
        assert rep.to_json()["series"]["step"] == [0, 5, 10, 15, 20]


def test_a_simulated_run_is_never_told_to_add_the_trl_evaluation_callback(population):
    """issue 38: on rankinv's own simulated runs the stage-2 lines recommended
    HeldOutCoverageCallback (a TRL callback); they now name what the simulation gives."""
    rep = monitor(f"{population}#abc-s0/0", MonitorConfig())
    assert rep.run.simulated and rep.coverage is not None and rep.coverage.ses is None
    said = " ".join([rep.action, *rep.reasons])
    assert "HeldOutCoverageCallback" not in said and "trl" not in said.lower()
    assert "the simulator's values are exact" in rep.reasons[0]
    assert "in its population record (outcome: final and peak pass@k)" in rep.action
