"""Stage-1 signals, computed once: every consumer (the probe, ``rank``, ``calibrate``, the
population records, the back-test and the TRL ``screen``) calls the functions here.

A checkpoint's stage-1 evidence is raw: per-prompt sample counts (n_i, c_i), the probe's
token entropies (per prompt or their mean), the GRPO group size g and the planned RL budget
(:class:`Plan`). :func:`stage1_signals` turns it into every signal; :func:`pilot_signals`
reads the first steps of a short GRPO run (the paper's Table 4 predictor: entropy at RL step
10); :func:`stage1_verdict` is the single-checkpoint risk verdict. Every signal states the
sign it is *expected* to have: +1 means "higher predicts a better post-RL outcome".

The planned run and its defaults (g = 8, 400 steps: the paper's runs) are
:class:`rankinv.records.Plan`. The escape signals count the draws of each prompt over the
whole planned run (``theory.escape_probability`` at ``Plan.visits``), so a shorter default
would understate how many prompts a real run gives a chance; give the planned run's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.records import DEFAULT_K, Counts, Plan
from rankinv.theory import paper
from rankinv.verdicts._calibrated import DEFAULT_STAGE1_RISK_SIGNAL, STAGE1_CALIBRATION

#: The pilot signals read steps 1..PILOT_STEP of a short GRPO run (the paper: step 10).
PILOT_STEP = 10


@dataclass(frozen=True)
class Signal:
    name: str
    expected_sign: int  # +1: higher predicts a better post-RL outcome (the paper's view)
    description: str
    #: measured against p*(g) only, so a threshold on it can transfer between tasks
    scale_free: bool = False
    #: what it is computed from: "counts" (per-prompt n, c), "aggregate" (a mean a harness
    #: reports), "entropy" (the probe's entropies) or "pilot" (a short GRPO run's log)
    needs: str = "counts"
    #: a monotone function of pre-RL pass@1 alone: the naive choice's information, kept
    #: as a baseline and never one of the signals that decide a ranking
    of_pass_at_1: bool = False


STAGE1_SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal(
            "pass_at_1",
            -1,
            "pre-RL pass@1 (the paper: the best pre-RL rung ends worst)",
            needs="aggregate",
            of_pass_at_1=True,
        ),
        Signal(
            "pass_at_k", +1, "pre-RL pass@k: prompts the policy can solve at all", needs="aggregate"
        ),
        Signal(
            "entropy_rollout",
            +1,
            "mean token entropy of the policy's own rollouts",
            needs="entropy",
        ),
        Signal(
            "entropy_prompt",
            +1,
            "mean token entropy over the prompt (the paper's stage 1)",
            needs="entropy",
        ),
        Signal(
            "informative_fraction", +1, "unbiased share of groups of g with mixed rewards", True
        ),
        Signal(
            "share_below_p_star", -1, "share of prompts with p-hat < p*(g) (all-fail zone)", True
        ),
        Signal("share_above_1m_p_star", -1, "share of prompts with p-hat > 1 - p*(g)", True),
        Signal(
            "escape",
            +1,
            "theory: mean over prompts of 1 - f_g(p)^visits, the chance a prompt draws at "
            "least one signal-carrying group within the planned steps x batch",
            True,
        ),
        Signal(
            "reachable_pass_at_k",
            +1,
            "theory: pass@k over the prompts that escape (mean of escape_i x 1 + "
            "(1 - escape_i) x pass@k_i); stranded prompts keep their pre-RL pass@k",
        ),
        Signal(
            "pilot_entropy",
            +1,
            f"mean rollout entropy over GRPO steps 1..{PILOT_STEP} of a pilot run (the paper's "
            "Table 4: entropy at step 10, rho +0.82 on its Qwen ladder)",
            needs="pilot",
        ),
        Signal(
            "pilot_informative",
            +1,
            f"informative-group fraction (1 - frac_reward_zero_std) over GRPO steps "
            f"1..{PILOT_STEP} of a pilot run",
            True,
            "pilot",
        ),
    )
}


def reachable_pass_at_k(escape: np.ndarray, pass_k: np.ndarray) -> float:
    """Mean over prompts of escape_i x 1 + (1 - escape_i) x pass@k_i."""
    return float(np.mean(escape + (1.0 - escape) * pass_k))


def pass_at_k_per_prompt(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray | None:
    """The unbiased pass@k of each prompt (theory.pass_at_k), None when some n_i < k."""
    if k > int(n.min()):
        return None
    return np.array([theory.pass_at_k(int(a), int(b), k) for a, b in zip(n, c, strict=True)])


def _mean_entropy(v) -> float | None:
    """A scalar, or the mean of per-prompt entropies (missing prompts skipped)."""
    if v is None:
        return None
    if np.isscalar(v):
        return float(v)
    arr = np.array([np.nan if x is None else float(x) for x in v], dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else None


def stage1_signals(
    n: Sequence[int] | np.ndarray,
    c: Sequence[int] | np.ndarray,
    plan: Plan,
    k: int = DEFAULT_K,
    entropy_rollout: float | Sequence[float | None] | None = None,
    entropy_prompt: float | Sequence[float | None] | None = None,
) -> dict[str, float | None]:
    """Every count- and entropy-based stage-1 signal of one checkpoint.

    n, c: samples and passes per prompt (n_i >= g for the unbiased informative fraction;
    pass@k is computed for k <= min n_i, else left None). entropy_rollout, entropy_prompt:
    the probe's mean token entropies, as one number or per prompt (their mean is used).
    The pilot signals come from :func:`pilot_signals`.
    """
    counts = Counts(n, c)  # validates
    n, c = counts.n, counts.c
    g = plan.group_size
    ps = theory.p_star(g)
    p = c / n
    pk = pass_at_k_per_prompt(n, c, k)
    informative = None
    if g <= int(n.min()):
        informative = float(np.mean(theory.informative_fraction_unbiased(n, c, g)))
    esc = np.asarray(theory.escape_probability(p, g, plan.visits), dtype=float)
    pass1 = float(p.mean())
    return {
        "pass_at_1": pass1,
        "pass_at_k": None if pk is None else float(pk.mean()),
        "entropy_rollout": _mean_entropy(entropy_rollout),
        "entropy_prompt": _mean_entropy(entropy_prompt),
        "informative_fraction": informative,
        "share_below_p_star": float(np.mean(p < ps)),
        "share_above_1m_p_star": float(np.mean(p > 1 - ps)),
        "escape": float(np.mean(esc)),
        "reachable_pass_at_k": None if pk is None else reachable_pass_at_k(esc, pk),
    }


def pilot_signals(
    steps: Sequence[float] | np.ndarray,
    entropy: Sequence[float] | np.ndarray | None,
    informative: Sequence[float] | np.ndarray | None = None,
    pilot_step: int = PILOT_STEP,
) -> dict:
    """The pilot signals of one short GRPO run: the mean of its per-step entropy and
    informative-group fraction over the logged steps 1..``pilot_step`` (step 0, before any
    update, does not count). A log that ends earlier is read as far as it goes
    (``pilot_steps_used`` says how far); a log with no step in [1, pilot_step] uses its
    first logged step after that (``pilot_late`` true)."""
    s = np.asarray(steps, dtype=float)
    out: dict = {"pilot_entropy": None, "pilot_informative": None, "pilot_steps_used": None}
    post = s >= 1
    if not post.any():
        return out
    window = post & (s <= pilot_step)
    late = not window.any()
    if late:
        window = s == s[post].min()
    for key, vals in (("pilot_entropy", entropy), ("pilot_informative", informative)):
        if vals is None:
            continue
        v = np.asarray(vals, dtype=float)[window]
        v = v[np.isfinite(v)]
        out[key] = float(v.mean()) if v.size else None
    out["pilot_steps_used"] = [int(s[window].min()), int(s[window].max())]
    out["pilot_late"] = bool(late)
    return out


def signal_sign(signal: str) -> int:
    """+1 when a higher value of the stage-1 signal predicts a better post-RL outcome: the
    sign calibration chose, else the paper's expectation."""
    cal = STAGE1_CALIBRATION.get(signal, {})
    return int(cal.get("sign", STAGE1_SIGNALS[signal].expected_sign))


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def stage1_accuracy_note(signal: str) -> str:
    cal = STAGE1_CALIBRATION.get(signal)
    if cal is None:
        return "not calibrated on the simulated population"
    a = cal.get("auc_poor_start")
    auc = "n/a" if a is None else f"{a:.2f}"
    if a is not None and abs(a - 0.5) < CHANCE_BAND:
        auc += ", about chance (0.5)"
    n_top1 = cal.get("top1_n", cal.get("n_ladders", "?"))
    # what tells two signals apart first (n, AUC, regret): a median rho and a top-1 rate
    # are coarse (lattice values at a few rungs) and two signals can share them
    regret = "" if cal.get("regret") is None else f", mean regret {cal['regret']:.4f}"
    return (
        f"held-out over the {cal.get('n_ladders', '?')} simulated ladders where it varies: "
        f"AUC {auc} for a poor start (a better rung existed) from this one checkpoint; median "
        f"within-ladder rho {cal['median_rho']:+.2f}{regret}; picks the best rung (within "
        f"{cal.get('top1_margin', 0.02):g}) in {_pct(cal['top1_rate'])} of {n_top1} ladders "
        "whose rungs differ by more than that"
    )


