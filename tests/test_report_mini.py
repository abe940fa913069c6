"""`rankinv report` on rankinv's own outputs (a new user's try): the --out folder of
`rankinv experiment mini`, and a `rankinv monitor --json > x.json` file (no series, so no
figure: said so, the rest of the report written); a folder whose only JSON is no rankinv
artifact is one line naming it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rankinv._io import RUN_FILE, write_json
from rankinv.report import build_report
from rankinv.verdicts.monitor import MonitorConfig, monitor

MINI = Path(__file__).resolve().parents[1] / "figures/data/mini"
NO_SERIES = "figure not drawn: the JSON has no series; `rankinv monitor --out FILE` writes it"


def mini_out(tmp_path) -> Path:
    """A shipped `experiment mini --preset ci-nomod --out` folder (its runs/, config.json
    and compare_rows.json, its mini.json beside them), as the experiment leaves it."""
    out = tmp_path / "mini"
    shutil.copytree(MINI / "ci_nomod", out)
    shutil.copy(MINI / "mini_ci_nomod.json", out / "mini.json")
    write_json(out / RUN_FILE, {"command": "experiment mini"})
    return out


def test_report_reads_the_mini_experiments_folder(tmp_path):
    out = mini_out(tmp_path)
    mini = json.loads((out / "mini.json").read_text())
    text = build_report(out).read_text()
    assert "## Miniature experiment (preset `ci-nomod`)" in text
    for b in mini["by_depth"]:  # the outcome table, one row per rung
        assert f"| {b['variant']} | {b['depth']:g} | {b['pre.entropy']:.3f} |" in text
    assert f"- inversion: **{'yes' if mini['inversion'] else 'no'}**" in text
    assert "rho(pre-RL pass@1, final pass@10)" in text
    assert "## Predicted vs observed (rankinv experiment mini)" in text  # compare.json's words
    assert f"n = {mini['compare']['n']}, outcome `{mini['compare']['outcome']}`" in text
    assert (out / "ranks.png").stat().st_size > 10_000


def _monitor_json(tmp_path) -> dict:
    """What `rankinv monitor LOG --json` prints: the report without its series."""
    log = tmp_path / "trainer_state.json"
    rows = [
        {"step": s, "entropy": 0.5, "frac_reward_zero_std": 0.3, "reward": 0.1 + s / 1000}
        for s in range(1, 201)
    ]
    log.write_text(json.dumps({"log_history": rows, "max_steps": 400}))
    rep = monitor(log, MonitorConfig(rule="reward_slope")).to_json()
    return {k: v for k, v in rep.items() if k != "series"}


@pytest.mark.parametrize("fname", ["x.json", "monitor.json"])
def test_a_monitor_json_without_series_is_reported_without_its_figure(tmp_path, fname):
    d = tmp_path / "runs"
    d.mkdir()
    rep = _monitor_json(tmp_path)
    (d / fname).write_text(json.dumps(rep))
    (d / "other.json").write_text(json.dumps({"loss": [1, 2]}))  # no rankinv artifact
    text = build_report(d).read_text()
    assert "## Stage-2 monitor:" in text and f"Verdict **{rep['verdict']}**" in text
    assert NO_SERIES in text and not list(d.glob("monitor_*.png"))
    assert "other.json" not in text  # no artifact: left out (named where nothing else is)


def test_a_folder_of_json_that_is_no_rankinv_artifact_is_one_line_naming_it(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"loss": [1, 2]}))
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no rankinv artifacts" in lines[0], run.stderr
    assert "skipped, no rankinv artifact: other.json" in lines[0]
