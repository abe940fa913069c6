"""One sandbox worker seen from the parent: starting it with its settings (the paths its
programs may import, what it hides), the line protocol of jobs and replies (read with a
deadline, checked field by field), and killing it when it dies, hangs or breaks step.

Used by :mod:`rankinv.sandbox.executor`, whose ``Sandbox`` replaces a worker that raised
:class:`WorkerGone`.
"""

from __future__ import annotations

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
from pathlib import Path

from rankinv.errors import UserError

STATUSES = ("passed", "failed", "error", "timeout", "memory", "killed")
WORKER = Path(__file__).with_name("_worker.py")


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
