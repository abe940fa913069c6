"""Isolation of the sandbox worker: namespaces, mounts, uids, limits, Landlock.

Standard library only: loaded by ``_worker.py`` (a fresh interpreter started with an empty
environment) as a top-level module, and importable as ``rankinv.sandbox._isolation``.

Once, at start (when root): private network and IPC namespaces (nothing is reachable; no
System V object can be created) and a private mount namespace: fresh tmpfs on /tmp,
/var/tmp and /dev/shm that the sandboxed uids cannot write to (each process works in its
own directory behind a root-owned directory only its uid may cross); empty read-only tmpfs
over /root, /home, /work, /srv, /mnt, /media, /opt (and the directories the caller names),
with the interpreter's standard library bound back read-only at its own path (so every
stdlib module imports for the dropped uid), every site-packages directory emptied, and only
the packages the caller allows bound back (:func:`isolate_once`). Per process
(:func:`confine`): a new session, its working directory, stdin from /dev/null,
stdout/stderr to a capped file, resource limits (address space, CPU seconds, processes,
file size, open files, message queues, no core), then the uid drop, for a completion a
Landlock domain of its own (no abstract unix socket, no signal outside it), and last the
syscall filter (``_seccomp``). Processes of a uid are swept from root without a fork
(:func:`kill_uid`).
"""

import ctypes
import os
import random
import resource
import shutil
import signal
import sys
import time

try:  # a module of the rankinv.sandbox package (tests)
    from . import _seccomp
except ImportError:  # a top-level module of the worker (python -I -S _worker.py)
    import _seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_CHILD_SUBREAPER = 36
OUTPUT_CAP = 64 * 1024
HARNESS_CPU_S = 1 << 20
HIDDEN = ("/root", "/home", "/work", "/srv", "/mnt", "/media", "/opt")


def load_libc():
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc, src, target, fstype, flags, data=None) -> bool:
    enc = lambda s: s.encode() if isinstance(s, str) else s
    return libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) == 0


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _bind_readonly(libc, fd: int, target: str, is_dir: bool) -> bool:
    if not os.path.exists(target):
        if is_dir:
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "w").close()
    src = f"/proc/self/fd/{fd}"
    return _mount(libc, src, target, None, MS_BIND) and _mount(
        libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
    )


def _open_sources(cfg) -> list[tuple[str, int, bool]]:
    """O_PATH descriptors of the stdlib and the allowed packages, opened before any tmpfs
    hides them (a venv under /tmp disappears under the fresh /tmp)."""
    stdlib = [p for p in sys.path if p and os.path.exists(p)]
    allowed = list(cfg.get("allowed_paths", ()))
    return [(p, os.open(p, os.O_PATH), os.path.isdir(p)) for p in stdlib + allowed]


def _hide_filesystem(libc, cfg, sources) -> list[str]:
    """Empty tmpfs over the private directories; the stdlib and allowed packages bound
    back read-only (from ``sources``, opened before anything was hidden); site-packages
    emptied. Inside the private mount namespace only; closes the descriptors."""
    done = []
    stdlib = [p for p in sys.path if p and os.path.exists(p)]
    site_dirs = list(cfg.get("site_dirs", ())) + [
        os.path.join(p, "site-packages") for p in stdlib if os.path.isdir(p)
    ]
    allowed = list(cfg.get("allowed_paths", ()))
    hidden = []
    for top in list(HIDDEN) + list(cfg.get("hide", ())):
        top = os.path.abspath(top)
        if top != "/" and os.path.isdir(top) and not any(_under(top, h) for h in hidden):
            hidden.append(top)
    try:
        for top in hidden:
            if _mount(libc, "tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755"):
                done.append(top)
        bound = []
        for path, fd, is_dir in sources:
            if path in allowed or any(_under(path, b) for b in bound):
                continue
            if any(_under(path, h) for h in done):
                if not _bind_readonly(libc, fd, path, is_dir):
                    raise OSError(f"cannot bind {path} back into the sandbox")
                bound.append(path)
        blanked = []
        for d in dict.fromkeys(site_dirs):
            if os.path.isdir(d) and _mount(
                libc, "tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755"
            ):
                blanked.append(d)
        for path, fd, is_dir in sources:
            if path in allowed and not _bind_readonly(libc, fd, path, is_dir):
                raise OSError(f"cannot bind allowed package {path} into the sandbox")
        for d in blanked:  # nothing more is added there: read-only
            _mount(libc, None, d, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        for top in done:
            _mount(libc, None, top, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for _, fd, _ in sources:
            os.close(fd)
    return [f"hidden {', '.join(done)}", "stdlib read-only", "site-packages emptied"]


def isolate_once(libc, cfg) -> list[str]:
    """Private network and mount namespaces; tmpfs over the world-writable directories;
    private directories hidden, the standard library bound back read-only."""
    done = []
    if libc.unshare(CLONE_NEWNET) == 0:
        done.append("network namespace")
    if libc.unshare(CLONE_NEWIPC) == 0:
        try:  # no System V object can be created in it: nothing outlives a process there
            for name, value in (("shmmni", "0"), ("msgmni", "0"), ("sem", "0 0 0 0")):
                with open(f"/proc/sys/kernel/{name}", "w") as fh:
                    fh.write(value)
            done.append("IPC namespace without System V objects")
        except OSError:
            done.append("IPC namespace")
    if libc.unshare(CLONE_NEWNS) == 0:
        if _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE):
            done.append("mount namespace")
            sources = _open_sources(cfg)  # before /tmp is replaced: a venv may live there
            for d in ("/tmp", "/var/tmp", "/dev/shm"):
                if os.path.isdir(d) and _mount(
                    libc, "tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=755"
                ):
                    done.append(f"tmpfs {d}")
            done += _hide_filesystem(libc, cfg, sources)
    return done


def _children() -> set[int]:
    """Pids of this (single-threaded) process's children."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:
        return set()


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` from this root process, without a fork: for the
    call the real and effective uid are ``uid`` (kill(-1) then reaches exactly the
    processes whose real or saved uid is ``uid``); the saved uid stays 0 to come back."""
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.setresuid(0, 0, 0)


def reap_leftovers(uid: int, cfg, keep: set[int]) -> None:
    """Children other than ``keep`` are what outlived a session (a child subreaper adopts
    them): sweep their uid, then reap them."""
    left = _children() - keep
    for _ in range(100):
        if not left:
            return
        if cfg["drop"]:
            kill_uid(uid)
        for p in left:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
        left = _children() - keep


def end_session(pid: int, uid: int, cfg, keep: set[int], wait_first_s: float = 0.0):
    """Kill the session of ``pid``, reap it, sweep ``uid`` if anything outlived it.
    Returns the wait status (after waiting up to ``wait_first_s`` for a natural exit)."""
    status = None
    deadline = time.perf_counter() + wait_first_s
    while True:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
        if time.perf_counter() >= deadline:
            break
        time.sleep(0.001)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if status is None:
        _, status = os.waitpid(pid, 0)
    reap_leftovers(uid, cfg, keep)
    return status


LANDLOCK_SCOPE = 1 | 2  # abstract unix sockets, signals
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_RESTRICT_SELF = 446
PR_SET_NO_NEW_PRIVS = 38


def landlock_abi(libc) -> int:
    """The kernel's Landlock ABI version (0 without Landlock); scoping needs 6."""
    if os.uname().machine != "x86_64":
        return 0
    return max(0, libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, 1))


