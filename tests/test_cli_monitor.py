"""`rankinv monitor` from the command line: the JSON contract, a sweep, --follow, errors."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_log(path, reward_slope, zero_std=0.4, steps=200):
    rows = [
        {
            "step": s,
            "entropy": 0.5,
            "frac_reward_zero_std": zero_std,
            "reward": 0.2 + reward_slope * s,
        }
        for s in range(1, steps + 1)
    ]
    path.write_text(json.dumps({"log_history": rows, "max_steps": 400}))
    return path


def test_json_has_the_contract_fields(tmp_path):
    path = write_log(tmp_path / "trainer_state.json", 0.001)
    out = run_cli(str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("verdict", "reasons", "entropy_signal", "entropy_drop", "informative_fraction"):
        assert key in data
    assert data["verdict"] in ("continue", "watch", "stop") and "provisional" in data
    assert data["planned_steps"] == 400 and data["planned_steps_source"] == "the log's max_steps"
    from rankinv.verdicts.labels import LABELS

    assert data["label"] in LABELS and data["action"]


def test_text_names_the_predicted_label_and_its_action(tmp_path):
    from rankinv.verdicts.labels import ACTIONS

    path = write_log(tmp_path / "trainer_state.json", 0.0, zero_std=1.0)  # no signal left
    path.write_text(path.read_text().replace('"reward": 0.2', '"reward": 0.0'))
    data = json.loads(run_cli(str(path), "--json").stdout)
    assert data["label"] == "stranded"
    text = run_cli(str(path)).stdout
    assert f"predicted: stranded; action: {ACTIONS['stranded']}" in " ".join(text.split())


def test_several_logs_are_judged_as_a_sweep(tmp_path):
    logs = [str(write_log(tmp_path / f"r{i}.json", s)) for i, s in enumerate((0.002, -0.001))]
    out = run_cli(*logs, "--rule", "reward_gain", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # reward_gain's score has no SE: the gap is untested (separated null), a watch, not a stop
    assert [r["verdict"] for r in data["runs"]] == ["continue", "watch"]
    assert data["runs"][1]["gap"]["se"] is None and data["runs"][1]["gap"]["separated"] is None
    assert data["step"] == 200
    text = run_cli(*logs, "--rule", "reward_gain")
    assert "sweep judged at step 200" in text.stdout


def test_verl_jsonl_is_read(tmp_path):
    path = tmp_path / "verl.jsonl"
    path.write_text(
        "".join(
            json.dumps({"step": s, "data": {"actor/entropy": 1.0, "critic/score/mean": 0.01 * s}})
            + "\n"
            for s in range(1, 200)
        )
    )
    out = run_cli(str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["log_format"] == "verl" and data["columns"]["reward"] == "critic/score/mean"
    assert any("(verl) has no zero-std share" in r for r in data["reasons"])


def test_follow_ends_on_a_stop(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text(
        "".join(
            json.dumps({"step": s, "frac_reward_zero_std": 1.0, "reward": 0.0}) + "\n"
            for s in range(1, 40)
        )
    )
    out = run_cli(str(path), "--follow", "--poll-s", "0.05", "--max-polls", "3")
    assert out.returncode == 0, out.stderr
    assert "stop" in out.stdout and "no signal: groups fail whole" in out.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["nope.jsonl"], "log not found"),
        (["--reward-range", "1"], "--reward-range must be MIN,MAX"),
        (["--planned-steps", "100"], "before the log's last step 200"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, words):
    path = write_log(tmp_path / "trainer_state.json", 0.001)
    argv = args if args[0] == "nope.jsonl" else [str(path), *args]
    out = run_cli(*argv)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert words in out.stderr


def _later(delay, write):
    """Run ``write`` on a thread after ``delay`` seconds (a trainer starting its log late)."""
    import threading

    timer = threading.Timer(delay, write)
    timer.start()
    return timer


def test_follow_reads_a_log_that_appears_later(tmp_path):
    path = tmp_path / "later.jsonl"
    rows = "".join(
        json.dumps({"step": s, "reward": 0.3, "frac_reward_zero_std": 0.3, "entropy": 0.8}) + "\n"
        for s in range(1, 21)
    )

    def write():
        path.write_text("")  # created empty first, then the steps
        path.write_text(rows)

    timer = _later(1.0, write)
    out = run_cli(str(path), "--follow", "--poll-s", "0.2", "--max-polls", "25", timeout=60)
    timer.join()
    assert out.returncode == 0, out.stderr
    assert "waiting for a usable log: log not found" in out.stdout
    assert "[step 20]" in out.stdout and "verdict:" in out.stdout


def test_follow_reads_a_trainer_state_that_appears_later_in_its_folder(tmp_path):
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "data" / "trl" / "sharpening" / "trainer_state.json"
    folder = tmp_path / "tdir"
    folder.mkdir()
    timer = _later(1.0, lambda: shutil.copy(src, folder / "trainer_state.json"))
    out = run_cli(str(folder), "--follow", "--poll-s", "0.2", "--max-polls", "25", timeout=60)
    timer.join()
    assert out.returncode == 0, out.stderr
    assert "directory without trainer_state.json" in out.stdout
    assert "verdict: stop" in out.stdout


def test_follow_without_a_usable_log_in_max_polls_exits_2(tmp_path):
    (tmp_path / "tdir").mkdir()
    out = run_cli(str(tmp_path / "tdir"), "--follow", "--poll-s", "0.05", "--max-polls", "3")
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and "no usable log appeared in 3 polls" in err[0], out.stderr
