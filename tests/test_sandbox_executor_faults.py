"""Faults on the sandbox's wires: hostile bytes from the completion on its reply pipe,
and a worker that dies, hangs or garbles its reply to the parent. The parent never hangs
or raises, a task is never passed on them, and the next check runs on a sound worker."""

import json
import secrets
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankinv.sandbox import _wire, _worker_handle, executor
from rankinv.sandbox.tasks import Task

SECRET = "ok-" + secrets.token_hex(16)  # what the tests want: no payload can know it
TEST = f"def check(candidate):\n    assert candidate() == {SECRET!r}\n"
TASK = Task("faults/0", "def f():\n", "f", TEST, "")
GOOD = f"    return {SECRET!r}\n"
REAL_WORKER = _worker_handle.WORKER


def _hostile(payload: bytes, then: str) -> str:
    """A completion that writes ``payload`` to every descriptor it holds (its reply pipe
    among them), then ``then``."""
    return textwrap.indent(
        f"import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, {payload!r})\n"
        f"    except OSError:\n        pass\n{then}\n",
        "    ",
    )


_THEN = ["os._exit(0)", "return 'nope'", "raise ValueError('x')", "return None"]
_bodies = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"[", b'["r"', b'["x"]', b'["r",1]', b'{"t":"zz","v":1}', b"null"]),
    st.lists(st.sampled_from(["r", "x", "ready", "fatal", "ended", 1, None]), max_size=4).map(
        lambda v: json.dumps(v).encode()
    ),
)
_payloads = st.one_of(
    st.binary(min_size=1, max_size=200),  # noise
    _bodies.map(lambda b: _wire.FRAME.pack(len(b)) + b),  # whole frames, wrong messages
    st.tuples(_bodies, st.integers(1, 40)).map(  # a frame cut short (its length lies)
        lambda p: _wire.FRAME.pack(len(p[0]) + p[1]) + p[0]
    ),
    st.integers(_wire.MAX_BYTES + 1025, 2**64 - 1).map(_wire.FRAME.pack),  # huge lengths
)


def test_a_good_completion_passes_these_tests(sandbox):
    """The control: the tests below can only fail through the hostile bytes."""
    assert sandbox.check(TASK, GOOD).passed
    assert sandbox.check(TASK, _hostile(b"", "return " + repr(SECRET))).passed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_payloads, then=st.sampled_from(_THEN))
def test_hostile_bytes_on_the_reply_pipe_are_never_a_pass(sandbox, payload, then):
    out = sandbox.check(TASK, _hostile(payload, then), timeout_s=0.5)
    assert not out.passed and out.status in executor.STATUSES, out
    assert out.seconds < 2.0, out


def test_hostile_bytes_then_a_hang_time_out_and_the_worker_goes_on(sandbox):
    for payload in (b"\x05\x00\x00\x00\x00\x00\x00\x00[", _wire.FRAME.pack(2**40)):
        out = sandbox.check(TASK, _hostile(payload, "import time\n    time.sleep(60)"), 0.5)
        assert not out.passed and out.status in {"timeout", "error"}, out
        assert sandbox.check(TASK, GOOD).passed


def test_tests_that_catch_every_exception_still_fail_on_garbage(sandbox):
    """A malformed reply is fatal whatever the tests catch (a BaseException, kept)."""
    catching = Task(
        "faults/1", "def f():\n", "f",
        "def check(candidate):\n    try:\n        candidate()\n    except Exception:\n"
        "        pass\n    try:\n        candidate()\n    except Exception:\n        pass\n",
        "",
    )  # fmt: skip
    for payload in (_wire.FRAME.pack(3) + b"[[[", _wire.FRAME.pack(4) + b"null"):
        out = sandbox.check(catching, _hostile(payload, "return 1"))
        assert out.status == "error" and "malformed" in out.detail, out
    assert sandbox.check(catching, "    return 1\n").passed


def test_threads_writing_frames_at_once_are_never_a_pass(sandbox):
    """Interleaved writes: four threads send big valid-looking replies at the same time."""
    completion = (
        "    import os, threading, json, struct\n"
        "    body = json.dumps(['r', 'x' * 70000, None, None]).encode()\n"
        "    frame = struct.pack('<Q', len(body)) + body\n"
        "    def spam():\n"
        "        for fd in range(3, 64):\n"
        "            try:\n"
        "                os.write(fd, frame)\n"
        "            except OSError:\n"
        "                pass\n"
        "    ts = [threading.Thread(target=spam) for _ in range(4)]\n"
        "    [t.start() for t in ts]\n"
        "    [t.join() for t in ts]\n"
        "    return 'nope'\n"
    )
    for _ in range(3):
        out = sandbox.check(TASK, completion, timeout_s=3.0)
        assert not out.passed, out
    assert sandbox.check(TASK, GOOD).passed


