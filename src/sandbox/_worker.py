"""Sandbox worker: a long-lived process that runs each program as two sandboxed processes.

Started by executor.Sandbox as ``python -I -S _worker.py`` with an empty environment (so
/proc/<pid>/environ of every forked child is clean). Standard library only, in sibling
modules by trust domain, all loaded at start (before isolation hides their files):

- ``_isolation.py``: namespaces, mounts, uids, resource limits, Landlock, and the syscall
  filter of ``_seccomp.py`` (what confines; the worker refuses to start, fail-closed,
  where the filter cannot be installed, unless the parent allows it);
- ``_harness.py``: the harness process, which runs a task's tests (trusted with them);
- ``_zygote.py``: the zygote, which forks the completion processes (untrusted code) and
  never sees a test;
- this file: the main loop (root): reads jobs, enforces wall-clock timeouts, restarts the
  harness, turns its report into a status; plus ``_wire.py``, the plain-value encoding.

Trust is split. For each program the *completion* process (prompt + completion, untrusted)
and the *harness* process (prompt helpers + the task's tests, with a proxy ``candidate``)
run under two different unprivileged uids. Every ``candidate(...)`` call crosses a pipe as
plain data (``_wire``: tagged JSON, never pickle); the harness alone holds the pipe on which
the verdict comes back to this worker. The completion cannot read, trace or signal the
harness (another uid), holds no descriptor of the verdict pipe, and never shares a process
with the tests or with another completion.

Processes of a worker: the worker (root: timeouts, restarts); a *harness* (uid u), kept
warm, that runs the tests of one job after another; a *zygote* (root), forked at start
before any job (and any test) was read, that forks the completion processes one spare
ahead (uids u+1 and u+2 in turn) and hands their pipes to the harness. When a job's tests
end, the harness asks the zygote to kill every process of that completion's uid; each
completion is in a Landlock domain of its own (no abstract unix socket, no signal outside
it), so the next completion need not wait for that kill (without Landlock it does).

Protocol: one JSON object per line on stdin (id, prompt, completion, test, entry_point,
timeout); one JSON result per line on stdout (id, status, seconds, detail, output).
"""

import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import time

try:  # a module of the rankinv.sandbox package (tests)
    from . import _harness, _isolation, _seccomp, _wire, _zygote
except ImportError:  # the worker itself: no package; the siblings load now, while readable
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _harness
    import _isolation
    import _seccomp
    import _wire
    import _zygote

    del sys.path[0]

# Loaded now, before the zygote is forked, so that a completion starts fast (every stdlib
# module imports later too); the zygote stays small, which keeps its forks cheap.
PRELOAD = (
    "math",
    "cmath",
    "re",
    "string",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "typing",
    "hashlib",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "operator",
    "copy",
    "datetime",
)
# Loaded after the zygote is forked: for the harness (and the tests) only.
HARNESS_PRELOAD = (
    "json",
    "array",
    "numbers",
    "textwrap",
    "unicodedata",
    "enum",
    "dataclasses",
    "contextlib",
    "io",
    "time",
    "threading",
    "subprocess",
    "traceback",
    "linecache",
    "tokenize",
    "inspect",
)


def _preload(names):
    for name in names:
        try:
            __import__(name)
        except ImportError:
            pass


_preload(PRELOAD)


def _verdict(report, h_status, timed_out, timeout):
    if report == "P":
        return "passed", ""
    if timed_out:
        return "timeout", f"exceeded {timeout} s wall clock"
    if report.startswith("C "):  # the candidate's process ended or misbehaved
        kind, _, detail = report[2:].partition(" ")
        return (kind if kind in ("timeout", "memory", "killed") else "error"), detail
    for prefix, status in (("M ", "memory"), ("F ", "failed"), ("E ", "error")):
        if report.startswith(prefix):
            return status, report[2:]
    if h_status is not None and os.WIFSIGNALED(h_status):
        sig = os.WTERMSIG(h_status)
        if sig == signal.SIGXCPU:
            return "timeout", f"the tests exceeded {timeout} s of CPU"
        return "killed", f"harness killed by {signal.Signals(sig).name}"
    return "error", "the harness ended before the tests finished"


# what a tested program hits when it runs into a limit, as the exception it sees says it
LIMIT_HINTS = (
    ("[Errno 27]", "the file-size limit, printed output included"),
    ("[Errno 28]", "the scratch space is full"),
    ("[Errno 11] Resource temporarily unavailable", "the process limit"),
    ("can't start new thread", "the process limit"),
    ("[Errno 24]", "the open-file limit"),
)


def limit_hint(detail: str) -> str:
    """``detail`` with the limit it shows named, when it shows one."""
    for marker, limit in LIMIT_HINTS:
        if marker in detail:
            return f"{detail} ({limit})"
    return detail


class ZygoteGone(RuntimeError):
    pass


