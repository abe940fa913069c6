"""Sandbox worker: a long-lived process that forks one child per untrusted program.

Started by executor.Sandbox as ``python -I -S _worker.py`` with an empty
environment (so /proc/<pid>/environ of every forked child is clean). Standard library only.

Once, at start (when root): a private network namespace (no interface is up, nothing is
reachable) and a private mount namespace with fresh tmpfs on /tmp, /var/tmp and /dev/shm
(the only world-writable places), so programs can write nowhere that outlives them.
Per program: fork; in the child, a new session, a fresh working directory on the tmpfs,
stdin from /dev/null, stdout/stderr to a capped file, resource limits (address space, CPU
seconds, processes, file size, open files, no core), then drop to an unprivileged uid of
this worker's own; exec the program in the already-warm interpreter. The worker keeps
root: it kills the session on timeout, then sweeps every process of the program's uid.

Protocol: one JSON object per line on stdin (id, program, timeout, nonce); one JSON
result per line on stdout (id, status, seconds, detail, output).
"""

import ctypes
import json
import os
import resource
import select
import shutil
import signal
import sys
import time

# Modules the programs may import: loaded now, while the interpreter's files are readable;
# after the privilege drop an import that needs a file fails (the prefix is root-only).
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
    "json",
    "array",
    "numbers",
    "textwrap",
    "unicodedata",
    "enum",
    "dataclasses",
    "abc",
    "contextlib",
    "io",
    "struct",
    "time",
    "threading",
    "atexit",
    "socket",
    "subprocess",
    "signal",
    "ast",
    "sys",
    "os",
    "encodings.idna",
    "traceback",
    "linecache",
    "tokenize",
    "inspect",
)
for _name in PRELOAD:
    try:
        __import__(_name)
    except ImportError:
        pass

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_CHILD_SUBREAPER = 36
OUTPUT_CAP = 64 * 1024


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def isolate_once(libc) -> list[str]:
    """Private network and mount namespaces; tmpfs over the world-writable directories."""
    done = []
    if libc.unshare(CLONE_NEWNET) == 0:
        done.append("network namespace")
    if libc.unshare(CLONE_NEWNS) == 0:
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0:
            for d in (b"/tmp", b"/var/tmp", b"/dev/shm"):
                if (
                    os.path.isdir(d)
                    and libc.mount(b"tmpfs", d, b"tmpfs", 0, b"size=256m,mode=1777") == 0
                ):
                    done.append(f"tmpfs {d.decode()}")
            done.insert(0, "mount namespace")
    return done


def sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` (escaped grandchildren included)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _has_children() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)  # reaps one zombie if there is one
    except ChildProcessError:
        return False
    return True


def reap_orphans(wait_s: float = 1.0) -> None:
    """Reap the killed descendants reparented to this worker (a child subreaper) until none
    is left, so neither live processes nor zombies outlast the program (a zombie would
    count against the next program's process limit)."""
    deadline = time.perf_counter() + wait_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children left
        if pid == 0:
            if time.perf_counter() > deadline:
                return
            time.sleep(0.001)


def run_child(job, cfg, workdir, uid, report_w):
    """In the forked child: confine, drop privileges, run the program, report."""
    try:
        os.setsid()
        os.chdir(workdir)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(
            os.path.join(workdir, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
        )
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, report_w)
        os.closerange(report_w + 1, 1 << 16)
        limits = {
            resource.RLIMIT_AS: cfg["mem_bytes"],
            resource.RLIMIT_CPU: int(job["timeout"]) + 1,
            resource.RLIMIT_FSIZE: cfg["fsize_bytes"],
            resource.RLIMIT_NOFILE: 64,
            resource.RLIMIT_CORE: 0,
            resource.RLIMIT_NPROC: cfg["nproc"],
        }
        for res, val in limits.items():
            try:
                resource.setrlimit(res, (val, val))
            except (ValueError, OSError):
                pass
        if cfg["drop"]:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"})
        if not cfg["netns"]:
            import socket

            def _no_network(*a, **k):
                raise OSError("network disabled in the sandbox")

            socket.socket = _no_network
            socket.create_connection = _no_network
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        sys.stdin = open(0, closefd=False)
        sys.setrecursionlimit(3000)
        code = compile(job["program"], "<program>", "exec")
        nonce = job.pop("nonce").encode()
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        del job
    except BaseException as exc:  # setup failure: report and leave
        try:
            os.write(report_w, f"E setup {type(exc).__name__}: {exc}".encode()[:500])
        finally:
            os._exit(3)
    try:
        exec(code, namespace)
    except AssertionError as exc:
        os.write(report_w, f"F AssertionError {exc}".encode()[:500])
        os._exit(1)
    except MemoryError:
        os.write(report_w, b"M MemoryError")
        os._exit(1)
    except RecursionError:
        os.write(report_w, b"E RecursionError")
        os._exit(1)
    except SystemExit as exc:
        os.write(report_w, f"E SystemExit({exc.code!r}) before the tests finished".encode())
        os._exit(1)
    except BaseException as exc:
        os.write(report_w, f"E {type(exc).__name__}: {exc}".encode()[:500])
        os._exit(1)
    # the check returned: only now is the nonce written (after the program's output is
    # flushed: os._exit skips Python's buffers)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or replaced stream loses its output only
            pass
    os.write(report_w, b"P " + nonce)
    os._exit(0)


def run_job(job, cfg, index, uid, root):
    workdir = os.path.join(root, f"job{index}")
    os.makedirs(workdir, mode=0o700)
    if cfg["drop"]:
        os.chown(workdir, uid, uid)
    nonce = job["nonce"]
    report_r, report_w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        run_child(job, cfg, workdir, uid, report_w)
        os._exit(4)
    os.close(report_w)
    deadline = t0 + job["timeout"]
    chunks = []
    timed_out = False
    status_code = None
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([report_r], [], [], min(left, 0.05))
        if ready:
            data = os.read(report_r, 4096)
            if data:
                chunks.append(data)
                continue
            break  # EOF: the child (and any fd holder) closed the pipe
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status_code = st
            break
    seconds = time.perf_counter() - t0
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if status_code is None:
        try:
            _, status_code = os.waitpid(pid, 0)
        except ChildProcessError:
            status_code = 0
    # Every descendant of the program is reparented to this worker (a child subreaper)
    # when its parent dies, so "no child left" proves that nothing outlived the program;
    # only then is the per-uid sweep (one more fork) skipped.
    if _has_children():
        if cfg["drop"]:
            sweep_uid(uid)
        reap_orphans()
    os.close(report_r)
    report = b"".join(chunks).decode(errors="replace")
    try:
        with open(os.path.join(workdir, ".output"), "rb") as fh:
            output = fh.read(OUTPUT_CAP).decode(errors="replace")
    except OSError:
        output = ""
    shutil.rmtree(workdir, ignore_errors=True)
    sig = os.WTERMSIG(status_code) if os.WIFSIGNALED(status_code) else None
    exit_code = os.WEXITSTATUS(status_code) if os.WIFEXITED(status_code) else None
    if report == "P " + nonce and exit_code == 0:
        status, detail = "passed", ""
    elif timed_out or sig == signal.SIGXCPU:
        status, detail = (
            "timeout",
            f"exceeded {job['timeout']} s"
            + (" of CPU" if sig == signal.SIGXCPU else " wall clock"),
        )
    elif report.startswith("M "):
        status, detail = "memory", report[2:]
    elif report.startswith("F "):
        status, detail = "failed", report[2:]
    elif report.startswith("E "):
        status, detail = "error", report[2:]
    elif report.startswith("P "):
        status, detail = "error", "forged or garbled pass report"
    elif sig is not None:
        name = signal.Signals(sig).name
        status = "memory" if "MemoryError" in output else "killed"
        detail = f"killed by {name}" + (
            " (output or file size limit)" if sig == signal.SIGXFSZ else ""
        )
    else:
        status = "error"
        detail = f"exited with code {exit_code} before the tests finished"
    return {
        "id": job["id"],
        "status": status,
        "seconds": seconds,
        "detail": detail,
        "output": output[:2000],
    }


def main():
    cfg = json.loads(sys.stdin.readline())
    libc = _libc()
    is_root = os.geteuid() == 0
    done = isolate_once(libc) if (is_root and cfg.get("isolate", True)) else []
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        done.append("child subreaper")
    cfg["netns"] = "network namespace" in done
    cfg["drop"] = is_root and cfg.get("isolate", True)
    root = os.path.join(
        "/tmp" if "tmpfs /tmp" in done else cfg["scratch"], f"rankinv-sandbox-{os.getpid()}"
    )
    os.makedirs(root, mode=0o711, exist_ok=True)
    uid = cfg["uid"]
    hello = {
        "ready": True,
        "isolation": done + (["uid drop"] if cfg["drop"] else []),
        "root": is_root,
    }
    sys.stdout.write(json.dumps(hello) + "\n")
    sys.stdout.flush()
    index = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        index += 1
        try:
            res = run_job(job, cfg, index, uid, root)
        except Exception as exc:  # the worker must survive anything a program does
            res = {
                "id": job.get("id"),
                "status": "error",
                "seconds": 0.0,
                "detail": f"sandbox failure: {type(exc).__name__}: {exc}",
                "output": "",
            }
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
