"""What a stage-2 verdict rests on besides the log's numbers: the group size g, the reward's
range, the planned number of steps and the logging interval. Each is given (by the user or
the trainer's callback), read from the log, or assumed; an assumption is named in the output,
and a contradiction between an assumption and the data (rewards outside the assumed range)
is warned about and the range then used is stated."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rankinv.errors import UserError
from rankinv.verdicts import logs

#: GRPO's group size when neither the user nor the log states it (TRL's and the paper's 8).
DEFAULT_GROUP_SIZE = 8
#: An assumed g is checked at these group sizes too: the usual range of GRPO's g (TRL's
#: num_generations and verl's rollout.n are commonly set from 4 to 16).
CHECK_GROUP_SIZES = (4, 16)
#: The reward range when none is given: pass/fail rewards.
DEFAULT_REWARD_RANGE = (0.0, 1.0)
#: Planned RL steps assumed when neither the log nor the user states them (the paper's 400).
DEFAULT_PLANNED_STEPS = 400
#: Rewards beyond the range by more than this share of it contradict the range.
RANGE_TOL = 1e-6


@dataclass(frozen=True)
class Assumed:
    """One quantity a verdict rests on: its value and where it comes from ("given", "log"
    or "assumed"), with the words that say so."""

    what: str
    value: object
    source: str  # "given", "log" or "assumed"
    words: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What a decision tells the user to do: the verdict, the predicted label and its action
    (a sweep's verdict on a run: the verdict only, label and action empty)."""

    verdict: str
    label: str = ""
    action: str = ""

    def same(self, other: Outcome) -> bool:
        """Whether ``other`` tells the user to do the same (verdict, label and action)."""
        return (self.verdict, self.label, self.action) == (other.verdict, other.label, other.action)


@dataclass(frozen=True)
class GroupSizeCheck:
    """An assumed g checked: the decision at the assumed g (``outcome``) and re-made at each
    of CHECK_GROUP_SIZES (``at``); ``holds``: the same at every one of them."""

    assumed: int
    outcome: Outcome
    at: dict[int, Outcome]

    @property
    def holds(self) -> bool:
        return all(self.outcome.same(o) for o in self.at.values())

    def to_json(self) -> dict:
        """The fields the group_size assumption carries in the JSON report."""
        at = sorted(self.at.items())
        out = {"checked_at": sorted(self.at), "verdict_at": {str(g): o.verdict for g, o in at}}
        if self.outcome.label:
            out["label_at"] = {str(g): o.label for g, o in at}
        return out | {"holds_for_range": self.holds}


def assumptions_json(assumed, check: GroupSizeCheck | None) -> list[dict]:
    """Each assumption's JSON (g first); an assumed g's with its check over the usual range
    of g (``checked_at``, ``verdict_at``, ``label_at``, ``holds_for_range``)."""
    out = [a.to_json() for a in assumed]
    if check is not None:
        out[0] |= check.to_json()
    return [a for a in out if a.get("source") != "unused"]  # e.g. no reward: no range


def group_size(records: list[dict], given: int | None) -> Assumed:
    """g: given, else a column of the log that states it (num_generations, group_size, ...),
    else DEFAULT_GROUP_SIZE, named as assumed."""
    if given is not None:
        return Assumed("group_size", int(given), "given", f"g = {given} (given)")
    key = logs.pick_key(records, "group_size")
    col = logs.column(records, key)
    if col is not None:
        vals = {int(v) for v in col[np.isfinite(col)]}
        if len(vals) == 1 and (g := vals.pop()) >= 2:
            return Assumed("group_size", g, "log", f"g = {g} (the log's {key})")
    return Assumed(
        "group_size",
        DEFAULT_GROUP_SIZE,
        "assumed",
        f"g = {DEFAULT_GROUP_SIZE} assumed (the log does not state the group size; pass "
        "--group-size)",
    )


def _nice_above(x: float) -> float:
    """The smallest power of ten >= x (x > 0): the common reward scales 0-1, 0-10, 0-100."""
    return 10.0 ** math.ceil(math.log10(x) - 1e-12)


