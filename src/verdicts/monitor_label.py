"""The outcome a stage-2 report predicts (``label``) and what to do (``action``), in the
labels of ``rankinv.verdicts.labels`` (their actions, and its ``classify`` for a fall of
held-out pass@k); ``verdict`` (continue / watch / stop) is unchanged by them. In order:

- sharpening / diverging: held-out pass@k fell beyond its noise (the coverage test fired):
  diverging when pass@1 fell too (z < -2) or training diverged (``labels.diverges``: the
  reward fell from its peak, or the entropy rose), else sharpening;
- diverging (a collapse): no signal with the reward at its minimum, where it fell there
  (``labels.collapse``: the reward started above the stranded edge or its window mean fell
  from a peak) or held-out pass@k fell from its first evaluation (beyond LABEL_Z of its SE;
  without one, by more than ``labels.RESOLUTION``); the action names the best-coverage step
  (else the last step before the collapse);
- saturated / stranded: no signal, the reward at its maximum / minimum (a fact of the log);
  stranded only for a reward low from the start;
  stalled: no signal with the reward between the edges;
- a calibrated rule's (or baseline's) stop: the label that stop claims (``claim``, e.g.
  stranded for a reward at its minimum), else stalled;
- improving: held-out pass@k (else pass@1) rose beyond its noise (z > 2), first to last
  evaluation; training reward alone never makes a run "improving";
- undetermined: the rest (the evaluation cannot resolve it, or the log has no held-out
  evaluation).
"""

from __future__ import annotations

import math

from rankinv.verdicts import labels as lab
from rankinv.verdicts.coverage import Coverage
from rankinv.verdicts.words import monitor_checks as notes

LABELS = lab.LABELS
#: A rise (fall) counts when it exceeds this many standard errors of the difference.
RISE_Z = lab.LABEL_Z


def _rise(vals, ses) -> float | None:
    if vals is None or ses is None or None in (vals[0], vals[-1], ses[0], ses[-1]):
        return None
    return (vals[-1] - vals[0]) / max(math.hypot(ses[0], ses[-1]), 1e-12)


def _direction(z: float | None) -> int:
    return 0 if z is None else 1 if z > RISE_Z else -1 if z < -RISE_Z else 0


def _fell_from_start(cov: Coverage | None) -> bool:
    """Held-out pass@k fell from its first evaluation to its last: beyond LABEL_Z standard
    errors of the difference, or without an SE by more than ``labels.RESOLUTION``."""
    if cov is None or len(cov.values) < 2:
        return False
    z = _rise(cov.values, cov.ses)
    if z is not None:
        return z < -RISE_Z
    return cov.values[0] - cov.values[-1] > lab.RESOLUTION


#: What an undetermined outcome leaves the verdict to say, before the reason.
VERDICT_WORDS = {"continue": "continue", "watch": "continue and look again", "stop": "stop"}


def label(
    verdict: str,
    state: str,
    rule_judged: bool,
    cov: Coverage | None,
    diverges: bool = False,
    claim: str | None = None,
    simulated: bool = False,
    collapsed: tuple[int, float] | None = None,
) -> tuple[str, str]:
    """(label, action) of a report; ``diverges``: training diverged (``labels.diverges``);
    ``claim``: the label a rule's stop predicts; ``simulated``: the log is rankinv's own
    simulation (what resolves an undetermined outcome is then what the simulation gives, not
    an evaluation callback); ``collapsed``: (step, reward) before the reward collapsed to
    its minimum (``labels.collapse``)."""
    if cov is not None and cov.fell:
        d1 = _direction(_rise(cov.pass_at_1, cov.pass_at_1_se))
        name = lab.classify(d1, -1, diverges, None, True)
        keep = f"; the checkpoint to keep: step {cov.keep_step} (best pass@{cov.k})"
        return name, lab.ACTIONS[name] + keep
    if state == "no_signal:saturated":
        return "saturated", lab.ACTIONS["saturated"]
    if state == "no_signal:stranded" and (collapsed is not None or _fell_from_start(cov)):
        return "diverging", lab.ACTIONS["diverging"] + notes.collapse_words(cov, collapsed)
    if state == "no_signal:stranded":
        rose = cov is not None and cov.ses is None and cov.values[-1] > cov.values[0]
        but = (
            f"; but held-out pass@{cov.k or 'k'} rose {cov.values[0]:.3f} -> "
            f"{cov.values[-1]:.3f} (untested without its SE): look at it before restarting"
            if rose
            else ""
        )
        return "stranded", lab.ACTIONS["stranded"] + but
    if state.startswith("no_signal"):  # a fact: no gradient, so the policy does not move
        return "stalled", lab.ACTIONS["stalled"] + " (no gradient: the policy cannot change)"
    if verdict == "stop" and rule_judged:
        name = claim if claim in lab.STOP_LABELS else "stalled"
        unchecked = " (predicted: the log has no held-out evaluation to check it)"
        return name, lab.ACTIONS[name] + (unchecked if cov is None and name == "stalled" else "")
    if cov is not None:
        z = _rise(cov.values, cov.ses)
        if z is None:
            z = _rise(cov.pass_at_1, cov.pass_at_1_se)
        if _direction(z) > 0:
            return "improving", lab.ACTIONS["improving"]
    if cov is None:
        return "undetermined", f"{VERDICT_WORDS[verdict]}: {notes.no_evaluation(simulated)}"
    if cov.ses is None:  # the evaluations are there, their noise is not: say that, only
        return "undetermined", f"{VERDICT_WORDS[verdict]}: {notes.no_se(simulated)}"
    what = {
        "continue": lab.ACTIONS["undetermined"],
        "watch": "continue and look again at the next evaluation",
        "stop": "stop",
    }[verdict]
    return "undetermined", what
