"""Run untrusted generated code in a sandbox and say whether the tests passed.

A pool of pre-forked workers (``_worker.py``, each a fresh interpreter started with
an empty environment) forks one child per program. See that file for the isolation layers.
A pass means the harness saw ``check(entry_point)`` return and wrote a per-run random nonce
to a private pipe; an exit code of 0 is never enough (``sys.exit(0)``, ``os._exit(0)`` and
atexit tricks end as "error").

Statuses: passed, failed (a test assertion failed), error (any other exception, early exit,
syntax error), timeout (wall clock or CPU seconds), memory (MemoryError, address-space
limit), killed (a signal: file-size limit on output, segfault, ...).
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("passed", "failed", "error", "timeout", "memory", "killed")
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 1024
WORKER = Path(__file__).with_name("_worker.py")


@dataclass(frozen=True)
class Outcome:
    passed: bool
    status: str
    seconds: float
    detail: str = ""
    output: str = ""


# Defined after the untrusted code, so it cannot be replaced; it uses no builtins by name
# (the untrusted code may have patched them): the real ``type`` is (0).__class__.__class__.
# A value is plain when its type is a static (C-defined) type, and the items of a list,
# tuple, set or dict are plain too. A class written by the completion is a heap type, so
# an answer whose __eq__ always returns True (or an int subclass that lies) is refused.
OUTPUT_GUARD = """
def _rankinv_guard(_f):
    _T = (0).__class__.__class__
    _flags = _T.__dict__['__flags__'].__get__
    _heap = 1 << 9
    _seq = ([].__class__, ().__class__, {0}.__class__)
    _map = {}.__class__
    def _plain(_v, _depth):
        _t = _T(_v)
        if _flags(_t) & _heap or _depth > 50:
            return False
        if _t is _map:
            for _k, _w in _map.items(_v):
                if not (_plain(_k, _depth + 1) and _plain(_w, _depth + 1)):
                    return False
        elif _t in _seq:
            for _w in _v:
                if not _plain(_w, _depth + 1):
                    return False
        return True
    def _guarded(*_a, **_kw):
        _r = _f(*_a, **_kw)
        if not _plain(_r, 0):
            raise TypeError('rankinv: the answer is not a plain value')
        return _r
    return _guarded
