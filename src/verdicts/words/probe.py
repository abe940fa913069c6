"""A probe's stage-1 verdict in words (:func:`reasons`: the mechanical fact first, the
calibrated signal against its threshold, the probe's size, the p* picture, the paper's
screen beside it), the single-checkpoint verdict alone (:func:`verdict_words`) and the
pre-RL report's notes (:func:`prompt_note`, :data:`PRE_RL_NOTE`)."""

from __future__ import annotations

from rankinv.verdicts.probe_verdict import ProbeVerdict
from rankinv.verdicts.signals import PAPER_MEDIUM_FACTOR, STAGE1_SIGNALS, Stage1Verdict

#: What the pre-RL report's numbers assume (pre_rl.json's "note").
PRE_RL_NOTE = (
    "at the checkpoint's own p (no learning during RL modelled); stranded = every group the "
    "prompt gets is degenerate (all fail or all pass); p from each prompt's Jeffreys "
    "posterior given its n samples"
)


#: Whether a calibrated stage-1 threshold depends on g: it does not (one number, pooled).
G_WORDS = "one threshold for every g, pooled over simulated settings of several g"


def risk_threshold_line(signal: str, threshold: float, group_sizes) -> str:
    """`rankinv threshold`: validate's risk threshold is not p*(g), and does not move with g."""
    gs = ", ".join(str(g) for g in sorted(group_sizes))
    return (
        f"validate's risk threshold, {signal} past {threshold:.3f}, does not depend on g: one "
        f"number calibrated on simulated settings of g = {gs} pooled (the share itself is "
        "counted against p*(g) above)"
    )


def verdict_words(v: Stage1Verdict) -> str:
    """The stage-1 verdict in one line: the signal's value against its threshold (the
    calibrated rule) or the entropy against tau_H (the paper's), and the rule's accuracy."""
    if v.rule == "paper":
        kind = v.signal.removeprefix("entropy_")
        if v.value is None:
            return "the paper's tau_H screen needs an entropy; none was measured"
        tau = v.threshold
        if v.risk == "high":
            why = f"< tau_H = {tau}: entropy collapse (the paper's stage 1)"
        elif v.risk == "medium":
            why = f"is within {PAPER_MEDIUM_FACTOR}x of tau_H = {tau}"
        else:
            why = f">= {PAPER_MEDIUM_FACTOR} tau_H = {PAPER_MEDIUM_FACTOR * tau:g}"
        return f"{kind}-token entropy {v.value:.3f} nats {why}"
    name = v.signal
    if v.value is None:
        return f"stage-1 signal {name} cannot be computed from this probe"
    desc = STAGE1_SIGNALS[name].description
    if v.threshold is None:
        why = f"{name} = {v.value:.3f} ({desc}); no calibrated threshold"
    else:
        side = "below" if (v.sign > 0) == v.past_threshold else "above"
        why = (
            f"{name} = {v.value:.3f} is {side} {v.threshold:.3f}, the threshold past which "
            "simulated checkpoints were poor starts: a better rung of the same ladder ended "
            f"higher after RL ({desc}; {G_WORDS})"
        )
    return f"stage-1 signal {why}; {v.accuracy}"


def reasons(pv: ProbeVerdict) -> list[str]:
    """Every reason of a probe's verdict, in order (see the module docstring)."""
    g, n = pv.group_size, pv.samples_per_problem
    out = []
    if pv.no_signal:  # what the counts show mechanically comes first
        out.append(
            f"no signal: every problem was all-fail or all-pass in {n} samples, so no group of "
            f"{g} would carry a reward difference (zero advantage, zero gradient)"
        )
    out.append(verdict_words(pv.verdict))
    if pv.small:
        out.append(small_probe(pv.n_problems, n))
    out.append(
        f"pass@1 {pv.pass_at_1:.3f}; p*({g}) = {pv.p_star:.3f}; {pv.frac_below_p_star:.0%} of "
        f"problems below p* (all-fail zone), {pv.frac_above_upper_p_star:.0%} above 1 - p* "
        f"(all-pass); {pv.informative_fraction:.0%} of groups of {g} would carry signal "
        "(unbiased estimate)"
    )
    flag = pv.screen_flag
    out.append(
        f"the paper's screen (baseline, not the verdict): {pv.screen_kind} entropy "
        f"{pv.screen_entropy:.3f} nats is {'below' if flag else 'above'} tau_H = {pv.tau_h} "
        f"({'flag' if flag else 'no flag'}; calibrated on one model family)"
    )
    return out


def small_probe(n_problems: int, samples: int, verdict: str = "this verdict") -> str:
    """The caveat of a small probe (:func:`rankinv.verdicts.probe_verdict.is_small`)."""
    return (
        f"small probe: {n_problems} problems x {samples} samples; the p-hats behind {verdict} "
        "are coarse (the calibration used 64 samples per prompt)"
    )


def risk_column(v: Stage1Verdict) -> str:
    """What validate's risk column of several checkpoints measures: the signal, its threshold
    and its held-out accuracy (the words of :func:`verdict_words`, for every row)."""
    name = v.signal
    if v.rule == "paper":
        return (
            f"risk: the {name.removeprefix('entropy_')}-token entropy against tau_H = "
            f"{v.threshold} (high below it, medium below {PAPER_MEDIUM_FACTOR}x); {v.accuracy}"
        )
    desc = STAGE1_SIGNALS[name].description if name in STAGE1_SIGNALS else name
    if v.threshold is None:
        return f"risk: stage-1 signal {name} ({desc}) has no calibrated threshold"
    side = "below" if v.sign > 0 else "above"
    return (
        f"risk: stage-1 signal {name} ({desc}) {side} {v.threshold:.3f} is high, the threshold "
        "past which simulated checkpoints were poor starts (a better rung of the same ladder "
        f"ended higher after RL; {G_WORDS}); {v.accuracy}"
    )


def risk_vs_rank(command: str) -> str:
    """Several checkpoints: the risk column screens each alone; `rank` chooses between them."""
    return (
        "risk is an absolute screen of each checkpoint alone (it can be high on all of them); "
        "choosing between them is `rankinv rank`'s job: it compares them with each other and "
        f"against the free answers (least-trained, best pass@1, ...): {command}"
    )


def prompt_note(n: int, c: int) -> str:
    """A prompt's note in the pre-RL report: never solved, always solved, or nothing."""
    if c == 0:
        return "never solved in the probe: no group size helps until p > 0"
    if c == n:
        return "always solved in the probe: groups are all-pass"
    return ""


def pass_at_k_note(k: int, samples: int | None) -> str:
    """Why the probe's pass@k is '-': too few samples per problem (as pass@64's note)."""
    have = "" if samples is None else f", this probe has {samples}"
    return f"pass@{k} needs at least {k} samples per problem{have} (--samples {k} or more)"


def same_everywhere(signal: str, value: float, n: int) -> str:
    """A signal with one value on every checkpoint (validate, rank, compare)."""
    return (
        f"{signal} is {value:.3f} on all {n} checkpoints: this signal does not separate these "
        "checkpoints"
    )


def constant_value(values: list) -> float | None:
    """The one value a signal has on every checkpoint (two or more; None where it varies or
    is missing somewhere)."""
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(nums) < 2 or len(nums) != len(values):
        return None
    return float(nums[0]) if max(nums) - min(nums) <= 1e-12 else None
