"""Progress lines from a ladder's workers (rankinv.validate.fanout), local or on Ray.

A worker's probe reports to a :class:`Reporter` (what :func:`rankinv.validate.probe.run_probe`
takes as ``progress``), which sends a line at most every ``every_s`` seconds: the samples
done, the rate and the time left. Lines go through a channel (``send``): a multiprocessing
queue for local workers, a Ray queue (an actor) for Ray tasks; :class:`Printer`, a thread of
the driver, writes each to stderr, so a run of hours says where it is.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable

#: Seconds between two progress lines of one worker.
EVERY_S = 30.0


def _duration(s: float) -> str:
    s = max(0, int(round(s)))
    return (
        f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"
    )


class Reporter:
    """A progress bar (``update(n)``, ``close()``) that sends ``label``'s lines to ``send``:
    one when sampling starts, one every ``every_s`` seconds, one when it ends."""

    def __init__(
        self,
        label: str,
        total: int,
        send: Callable[[str], None],
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label, self.total, self.send, self.every_s, self.clock = (
            label, total, send, every_s, clock,
        )  # fmt: skip
        self.done = 0
        self.t0 = self.last = clock()
        self.say(f"sampling {total} samples")

    def say(self, text: str) -> None:
        self.send(f"[{self.label}] {text}")

    def rate(self) -> float:
        return self.done / max(1e-9, self.clock() - self.t0)

    def update(self, n: int) -> None:
        self.done += n
        if self.clock() - self.last >= self.every_s:
            self.last = self.clock()
            r = self.rate()
            left = (self.total - self.done) / r if r > 0 else float("inf")
            eta = _duration(left) if left != float("inf") else "?"
            self.say(f"{self.done}/{self.total} samples, {r:.2f} samples/s, {eta} left")

    def close(self) -> None:
        took = self.clock() - self.t0
        self.say(
            f"sampled {self.done}/{self.total} in {_duration(took)} ({self.rate():.2f} samples/s)"
        )


def reporter(label: str, send: Callable[[str], None], every_s: float = EVERY_S):
    """``run_probe``'s ``progress``: a :class:`Reporter` for ``label`` once the total is known."""
    return lambda total: Reporter(label, total, send, every_s)


class Printer:
    """The driver's side: a thread writing every line ``get(timeout)`` returns to stderr
    (``queue.Empty``: nothing yet) until :meth:`stop`, which writes
    what is left first."""

    def __init__(self, get: Callable[..., str], write: Callable[[str], None] | None = None):
        self.get = get
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Printer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _take(self, timeout: float) -> bool:
        try:
            line = self.get(timeout=timeout)
        except queue.Empty:  # Ray's queue raises a subclass
            return False
        self.lines.append(line)
        self.write(line)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take(0.2)
        while self._take(0.2):  # the lines sent before the end
            pass
