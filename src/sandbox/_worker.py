"""Sandbox worker: a long-lived process that runs each program as two sandboxed processes.

Started by executor.Sandbox as ``python -I -S _worker.py`` with an empty environment (so
/proc/<pid>/environ of every forked child is clean). Standard library only (plus the
sibling ``_wire.py``, loaded at start).

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
ahead (uids u+1 and u+2 in turn, at most one live process per uid) and hands their pipes
to the harness. A completion therefore cannot find a task's tests (the expected answers)
in the memory it inherits. When a job's tests end, the harness asks the zygote to kill
every process of that completion's uid (done from the zygote with kill(-1) under that uid,
no fork); each completion is in a Landlock domain of its own (no abstract unix socket, no
signal outside it), so the next completion need not wait for that kill (without Landlock
it does).

Once, at start (when root): private network and IPC namespaces (nothing is reachable; no
System V object can be created) and a private mount namespace: fresh tmpfs on /tmp,
/var/tmp and /dev/shm that the sandboxed uids cannot write to (each process works in its
own directory behind a root-owned directory only its uid may cross); empty read-only tmpfs
over /root, /home, /work, /srv, /mnt, /media, /opt (and the directories the caller names),
with the interpreter's standard library bound back read-only at its own path (so every
stdlib module imports for the dropped uid), every site-packages directory emptied, and only
the packages the caller allows bound back. Per process: a new session, its working
directory, stdin from /dev/null, stdout/stderr to a capped file, resource limits (address
space, CPU seconds, processes, file size, open files, message queues, no core), then the
uid drop.

Protocol: one JSON object per line on stdin (id, prompt, completion, test, entry_point,
timeout); one JSON result per line on stdout (id, status, seconds, detail, output).
"""

import ast
import collections
import ctypes
import gc
import json
import os
import random
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _wire  # noqa: E402  (the sibling module, loaded while its file is readable)

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
_FRAME = struct.Struct("<Q")


def _libc():
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


def _reap_leftovers(uid: int, cfg, keep: set[int]) -> None:
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


def _end_session(pid: int, uid: int, cfg, keep: set[int], wait_first_s: float = 0.0):
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
    _reap_leftovers(uid, cfg, keep)
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


def confine(cfg, timeout, workdir, uid, keep, output=True, scope=False):
    """In a forked child: new session, scratch directory, captured output, limits, uid drop
    (and with ``scope`` a Landlock domain of its own)."""
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
        landlock_scope(_libc())
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


def _scratch(root, name, uid, cfg):
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


def _read_output(workdir):
    try:
        with open(os.path.join(workdir, ".output"), "rb") as fh:
            return fh.read(OUTPUT_CAP).decode(errors="replace")
    except OSError:
        return ""
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- completion process
def _mutable(values) -> bool:
    scalars = (int, float, str, bool, type(None), bytes, complex)
    return any(type(v) not in scalars for v in values)


