"""Run untrusted generated code in a sandbox and say whether the tests passed.

A pool of workers (``_worker.py``, each a fresh interpreter started with an empty
environment by subprocess's exec, never by ``os.fork`` of the caller, which may hold JAX
or torch threads) runs each program as two sandboxed processes under two unprivileged
uids: the *completion* (prompt + completion) and the *harness* (the task's tests, with a
proxy ``candidate``). Each ``candidate(...)`` call crosses a pipe as plain data
(``_wire``: tagged JSON, never pickle) and only the harness, which the completion can
neither read, trace nor signal, reports the verdict. See ``_worker.py`` for the layers.

Statuses: passed, failed (a test assertion failed), error (any other exception, early exit,
syntax error, an answer that is not a plain value), timeout (wall clock or CPU seconds),
memory (MemoryError, address-space limit), killed (a signal: file-size limit on output,
segfault, ...).
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import json
import os
import select
import site
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rankinv.errors import UserError

STATUSES = ("passed", "failed", "error", "timeout", "memory", "killed")
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 1024
MAX_WORKERS = 256
WORKER = Path(__file__).with_name("_worker.py")


@dataclass(frozen=True)
class Outcome:
    """``detail``: why it did not pass; ``output``: what the completion printed, when its
    process ended before the tests finished (otherwise empty)."""

    passed: bool
    status: str
    seconds: float
    detail: str = ""
    output: str = ""


def default_workers() -> int:
    """One worker per CPU this process may run on (its affinity mask where the platform
    has one, else the machine's count), at most :data:`MAX_WORKERS`: each worker's
    processes take turns on one CPU (the tests and the completion ping-pong), so fewer
    leave CPUs idle and more only queue."""
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def check_allow_imports(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as ``Sandbox(allow_imports=...)`` takes them, or a one-line
    :class:`UserError` (not a top-level module name, not installed): for a caller that
    checks user input before any long work starts."""
    names = tuple(names)
    _allowed_paths(names)
    return names


def _site_dirs() -> list[str]:
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user:
        dirs.append(user)
    dirs += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return [str(Path(d).resolve()) for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def _allowed_paths(names: tuple[str, ...]) -> list[str]:
    """The files a program needs to import the top-level modules ``names``: the package
    (or module file) and its siblings named after it (``numpy.libs``, dist-info)."""
    paths: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise UserError(f"allow_imports: {name!r} is not a top-level module name")
        if name in sys.stdlib_module_names:
            continue  # every stdlib module imports anyway
        spec = importlib.util.find_spec(name)
        if (
            spec is None
            or spec.origin in (None, "built-in", "frozen")
            and not (spec.submodule_search_locations)
        ):
            raise UserError(f"allow_imports: module {name!r} is not installed here")
        locs = list(spec.submodule_search_locations or []) or [spec.origin]
        for loc in locs:
            loc = Path(loc).resolve()
            paths.append(str(loc))
            parent = loc.parent
            for sib in parent.iterdir():
                stem = _norm(sib.name)
                if sib != loc and (
                    stem == _norm(name) + ".libs"
                    or (stem.startswith(_norm(name) + "_") and stem.endswith(".dist_info"))
                    or stem.startswith(_norm(name) + ".")
                    and sib.suffix == ".so"
                ):
                    paths.append(str(sib.resolve()))
    return list(dict.fromkeys(paths))


# top-level directories of the system, never hidden from the sandbox
_SYSTEM_TOPS = {
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
}


def _private_tops() -> list[str]:
    """Top-level directories of this environment and working directory (say /data), hidden
    from the sandbox besides the usual /root, /home, /work, ... (system ones excepted)."""
    tops = set()
    for p in (sys.prefix, os.getcwd()):
        parts = Path(p).resolve().parts
        if len(parts) > 1 and "/" + parts[1] not in _SYSTEM_TOPS:
            tops.add("/" + parts[1])
    return sorted(tops)


_uid_lock = threading.Lock()
_uid_next = 0


def _uid_block(n: int) -> int:
    """``n`` consecutive uids of their own for one Sandbox of this process."""
    global _uid_next
    with _uid_lock:
        start = 100_000 + (os.getpid() % 30_000) * 1024 + _uid_next % (1024 - n)
        _uid_next += n
    return start


#: Set to 1 to let the sandbox run tested code without its syscall filter where the filter
#: cannot be installed (another architecture, a kernel without seccomp); by default it
#: refuses to start there. The same as ``Sandbox(allow_unfiltered=True)``.
ALLOW_UNFILTERED_ENV = "RANKINV_SANDBOX_ALLOW_UNFILTERED"


def _allow_unfiltered_default() -> bool:
    return os.environ.get(ALLOW_UNFILTERED_ENV, "") not in ("", "0")


#: How long past a job's own timeout the parent waits for the worker's reply before it
#: counts the worker as hung (kills it, starts another, reports a timeout).
REPLY_GRACE_S = 30.0
#: How long a worker may take to start (isolation, preloading the standard library).
START_TIMEOUT_S = 120.0
MAX_REPLY_BYTES = 1 << 20  # a reply holds at most ~2 kB of output and a short detail


class WorkerGone(RuntimeError):
    """The worker died, hung or broke the protocol: it is replaced; ``status`` is what the
    program it was running counts as (never a pass)."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status


def _reply(line: bytes, job_id: int) -> dict | None:
    """The worker's reply to job ``job_id`` if ``line`` is one, else None."""
    try:
        res = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if (
        type(res) is not dict
        or res.get("id") != job_id
        or res.get("status") not in STATUSES
        or type(res.get("seconds")) not in (int, float)
        or type(res.get("detail", "")) is not str
        or type(res.get("output", "")) is not str
    ):
        return None
    return res


class _Worker:
    def __init__(
        self,
        uid: int,
        mem_mb: int,
        isolate: bool,
        allow: tuple[str, ...] = (),
        cpu=None,
        allow_unfiltered: bool = False,
    ):
        # for an identical replacement
        self.settings = (uid, mem_mb, isolate, allow, cpu, allow_unfiltered)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            close_fds=True,
        )
        self._buf = b""  # what the worker wrote past the last full line
        self._ids = itertools.count(1)
        cfg = {
            "uid": uid,
            "mem_bytes": mem_mb * 2**20,
            "fsize_bytes": 4 * 2**20,
            "nproc": 32,
            "isolate": isolate,
            "scratch": tempfile.gettempdir(),
            "site_dirs": _site_dirs(),
            "allowed_paths": _allowed_paths(allow),
            "hide": _private_tops(),
            "cpu": cpu,
            "require_seccomp": not allow_unfiltered,
        }
        try:
            self._send(cfg)
            line = self._readline(time.monotonic() + START_TIMEOUT_S)
            self.hello = json.loads(line) if line else None
        except (OSError, ValueError):
            self.hello = None
        if type(self.hello) is not dict:
            self.kill()
            raise RuntimeError("sandbox worker failed to start")
        if not self.hello.get("ready"):
            self.kill()
            raise UserError(
                f"the sandbox cannot install its syscall filter ({self.hello.get('error')});"
                f" set {ALLOW_UNFILTERED_ENV}=1 to run tested code without it"
            )
        self.lock = threading.Lock()

    def _send(self, obj) -> None:
        self.proc.stdin.write(json.dumps(obj).encode() + b"\n")
        self.proc.stdin.flush()

    def _readline(self, deadline: float) -> bytes | None:
        """The worker's next line; b"" at end of file (it died, maybe mid-line); None if
        none came by ``deadline`` or it grew past :data:`MAX_REPLY_BYTES` (it hung or
        broke the protocol). Reads the descriptor itself, with a deadline."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            if len(self._buf) > MAX_REPLY_BYTES:
                return None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def run(self, job: dict) -> dict:
        """The worker's reply to ``job``; :class:`WorkerGone` if it died, hung or replied
        with anything but a well-formed reply to this very job."""
        job = {**job, "id": next(self._ids)}
        with self.lock:
            try:
                self._send(job)
            except OSError:  # broken pipe: the worker is gone
                raise WorkerGone("killed", "sandbox worker died") from None
            line = self._readline(time.monotonic() + job["timeout"] + REPLY_GRACE_S)
        if line is None:
            raise WorkerGone("timeout", "sandbox worker did not answer in time")
        if not line:
            raise WorkerGone("killed", "sandbox worker died")
        res = _reply(line, job["id"])
        if res is None:
            raise WorkerGone("error", "sandbox worker sent a malformed reply")
        return res

    def kill(self) -> None:
        """End the worker at once (its processes end with it: their pipes close)."""
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - best effort on a worker being replaced
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at shutdown
            self.proc.kill()


class Sandbox:
    """A pool of sandbox workers. Use as a context manager, or the module-level default.

    ``workers``: how many programs run at once; None: :func:`default_workers` (one per
    CPU). ``allow_imports``: top-level site-packages modules the programs may import (say
    ``("numpy",)``); the standard library always imports, nothing else of site-packages
    does. Without root (no namespaces, no uid drop) it is not enforced.
    ``allow_unfiltered``: start even where the syscall filter cannot be installed (None:
    the environment variable :data:`ALLOW_UNFILTERED_ENV`); by default such a sandbox
    refuses to start (:class:`UserError`)."""

    def __init__(
        self,
        workers: int | None = None,
        memory_mb: int = DEFAULT_MEMORY_MB,
        isolate: bool = True,
        allow_imports: Sequence[str] = (),
        allow_unfiltered: bool | None = None,
    ):
        if allow_unfiltered is None:
            allow_unfiltered = _allow_unfiltered_default()
        if workers is None:
            workers = default_workers()
        if type(workers) is not int or not 1 <= workers <= MAX_WORKERS:
            raise UserError(f"workers must be an integer in [1, {MAX_WORKERS}], got {workers!r}")
        allow = check_allow_imports(allow_imports)  # a clear error before any worker starts
        base = _uid_block(3 * workers)
        # worker k: harness uid base + 3k, completion processes base + 3k + 1 and + 2
        self.uids = [base + j for j in range(3 * workers)]
        # as many workers as CPUs (or more): each worker's processes share one CPU (their
        # calls ping-pong between the tests and the completion; no migrations)
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        pin = bool(cpus) and workers >= len(cpus)
        self._workers = []
        try:
            for k in range(workers):
                cpu = cpus[k % len(cpus)] if pin else None
                self._workers.append(
                    _Worker(base + 3 * k, memory_mb, isolate, allow, cpu, allow_unfiltered)
                )
        except BaseException:
            for w in self._workers:
                w.close()
            raise
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._free = list(range(workers))
        self._cv = threading.Condition()

    @property
    def isolation(self) -> list[str]:
        """The isolation layers the workers achieved on this machine."""
        return list(self._workers[0].hello["isolation"])

    def _acquire(self) -> int:
        with self._cv:
            while not self._free:
                self._cv.wait()
            return self._free.pop()

    def _release(self, k: int) -> None:
        with self._cv:
            self._free.append(k)
            self._cv.notify()

    def check(self, task, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
        """Run one completion against its task's tests: the completion and the tests in two
        processes, every ``candidate(...)`` call crossing between them as plain data."""
        if not timeout_s > 0:
            raise UserError(f"timeout_s must be > 0, got {timeout_s!r}")
        if not isinstance(completion, str):
            raise UserError(f"completion must be a str, got {type(completion).__name__}")
        job = {
            "id": 0,
            "prompt": task.prompt,
            "completion": completion,
            "test": task.test,
            "entry_point": task.entry_point,
            "timeout": float(timeout_s),
        }
        k = self._acquire()
        try:
            try:
                res = self._workers[k].run(job)
            except WorkerGone as exc:  # replaced; the program counts as killed, hung, error
                old = self._workers[k]
                old.kill()
                self._workers[k] = _Worker(*old.settings)
                return Outcome(False, exc.status, float(timeout_s), str(exc))
        finally:
            self._release(k)
        return Outcome(
            res["status"] == "passed",
            res["status"],
            res["seconds"],
            res.get("detail", ""),
            res.get("output", ""),
        )

    def check_batch(
        self, task, completions: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Outcome]:
        """Check many completions of one task (RL-loop use); results keep input order.

        Each distinct completion runs in its own pair of processes, exactly as
        :meth:`check` runs it (no two completions share a process), on all workers at
        once; duplicates are run once."""
        distinct = list(dict.fromkeys(completions))
        results = dict(
            zip(distinct, self.check_many([(task, c) for c in distinct], timeout_s), strict=True)
        )
        return [results[c] for c in completions]

    def check_batches(
        self, items: Sequence[tuple], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[list[Outcome]]:
        """:meth:`check_batch` for many (task, completions) items on all workers at once."""
        items = [(t, list(cs)) for t, cs in items]
        pairs, index = [], []
        for t, cs in items:
            distinct = list(dict.fromkeys(cs))
            index.append((len(pairs), distinct))
            pairs += [(t, c) for c in distinct]
        flat = self.check_many(pairs, timeout_s)
        out = []
        for (start, distinct), (_, cs) in zip(index, items, strict=True):
            got = dict(zip(distinct, flat[start : start + len(distinct)], strict=True))
            out.append([got[c] for c in cs])
        return out

    def check_many(
        self, pairs: Iterable[tuple], timeout_s: float = DEFAULT_TIMEOUT_S, progress: bool = False
    ) -> list[Outcome]:
        """Check (task, completion) pairs on all workers; results keep input order."""
        pairs = list(pairs)
        futures = [self._pool.submit(self.check, t, c, timeout_s) for t, c in pairs]
        if progress:
            from tqdm import tqdm

            return [f.result() for f in tqdm(futures, desc="executing", unit="prog")]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for w in self._workers:
            w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The module's shared sandbox (:func:`default_workers` workers, no site-packages
    imports), started on first use and closed at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


def check(task, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
    """Run one completion against its task's tests in the default sandbox."""
    return default_sandbox().check(task, completion, timeout_s)


def check_many(
    pairs: Sequence[tuple],
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = False,
    allow_imports: Sequence[str] = (),
) -> list[Outcome]:
    """Run many (task, completion) pairs; results keep input order. With ``workers`` or
    ``allow_imports`` in a sandbox of their own, else in the default one."""
    if workers is not None or tuple(allow_imports):
        with Sandbox(workers, allow_imports=allow_imports) as sb:
            return sb.check_many(pairs, timeout_s, progress)
    return default_sandbox().check_many(pairs, timeout_s, progress)
