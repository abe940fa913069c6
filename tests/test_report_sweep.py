"""report.md's sweep section: `rankinv monitor A B --json > sweep.json` is reported, alone
or beside a single run's monitor report (it was skipped: "holds no rankinv artifacts")."""

import json

from rankinv._io import write_json
from rankinv.report import build_report
from rankinv.verdicts.monitor import monitor
from rankinv.verdicts.sweep import judge_sweep


def _log(root, name, zero_std):
    hist = [
        {"step": s, "entropy": 0.5, "frac_reward_zero_std": zero_std, "reward": 0.3}
        for s in range(1, 41)
    ]
    p = root / "logs" / name / "trainer_state.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"log_history": hist, "max_steps": 400}))
    return p


def test_a_sweeps_json_is_reported_as_a_sweep_section(tmp_path):
    a, b = _log(tmp_path, "a", 0.2), _log(tmp_path, "b", 0.9)
    rep = tmp_path / "rep3"
    rep.mkdir()
    sweep = judge_sweep([a, b], keep=0.5).to_json()
    (rep / "sweep.json").write_text(json.dumps(sweep))  # as `monitor A B --json` prints it
    text = build_report(rep).read_text()
    assert "## Sweep: sweep" in text
    assert f"Sweep judged at step {sweep['step']}" in text
    assert "| log | verdict | rank | doom score | state | saves now |" in text
    for r in sweep["runs"]:
        assert f"| `{r['log']}` | **{r['verdict']}** |" in text
    assert "The doom score is rule" in text
    # beside a single run's monitor report it is reported too, not dropped
    write_json(rep / "monitor.json", monitor(a).to_json())
    text = build_report(rep).read_text()
    assert "## Sweep: sweep" in text and "## Stage-2 monitor" in text
