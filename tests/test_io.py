"""rankinv._io: atomic JSON, JSONL that survives a cut line, --out folders that hold one run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rankinv._io import (
    LOCK_FILE,
    RUN_FILE,
    FolderBusy,
    JsonlAppender,
    append_jsonl,
    claim_folder,
    claim_out_dir,
    read_jsonl,
)
from rankinv.errors import UserError


def test_a_cut_last_line_is_dropped_and_a_cut_middle_line_is_named(tmp_path):
    p = tmp_path / "r.jsonl"
    append_jsonl(p, {"a": 1})
    append_jsonl(p, {"a": 2})
    p.write_text(p.read_text() + '{"a": 3')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]
    p.write_text('{"a": 1}\n{"a"\n{"a": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_jsonl(p)


def test_the_same_run_resumes_in_its_folder(tmp_path):
    ident = {"command": "simulate", "config": {"seeds": 2, "depths": (1, 2)}}
    d = claim_out_dir(tmp_path / "o", ident)
    (d / "simulate.json").write_text("{}")
    assert claim_out_dir(tmp_path / "o", ident) == d
    assert (d / "simulate.json").exists()
    assert json.loads((d / RUN_FILE).read_text())["config"]["depths"] == [1, 2]


def test_another_run_is_refused_naming_the_difference(tmp_path):
    claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/a", "seed": 0})
    (tmp_path / "o" / "samples.jsonl").write_text("{}\n")
    with pytest.raises(UserError, match=r"model: '/m/a' there, '/m/b' now.*--overwrite"):
        claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/b", "seed": 0})
    claim_out_dir(tmp_path / "s", {"config": {"seeds": 2}})
    (tmp_path / "s" / "runs").mkdir()
    (tmp_path / "s" / "runs" / "run_0.jsonl").write_text("{}\n")  # a result, one level down
    with pytest.raises(UserError, match=r"config.seeds: 2 there, 3 now"):
        claim_out_dir(tmp_path / "s", {"config": {"seeds": 3}})
    # --overwrite empties the other run's folder, then claims it
    claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/b", "seed": 0}, True)
    assert not (tmp_path / "o" / "samples.jsonl").exists()


def test_overwrite_never_empties_a_folder_rankinv_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(UserError, match="not written by a rankinv run"):
        claim_out_dir(tmp_path / "mine", {"command": "demo"}, overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is an existing file"):
        claim_out_dir(tmp_path / "f", {"command": "demo"})


# ---------------------------------------------------------------- one writer per folder

_HOLDER = (
    "import sys\nfrom rankinv._io import claim_folder\n"
    "with claim_folder(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n"
)


@pytest.fixture
def holder():
    """Start a process that claims a folder and keeps it until its stdin closes."""
    procs = []

    def start(folder):
        p = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
        assert p.stdout.readline() == "held\n"
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_a_folder_another_process_writes_is_refused_naming_its_pid(tmp_path, holder):
    p = holder(tmp_path / "o")
    with pytest.raises(FolderBusy, match=rf"pid {p.pid}\); wait for it") as err:
        with claim_folder(tmp_path / "o"):
            pass
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)
    p.stdin.close()  # the holder ends: the folder is free
    p.wait()
    with claim_folder(tmp_path / "o") as d:
        assert (d / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path, holder):
    p = holder(tmp_path / "o")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert (tmp_path / "o" / LOCK_FILE).read_text() == f"{p.pid}\n"  # stale, left behind
    with claim_folder(tmp_path / "o") as d:
        assert (d / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def _claimable_by_another_process(folder) -> bool:
    code = (
        "import sys\nfrom rankinv._io import claim_folder, FolderBusy\n"
        "try:\n    with claim_folder(sys.argv[1]):\n        print('free')\n"
        "except FolderBusy:\n    print('busy')\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip() == "free"


def test_claims_nest_in_one_process_and_overwrite_keeps_the_lock(tmp_path):
    d = tmp_path / "o"
    with claim_folder(d):
        with claim_folder(d):  # the same process again: shared
            claim_out_dir(d, {"command": "demo", "seed": 0})
            (d / "result.json").write_text("{}")
            claim_out_dir(d, {"command": "demo", "seed": 1}, overwrite=True)
            assert not (d / "result.json").exists() and (d / LOCK_FILE).exists()
        assert not _claimable_by_another_process(d)  # the outer claim still holds it
    assert _claimable_by_another_process(d)
    # a folder holding only the lock file is empty to --overwrite
    with claim_folder(tmp_path / "fresh"):
        claim_out_dir(tmp_path / "fresh", {"command": "demo"}, overwrite=True)


_COMMANDS = {
    "simulate --population": ["simulate", "--population", "quick"],
    "simulate --preset": ["simulate", "--preset", "quick"],
    "experiment mini": ["experiment", "mini"],
    "demo": ["demo"],
    "calibrate": ["calibrate", "--population", "quick"],
}


def test_every_command_writing_an_out_folder_stops_at_a_held_one(tmp_path, holder):
    """While another process writes --out, each command exits 2 at once with one line
    naming that process (they run side by side here; none gets to its work)."""
    p = holder(tmp_path / "o")
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "rankinv.cli", *args, "--out", str(tmp_path / "o")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in _COMMANDS.items()
    }
    for name, run in runs.items():
        try:
            out, err = run.communicate(timeout=120)
        finally:
            run.kill()
        assert run.returncode == 2, (name, err[-2000:])
        assert f"pid {p.pid}" in err and len(err.strip().splitlines()) == 1, (name, err)
    assert os.listdir(tmp_path / "o") == [LOCK_FILE]  # nothing was written


# ---------------------------------------------------------------- appends that survive a kill


def test_a_partial_last_line_is_dropped_with_a_notice_and_cut_before_the_next(tmp_path, caplog):
    p = tmp_path / "r.jsonl"
    append_jsonl(p, {"a": 1})
    with open(p, "a") as fh:
        fh.write('{"a": 2}')  # whole JSON, but its newline never came: not data
    with caplog.at_level("WARNING", logger="rankinv"):
        assert read_jsonl(p) == [{"a": 1}]
    assert [r.getMessage() for r in caplog.records] == [
        f"{p}: dropped an incomplete last line (8 bytes), left by an interrupted write"
    ]
    append_jsonl(p, {"a": 3})  # the cut line goes first: the new one starts clean
    assert p.read_text() == '{"a": 1}\n{"a": 3}\n'
    p.write_bytes(b'{"a": "\xc3')  # cut inside a character, with no line before it
    with JsonlAppender(p) as out:
        out.append({"a": 4})
    assert read_jsonl(p) == [{"a": 4}]


def test_the_appender_writes_only_whole_lines(tmp_path):
    with JsonlAppender(tmp_path / "r.jsonl", fsync=False) as out:
        out.write('{"a": 1}\n')
        for bad in ('{"a": 2}', '{"a": 2}\n{"a": 3}\n'):
            with pytest.raises(ValueError, match="one line"):
                out.write(bad)
    assert read_jsonl(tmp_path / "r.jsonl") == [{"a": 1}]


_APPENDER = """\
import random, sys
from rankinv._io import append_jsonl, read_jsonl
path, n, seed, fsync = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
rng = random.Random(seed)
for i in range(len(read_jsonl(path)), n):  # resume: what is there is done
    size = rng.choice([10, 3000, 100_000, 1_000_000])
    append_jsonl(path, {"i": i, "n": size, "pad": "x" * size}, fsync=fsync)
    print(i, flush=True)  # reported written