def run_completion(cfg, workdir, uid, req_r, resp_w):
    """A completion process: confined at once, it waits (a spare) for its first message,
    ["init", source, entry point, timeout]; defines the source, then answers calls."""
    send, dumps, loads, recv = _wire.send, _wire.dumps, _wire.loads, _wire.recv
    try:
        confine(cfg, HARNESS_CPU_S, workdir, uid, (req_r, resp_w), scope=True)
        data = recv(req_r)
    except BaseException:  # noqa: BLE001 - a spare that cannot start ends
        os._exit(3)
    if data is None:
        os._exit(0)  # a spare that was never used
    try:
        _, source, entry, timeout = loads(data)
        cpu = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        code = compile(source, "<completion>", "exec")
        del data, source
        namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
        exec(code, namespace)
        if entry not in namespace:
            raise NameError(f"the completion defines no {entry!r}")
        fn = namespace[entry]
    except BaseException as exc:
        send(resp_w, dumps(["fatal", f"{type(exc).__name__}: {exc}"[:500]]))
        os._exit(1)
    send(resp_w, dumps(["ready"]))
    while True:
        try:
            data = recv(req_r)
            if data is None:
                os._exit(0)
            args, kwargs = loads(data)
        except BaseException as exc:  # the harness's requests are well-formed
            send(resp_w, dumps(["fatal", f"bad request: {exc}"[:500]]))
            os._exit(1)
        try:
            result = fn(*args, **kwargs)
            back = _mutable(args) or _mutable(kwargs.values())
            reply = dumps(["r", result, args if back else None, kwargs if back else None])
        except (SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
            send(resp_w, dumps(["fatal", f"{type(exc).__name__}({exc}) raised by the candidate"]))
            os._exit(1)
        except BaseException as exc:
            name = type(exc).__name__
            try:
                text = str(exc)[:2000]
            except BaseException:  # noqa: BLE001 - a hostile __str__
                text = ""
            try:
                reply = dumps(["x", str(name), list(exc.args), text])
            except BaseException:  # noqa: BLE001 - arguments that cannot cross
                reply = dumps(["x", str(name), None, text])
        send(resp_w, reply)


# ---------------------------------------------------------------- harness process
class _Fatal(BaseException):
    pass


def _sync(old, new) -> bool:
    """Make ``old`` equal to ``new`` in place (arguments the candidate changed)."""
    t = type(old)
    if t is not type(new):
        return False
    if t is list:
        for i in range(min(len(old), len(new))):
            if old[i] is not new[i] and not _sync(old[i], new[i]):
                old[i] = new[i]
        del old[len(new) :]
        old.extend(new[len(old) :])
    elif isinstance(old, dict):
        kept = {k: old[k] for k in old if k in new}
        old.clear()
        for k, v in new.items():
            old[k] = kept[k] if k in kept and _sync(kept[k], v) else v
    elif t is set or t is bytearray or t is collections.deque:
        if t is bytearray:
            old[:] = new
        else:
            old.clear()
            old.update(new) if t is set else old.extend(new)
    else:
        return old == new if t in (int, float, str, bool, bytes, complex) else False
    return True


def _rebuild(name, args, text, namespace):
    import builtins

    cls = getattr(builtins, name, None) or namespace.get(name)
    fatal = (SystemExit, KeyboardInterrupt, GeneratorExit)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)) or issubclass(cls, fatal):
        cls = type(name, (Exception,), {"__module__": "candidate"})
    try:
        return cls(*args) if args is not None else cls(text)
    except Exception:  # noqa: BLE001 - a constructor that wants other arguments
        return cls(text) if cls.__init__ is BaseException.__init__ else Exception(text)


def _ended(msg, info) -> str:
    """The verdict line for the zygote's report that the candidate's process ended."""
    sig, code, out = (msg + [None, None, ""])[1:4]
    info["output"] = out if type(out) is str else ""
    if type(sig) is int:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGXCPU:
            return "C timeout the candidate exceeded its CPU seconds"
        kind = "memory" if "MemoryError" in info["output"] else "killed"
        extra = " (output or file size limit)" if sig == signal.SIGXFSZ else ""
        return f"C {kind} the candidate's process was killed by {name}{extra}"
    return f"C error the candidate's process exited (code {code}) before the tests finished"


def make_proxy(entry, req_w, resp_r, namespace, fatal, info, sent=()):
    """The ``candidate`` the tests call. ``fatal`` (a list) keeps the first fatal event
    (the candidate's process ended, a malformed reply): it decides the verdict even if
    the tests catch the exception, and every later call raises it again. ``sent``: the
    encoded requests already sent ahead (:func:`_ahead`), answered in order."""
    send, dumps, loads, recv = _wire.send, _wire.dumps, _wire.loads, _wire.recv
    ahead = list(sent)

    def receive():
        if fatal:
            raise _Fatal(fatal[0])
        try:
            return _receive()
        except _Fatal as exc:
            fatal.append(str(exc))
            raise

    def _receive():
        try:
            data = recv(resp_r)
            if data is None:
                raise _Fatal("C error the candidate's process ended before the tests finished")
            msg = loads(data)
            kinds = ("r", "x", "fatal", "ready", "ended")
            if type(msg) is not list or not msg or msg[0] not in kinds:
                raise _Fatal("C error malformed reply from the candidate's process")
        except _wire.WireError as exc:
            raise _Fatal(f"C error {exc}") from None
        if msg[0] == "ended":  # written by the zygote once the candidate's process ended
            raise _Fatal(_ended(msg, info))
        if msg[0] == "fatal":
            text = msg[1] if len(msg) > 1 and type(msg[1]) is str else "fatal"
            raise _Fatal(f"C error {text}")
        return msg

    def candidate(*args, **kwargs):
        if fatal:
            raise _Fatal(fatal[0])
        request = dumps([list(args), kwargs])
        if ahead and ahead[0] == request:
            ahead.pop(0)  # its answer is on its way already
        else:
            while ahead:  # never happens for the calls _ahead picks: drop their answers
                ahead.pop(0)
                receive()
            try:
                send(req_w, request)
            except OSError:  # the process ended: the zygote's report says how
                pass
        msg = receive()
        if msg[0] == "r" and len(msg) == 4:
            if type(msg[2]) is list and type(msg[3]) is dict:
                for old, new in zip(args, msg[2], strict=False):
                    _sync(old, new)
                for k, new in msg[3].items():
                    if k in kwargs:
                        _sync(kwargs[k], new)
            return msg[1]
        if msg[0] == "x" and len(msg) == 4 and type(msg[1]) is str:
            raise _rebuild(msg[1], msg[2], str(msg[3]), namespace)
        fatal.append("C error malformed reply from the candidate's process")
        raise _Fatal(fatal[0])

    def wait_ready():
        if receive()[0] != "ready":
            fatal.append("C error malformed first message from the candidate's process")
            raise _Fatal(fatal[0])

    candidate.__name__ = candidate.__qualname__ = entry
    return candidate, wait_ready


