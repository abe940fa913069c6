"""Crash safety of every resumable output (issue 36): each long job on a tiny configuration
is killed with SIGKILL at random points (tests/crash_harness.py), resumed each time, then
run to its end: nothing reported written is lost, nothing is duplicated, no torn line is
read, and the results equal an uninterrupted run's (timings and the folder's own path
aside). Slow: CI's separate step; each under ~2 minutes on 2 shared cores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_harness import Job, kill_and_resume, reported_lines  # noqa: E402

from rankinv._io import read_jsonl  # noqa: E402

pytestmark = pytest.mark.slow
ENTRIES = str(Path(__file__).parent / "crash_entries.py")
TIMINGS = {"seconds", "elapsed_s", "rl_seconds", "compile_s", "runs_per_s", "exec_seconds"}


def _entry(name: str, out: Path) -> list[str]:
    return [sys.executable, ENTRIES, name, str(out)]


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


def _same(obj, out: Path):
    """``obj`` without timings, the folder's path written as OUT."""
    if isinstance(obj, dict):
        return {k: _same(v, out) for k, v in obj.items() if k not in TIMINGS}
    if isinstance(obj, list):
        return [_same(v, out) for v in obj]
    if isinstance(obj, str):
        return obj.replace(str(out.resolve()), "OUT").replace(str(out), "OUT")
    return obj


def _report(name: str, tally) -> None:
    print(
        f"{name}: {tally.kills} kills ({tally.on_write} just after a write), "
        f"{tally.ended_first} runs ended before their kill, {tally.orphans} orphans; "
        f"records at each kill {tally.records_at_kills}; {tally.seconds:.0f} s"
    )


# ---------------------------------------------------------------- simulate --population


def _ladders(out: Path) -> list:
    return [r["ladder_id"] for r in read_jsonl(out / "population.jsonl")]


def test_population_killed_and_resumed_equals_an_uninterrupted_one(tmp_path):
    """The whole job takes ~3 s here (1.5 of them imports): rounds of kills, each round a
    fresh folder taken to its end and compared with the uninterrupted run's."""
    ref = tmp_path / "ref"
    _run(_entry("population", ref))
    want = sorted(read_jsonl(ref / "population.jsonl"), key=lambda r: r["ladder_id"])
    want_summary = _summary(ref)
    kills = on_write = 0
    for round_ in range(12):
        out = tmp_path / f"r{round_}"
        job = Job(_entry("population", out), out, _ladders, reported_lines,
                  grows=lambda o: [o / "population.jsonl"])  # fmt: skip
        tally = kill_and_resume(job, trials=6, window=(0.5, 3.0), seed=round_, budget_s=30)
        _report(f"simulate --population, round {round_}", tally)
        kills, on_write = kills + tally.kills, on_write + tally.on_write
        assert sorted(read_jsonl(out / "population.jsonl"), key=lambda r: r["ladder_id"]) == want
        assert _summary(out) == want_summary
        if kills >= 20:
            break
    assert kills >= 20 and on_write >= 3


def _summary(out: Path) -> dict:
    """population.json without timings and what depends on how much was resumed."""
    resumed = {"resumed_ladders", "runs_computed", "runs_computed_with_sweep", "n_compiles"}
    s = json.loads((out / "population.json").read_text())
    return _same({k: v for k, v in s.items() if k not in resumed}, out)