def reward_range(reward: np.ndarray | None, given: tuple[float, float] | None) -> Assumed:
    """The reward's (min, max): given, else DEFAULT_REWARD_RANGE assumed. Rewards outside the
    range are warned about; an assumed range is then widened to the smallest power-of-ten
    scale that holds them (a given range is kept: the user said so)."""
    lo, hi = given if given is not None else DEFAULT_REWARD_RANGE
    if not hi > lo:
        raise UserError(f"reward range must be (min, max) with max > min, got {(lo, hi)}")
    src = "given" if given is not None else "assumed"
    name = f"[{lo:g}, {hi:g}]"
    words = f"reward range {name} ({'given' if given else 'assumed; pass --reward-range'})"
    vals = None if reward is None else reward[np.isfinite(reward)]
    if given is None and (vals is None or not vals.size):  # no verdict reads a range
        return Assumed("reward_range", (float(lo), float(hi)), "unused", "no reward logged")
    if vals is None or not vals.size:
        return Assumed("reward_range", (float(lo), float(hi)), src, words)
    rmin, rmax = float(vals.min()), float(vals.max())
    tol = RANGE_TOL * (hi - lo)
    if rmin >= lo - tol and rmax <= hi + tol:
        return Assumed("reward_range", (float(lo), float(hi)), src, words)
    seen = f"the logged mean reward spans {rmin:.3g} to {rmax:.3g}, outside the {src} range {name}"
    if given is not None:
        return Assumed("reward_range", (float(lo), float(hi)), "given", f"{seen}: kept as given")
    new_lo = lo if rmin >= lo else -_nice_above(-rmin)
    new_hi = hi if rmax <= hi else _nice_above(rmax)
    return Assumed(
        "reward_range",
        (float(new_lo), float(new_hi)),
        "assumed",
        f"{seen}: judged on [{new_lo:g}, {new_hi:g}] instead (the smallest power-of-ten scale "
        "holding them); pass --reward-range MIN,MAX",
    )


def planned_steps(log: logs.RunLog, given: int | None, last: int, done: int) -> Assumed:
    """The planned total of steps: given, else the log's max_steps, else the steps done when
    the log shows the run finished, else DEFAULT_PLANNED_STEPS, named as assumed. A total
    before the log's last step is refused."""
    if given is not None:
        a = Assumed("planned_steps", given, "given", "--planned-steps")
    elif log.max_steps is not None:
        a = Assumed("planned_steps", log.max_steps, "log", "the log's max_steps")
    elif log.finished:
        a = Assumed(
            "planned_steps",
            done,
            "log",
            "the run finished (the log holds the trainer's end-of-training summary)",
        )
    else:
        a = Assumed(
            "planned_steps",
            DEFAULT_PLANNED_STEPS,
            "assumed",
            "assumed (the paper's; pass --planned-steps)",
        )
    if a.value < last:
        raise UserError(
            f"planned steps {a.value} ({a.words}) is before the log's last step {last}; "
            "pass the run's planned total with --planned-steps"
        )
    return a


def logging_interval(trace, stated: int | None, trainer: str) -> Assumed:
    """Steps between the log's values of the rules' columns: TRL's stated logging_steps, else
    the median gap between logged steps. TRL averages each logged value over the steps since
    the previous log; other trainers log the step's own value."""
    if stated is not None:
        n, src = stated, "log"
    else:
        cols = [c for c in (trace.informative, trace.reward, trace.entropy) if c is not None]
        mask = np.zeros(trace.steps.size, dtype=bool)
        for c in cols:
            mask |= np.isfinite(c)
        gaps = np.diff(trace.steps[mask]) if cols else np.diff(trace.steps)
        n, src = (int(np.median(gaps)) if gaps.size else 1), "log"
    n = max(1, n)
    # stated in the log (TRL's trainer_state.json logging_steps), or read off the spacing of
    # the logged steps: the words say which
    how = "logging_steps = {n}" if stated is not None else "the logged steps' spacing"
    averaged = trainer == "trl" and n > 1
    if n == 1:
        words = "a value every step"
    elif averaged:
        words = (
            f"a value every {n} steps, each TRL's mean over the {n} steps up to it "
            f"({how.format(n=n)}); a window takes the values whose {n} steps lie in it (a "
            "shorter one: the latest value alone) and quotes the steps they cover"
        )
    else:
        words = f"a value every {n} steps; windows are in steps and quote logged steps only"
    return Assumed("logging_interval", {"steps": n, "averaged": averaged}, src, words)
