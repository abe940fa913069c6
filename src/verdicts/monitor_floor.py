"""The informative share against its floor 1 - f_g(p*): the share of groups of g that carry a
reward difference when every prompt sits at p*(g). Below the floor and falling, a rule's
continue becomes a watch. ``floor``: the numbers, as a :class:`Floor`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rankinv import theory
from rankinv.verdicts import stage2
from rankinv.verdicts.monitor_rules import RuleVerdict
from rankinv.verdicts.monitor_run import JudgedRun


@dataclass(frozen=True)
class Floor:
    """``floor``: 1 - f_g(p*) at the run's g. ``fraction``: the informative share's mean
    over ``window`` (the last fifth of the logged steps since the reference step, at least 3
    values; None: no value there, or no such column), ``trend_per_step`` its fitted change
    per step from the reference step to the last (None: too few values). ``falling_below``:
    below the floor and falling; ``raised``: that raised the rule's continue to watch."""

    floor: float
    fraction: float | None = None
    window: tuple[int, int] | None = None
    trend_per_step: float | None = None
    falling_below: bool = False
    raised: bool = False

    @property
    def comparison(self) -> stage2.Comparison | None:
        return None if self.fraction is None else stage2.compare(self.fraction, self.floor)

    #: the fitted change over the window it was fitted on (reference step to the last)
    change: float | None = None

    @property
    def change_per_100(self) -> float | None:
        return None if self.trend_per_step is None else self.trend_per_step * 100


def floor(
    run: JudgedRun, rv: RuleVerdict, no_signal: bool, window: tuple[int, int] | None = None
) -> Floor:
    """The informative share of ``run`` against its floor, over its latest steps since the
    rule's reference step (``window``: over these steps instead, the no-signal check's, so
    the two shares quoted agree); it raises the rule's continue to watch when below and
    falling (a run with signal, a rule that judged)."""
    trace, g, last, ref = run.trace, run.g, run.last, rv.ref
    fl = float(theory.informative_probability(theory.p_star(g.value), g.value))
    if trace.informative is None:
        return Floor(fl)
    ok = stage2.window_mask(trace, trace.informative, ref, last)
    if not ok.any():
        return Floor(fl)
    first = max(ref, int(trace.covers()[ok].min()))
    lo = last - max(1, int(round(0.2 * (last - first))))
    if window is not None:
        recent = stage2.window_mask(trace, trace.informative, *window)
    else:  # the last fifth, at least 3 steps' worth of values
        recent = stage2.latest_values(trace, trace.informative, last, lo + 1, 3)
    frac = float(np.mean(trace.informative[recent]))
    fit = stage2.linear_fit(trace, trace.informative, ref, last)
    trend = None if fit is None else fit[0] / max(1, last - ref)
    falling = stage2.trend_word(None if trend is None else trend * 100) == "falling"
    below = stage2.compare(frac, fl).side == "below" and falling
    raised = below and rv.verdict == "continue" and not no_signal and rv.judged_col is not None
    change = None if fit is None else fit[0]
    return Floor(fl, frac, stage2.mask_span(trace, recent), trend, below, raised, change)
