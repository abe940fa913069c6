"""The entropy scorer in a process of its own, for the vLLM engine (``--engine vllm``).

vLLM samples in an engine process of its own; loading the transformers copy that scores the
entropies into the process that held vLLM leaves memory unreleased (vLLM issues #23793 and
#21073 report exactly that sequence). So :meth:`VLLMEngine.close` waits until vLLM's
processes have exited (:func:`wait_exited`), and the scorer is loaded by a fresh, spawned
process (:class:`ScorerProcess`): no two engines share a process, and the scorer's memory
goes when it ends.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence

from rankinv.errors import UserError

#: Seconds vLLM's processes get to exit after shutdown before they are killed.
EXIT_WAIT_S = 60.0


def child_pids() -> set[int]:
    """This process's descendants (psutil, which vLLM installs; none known without it)."""
    try:
        import psutil
    except ImportError:
        return set()
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # a zombie freed its memory
    except psutil.NoSuchProcess:
        return False


def wait_exited(pids: set[int], timeout_s: float = EXIT_WAIT_S) -> set[int]:
    """Wait until every process of ``pids`` has exited; those still running after
    ``timeout_s`` are killed. Returns the pids that had to be killed."""
    if not pids:
        return set()
    import psutil

    deadline = time.monotonic() + timeout_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = {p for p in pids if _alive(p)}
    for p in killed:
        try:
            psutil.Process(p).kill()
        except psutil.NoSuchProcess:
            pass
    deadline = time.monotonic() + 10.0
    while any(_alive(p) for p in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    return killed


def _serve(conn_in, conn_out, model_path: str, trust_remote_code: bool) -> None:
    """The scorer process: load the model, then answer (method, args) until None."""
    try:
        from rankinv.validate.models import load_model
        from rankinv.validate.scoring import EntropyScorer

        model, _, _, _ = load_model(model_path, trust_remote_code=trust_remote_code)
        scorer = EntropyScorer(model)
    except UserError as exc:
        conn_out.send(("user", str(exc)))
        return
    except BaseException:  # noqa: BLE001 - sent to the parent, which raises it
        conn_out.send(("error", traceback.format_exc()))
        return
    conn_out.send(("ok", None))
    while True:
        try:
            msg = conn_in.recv()
        except EOFError:
            return
        if msg is None:
            return
        method, args = msg
        try:
            conn_out.send(("ok", getattr(scorer, method)(*args)))
        except UserError as exc:
            conn_out.send(("user", str(exc)))
        except Exception:  # noqa: BLE001 - sent to the parent, which raises it
            conn_out.send(("error", traceback.format_exc()))


class ScorerProcess:
    """:class:`rankinv.validate.scoring.EntropyScorer`'s ``prompt_entropy`` and
    ``rollout_entropies`` on a transformers copy of ``model_path`` loaded by a fresh Python
    process (``python -m rankinv.validate.scorer_process``, talking over two pipes: it
    works whatever the parent's main module is, a script read from stdin included);
    :meth:`close` ends it."""

    def __init__(self, model_path: str, trust_remote_code: bool = False):
        import os
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        down_r, down_w = os.pipe()  # parent -> scorer
        up_r, up_w = os.pipe()  # scorer -> parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        args = [str(down_r), str(up_w), str(model_path), "1" if trust_remote_code else "0"]
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "rankinv.validate.scorer_process", *args],
                pass_fds=(down_r, up_w), env=env, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            os.close(down_r)
            os.close(up_w)
        self._send = Connection(down_w, readable=False)
        self._recv = Connection(up_r, writable=False)
        self.pid = self._proc.pid
        self._answer()  # the load's failure, if any, now

    def _answer(self):
        try:
            status, value = self._recv.recv()
        except EOFError:
            code = self._proc.wait(30) if self._proc is not None else None
            self.close()
            raise RuntimeError(f"the entropy scorer's process ended (exit code {code})") from None
        if status == "user":
            self.close()
            raise UserError(value)
        if status == "error":
            self.close()
            raise RuntimeError(f"the entropy scorer's process failed:\n{value}")
        return value

    def _call(self, method: str, *args):
        if self._proc is None:
            raise RuntimeError("ScorerProcess used after close()")
        self._send.send((method, args))
        return self._answer()

    def prompt_entropy(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        return self._call("prompt_entropy", [list(p) for p in prompts])

    def rollout_entropies(
        self, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
    ) -> list[list[float]]:
        return self._call(
            "rollout_entropies", [list(p) for p in prompts], [list(c) for c in completions]
        )

    def close(self) -> None:
        """End the process (its model's memory goes with it)."""
        import subprocess

        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            self._send.send(None)
        except OSError:
            pass
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._send.close()
        self._recv.close()


def main(argv: list[str]) -> None:
    """``python -m rankinv.validate.scorer_process IN_FD OUT_FD MODEL TRUST``: serve the
    parent over the two pipe ends; anything printed goes to stderr, not the pipes."""
    import os
    import sys
    from multiprocessing.connection import Connection

    os.dup2(2, 1)  # a print of a library cannot reach the parent's pipe
    sys.stdout = sys.stderr
    conn_in = Connection(int(argv[0]), writable=False)
    conn_out = Connection(int(argv[1]), readable=False)
    _serve(conn_in, conn_out, argv[2], argv[3] == "1")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
