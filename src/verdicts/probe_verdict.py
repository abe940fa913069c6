"""The stage-1 risk verdict of one probe, as a type: :class:`ProbeVerdict`, the verdict of
the calibrated signal (``signals.Stage1Verdict``) with the numbers it rests on, the
mechanical fact (no group of g with a reward difference) and the paper's tau_H screen beside
it. ``rankinv.validate.summary`` builds it; ``rankinv.verdicts.words.probe`` phrases it."""

from __future__ import annotations

from dataclasses import dataclass

from rankinv.verdicts.signals import Stage1Verdict

#: A probe smaller than this (problems, or samples per problem) gives coarse p-hats: said so
#: (the calibration used 64 samples per prompt).
SMALL_PROBE_PROBLEMS = 30
SMALL_PROBE_SAMPLES = 16


@dataclass(frozen=True)
class ProbeVerdict:
    """``verdict``: the calibrated signal's risk; the probe's size (``n_problems`` x
    ``samples_per_problem``); at the planned ``group_size``: ``pass_at_1``, ``p_star``, the
    shares of problems below p* (all-fail zone) and above 1 - p* (all-pass), and the
    informative fraction (the unbiased share of groups of g with a reward difference); the
    paper's screen: ``screen_entropy`` (of the prompt, else the rollout: ``screen_kind``)
    against ``tau_h``."""

    verdict: Stage1Verdict
    n_problems: int
    samples_per_problem: int
    group_size: int
    pass_at_1: float
    p_star: float
    frac_below_p_star: float
    frac_above_upper_p_star: float
    informative_fraction: float
    screen_kind: str
    screen_entropy: float
    tau_h: float

    @property
    def risk(self) -> str:
        return self.verdict.risk

    @property
    def no_signal(self) -> bool:
        """No problem had mixed outcomes: no group of g would carry a reward difference."""
        return self.informative_fraction == 0.0

    @property
    def small(self) -> bool:
        return is_small(self.n_problems, self.samples_per_problem)

    @property
    def screen_flag(self) -> bool:
        """The paper's screen: the entropy below tau_H."""
        return self.screen_entropy < self.tau_h


def is_small(n_problems: int, samples_per_problem: int) -> bool:
    """Whether a probe of ``n_problems`` x ``samples_per_problem`` gives coarse p-hats."""
    return n_problems < SMALL_PROBE_PROBLEMS or samples_per_problem < SMALL_PROBE_SAMPLES
