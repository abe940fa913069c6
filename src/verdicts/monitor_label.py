"""The outcome a stage-2 report predicts (``label``) and what to do (``action``), for the
labels the log can support; ``verdict`` (continue / watch / stop) is unchanged by them.

- sharpening: held-out pass@1 rose while pass@k fell, each beyond its noise (eval columns);
- diverging: held-out pass@k fell beyond its noise without pass@1 rising beyond its noise;
- saturated / stranded: no signal, the reward at its maximum / minimum (a fact of the log);
- stalled: no signal with the reward between the edges, or a calibrated rule's stop;
- improving: held-out pass@k (else pass@1) rose beyond its noise (z > 2), first to last
  evaluation; training reward alone never makes a run "improving";
- undetermined: the rest (the evaluation cannot resolve it, or the log has no held-out
  evaluation).
"""

from __future__ import annotations

import math

from rankinv.verdicts.coverage import Coverage, sharpening

LABELS = (
    "improving",
    "sharpening",
    "saturated",
    "stranded",
    "diverging",
    "stalled",
    "undetermined",
)
#: A rise counts when it exceeds this many standard errors of the difference.
RISE_Z = 2.0


def _rise(vals, ses) -> float | None:
    if vals is None or ses is None or None in (vals[0], vals[-1], ses[0], ses[-1]):
        return None
    return (vals[-1] - vals[0]) / max(math.hypot(ses[0], ses[-1]), 1e-12)


def label(verdict: str, state: str, rule_judged: bool, cov: Coverage | None) -> tuple[str, str]:
    """(label, action) of a report."""
    keep = None if cov is None else cov.keep_step
    if cov is not None and cov.fell:
        if sharpening(cov):
            return "sharpening", (
                f"stop and keep the checkpoint of step {keep}: pass@1 rises while pass@"
                f"{cov.k} falls, so further RL trades coverage for the top answer"
            )
        return "diverging", (
            f"stop and keep the checkpoint of step {keep}; if you go on, lower the learning rate"
        )
    if state == "no_signal:saturated":
        return "saturated", "stop: the training prompts are solved; train on harder prompts"
    if state == "no_signal:stranded":
        return "stranded", (
            "stop: every sample fails; start from a better SFT checkpoint, easier prompts or a "
            "larger group size"
        )
    if state.startswith("no_signal") or (verdict == "stop" and rule_judged):
        return "stalled", "stop or change the recipe: no held-out gain is expected from here"
    if cov is not None:
        z = _rise(cov.values, cov.ses)
        if z is None:
            z = _rise(cov.pass_at_1, cov.pass_at_1_se)
        if z is not None and z > RISE_Z:
            return "improving", "continue"
    what = {
        "continue": "continue",
        "watch": "continue and look again at the next evaluation",
        "stop": "stop",
    }[verdict]
    how = (
        "; log held-out pass@k with its SE (the evaluation callback) to resolve the outcome"
        if cov is None or cov.ses is None
        else ""
    )
    return "undetermined", what + how
