"""The harness of the sandbox worker: runs a task's tests against a proxy ``candidate``.

Standard library only: loaded by ``_worker.py`` as a top-level module (importable as
``rankinv.sandbox._harness`` too).

The harness process (uid u, kept warm, confined once) runs the tests of one job after
another; they are data, and the completion cannot reach this process (another uid). Each
job's tests run against a fresh completion process whose two pipes the zygote sends on
``zchan``: every ``candidate(...)`` call crosses them as plain data (``_wire``: tagged
JSON, never pickle), so no object of the completion's own classes ever reaches the tests'
``==``; arguments the candidate changed in place come back (:func:`_sync`), its exceptions
are rebuilt by type (:func:`_rebuild`). The verdict goes back to the worker on ``wsock``,
which only the harness holds.

Verdict lines: ``P`` (passed), ``F ...`` (an assertion failed), ``M ...`` (MemoryError),
``E ...`` (another exception of the tests), ``C <kind> ...`` (the candidate's process
ended or misbehaved), empty (a fatal event already reported).
"""

import ast
import collections
import json
import os
import random
import resource
import signal
import socket
import sys

try:  # a module of the rankinv.sandbox package (tests)
    from . import _isolation, _wire
except ImportError:  # a top-level module of the worker (python -I -S _worker.py)
    import _isolation
    import _wire

HARNESS_CPU_S = _isolation.HARNESS_CPU_S


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
        head, fds, _, _ = socket.recv_fds(zchan, 1 + _wire.FRAME.size, 2)
        if head and len(head) < 1 + _wire.FRAME.size:
            head += _wire.recv_exact(zchan, 1 + _wire.FRAME.size - len(head)) or b""
    except OSError:
        return None
    if len(head) != 1 + _wire.FRAME.size:
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


def serve(wsock, zchan, cfg, workdir, uid):
    """The harness process: confined once, then runs the tests of one job after another
    (they are data; the completion cannot reach this process), each against a fresh
    completion process whose pipes the zygote sends on ``zchan``. Each job's CPU seconds
    are limited anew (a soft limit, which an unprivileged process may raise up to the
    hard one)."""
    cfg = dict(cfg, nproc=4)
    keep = (wsock.fileno(), zchan.fileno())
    _isolation.confine(cfg, HARNESS_CPU_S, workdir, uid, keep, output=False)
    stdio = (sys.stdout, sys.stderr, sys.stdin)
    cache, spares = {}, []
    while True:
        data = _wire.recv_frame(wsock)
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
        _wire.send_frame(wsock, json.dumps({"v": verdict, "out": output}).encode())
        # every process of this completion's uid is killed. Without Landlock scoping the
        # next completion starts only once that is done; with it, no channel is left
        # between the two (files, IPC, sockets, signals), so the next one need not wait
        zchan.sendall(b"K" + head[1:])
        if not cfg.get("scoped") and not _await_kill(zchan, spares):
            os._exit(0)
        os.close(fds[1])