# ---------------------------------------------------------------- parent <-> worker

_FAKE_WORKER = """\
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
sys.stdin.readline()
sys.stdout.write(json.dumps({"ready": True, "isolation": ["fake"]}) + "\\n")
sys.stdout.flush()
for line in sys.stdin:
    job = json.loads(line)
    with open(os.path.join(here, "reply.bin"), "rb") as fh:
        reply = fh.read().replace(b"@ID@", str(job["id"]).encode())
    with open(os.path.join(here, "then.txt")) as fh:
        then = fh.read()
    os.write(1, reply)
    if then == "exit":
        os._exit(0)
    if then == "hang":
        time.sleep(600)
"""


@pytest.fixture(scope="module")
def fake_worker(tmp_path_factory):
    """A stand-in for _worker.py that answers each job with the bytes of reply.bin (its
    id put in for @ID@), then goes on, exits or hangs (then.txt)."""
    d = tmp_path_factory.mktemp("fake_worker")
    (d / "worker.py").write_text(_FAKE_WORKER)

    def set_reply(reply: bytes, then: str) -> None:
        (d / "reply.bin").write_bytes(reply)
        (d / "then.txt").write_text(then)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_worker_handle, "WORKER", d / "worker.py")
        mp.setattr(_worker_handle, "REPLY_GRACE_S", 0.2)
        with executor.Sandbox(1) as sb:
            yield sb, set_reply


def _valid(status: str = "passed") -> bytes:
    reply = {"id": "@ID@", "status": status, "seconds": 0.01, "detail": "", "output": ""}
    return json.dumps(reply).replace('"@ID@"', "@ID@").encode() + b"\n"


def test_the_fake_worker_passes_a_well_formed_reply(fake_worker):
    """The control: a well-formed reply to the very job is a pass, on the same worker."""
    sb, set_reply = fake_worker
    set_reply(_valid(), "go on")
    pid = sb._workers[0].proc.pid
    assert sb.check(TASK, GOOD).passed and sb.check(TASK, GOOD).passed
    assert sb._workers[0].proc.pid == pid


_replies = st.one_of(
    st.integers(0, len(_valid()) - 1).map(lambda n: _valid()[:n]),  # died mid-line
    st.binary(max_size=120),  # noise, perhaps with newlines
    st.sampled_from(
        [
            _valid().replace(b"@ID@", b"@ID@0"),  # the reply to another job
            _valid().replace(b'"passed"', b'"PASSED"'),  # an unknown status
            _valid().replace(b"0.01", b'"0.01"'),  # a field of the wrong type
            _valid().replace(b'"output": ""', b'"output": 3'),
            b"[1, 2]\n",
            b'"passed"\n',
            b"\n",
            b"[" * 5000 + b"\n",  # nested past the recursion limit
        ]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=_replies, then=st.sampled_from(["exit", "go on"]))
def test_a_garbled_reply_is_never_a_pass_and_the_worker_is_replaced(fake_worker, reply, then):
    sb, set_reply = fake_worker
    set_reply(reply, then)
    pid = sb._workers[0].proc.pid
    t0 = time.monotonic()
    out = sb.check(TASK, GOOD, timeout_s=0.1)  # a fake that goes on mid-line: 0.3 s
    assert not out.passed and out.status in {"killed", "error", "timeout"}, out
    assert time.monotonic() - t0 < 5.0
    assert sb._workers[0].proc.pid != pid  # a worker out of step is not used again


def test_a_worker_that_hangs_mid_reply_times_out(fake_worker):
    sb, set_reply = fake_worker
    set_reply(_valid()[:20], "hang")
    t0 = time.monotonic()
    out = sb.check(TASK, GOOD, timeout_s=0.2)
    assert out.status == "timeout" and "did not answer" in out.detail, out
    assert time.monotonic() - t0 < 5.0
    set_reply(_valid(), "go on")
    assert sb.check(TASK, GOOD).passed


def test_a_real_worker_killed_mid_job_is_replaced(humaneval_tasks, monkeypatch):
    """SIGKILL of a real worker while it runs a job: that task fails (killed), never
    passes, and the next one runs on a fresh worker."""
    import threading

    monkeypatch.setattr(_worker_handle, "WORKER", REAL_WORKER)  # the fake's fixture may be up

    t = humaneval_tasks[0]
    slow = "    import time\n    time.sleep(0.5)\n" + t.canonical_solution
    with executor.Sandbox(1) as sb:
        proc = sb._workers[0].proc
        timer = threading.Timer(0.2, proc.kill)
        timer.start()
        out = sb.check(t, slow)
        timer.join()
        assert out.status == "killed" and not out.passed, out
        assert sb.check(t, t.canonical_solution).passed
        assert sb._workers[0].proc.pid != proc.pid
