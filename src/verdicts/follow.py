"""Tail a GRPO log being written: re-judge it as it grows (``rankinv monitor --follow``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rankinv.errors import UserError
from rankinv.verdicts.monitor_report import MonitorResult


def follow(
    judge: Callable[[], MonitorResult],
    poll_s: float = 2.0,
    max_polls: int = 0,
    on_wait: Callable[[Exception], None] | None = None,
) -> Iterator[MonitorResult]:
    """Yield ``judge()``'s result each time its (verdict, check_reached) changes.

    A log that cannot be read yet (missing, empty, lacking a column) is waited for;
    ``on_wait`` hears the first such error; every read looks at the path afresh (a file, or a
    folder's trainer_state.json, that appears later is read then). Ends after a "stop" verdict
    or ``max_polls`` reads (0: never); ``max_polls`` reads without one usable log raise a
    UserError naming the last read's error."""
    last = None
    polls = 0
    error = None
    while True:
        try:
            rep = judge()
        except (UserError, OSError) as exc:
            rep, error = None, exc
            if last is None and polls == 0 and on_wait is not None:
                on_wait(exc)
        if rep is not None:
            key = (rep.verdict, rep.check_reached)
            if key != last:
                yield rep
                last = key
            if rep.verdict == "stop":
                return
        polls += 1
        if max_polls and polls >= max_polls:
            if last is None and error is not None:
                raise UserError(
                    f"no usable log appeared in {polls} polls ({poll_s:g} s apart); "
                    f"the last read: {error}"
                )
            return
        time.sleep(poll_s)
