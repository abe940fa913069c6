"""Resource limits of a tested program: one that forks, allocates, writes to disk or
prints without end is stopped at its limit with a status that names it, and the next
program on the same worker runs with its full allowance (space freed, limits reset)."""

import os
import time

import pytest

from rankinv.sandbox import _worker, executor
from rankinv.sandbox.tasks import Task

TASK = Task(
    "limits/0", "def f():\n", "f", "def check(candidate):\n    assert candidate() == 1\n", ""
)
# what every program may do, run after each runaway: fork, allocate 200 MB, write and print
WITHIN_LIMITS = (
    "    import os\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n        os._exit(0)\n"
    "    os.waitpid(pid, 0)\n"
    "    x = bytearray(200 * 2**20)\n"
    "    with open('ok', 'wb') as fh:\n        fh.write(b'x' * 2**20)\n"
    "    print('y' * 100_000)\n"
    "    return 1\n"
)

RUNAWAYS = {
    "forks without end (each child forks on)": (
        "    import os\n    while True:\n        if os.fork() == 0:\n            continue\n",
        {"error"},
        "the process limit",
    ),
    "forks without end, ignoring failures": (
        "    import os\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n",
        {"timeout"},
        "wall clock",
    ),
    "starts threads without end": (
        "    import threading, time\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,)).start()\n",
        {"error"},
        "the process limit",
    ),
    # 16 MiB a step, zero-filled (every page touched): it reaches the memory cap in about
    # 1 s on a quiet machine but took over 2 s at load 4-5, so it gets a longer clock
    "allocates without end": (
        "    xs = []\n    while True:\n        xs.append(bytearray(2**24))\n",
        {"memory"},
        "MemoryError",
    ),
    "allocates 16 GiB at once": ("    x = bytearray(2**34)\n", {"memory"}, "MemoryError"),
    "writes one file without end": (
        "    with open('big', 'wb') as fh:\n        while True:\n"
        "            fh.write(b'x' * 2**20)\n",
        {"error"},
        "the file-size limit",
    ),
    "writes files without end": (
        "    i = 0\n    while True:\n"
        "        open(f'f{i}', 'wb').write(b'x' * 2**20)\n        i += 1\n",
        {"error"},
        "the scratch space is full",
    ),
    "opens files without end": (
        "    fs = []\n    while True:\n        fs.append(open(f'g{len(fs)}', 'w'))\n",
        {"error"},
        "the open-file limit",
    ),
    "prints without end": (
        "    while True:\n        print('x' * 1000)\n",
        {"error"},
        "the file-size limit, printed output included",
    ),
    "prints to stderr without end, ignoring failures": (
        "    import sys\n    while True:\n        try:\n            sys.stderr.write('y' * 10000)\n"
        "        except OSError:\n            pass\n",
        {"timeout"},
        "wall clock",
    ),
}


#: Wall clocks of runaways whose limit takes real work to reach (the rest get 2 s).
SLOW_TO_LIMIT = {"allocates without end": 15.0}


@pytest.fixture(scope="module")
def one_worker():
    with executor.Sandbox(1) as sb:
        yield sb


def _most_processes_of_one(uids) -> int:
    """The largest number of live processes any of ``uids`` has."""
    count = dict.fromkeys(uids, 0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as fh:
                uid = next(int(ln.split()[1]) for ln in fh if ln.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid in count:
            count[uid] += 1
    return max(count.values())


def _swept(uids, within_s: float = 3.0) -> bool:
    """Whether each completion uid is soon back to at most one process (the zygote's
    spare): whatever a runaway started is killed."""
    deadline = time.monotonic() + within_s
    while _most_processes_of_one(uids) > 1:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_program_within_the_limits_passes(one_worker):
    """The control: what the next program does after each runaway fits the limits."""
    assert one_worker.check(TASK, WITHIN_LIMITS).passed


@pytest.mark.parametrize("name", sorted(RUNAWAYS))
def test_a_runaway_program_is_stopped_at_its_limit_and_the_next_one_goes_on(one_worker, name):
    completion, statuses, named = RUNAWAYS[name]
    clock = SLOW_TO_LIMIT.get(name, 2.0)
    t0 = time.monotonic()
    out = one_worker.check(TASK, completion, timeout_s=clock)
    assert not out.passed and out.status in statuses, out
    assert named in out.detail, out.detail
    assert time.monotonic() - t0 < clock + 4.0
    nxt = one_worker.check(TASK, WITHIN_LIMITS)
    assert nxt.passed, nxt
    if os.geteuid() == 0:  # the uid drop: nothing the runaway started is left
        assert _swept(one_worker.uids[1:])


@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ("OSError: [Errno 27] File too large", "file-size limit"),
        ("OSError: [Errno 28] No space left on device", "scratch space"),
        ("BlockingIOError: [Errno 11] Resource temporarily unavailable", "process limit"),
        ("AssertionError x", None),
    ],
)
def test_the_limit_a_detail_shows_is_named(detail, named):
    hinted = _worker.limit_hint(detail)
    assert hinted.startswith(detail)
    assert (named in hinted) if named else hinted == detail