#: An AUC within this of 0.5 is called "about chance" where it is quoted.
CHANCE_BAND = 0.05


#: The paper's tau_H screen: prompt entropy below tau_H is high risk, below
#: PAPER_MEDIUM_FACTOR x tau_H medium (a baseline: tau_H was set on one model family).
PAPER_MEDIUM_FACTOR = 1.5


@dataclass(frozen=True)
class Stage1Verdict:
    """A single checkpoint's stage-1 risk and what it rests on: ``risk`` (high, medium,
    low or unknown) by ``rule`` ("calibrated": ``signal``'s ``value`` against the
    ``threshold`` past which simulated checkpoints were poor starts, read with the signal's
    ``sign``; "paper": the prompt or rollout entropy against tau_H, ``threshold``, and
    PAPER_MEDIUM_FACTOR x tau_H), and the held-out ``accuracy`` of that rule, in words.
    ``value`` is None when the probe cannot compute the signal."""

    risk: str
    rule: str
    signal: str
    value: float | None
    threshold: float | None
    sign: int
    accuracy: str

    @property
    def past_threshold(self) -> bool | None:
        """Whether the value is on the poor side of the threshold (None: either unknown)."""
        if self.value is None or self.threshold is None:
            return None
        return self.sign * self.value < self.sign * self.threshold