"""


@pytest.mark.slow
def test_appends_killed_at_random_points_lose_and_duplicate_nothing(tmp_path):
    """SIGKILL a process appending records (some 1 MB, so that a kill may land inside a
    write) at random instants, 40 times, resuming it each time (a fresh file once one is
    complete): every record it reported written is there, none twice, none torn, and each
    finished file is the uninterrupted one. Every other file is written without fsync (a
    process kill needs none; the kills then land inside writes more often)."""
    import random

    rng = random.Random(36)
    n, kills, torn, t0 = 60, 0, 0, time.monotonic()
    for round_ in range(40):
        path, reported, fsync = tmp_path / f"r{round_}.jsonl", set(), str(round_ % 2)
        while kills < 40:
            child = subprocess.Popen(
                [sys.executable, "-c", _APPENDER, str(path), str(n), str(kills), fsync],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(rng.uniform(0.03, 0.3))
            child.kill()
            out, err = child.communicate()
            kills += 1
            reported |= {int(x) for x in out.split()}
            torn += err.count("incomplete last line")
            recs = read_jsonl(path)  # a torn line is never read as data (nor an error)
            ids = [r["i"] for r in recs]
            assert ids == list(range(len(ids))), ids  # no gap, no duplicate
            assert all(len(r["pad"]) == r["n"] for r in recs)
            assert reported <= set(ids), sorted(reported - set(ids))
            if len(ids) == n:
                break
        done = subprocess.run(
            [sys.executable, "-c", _APPENDER, str(path), str(n), "999", "0"], capture_output=True
        )
        assert done.returncode == 0, done.stderr
        assert [r["i"] for r in read_jsonl(path)] == list(range(n))
        assert path.read_bytes().count(b"\n") == n  # nothing left of a torn write
        path.unlink()
        if kills >= 40:
            break
    assert time.monotonic() - t0 < 120
    print(f"{kills} kills in {round_ + 1} files, {torn} torn last lines cut on resume")


def test_a_write_that_fails_names_the_file_asked_for_not_its_temporary_one():
    import pytest

    from rankinv._io import write_json

    # /proc takes no new files, even as root (a fresh-clone try: monitor --out /proc/x.json
    # named '/proc/.x.json.<pid>.tmp'); still an OSError, for callers that catch one
    with pytest.raises(OSError) as got:
        write_json("/proc/x.json", {"a": 1})
    assert got.value.filename == "/proc/x.json" and ".tmp" not in str(got.value)