"""


def build_program(task, completion: str, guard: bool = True) -> str:
    """prompt + completion + test + check(entry_point), as HumanEval runs it; with
    ``guard`` the entry point is wrapped so that answers of the completion's own classes
    (the __eq__-always-True hack) are refused before any comparison (``OUTPUT_GUARD``)."""
    if not guard:
        return f"{task.prompt}{completion}\n\n{task.test}\n\ncheck({task.entry_point})\n"
    return (
        f"{task.prompt}{completion}\n\n{task.test}\n\n{OUTPUT_GUARD}\n"
        f"check(_rankinv_guard({task.entry_point}))\n"
    )


def _batch_program(task, completions: list[str], marker: str) -> str:
    sources = [f"{task.prompt}{c}\n" for c in completions]
    return (
        f"{task.test}\n\n{OUTPUT_GUARD}\n"
        # the guard is bound when the harness is defined, before any candidate runs
        "def _rankinv_batch(_sources, _entry, _check, _guard=_rankinv_guard):\n"
        "    _out = []\n"
        "    for _src in _sources:\n"
        "        _ns = {'__name__': '__candidate__'}\n"
        "        try:\n"
        "            exec(compile(_src, '<candidate>', 'exec'), _ns)\n"
        "            _check(_guard(_ns[_entry]))\n"
        "            _out.append('P')\n"
        "        except AssertionError:\n"
        "            _out.append('F')\n"
        "        except MemoryError:\n"
        "            _out.append('M')\n"
        "        except BaseException:\n"
        "            _out.append('E')\n"
        "    return _out\n\n"
        f"print({marker!r} + ''.join(_rankinv_batch({sources!r}, {task.entry_point!r}, check))"
        f" + {marker!r})\n"
    )


_BATCH_STATUS = {"P": "passed", "F": "failed", "M": "memory", "E": "error"}


def _parse_batch(out: Outcome, marker: str, n: int):
    if not out.passed:
        return None
    i = out.output.rfind(marker, 0, max(0, len(out.output) - len(marker)))
    j = out.output.rfind(marker)
    if i < 0 or j <= i:
        return None
    codes = out.output[i + len(marker) : j]
    if len(codes) != n or set(codes) - set(_BATCH_STATUS):
        return None
    return [(c == "P", _BATCH_STATUS[c], "") for c in codes]


class _Worker:
    def __init__(self, uid: int, mem_mb: int, isolate: bool):
        self.settings = (uid, mem_mb, isolate)  # to start an identical replacement
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            text=True,
            bufsize=1,
            close_fds=True,
        )
        cfg = {
            "uid": uid,
            "mem_bytes": mem_mb * 2**20,
            "fsize_bytes": 4 * 2**20,
            "nproc": 32,
            "isolate": isolate,
            "scratch": tempfile.gettempdir(),
        }
        self.proc.stdin.write(json.dumps(cfg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("sandbox worker failed to start")
        self.hello = json.loads(line)
        self.lock = threading.Lock()

    def run(self, job: dict) -> dict:
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps(job) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except OSError:  # broken pipe: the worker is gone
                line = ""
        if not line:
            raise RuntimeError("sandbox worker died")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at shutdown
            self.proc.kill()


class Sandbox:
    """A pool of sandbox workers. Use as a context manager, or the module-level default."""

    def __init__(self, workers: int = 2, memory_mb: int = DEFAULT_MEMORY_MB, isolate: bool = True):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        base = 100_000 + (os.getpid() % 40_000) * 8
        self._workers = [_Worker(base + k, memory_mb, isolate) for k in range(workers)]
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

    def run_program(self, program: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        k = self._acquire()
        try:
            job = {
                "id": 0,
                "program": program,
                "timeout": float(timeout_s),
                "nonce": secrets.token_hex(16),
            }
            try:
                res = self._workers[k].run(job)
            except RuntimeError:  # a dead worker is replaced, the program counts as killed
                self._workers[k] = _Worker(*self._workers[k].settings)
                return Outcome(False, "killed", float(timeout_s), "sandbox worker died")
        finally:
            self._release(k)
        return Outcome(
            res["status"] == "passed",
            res["status"],
            res["seconds"],
            res.get("detail", ""),
            res.get("output", ""),
        )

    def check(self, task, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
        return self.run_program(build_program(task, completion), timeout_s)

    def check_batch(
        self, task, completions: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Outcome]:
        """Check many completions of one task in one sandboxed process (RL-loop throughput).

        Distinct completions run one after another inside a single sandboxed program, each
        in its own namespace with every exception (SystemExit included) caught, and the
        verdicts are reported under a per-run random marker. If the batch does not finish
        cleanly (a completion calls os._exit, hangs, exhausts memory...), every completion
        of the batch is re-checked in its own process, so one hostile completion cannot
        decide another's verdict by ending the batch. Weaker than :meth:`check` against a
        completion that inspects the harness's frames (it shares their process).
        """
        distinct = list(dict.fromkeys(completions))
        if not distinct:
            return []
        marker = secrets.token_hex(16)
        program = _batch_program(task, distinct, marker)
        out = self.run_program(program, timeout_s * max(1.0, len(distinct) / 8))
        verdicts = _parse_batch(out, marker, len(distinct))
        if verdicts is None:
            checked = self.check_many([(task, c) for c in distinct], timeout_s)
            results = dict(zip(distinct, checked, strict=True))
        else:
            each = out.seconds / len(distinct)
            results = {
                c: Outcome(ok, st, each, detail)
                for c, (ok, st, detail) in zip(distinct, verdicts, strict=True)
            }
        return [results[c] for c in completions]

    def check_batches(
        self, items: Sequence[tuple], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[list[Outcome]]:
        """:meth:`check_batch` for many (task, completions) items on all workers at once."""
        with ThreadPoolExecutor(max_workers=len(self._workers)) as pool:
            futures = [pool.submit(self.check_batch, t, cs, timeout_s) for t, cs in items]
            return [f.result() for f in futures]

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


def default_sandbox(workers: int | None = None) -> Sandbox:
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox(workers or min(2, os.cpu_count() or 1))
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
) -> list[Outcome]:
    """Run many (task, completion) pairs; results keep input order."""
    if workers is not None:
        with Sandbox(workers) as sb:
            return sb.check_many(pairs, timeout_s, progress)
    return default_sandbox().check_many(pairs, timeout_s, progress)
