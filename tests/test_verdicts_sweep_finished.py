"""A new user's try: a sweep of the demo's finished simulated logs (steps 0..149, max_steps 150)
was judged at their last step 149, not at the check step 75 where each log alone is judged: the
log was taken as unfinished (149 < 150), though steps 0..149 are 150 training steps. A run is
finished when its log holds the trainer's summary or its steps done reach the planned total,
one definition for the single-run monitor and the sweep."""

import json

import pytest

from rankinv.verdicts import logs, monitor_run
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.sweep import judge_sweep


def _jsonl(path, steps, planned, level):
    """A JSONL log at ``steps`` (a simulated log's 0..N-1, or TRL's 1..N) planning ``planned``
    steps, its reward rising to ``level``."""
    rows = [
        {"step": s, "reward": level * s / planned, "frac_reward_zero_std": 0.3, "entropy": 0.5,
         "max_steps": planned}
        for s in steps
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("first", [0, 1])
def test_steps_done_reaching_the_planned_total_is_finished(tmp_path, first):
    n = 60
    done = _jsonl(tmp_path / "done.jsonl", range(first, first + n), n, 0.6)
    short = _jsonl(tmp_path / "short.jsonl", range(first, first + n - 1), n, 0.6)
    cfg = MonitorConfig()
    assert monitor_run.read(logs.read_log(done), cfg).finished
    assert not monitor_run.read(logs.read_log(short), cfg).finished
    assert not logs.read_log(done).finished  # no trainer summary: the steps decide


@pytest.mark.parametrize("first", [0, 1])
def test_a_sweep_of_finished_logs_is_judged_at_the_check_step_as_each_alone(tmp_path, first):
    n = 60
    paths = [
        _jsonl(tmp_path / f"r{i}.jsonl", range(first, first + n), n, level)
        for i, level in enumerate((0.3, 0.5, 0.7))
    ]
    alone = monitor(paths[0])
    check = alone.rule.check_step
    assert check < n - 1 and alone.run.last == check  # judged alone at its check step
    res = judge_sweep(paths)
    assert res.at_check_step and res.step == check
    assert res.to_json()["at_check_step"] is True
    # a log one step short of its plan is not finished: the sweep is judged at its last step
    short = _jsonl(tmp_path / "short.jsonl", range(first, first + n - 1), n, 0.4)
    late = judge_sweep([*paths[:2], short])
    assert not late.at_check_step and late.step == first + n - 2
