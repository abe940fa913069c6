"""The run as the monitor judges it: a log's trace with every quantity its verdict rests on
(the group size g, the reward range, the planned steps, the logging interval: each given,
read from the log or named as assumed, ``rankinv.verdicts.assumptions``) and, on a log
without a zero-std share, the informative share its trainer's metrics allow
(``rankinv.verdicts.trainers``: measured another way, or bounded)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rankinv.errors import UserError
from rankinv.verdicts import assumptions, logs, stage2, trainers
from rankinv.verdicts.assumptions import Assumed
from rankinv.verdicts.words import inputs as words

if TYPE_CHECKING:
    from rankinv.verdicts.monitor_config import MonitorConfig


@dataclass(frozen=True)
class JudgedRun:
    log: logs.RunLog
    trace: stage2.Trace  # with the reward range and logging interval below
    keys: dict  # quantity -> the log's metric name it was read from (None: absent)
    g: Assumed
    rng: Assumed  # the reward range
    pl: Assumed  # the planned steps
    iv: Assumed  # the logging interval: {"steps", "averaged"}
    derived: trainers.Derived | None  # None: the log holds a zero-std share
    whole: JudgedRun | None = None  # the run as logged, where judged short of it (upto)

    @property
    def last(self) -> int:
        """The log's last step."""
        return int(self.trace.steps.max())

    @property
    def planned(self) -> int:
        return int(self.pl.value)

    @property
    def planned_src(self) -> str:
        return self.pl.words

    @property
    def logged_last(self) -> int | None:
        """The log's own last step where the verdict reads only steps before it."""
        return None if self.whole is None else self.whole.last

    @property
    def simulated(self) -> bool:
        """Whether the log is rankinv's own simulation (a population's run, or a log
        ``rankinv simulate`` wrote), not a trainer's."""
        return self.log.trainer == "simulator"

    @property
    def now(self) -> JudgedRun:
        """The run as logged (where compute saved counts from)."""
        return self.whole or self

    @property
    def finished(self) -> bool:
        """Whether the run ended: its log holds the trainer's end-of-training summary (TRL),
        or the steps done (counted as :attr:`done` counts them: steps 0..N-1 of a simulated log
        are N steps) reach the planned total its log states (max_steps). The one definition
        the single-run monitor and a sweep read (on the run as logged, :attr:`now`)."""
        run = self.now
        if run.log.finished:
            return True
        planned = run.log.max_steps
        return planned is not None and stage2.steps_done(run.trace) >= planned

    @property
    def done(self) -> int:
        """RL steps done, at most the planned total (a log of steps 0..planned ends the run)."""
        return min(stage2.steps_done(self.trace), self.planned)


def saved_share(planned: int, done: int) -> float:
    """The share of ``planned`` steps a stop after ``done`` of them saves."""
    return (planned - done) / planned


def read(log: logs.RunLog, cfg: MonitorConfig) -> JudgedRun:
    """The trace of ``log`` under ``cfg``'s column names, with its assumptions."""
    forced = cfg.entropy_key, cfg.zero_std_key, cfg.reward_key
    trace, keys = logs.trace(log.records, *forced, source=log.source)
    if not trace.steps.size:
        raise UserError("log has no usable rows (no logged step)")
    trace, pct = percent_shares(trace, keys, log.source)
    rng = assumptions.reward_range(trace.reward, cfg.reward_range)
    g = assumptions.group_size(log.records, cfg.group_size)
    iv = assumptions.logging_interval(trace, log.logging_steps, log.trainer)
    trace = replace(
        trace,
        reward_range=rng.value,
        interval=iv.value["steps"],
        averaged=iv.value["averaged"],
    )
    last = int(trace.steps.max())
    pl = assumptions.planned_steps(log, cfg.planned_steps, last, stage2.steps_done(trace))
    nan = [i for i in [*pct, *nan_issues(log.records, keys)] if i not in log.issues]
    if nan:
        log = replace(log, issues=[*log.issues, *nan])
    derived = None
    if trace.informative is None:
        derived = trainers.derive(log.records, log.trainer, trace, g.value)
        if derived.informative is not None:
            trace = replace(trace, informative=derived.informative)
            keys["informative"] = logs.pick_key(log.records, "filter_pass_rate")
    held_out = any(logs.EVAL_KEY.match(k) for r in log.records for k in r) or logs.pick_key(
        log.records, "heldout_pass_at_k"
    )
    if (
        trace.reward is None
        and trace.informative is None
        and trace.entropy is None
        and not (held_out)
    ):
        present = sorted({k for r in log.records for k in r} - {"step"})
        raise UserError(
            "the log has no column a verdict reads (a reward, the zero-std group share, an "
            f"entropy, a held-out evaluation): nothing to judge; keys there: {present}"
        )
    return JudgedRun(log, trace, keys, g, rng, pl, iv, derived)


