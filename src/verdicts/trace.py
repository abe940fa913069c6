"""A run's log as the rules read it (:class:`Trace`), and the one place its windows are cut:
on a log whose values are each the mean of the ``interval`` steps up to it (TRL with
logging_steps > 1), a window of steps takes only the values whose covered steps lie inside
it, and its printed range says the steps those values cover."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trace:
    """A run's log up to now, in step order (None where the log lacks a column)."""

    steps: np.ndarray
    entropy: np.ndarray | None = None
    min_entropy: np.ndarray | None = None
    informative: np.ndarray | None = None  # 1 - frac_reward_zero_std
    all_fail: np.ndarray | None = None
    reward: np.ndarray | None = None
    reward_range: tuple[float, float] = (0.0, 1.0)  # the reward's minimum and maximum
    #: steps between logged values; averaged: each value is the mean over the ``interval``
    #: steps up to its step (TRL with logging_steps > 1), so it stands for their centre
    interval: int = 1
    averaged: bool = False

    def covers(self) -> np.ndarray:
        """The first step each value covers: its own, or the first of the steps it averages."""
        return self.steps - (self.interval - 1 if self.averaged else 0)

    def positions(self) -> np.ndarray:
        """The step each value stands for: its own, or the centre of the steps it averages."""
        shift = (self.interval - 1) / 2 if self.averaged else 0.0
        return self.steps.astype(float) - shift


def window_mask(trace: Trace, values, lo: int, hi: int) -> np.ndarray:
    """The finite values that stand for steps in [lo, hi], the one place windows are cut: a
    value logged in [lo, hi] whose covered steps (``Trace.covers``: on an averaged log, the
    ``interval`` steps up to it) all lie in [lo, hi]; where none does (a window shorter than
    the logging interval), the latest value logged in [lo, hi] alone (it covers more)."""
    if values is None:
        return np.zeros(trace.steps.size, dtype=bool)
    logged = (trace.steps >= lo) & (trace.steps <= hi) & np.isfinite(values)
    m = logged & (trace.covers() >= lo)
    if not m.any() and logged.any():
        m = np.zeros_like(logged)
        m[np.nonzero(logged)[0][-1]] = True
    return m


def window_values(trace: Trace, values: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
    """The finite values standing for steps in [lo, hi] (``window_mask``); None if none."""
    m = window_mask(trace, values, lo, hi)
    return values[m] if m.any() else None


def mask_span(trace: Trace, m: np.ndarray) -> tuple[int, int] | None:
    """(first, last) step the values under ``m`` cover; None if none."""
    if not m.any():
        return None
    return int(trace.covers()[m].min()), int(trace.steps[m].max())


def logged_span(trace: Trace, values, lo: int, hi: int) -> tuple[int, int] | None:
    """(first, last) step covered by the values a window [lo, hi] takes; None if none."""
    return mask_span(trace, window_mask(trace, values, lo, hi))


def steps_words(span: tuple[int, int]) -> str:
    """ "steps a-b" (or "step a")."""
    return f"step {span[0]}" if span[0] == span[1] else f"steps {span[0]}-{span[1]}"


def span_words(trace: Trace, values, lo: int, hi: int) -> str:
    """ "steps a-b": the steps the values of [lo, hi] cover (never a step not logged)."""
    sp = logged_span(trace, values, lo, hi)
    return f"no logged step in {lo}-{hi}" if sp is None else steps_words(sp)


def steps_per_value(trace: Trace) -> int:
    """How many steps one logged value stands for (its logging interval where averaged)."""
    return trace.interval if trace.averaged else 1


def latest_values(trace: Trace, values, hi: int, lo: int, min_steps: int) -> np.ndarray:
    """``window_mask`` of [lo, hi], widened to the latest values up to ``hi`` that stand for
    at least ``min_steps`` steps (a value of an averaged log stands for its interval)."""
    m = window_mask(trace, values, lo, hi)
    per = steps_per_value(trace)
    if m.sum() * per < min_steps:
        idx = np.nonzero(np.isfinite(values) & (trace.steps <= hi))[0]
        m = np.zeros(trace.steps.size, dtype=bool)
        m[idx[-max(1, -(-min_steps // per)) :]] = True
    return m


def value_at(trace: Trace, values: np.ndarray | None, step: int, side: str):
    """(step, value) of the first logged value at a step >= ``step`` (side "after") or the
    last at <= ``step`` (side "before"); None when there is none."""
    if values is None:
        return None
    ok = np.isfinite(values)
    idx = np.nonzero(ok & ((trace.steps >= step) if side == "after" else (trace.steps <= step)))[0]
    if idx.size == 0:
        return None
    i = idx[0] if side == "after" else idx[-1]
    return int(trace.steps[i]), float(values[i])


def drop_span(trace: Trace, values, ref: int, check: int) -> str:
    """ "steps a-b" of a change between two values (the first at >= ``ref``, the last at <=
    ``check``): from the first step the earlier covers to the later's step."""
    a, b = value_at(trace, values, ref, "after"), value_at(trace, values, check, "before")
    if a is None or b is None:
        return span_words(trace, values, ref, check)
    i = int(np.nonzero(trace.steps == a[0])[0][0])
    return steps_words((int(trace.covers()[i]), b[0]))
