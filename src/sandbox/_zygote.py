"""The zygote of the sandbox worker, and the completion processes it forks.

Standard library only: loaded by ``_worker.py`` as a top-level module (importable as
``rankinv.sandbox._zygote`` too).

The zygote (root) is forked by the worker at start, before any job (and any test) was
read. It forks the completion processes one spare ahead (uids u+1 and u+2 in turn, at most
one live process per uid) and hands their pipes to the harness, so a completion cannot find
a task's tests (the expected answers) in the memory it inherits. When a job's tests end,
the harness asks the zygote to kill every process of that completion's uid (done here with
kill(-1) under that uid, no fork). When a completion process ends, the zygote reaps it and
its session, sweeps its uid if anything outlived it, and tells the harness how it ended.

A completion process (:func:`run_completion`, untrusted) is confined at once (its own
session, directory, limits, uid and Landlock domain), waits for its source, defines it and
answers the calls that arrive as plain data.
"""

import os
import resource
import select
import signal
import socket

try:  # a module of the rankinv.sandbox package (tests)
    from . import _isolation, _wire
except ImportError:  # a top-level module of the worker (python -I -S _worker.py)
    import _isolation
    import _wire


def _mutable(values) -> bool:
    scalars = (int, float, str, bool, type(None), bytes, complex)
    return any(type(v) not in scalars for v in values)


def run_completion(cfg, workdir, uid, req_r, resp_w):
    """A completion process: confined at once, it waits (a spare) for its first message,
    ["init", source, entry point, timeout]; defines the source, then answers calls."""
    send, dumps, loads, recv = _wire.send, _wire.dumps, _wire.loads, _wire.recv
    try:
        keep = (req_r, resp_w)
        # the syscall filter came with the fork (serve installed it in the zygote)
        _isolation.confine(
            cfg, _isolation.HARNESS_CPU_S, workdir, uid, keep, scope=True, inherited_filter=True
        )
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


def _spawn(cfg, root, uid, index, hchan):
    """Fork a spare completion process and send its pipes to the harness."""
    workdir = _isolation.scratch_dir(root, f"c{index}", uid, cfg)
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
        socket.send_fds(hchan, [b"S" + _wire.FRAME.pack(pid)], [req_w, resp_r])
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
    _isolation.reap_leftovers(uid, cfg, {e[0] for e in live.values()})
    out = _isolation.read_output(workdir)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    try:
        os.set_blocking(resp_w, False)
        _wire.send(resp_w, _wire.dumps(["ended", sig, code, out[-2000:]]))
    except OSError:
        pass
    os.close(resp_w)


def serve(wsock, cfg, root):
    """Forks the completion processes (one spare ahead per uid); never sees a test. The
    syscall filter (where ``cfg["seccomp"]``) is installed here, once: every completion
    is forked under it, and the zygote needs none of the calls it denies."""
    _isolation.load_libc().prctl(_isolation.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if cfg.get("seccomp"):
        _isolation.install_filter()
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
                    msg = _wire.recv_exact(hchan, 1 + _wire.FRAME.size)
                except OSError:
                    msg = None
                if msg is None:
                    hchan.close()
                    hchan = None
                    continue
                (pid,) = _wire.FRAME.unpack(msg[1:])
                for e in live.values():
                    if e[0] == pid:
                        if cfg["drop"]:
                            # the process and all it started, escaped or not
                            _isolation.kill_uid(e[1])
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