class Harness:
    """The worker's harness process, started again after a timeout or a crash."""

    def __init__(self, cfg, root, zsock, zpid):
        self.cfg, self.root, self.zsock, self.uid = cfg, root, zsock, cfg["uid"]
        self.zpid = zpid
        self.starts = 0
        self.start()

    def start(self):
        self.starts += 1
        workdir = _isolation.scratch_dir(self.root, f"harness{self.starts}", self.uid, self.cfg)
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        zchan, zchan_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            try:  # whatever happens, the worker sees the harness end and starts another
                _harness.serve(child, zchan_child, self.cfg, workdir, self.uid)
            finally:
                os._exit(0)
        child.close()
        zchan_child.close()
        try:
            socket.send_fds(self.zsock, [b"H"], [zchan.fileno()])
        except OSError as exc:
            raise ZygoteGone(str(exc)) from None
        finally:
            zchan.close()

    def restart(self, wait_s: float = 0.0):
        """End this harness and the completion processes (each of their uids swept),
        start a new harness; the old one's wait status."""
        self.sock.close()
        if self.cfg["drop"]:
            for uid in (self.uid + 1, self.uid + 2):
                _isolation.kill_uid(uid)
        keep = {self.zpid}
        status = _isolation.end_session(self.pid, self.uid, self.cfg, keep, wait_s)
        shutil.rmtree(os.path.join(self.root, f"harness{self.starts}"), ignore_errors=True)
        self.start()
        return status


def _report(data: bytes):
    """The harness's report ({"v": verdict line, "out": output}) or None if malformed."""
    try:
        res = json.loads(data)
    except (ValueError, RecursionError):
        return None
    ok = type(res) is dict and type(res.get("v")) is str and type(res.get("out")) is str
    return res if ok else None


def run_job(job, cfg, h):
    t0 = time.perf_counter()
    timeout = float(job["timeout"])
    keys = ("prompt", "completion", "test", "entry_point")
    data = json.dumps({**{k: job[k] for k in keys}, "timeout": timeout}).encode()
    reply, crashed, timed_out = None, False, False
    try:
        _wire.send_frame(h.sock, data)
    except OSError:
        crashed = True
    deadline = t0 + timeout
    while not crashed:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([h.sock], [], [], left)
        if ready:
            try:
                reply = _wire.recv_frame(h.sock)
            except (OSError, _wire.WireError):  # restarted below, as a crash
                reply = None
            crashed = reply is None
            break
    seconds = time.perf_counter() - t0
    res = _report(reply) if reply else None
    malformed = reply is not None and res is None
    h_status = None
    if crashed or timed_out or malformed:  # a harness out of step is not used again
        h_status = h.restart(wait_s=0.2 if crashed else 0.0)
    res = res or {"v": "", "out": ""}
    status, detail = _verdict(res["v"], h_status, timed_out, timeout)
    if malformed:
        status, detail = "error", "malformed report from the harness"
    elif status != "passed":
        detail = limit_hint(detail)
    return {
        "id": job["id"],
        "status": status,
        "seconds": seconds,
        "detail": detail,
        "output": res["out"][:2000],
    }


def main():
    cfg = json.loads(sys.stdin.readline())
    if cfg.get("cpu") is not None:  # inherited by the zygote, harness and completions
        try:
            os.sched_setaffinity(0, {cfg["cpu"]})
        except OSError:
            pass
    libc = _isolation.load_libc()
    is_root = os.geteuid() == 0
    done = _isolation.isolate_once(libc, cfg) if (is_root and cfg.get("isolate", True)) else []
    if libc.prctl(_isolation.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        done.append("child subreaper")
    cfg["netns"] = "network namespace" in done
    cfg["drop"] = is_root and cfg.get("isolate", True)
    cfg["scoped"] = cfg["drop"] and _isolation.landlock_abi(libc) >= 6
    if cfg["scoped"]:
        done.append("Landlock scope per completion (abstract sockets, signals)")
    # the syscall filter: fail-closed, unless the parent was told it may run without it
    why_not = _seccomp.unavailable()
    cfg["seccomp"] = not why_not
    if cfg["seccomp"]:
        done.append("syscall filter (seccomp)")
    elif cfg.get("require_seccomp", True):
        sys.stdout.write(json.dumps({"ready": False, "error": why_not}) + "\n")
        sys.stdout.flush()
        return
    if not cfg["drop"]:  # no mount namespace: allowed packages come from site-packages
        cfg["site_path"] = cfg.get("site_dirs", [])
    else:
        cfg["site_path"] = sorted({os.path.dirname(p) for p in cfg.get("allowed_paths", ())})
    root = os.path.join(
        "/tmp" if "tmpfs /tmp" in done else cfg["scratch"], f"rankinv-sandbox-{os.getpid()}"
    )
    os.makedirs(root, mode=0o711, exist_ok=True)
    zsock, zsock_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # what is loaded now is never scanned by the collector again: a forked process then
    # does not copy every page of the heap on its first collection
    gc.collect()
    gc.freeze()
    zpid = os.fork()
    if zpid == 0:  # the zygote: forked before any job was read
        try:
            zsock.close()
            devnull = os.open("/dev/null", os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            _zygote.serve(zsock_child, cfg, root)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(0)
    zsock_child.close()
    _preload(HARNESS_PRELOAD)
    harness_proc = Harness(cfg, root, zsock, zpid)
    hello = {
        "ready": True,
        "isolation": done
        + (
            ["uid drop", "split trust (harness and completion: separate uids)"]
            if cfg["drop"]
            else []
        )
        + ["completion in its own process"],
        "root": is_root,
    }
    sys.stdout.write(json.dumps(hello) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            res = run_job(job, cfg, harness_proc)
        except ZygoteGone:
            import traceback

            traceback.print_exc()
            break  # the parent sees this worker end and starts a fresh one
        except Exception as exc:  # the worker must survive anything a program does
            res = {
                "id": job.get("id"),
                "status": "error",
                "seconds": 0.0,
                "detail": f"sandbox failure: {type(exc).__name__}: {exc}",
                "output": "",
            }
        del job
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()
    zsock.close()
    harness_proc.sock.close()
    for pid in (zpid, harness_proc.pid):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