def _prompt_helpers(prompt):
    """The prompt's own definitions (helpers the tests call), compiled without a body
    for the function the completion writes."""
    for tail in ("", "\n    pass\n", "None\n", "\n"):
        try:
            return compile(prompt + tail, "<prompt>", "exec")
        except SyntaxError:
            continue
    return None


_DEFERRED = (
    ast.Lambda,
    ast.BoolOp,
    ast.IfExp,
    ast.GeneratorExp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.NamedExpr,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)
_SIMPLE = (ast.Assert, ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Pass)


def _ahead(test: str) -> list[bytes]:
    """The encoded requests of the calls that ``check`` is sure to make first, in order:
    its leading simple statements (no branch, loop, try, import or deferred evaluation)
    that hold at most one call of the candidate, with literal arguments. Sending them at
    once saves a round trip per call; the candidate sees the very calls, in the very
    order, that the tests make (unless the tests stop early, which fails them anyway)."""
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if len(checks) != 1 or not checks[0].args.args:
        return []
    param = checks[0].args.args[0].arg
    out, size = [], 0
    for stmt in checks[0].body:
        if not isinstance(stmt, _SIMPLE):
            break
        nodes = list(ast.walk(stmt))
        uses = [n for n in nodes if isinstance(n, ast.Name) and n.id == param]
        if not uses:
            continue
        calls = [
            n
            for n in nodes
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == param
        ]
        if len(uses) != 1 or len(calls) != 1 or any(isinstance(n, _DEFERRED) for n in nodes):
            break
        try:
            args = [ast.literal_eval(a) for a in calls[0].args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords}
            request = _wire.dumps([args, kwargs])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            break
        if None in kwargs:
            break
        size += len(request) + 8
        if size > 32_768:  # well inside a pipe's buffer: sending never blocks
            break
        out.append(request)
    return out


def _compiled(cache, prompt, test):
    key = (prompt, test)
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        cache[key] = (_prompt_helpers(prompt), compile(test, "<test>", "exec"), _ahead(test))
    return cache[key]


def run_test(job, req_w, resp_r, cache) -> tuple[str, str]:
    """The tests of one job against the candidate behind the pipes: the verdict line and
    the candidate's output (when its process ended early)."""
    fatal, info = [], {"output": ""}
    try:
        entry = job["entry_point"]
        source = job["prompt"] + job["completion"]
        helpers, test, ahead = _compiled(cache, job["prompt"], job["test"])
        try:
            _wire.send(req_w, _wire.dumps(["init", source, entry, job["timeout"]]))
            for request in ahead:
                _wire.send(req_w, request)
        except OSError:
            ahead = []  # the zygote's report will say how the process ended
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        proxy, wait_ready = make_proxy(entry, req_w, resp_r, namespace, fatal, info, ahead)
        if helpers is not None:
            try:
                exec(helpers, namespace)
            except Exception:  # noqa: BLE001 - a prompt that only runs with its body
                pass
        namespace[entry] = proxy
        exec(test, namespace)
        wait_ready()
        namespace["check"](proxy)
        verdict = "P"
    except _Fatal:
        verdict = ""
    except AssertionError as exc:
        verdict = f"F AssertionError {exc}"
    except MemoryError:
        verdict = "M MemoryError"
    except BaseException as exc:  # noqa: BLE001 - any other end of the tests
        verdict = f"E {type(exc).__name__}: {exc}"
    return (fatal[0] if fatal else verdict)[:500], info["output"]