def landlock_scope(libc) -> None:
    """A Landlock domain of this process's own: it can neither reach an abstract unix
    socket nor signal a process outside it (another completion, the harness)."""
    attr = (ctypes.c_uint64 * 3)(0, 0, LANDLOCK_SCOPE)
    fd = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs")
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(fd)


def confine(cfg, timeout, workdir, uid, keep, output=True, scope=False, inherited_filter=False):
    """In a forked child: new session, scratch directory, captured output, limits, uid drop
    (and with ``scope`` a Landlock domain of its own), then the syscall filter where
    ``cfg["seccomp"]``, unless ``inherited_filter``: the process was forked under it (a
    filter, and no_new_privs, pass to every child and cannot be removed)."""
    os.setsid()
    os.chdir(workdir)
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    if output:
        out = os.open(
            os.path.join(workdir, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
        )
    else:  # the harness's prints go nowhere (it outlives many jobs)
        out = os.open("/dev/null", os.O_WRONLY)
    os.dup2(out, 1)
    os.dup2(out, 2)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)
    limits = {
        resource.RLIMIT_AS: cfg["mem_bytes"],
        resource.RLIMIT_CPU: int(timeout) + 1,
        resource.RLIMIT_FSIZE: cfg["fsize_bytes"],
        resource.RLIMIT_NOFILE: 64,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NPROC: cfg["nproc"],
        resource.RLIMIT_MSGQUEUE: 0,
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
    if scope and cfg.get("scoped"):
        landlock_scope(load_libc())
    if cfg.get("seccomp") and not inherited_filter:
        _seccomp.install()  # last: OSError if it cannot be installed (the process ends)
    os.environ.clear()
    os.environ.update(
        {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
    )
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # found again, from TMPDIR
    if not cfg["netns"]:
        import socket as _socket

        def _no_network(*a, **k):
            raise OSError("network disabled in the sandbox")

        _socket.socket = _no_network
        _socket.create_connection = _no_network
    sys.path.extend(cfg.get("site_path", ()))
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.stdin = open(0, closefd=False)
    sys.setrecursionlimit(3000)
    random.seed()


def install_filter() -> None:
    """The syscall filter on this process and all it forks from now on."""
    _seccomp.install()


def scratch_dir(root, name, uid, cfg):
    """A fresh working directory for ``uid``. With the uid drop it lies in a directory of
    root's that only ``uid``'s group may cross (0710): whatever mode a process gives its
    own directory, no process of another uid reaches into it."""
    if cfg["drop"]:
        home = os.path.join(root, f"u{uid}")
        if not os.path.isdir(home):
            os.makedirs(home, mode=0o710)
            os.chown(home, 0, uid)
            os.chmod(home, 0o710)
        workdir = os.path.join(home, name)
        os.makedirs(workdir, mode=0o700)
        os.chown(workdir, uid, uid)
    else:
        workdir = os.path.join(root, name)
        os.makedirs(workdir, mode=0o700)
    return workdir


def read_output(workdir):
    try:
        with open(os.path.join(workdir, ".output"), "rb") as fh:
            return fh.read(OUTPUT_CAP).decode(errors="replace")
    except OSError:
        return ""
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
