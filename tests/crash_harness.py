"""Kill a long job with SIGKILL at random points, resume it, and check what it left
(tests/test_crash_resume.py).

A trial starts the job, kills its main process (only it: as the OOM killer or a lost node
would) at a random instant, or just after it grew one of its output files (so that kills
land inside appends too), waits for the processes it started to go, then reads what is on
disk. After every kill: nothing whole on disk before it is gone, no record twice, every
record the job reported written is there, no line but the last is torn. Then one
uninterrupted resume ends the job.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    """A job: how to start it, what it has written (keys, in file order: a duplicate
    shows), what it reported written (keys parsed from its output), and which files it
    grows (a kill may be timed just after one grows)."""

    argv: list[str]
    out: Path
    keys: Callable[[Path], list]
    reported: Callable[[str], set] = lambda text: set()
    grows: Callable[[Path], list[Path]] = lambda out: []
    env: dict = field(default_factory=dict)
    #: records it reported written, where it reports a count (a progress bar), not keys
    reported_count: Callable[[str], int] = lambda text: 0


@dataclass
class Tally:
    kills: int = 0
    on_write: int = 0  # kills timed just after an output file grew
    ended_first: int = 0  # trials whose job ended before its kill came
    orphans: int = 0  # processes of a killed job still alive 10 s after the kill
    records_at_kills: list = field(default_factory=list)
    seconds: float = 0.0


def _session(sid: int) -> list[int]:
    """Processes whose session is ``sid`` (the job was started in a session of its own)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(d))
    return pids


def _sizes(paths: list[Path]) -> tuple:
    return tuple(p.stat().st_size if p.exists() else -1 for p in paths)


def _start(job: Job) -> subprocess.Popen:
    """The job in a session of its own, its output to a file (a pipe would stay open while
    processes it started live on, and could fill while it is not read)."""
    job.out.parent.mkdir(parents=True, exist_ok=True)
    with open(job.out.parent / f"{job.out.name}.output", "w") as log:
        return subprocess.Popen(
            job.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **job.env},
        )


def _output(job: Job) -> str:
    return (job.out.parent / f"{job.out.name}.output").read_text(errors="replace")


def _kill_when(proc: subprocess.Popen, job: Job, rng: random.Random, window: tuple) -> str:
    """Kill ``proc`` at a random instant in ``window`` (seconds) or, every other time, just
    after an output file grows within it; 'ended' if it ended first."""
    t_end = time.monotonic() + rng.uniform(*window)
    on_write = rng.random() < 0.5
    before = _sizes(job.grows(job.out)) if on_write else None
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            return "ended"
        if on_write and _sizes(job.grows(job.out)) != before:
            time.sleep(rng.uniform(0, 0.02))
            break
        time.sleep(0.005 if on_write else 0.05)
    else:
        on_write = False
    os.kill(proc.pid, signal.SIGKILL)
    return "write" if on_write else "time"


def _reap(sid: int, wait_s: float = 10.0) -> int:
    """Wait for the killed job's other processes to go; kill those left; their number."""
    deadline = time.monotonic() + wait_s
    while _session(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _session(sid)
    if left:
        os.killpg(sid, signal.SIGKILL)
        while _session(sid):
            time.sleep(0.05)
    return len(left)


def check_on_disk(job: Job, before: list, text: str) -> list:
    """The invariants after a kill (``text``: what the killed job printed); the keys on
    disk now."""
    reported = job.reported(text)
    keys = job.keys(job.out)  # reading drops a torn last line; a torn middle line raises
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, f"records written twice: {sorted(dup, key=str)[:5]}"
    lost = set(before) - set(keys)
    assert not lost, f"records lost by a resume: {sorted(lost, key=str)[:5]}"
    missing = reported - set(keys)
    assert not missing, f"reported written, not on disk: {sorted(missing, key=str)[:5]}"
    n = job.reported_count(text)
    assert len(keys) - len(before) >= n, f"{n} reported written, {len(keys) - len(before)} new"
    return keys


def kill_and_resume(job: Job, trials: int, window: tuple, seed: int, budget_s: float) -> Tally:
    """``trials`` kills (fewer if ``budget_s`` runs out), each resuming what the last
    left, then one uninterrupted resume, which must succeed."""
    rng, tally, keys, t0 = random.Random(seed), Tally(), [], time.monotonic()
    for _ in range(trials):
        if time.monotonic() - t0 > budget_s:
            break
        proc = _start(job)
        how = _kill_when(proc, job, rng, window)
        proc.wait()
        tally.orphans += _reap(proc.pid)
        text = _output(job)
        if how == "ended":
            assert proc.returncode == 0, text[-3000:]
            tally.ended_first += 1
            break  # nothing left to kill
        else:
            tally.kills += 1
            tally.on_write += how == "write"
        keys = check_on_disk(job, keys, text)
        tally.records_at_kills.append(len(keys))
    proc = _start(job)
    proc.wait(timeout=600)
    _reap(proc.pid)
    text = _output(job)
    assert proc.returncode == 0, text[-3000:]
    check_on_disk(job, keys, text)
    tally.seconds = time.monotonic() - t0
    return tally


def reported_lines(text: str) -> set:
    """Keys the entries of tests/crash_entries.py printed as ``written <key>``."""
    return {line[8:] for line in text.splitlines() if line.startswith("written ")}