def _paper_verdict(signals: dict, tau_h: float) -> Stage1Verdict:
    h = signals.get("entropy_prompt")
    kind = "prompt"
    if h is None:
        h, kind = signals.get("entropy_rollout"), "rollout"
    if h is None:
        accuracy = "the paper's tau_H, set on one model family"
        return Stage1Verdict("unknown", "paper", "entropy_prompt", None, tau_h, 1, accuracy)
    if h < tau_h:
        risk = "high"
    elif h < PAPER_MEDIUM_FACTOR * tau_h:
        risk = "medium"
    else:
        risk = "low"
    accuracy = "the paper's tau_H, set on one model family (a baseline, not calibrated)"
    return Stage1Verdict(risk, "paper", f"entropy_{kind}", h, tau_h, 1, accuracy)


def stage1_verdict(
    signals: dict, signal: str | None = None, rule: str = "calibrated", tau_h: float = paper.TAU_H
) -> Stage1Verdict:
    """The single-checkpoint stage-1 verdict, the one both the probe and the TRL screen give.

    rule "calibrated" (default): risk from one stage-1 signal against the threshold that best
    separated poor from good starting checkpoints on simulated settings; the signal defaults
    to the calibrated risk signal, chosen among the signals measured against p*(g) (a
    pass-rate or entropy level does not transfer between tasks). "high": the signal predicts
    a poor start (in simulated ladders, checkpoints past this threshold ended RL below a
    better rung of their ladder); "low" otherwise; "unknown" when the signal cannot be
    computed from these signals, or has no calibrated threshold.

    rule "paper": the paper's tau_H screen on the prompt entropy (rollout entropy when no
    prompt entropy was measured): high below tau_H, medium below 1.5 tau_H, else low.
    ``rankinv.verdicts.words.probe`` phrases the verdict.
    """
    if rule == "paper":
        return _paper_verdict(signals, tau_h)
    if rule != "calibrated":
        raise UserError(f"rule must be 'calibrated' or 'paper', got {rule!r}")
    name = signal or DEFAULT_STAGE1_RISK_SIGNAL
    if name not in STAGE1_SIGNALS:
        raise UserError(f"signal must be one of {sorted(STAGE1_SIGNALS)}, got {name!r}")
    value = signals.get(name)
    thr = STAGE1_CALIBRATION.get(name, {}).get("poor_start_threshold")
    v = Stage1Verdict(
        "unknown", "calibrated", name, value, thr, signal_sign(name), stage1_accuracy_note(name)
    )
    poor = v.past_threshold
    return v if poor is None else replace(v, risk="high" if poor else "low")
