"""Run untrusted generated code in a sandbox and say whether the tests passed.

A pool of workers (``_worker.py``, each a fresh interpreter started with an empty
environment by subprocess's exec, never by ``os.fork`` of the caller, which may hold JAX
or torch threads) runs each program as two sandboxed processes under two unprivileged
uids: the *completion* (prompt + completion) and the *harness* (the task's tests, with a
proxy ``candidate``). Each ``candidate(...)`` call crosses a pipe as plain data
(``_wire``: tagged JSON, never pickle) and only the harness, which the completion can
neither read, trace nor signal, reports the verdict. See ``_worker.py`` for the layers,
``_worker_handle.py`` for how the parent starts, talks to and replaces a worker.

Statuses: passed, failed (a test assertion failed), error (any other exception, early exit,
syntax error, an answer that is not a plain value), timeout (wall clock or CPU seconds),
memory (MemoryError, address-space limit), killed (a signal: file-size limit on output,
segfault, ...).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rankinv.errors import UserError
from rankinv.sandbox._worker_handle import (
    ALLOW_UNFILTERED_ENV,
    STATUSES,
    WorkerGone,
    _allow_unfiltered_default,
    _allowed_paths,
    _Worker,
)

__all__ = [
    "ALLOW_UNFILTERED_ENV",
    "STATUSES",
    "CheckResult",
    "Outcome",
    "Sandbox",
    "WorkerGone",
    "check",
    "check_allow_imports",
    "check_many",
    "default_sandbox",
    "default_workers",
]

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 1024
MAX_WORKERS = 256


@dataclass(frozen=True)
class CheckResult:
    """The sandbox's verdict on one completion: ``passed`` only when the test's
    check(entry_point) ran to the end; ``status`` says how it ended; ``detail``: why it did
    not pass; ``output``: what the completion printed, when its process ended before the
    tests finished (otherwise empty)."""

    passed: bool
    status: str
    seconds: float
    detail: str = ""
    output: str = ""


#: The contract's old name (DESIGN.md: executor.check -> Outcome), kept working.
Outcome = CheckResult


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


_uid_lock = threading.Lock()
_uid_next = 0


def _live_uids() -> set[int]:
    """The uids (real, effective, saved, fs) of every process alive now, from /proc."""
    uids: set[int] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as fh:
                line = next((ln for ln in fh if ln.startswith("Uid:")), "")
        except OSError:  # the process ended while we looked
            continue
        uids.update(int(x) for x in line.split()[1:])
    return uids


def _uid_block(n: int) -> int:
    """``n`` consecutive uids of their own for one Sandbox of this process: a block in this
    process's range (by its pid) that no live process holds. The range wraps after about
    340 sandboxes of one worker, and a process elsewhere may share this pid's range (pids
    equal modulo 30,000): a block still held by a live process is skipped, since a sandbox
    sweeps its uids with kill(-1) and counts their processes."""
    global _uid_next
    with _uid_lock:
        live = _live_uids()
        for _ in range(1024):
            start = 100_000 + (os.getpid() % 30_000) * 1024 + _uid_next % (1024 - n)
            _uid_next += n
            if live.isdisjoint(range(start, start + n)):
                return start
    raise RuntimeError(f"no free block of {n} sandbox uids: every one is held by a live process")


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

    def check(self, task, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
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
                return CheckResult(False, exc.status, float(timeout_s), str(exc))
        finally:
            self._release(k)
        return CheckResult(
            res["status"] == "passed",
            res["status"],
            res["seconds"],
            res.get("detail", ""),
            res.get("output", ""),
        )

    def check_batch(
        self, task, completions: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[CheckResult]:
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
    ) -> list[list[CheckResult]]:
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
    ) -> list[CheckResult]:
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


def check(task, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Run one completion against its task's tests in the default sandbox."""
    return default_sandbox().check(task, completion, timeout_s)


def check_many(
    pairs: Sequence[tuple],
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = False,
    allow_imports: Sequence[str] = (),
) -> list[CheckResult]:
    """Run many (task, completion) pairs; results keep input order. With ``workers`` or
    ``allow_imports`` in a sandbox of their own, else in the default one."""
    if workers is not None or tuple(allow_imports):
        with Sandbox(workers, allow_imports=allow_imports) as sb:
            return sb.check_many(pairs, timeout_s, progress)
    return default_sandbox().check_many(pairs, timeout_s, progress)
