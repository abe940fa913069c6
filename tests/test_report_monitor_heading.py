"""`rankinv report`: a monitor section named by its log, with the predicted line; the figures
listed are every PNG report.md links, a probe's in its subfolder too."""

import json
import subprocess
import sys

from probe_dirs import mini_probe

from rankinv.report import build_report
from rankinv.verdicts.monitor import MonitorConfig, monitor


def _monitor_json(tmp_path):
    run = tmp_path / "my-grpo-run"
    run.mkdir()
    rows = [{"step": s, "reward": 0.3, "entropy": 0.5, "frac_reward_zero_std": 0.3} for s in
            range(1, 41)]  # fmt: skip
    (run / "trainer_state.json").write_text(json.dumps({"log_history": rows, "max_steps": 40}))
    rep = monitor(run / "trainer_state.json", MonitorConfig(group_size=8)).to_json()
    out = tmp_path / "runs"
    out.mkdir()
    (out / "monitor.json").write_text(json.dumps(rep))
    return out, rep


def test_monitor_section_is_named_by_its_log_and_predicts(tmp_path):
    out, rep = _monitor_json(tmp_path)
    text = build_report(out).read_text()
    assert "## Stage-2 monitor: my-grpo-run" in text and "Stage-2 monitor: run\n" not in text
    assert f"Predicted: **{rep['label']}**; action: {rep['action']}" in text


def test_report_lists_figures_in_subfolders(tmp_path):
    out, _ = _monitor_json(tmp_path)
    mini_probe(out / "ckpt-a", 1)
    (out / "other").mkdir()
    (out / "other" / "stale.png").write_bytes(b"\x89PNG")
    res = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "report", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    figs = json.loads(res.stdout)["figures"]
    assert str(out / "ckpt-a" / "probe.png") in figs and str(out / "monitor_run.png") in figs
    assert str(out / "other" / "stale.png") not in figs