def _zygote_message(zchan):
    """(9-byte head, fds) of the zygote's next message: b"S" + pid with the two pipes of
    a spare completion process, or b"k" (the processes of a uid were killed)."""
    try:
        head, fds, _, _ = socket.recv_fds(zchan, 1 + _FRAME.size, 2)
        if head and len(head) < 1 + _FRAME.size:
            head += _recv_exact(zchan, 1 + _FRAME.size - len(head)) or b""
    except OSError:
        return None
    if len(head) != 1 + _FRAME.size:
        return None
    return head, fds


def _await_kill(zchan, spares) -> bool:
    while True:
        msg = _zygote_message(zchan)
        if msg is None:
            return False
        if msg[0][:1] == b"k":
            return True
        spares.append(msg)


def harness(wsock, zchan, cfg, workdir, uid):
    """The harness process: confined once, then runs the tests of one job after another
    (they are data; the completion cannot reach this process), each against a fresh
    completion process whose pipes the zygote sends on ``zchan``. Each job's CPU seconds
    are limited anew (a soft limit, which an unprivileged process may raise up to the
    hard one)."""
    cfg = dict(cfg, nproc=4)
    confine(cfg, HARNESS_CPU_S, workdir, uid, (wsock.fileno(), zchan.fileno()), output=False)
    stdio = (sys.stdout, sys.stderr, sys.stdin)
    cache, spares = {}, []
    while True:
        data = _recv_frame(wsock)
        if data is None:
            os._exit(0)
        job = json.loads(data)
        spare = spares.pop(0) if spares else _zygote_message(zchan)
        while spare is not None and spare[0][:1] == b"k":  # acknowledgements of kills
            spare = _zygote_message(zchan)
        if spare is None or spare[0][:1] != b"S":
            os._exit(0)  # the zygote is gone: the worker starts over
        head, fds = spare
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(used.ru_utime + used.ru_stime + job["timeout"]) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, HARNESS_CPU_S))
        sys.stdout, sys.stderr, sys.stdin = stdio
        sys.setrecursionlimit(3000)
        random.seed()
        verdict, output = run_test(job, fds[0], fds[1], cache)
        del job
        os.close(fds[0])
        _send_frame(wsock, json.dumps({"v": verdict, "out": output}).encode())
        # every process of this completion's uid is killed. Without Landlock scoping the
        # next completion starts only once that is done; with it, no channel is left
        # between the two (files, IPC, sockets, signals), so the next one need not wait
        zchan.sendall(b"K" + head[1:])
        if not cfg.get("scoped") and not _await_kill(zchan, spares):
            os._exit(0)
        os.close(fds[1])


# ---------------------------------------------------------------- zygote
def _send_frame(sock, data: bytes):
    sock.sendall(_FRAME.pack(len(data)) + data)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv_frame(sock):
    head = _recv_exact(sock, _FRAME.size)
    if head is None:
        return None
    return _recv_exact(sock, _FRAME.unpack(head)[0])


def _spawn(cfg, root, uid, index, hchan):
    """Fork a spare completion process and send its pipes to the harness."""
    workdir = _scratch(root, f"c{index}", uid, cfg)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            run_completion(cfg, workdir, uid, req_r, resp_w)
        finally:
            os._exit(4)
    os.close(req_r)
    try:
        socket.send_fds(hchan, [b"S" + _FRAME.pack(pid)], [req_w, resp_r])
    except OSError:
        pass  # that harness is gone: the spare sees end of file and ends
    os.close(req_w)
    os.close(resp_r)
    return os.pidfd_open(pid), [pid, uid, resp_w, workdir]


