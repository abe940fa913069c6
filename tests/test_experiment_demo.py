"""`rankinv demo`, the README's main job, end to end: once in the fast suite (tables to a
pipe, artifacts on disk); the JSON rerun that resumes it is a slow test."""

import json
import subprocess
import sys

import pytest

from rankinv.verdicts._calibrated import DEFAULT_STAGE2_RULE


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    run = run_cli("demo", cwd=cwd)
    assert run.returncode == 0, run.stderr
    return cwd / "rankinv-demo", run.stdout


def test_demo_writes_its_artifacts_and_report(demo_dir):
    where, stdout = demo_dir
    # default output folder ./rankinv-demo, named on screen; full tables to a pipe
    assert f"go to {where.resolve()}" in stdout and "…" not in stdout
    assert (where / "report.md").exists()
    sim = json.loads((where / "simulate.json").read_text())
    assert sim["inversion"] is True
    depths = sim["depths"]
    shallow, deep = f"monitor_sim_depth{min(depths):g}.png", f"monitor_sim_depth{max(depths):g}.png"
    for png in ("plane.png", "ranks.png", shallow, deep):
        assert (where / png).stat().st_size > 10_000


@pytest.mark.slow
def test_demo_rerun_resumes_and_prints_json(demo_dir):
    where, _ = demo_dir
    out = run_cli("demo", "--out", str(where), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["simulation"]["inversion"] is True
    assert data["paper_qwen"]["inversion_call"] == "trend, not significant at this n"
    assert data["out"] == str(where.resolve())
    for run in data["monitor"].values():  # the calibrated rule beside the paper's
        assert set(run) == {"paper", DEFAULT_STAGE2_RULE}
        assert run["paper"]["rule"] == "paper"
    assert len(data["thresholds"]) == 6