def percent_shares(trace, keys: dict, source: str | None) -> tuple:
    """``trace`` with a group-share column logged in percent (values above 1, none above
    100) read as a share, and a line saying so per column; a share column outside 0-100
    raises. A share above 1 cannot be: read as written it would put every group at no signal."""
    fixes, said = {}, []
    for field, key, flip in (
        ("informative", keys["zero_std"], True),
        ("informative", keys["informative"], False),
        ("all_fail", keys["all_fail"], False),
    ):
        col = getattr(trace, field)
        if key is None or col is None or field in fixes:
            continue
        raw = 1.0 - col if flip else col
        fin = raw[np.isfinite(raw)]
        if not fin.size or (fin.min() >= -1e-9 and fin.max() <= 1 + 1e-9):
            continue
        lo, hi = float(fin.min()), float(fin.max())
        if lo < -1e-9 or hi > 100 + 1e-9:
            where = f"{source}: column" if source else "the log's column"
            raise UserError(
                f"{where} {key!r} is a share of groups but holds {lo:g} to {hi:g}: outside 0-1 "
                "(and 0-100 as a percent)"
            )
        raw = raw / 100.0
        fixes[field] = 1.0 - raw if flip else raw
        said.append(
            f"{key} holds values up to {hi:g}, above 1 (a share of groups cannot be): read as "
            "percent, divided by 100"
        )
    return replace(trace, **fixes), said


def nan_issues(records: list[dict], keys: dict) -> list[str]:
    """A line per column the verdict reads that holds NaN (or inf), or a cell that could not
    be read as a number (``n/a``), at some logged steps: those steps are skipped, said so."""
    out = []
    for key in dict.fromkeys(k for k in keys.values() if k):
        logged = [r for r in records if key in r]
        nums = [r for r in logged if isinstance(r[key], float | int)]
        nan = [int(r["step"]) for r in nums if not math.isfinite(r[key])]
        text = [r for r in logged if not isinstance(r[key], float | int)]
        if nan:
            out.append(f"{key} is NaN or infinite at {words.bad_steps(nan, len(logged))}")
        if text:
            cells = sorted({repr(r[key]) for r in text})
            out.append(
                f"{key} could not be read as a number ({', '.join(cells)}) at "
                f"{words.bad_steps([int(r['step']) for r in text], len(logged))}"
            )
    return out


def upto(run: JudgedRun, cfg: MonitorConfig, step: int) -> JudgedRun:
    """``run`` as its log stood at ``step`` (a verdict at a check step reads no later step),
    with the planned steps as read from the whole log; ``whole`` keeps the run as logged."""
    if run.last <= step:
        return run
    recs = [r for r in run.log.records if int(r["step"]) <= step]
    cut = read(replace(run.log, records=recs), cfg)
    # the log's issues as read whole (not once more on the cut)
    return replace(cut, log=replace(cut.log, issues=run.log.issues), pl=run.pl, whole=run)