def _ended_process(entry, live, cfg):
    """A completion process ended: reap it and its session, sweep its uid if anything
    outlived it, and tell the harness (if it still listens) how it ended."""
    pid, uid, resp_w, workdir = entry
    _, status = os.waitpid(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _reap_leftovers(uid, cfg, {e[0] for e in live.values()})
    out = _read_output(workdir)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    try:
        os.set_blocking(resp_w, False)
        _wire.send(resp_w, _wire.dumps(["ended", sig, code, out[-2000:]]))
    except OSError:
        pass
    os.close(resp_w)


def zygote(wsock, cfg, root):
    """Forks the completion processes (one spare ahead per uid); never sees a test."""
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    uids = (cfg["uid"] + 1, cfg["uid"] + 2)  # at most one live process per uid
    hchan = None
    live = {}  # pidfd -> [pid, uid, resp_w, workdir]
    index = 0
    while True:
        if hchan is not None:
            busy = {e[1] for e in live.values()}
            for uid in uids:
                if uid not in busy:
                    index += 1
                    pidfd, entry = _spawn(cfg, root, uid, index, hchan)
                    live[pidfd] = entry
        ready, _, _ = select.select([wsock, *live, *([hchan] if hchan else [])], [], [])
        for r in ready:
            if r is hchan:  # the harness is done with a completion process: end it
                try:
                    msg = _recv_exact(hchan, 1 + _FRAME.size)
                except OSError:
                    msg = None
                if msg is None:
                    hchan.close()
                    hchan = None
                    continue
                (pid,) = _FRAME.unpack(msg[1:])
                for e in live.values():
                    if e[0] == pid:
                        if cfg["drop"]:
                            kill_uid(e[1])  # the process and all it started, escaped or not
                        else:
                            try:
                                os.killpg(pid, signal.SIGKILL)
                            except OSError:
                                pass
                try:
                    hchan.sendall(b"k" + msg[1:])
                except OSError:
                    pass
            elif r is wsock:
                try:
                    msg, fds, _, _ = socket.recv_fds(wsock, 1, 1)
                except OSError:
                    msg, fds = b"", []
                if not msg or not fds:
                    for pid, *_ in live.values():
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    return
                if hchan is not None:
                    hchan.close()
                hchan = socket.socket(fileno=fds[0])
            elif r in live:
                entry = live.pop(r)
                os.close(r)
                try:
                    _ended_process(entry, live, cfg)
                except Exception:  # noqa: BLE001 - the zygote outlives any one process
                    pass


# ---------------------------------------------------------------- worker
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
        workdir = _scratch(self.root, f"harness{self.starts}", self.uid, self.cfg)
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        zchan, zchan_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                harness(child, zchan_child, self.cfg, workdir, self.uid)
            except BaseException:
                import traceback

                traceback.print_exc(file=open("/dev/tty", "w")) if False else None
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
                kill_uid(uid)
        status = _end_session(self.pid, self.uid, self.cfg, {self.zpid}, wait_first_s=wait_s)
        shutil.rmtree(os.path.join(self.root, f"harness{self.starts}"), ignore_errors=True)
        self.start()
        return status


def run_job(job, cfg, h):
    t0 = time.perf_counter()
    timeout = float(job["timeout"])
    keys = ("prompt", "completion", "test", "entry_point")
    data = json.dumps({**{k: job[k] for k in keys}, "timeout": timeout}).encode()
    reply, crashed, timed_out = None, False, False
    try:
        _send_frame(h.sock, data)
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
                reply = _recv_frame(h.sock)
            except OSError:
                reply = None
            crashed = reply is None
            break
    seconds = time.perf_counter() - t0
    h_status = None
    if crashed or timed_out:
        h_status = h.restart(wait_s=0.2 if crashed else 0.0)
    res = json.loads(reply) if reply else {"v": "", "out": ""}
    status, detail = _verdict(res["v"], h_status, timed_out, timeout)
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
    libc = _libc()
    is_root = os.geteuid() == 0
    done = isolate_once(libc, cfg) if (is_root and cfg.get("isolate", True)) else []
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        done.append("child subreaper")
    cfg["netns"] = "network namespace" in done
    cfg["drop"] = is_root and cfg.get("isolate", True)
    cfg["scoped"] = cfg["drop"] and landlock_abi(libc) >= 6
    if cfg["scoped"]:
        done.append("Landlock scope per completion (abstract sockets, signals)")
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
            zygote(zsock_child, cfg, root)
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
