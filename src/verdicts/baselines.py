"""The free answers a practitioner already has when choosing an SFT checkpoint for GRPO.

Every stage-1 signal is reported beside them, on the same ladders (calibrate, the real
back-test, compare, rank):

- ``shallowest``: take the least-trained checkpoint (lowest SFT depth);
- ``deepest``: take the most-trained one;
- ``best_pass_at_1``: take the best pre-RL pass@1 (the naive choice the paper warns about);
- ``lowest_pass_at_1``: take the worst pre-RL pass@1 (the paper's inversion, taken at its
  word);
- ``random``: a rung drawn uniformly (scored by its expectation, not by a draw).

Each baseline but ``random`` is an ordering of the rungs by one column (depth or pre-RL
pass@1) with a fixed sign: it is never fitted, so it cannot leak anything from held-out data.
On a recipe ladder (rungs at one SFT depth) depth says nothing: the depth baselines are not
defined there (every rung ties) and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Baseline:
    name: str
    column: str  # "depth" or "pass_at_1": what it orders the rungs by
    sign: int  # +1: the highest value is picked
    description: str


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("shallowest", "depth", -1, "the least-trained checkpoint (lowest SFT depth)"),
        Baseline("deepest", "depth", +1, "the most-trained checkpoint (highest SFT depth)"),
        Baseline("best_pass_at_1", "pass_at_1", +1, "the best pre-RL pass@1 (the naive choice)"),
        Baseline("lowest_pass_at_1", "pass_at_1", -1, "the lowest pre-RL pass@1"),
    )
}
RANDOM = "random"
#: Every baseline's name, the random pick last.
NAMES = (*BASELINES, RANDOM)


def oriented(name: str, depth: Sequence | None, pass_at_1: Sequence | None) -> np.ndarray | None:
    """The baseline's score per rung (the highest is its pick), or None when its column is
    missing on some rung or does not vary (depth on a recipe ladder)."""
    b = BASELINES[name]
    col = depth if b.column == "depth" else pass_at_1
    if col is None or any(v is None for v in col):
        return None
    x = np.asarray(col, dtype=float)
    if not np.all(np.isfinite(x)) or (b.column == "depth" and np.ptp(x) == 0):
        return None
    return b.sign * x


def picks(
    names: Sequence[str], depth: Sequence | None, pass_at_1: Sequence | None
) -> dict[str, str | None]:
    """The rung each baseline (random excluded) picks; None where it is not defined. Ties go
    to the first rung listed."""
    out: dict[str, str | None] = {}
    for b in BASELINES:
        x = oriented(b, depth, pass_at_1)
        out[b] = None if x is None else names[int(np.argmax(x))]
    return out


def random_expectation(outcome: Sequence[float], margin: float) -> dict:
    """What a uniformly random rung scores in expectation: the share of rungs within
    ``margin`` of the best outcome (top-1 rate; None where every rung is within it), the
    mean regret, and a within-ladder rho of 0."""
    y = np.asarray(outcome, dtype=float)
    best = float(y.max())
    decisive = float(np.ptp(y)) > margin
    return {
        "top1": float(np.mean(y >= best - margin)) if decisive else None,
        "regret": float(np.mean(best - y)),
        "rho": 0.0,
    }


#: A signal beats a free answer when the Holm-adjusted p of its paired comparison on the
#: simulated report half is below this and it saved regret on average.
ALPHA = 0.05


def calibrated_versus(signal: str, baseline: str, kind: str = "all") -> dict | None:
    """The held-out paired comparison of ``signal`` with ``baseline`` on simulated ladders
    of ``kind`` ("depth", "recipe" or "all"; report half, clustered by setting), as
    calibrate measured it; None when it was not measured."""
    from rankinv.verdicts._calibrated import STAGE1_VERSUS

    return STAGE1_VERSUS.get(kind, {}).get(signal, {}).get(baseline)


def beats(cmp: dict | None) -> bool | None:
    """True when the comparison shows a significant saving, False when it does not, None
    when there is no comparison."""
    if not cmp:
        return None
    p = cmp.get("p_holm", cmp.get("p_wilcoxon_pratt"))
    return bool(p is not None and p < ALPHA and cmp["mean"] > 0)


def answer_of_unknown_kind(baselines_: dict, versus: dict) -> tuple[str | None, bool]:
    """Where the ladder's kind is unknown (no depths): the free answer to take and whether
    the kind is needed to name one. Nothing to take when the deciding signal has no
    held-out comparison with both (an uncalibrated signal: its pick is a hint) or beat
    either of them (on all simulated ladders); else the
    best pre-RL pass@1 when it is also the least-trained (in the order given), and
    otherwise the kind decides (depth ladder: the least-trained; one depth: the best
    pre-RL pass@1), so it is needed."""
    answers = ("shallowest", "best_pass_at_1")
    held_out = [versus.get(b) for b in answers]
    if not all(held_out) or any(beats(c) for c in held_out):
        return None, False
    first, best = (baselines_.get(b) for b in answers)
    if best is not None and best == first:
        return "best_pass_at_1", False
    return None, True


#: The free answer to beat on each kind of ladder: the least-trained checkpoint where the
#: rungs differ in SFT depth, the best pre-RL pass@1 where they share one (recipes).
KIND_ANSWER = {"depth": "shallowest", "recipe": "best_pass_at_1"}


def free_answers(
    names: list[str],
    depth: list | None,
    pass_at_1: list | None,
    lead: str | None,
    depths_assumed: bool = False,
) -> dict:
    """What the free answers pick on these rungs and, against the held-out evidence, whether
    the signal that decided adds anything over that answer (else the answer to use instead).

    ``depths_assumed``: the depths are only the order given (least to most trained).
    Fields: baselines ({name: rung or None}), ladder_kind ("depth": the rungs differ in SFT depth;
    "recipe": one depth; None when the depths are only assumed from the order given),
    versus ({baseline: the calibrated comparison of the deciding signal}),
    adds_nothing_over (the free answer to use when the deciding signal did not beat it on
    held-out simulated ladders, else None)."""
    picks_ = picks(names, depth, pass_at_1)
    kind = None  # unknown when the depths are only assumed from the order given
    known = depth is not None and all(d is not None for d in depth)
    if known and not depths_assumed:
        kind = "recipe" if len(set(depth)) == 1 else "depth"
    versus = {}
    if lead is not None:
        versus = {b: c for b in NAMES if (c := calibrated_versus(lead, b, kind or "all"))}
    # on a depth ladder the least-trained checkpoint is the free answer to beat; on a recipe
    # ladder depth says nothing and the best pre-RL pass@1 is
    anchor = KIND_ANSWER.get(kind)
    adds_nothing = None
    if anchor and beats(versus.get(anchor)) is False and picks_[anchor]:
        adds_nothing = anchor
    return {
        "baselines": picks_,
        "ladder_kind": kind,
        "versus": versus,
        "adds_nothing_over": adds_nothing,
    }
