"""What a trainer's log allows when it has no zero-std column (verl, OpenRLHF), derived from
each trainer's own metric code (see ``rankinv.verdicts.logs``), and what is not measurable.

- OpenRLHF with dynamic filtering logs ``dynamic_filtering_pass_rate``: the percent of the
  prompts drawn whose mean reward lies strictly inside the filter range (default (0, 1)),
  kept for training (openrlhf/trainer/ppo_utils/samples_generator.py). For pass/fail rewards
  that is the informative-group fraction of the groups the policy produced: measured.
- Without a zero-std column, pass/fail rewards bound it from the mean reward: a group carries
  signal only when it holds a success and a failure, so the informative share is at most
  g x (the share of successes) and at most g x (the share of failures):
  informative <= min(1, g * min(r - lo, hi - r) / (hi - lo)). When that bound is below a
  rule's stop level, the rule's verdict is decided whatever the true share; otherwise the
  rule cannot run. The bound needs pass/fail rewards: verl's ``critic/score/min`` and
  ``/max`` at the range's ends are consistent with them; values inside the range refute it.
- Dynamic sampling (verl DAPO's ``algorithm.filter_groups``, logged as ``num_gen_batches``)
  drops zero-std groups before any metric is computed: the share the policy produced, and
  the reward over all its groups, are not measurable from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rankinv.verdicts import logs

#: The configuration line that makes each trainer log what the informative rule reads.
CONFIG_LINE = {
    "verl": (
        "verl has no switch that logs a zero-std share: add to compute_data_metrics "
        "(verl/trainer/ppo/metric_utils.py) the share of uids whose sequence scores all "
        'agree, as metrics["critic/frac_reward_zero_std"] (rankinv reads that name)'
    ),
    "openrlhf": (
        "--algo.dynamic_filtering_enable --algo.dynamic_filtering_range 0 1 (logs "
        "dynamic_filtering_pass_rate, the informative share for pass/fail rewards; it also "
        "drops the other groups from the batch, which carry no gradient with beta = 0)"
    ),
    "unknown": "log the share of groups whose rewards all agree as frac_reward_zero_std",
}


@dataclass
class Derived:
    """The informative fraction derived from a log without a zero-std column."""

    informative: np.ndarray | None = None  # measured another way (OpenRLHF's pass rate)
    source: str | None = None  # how, in words
    bound: np.ndarray | None = None  # an upper bound (pass/fail rewards), else None
    bound_words: str | None = None
    dynamic_sampling: str | None = None  # which dynamic sampling the log shows
    not_measurable: list[str] = field(default_factory=list)
    config_line: str | None = None


def _binary_consistent(records, lo: float, hi: float) -> bool | None:
    """Whether the log's per-step reward min / max (verl) sit at the range's ends, as
    pass/fail rewards do; None when the log has neither column."""
    seen = False
    for q in ("reward_min", "reward_max"):
        col = logs.column(records, logs.pick_key(records, q))
        if col is None:
            continue
        seen = True
        v = col[np.isfinite(col)]
        tol = 1e-6 * (hi - lo)
        if not np.all((np.abs(v - lo) <= tol) | (np.abs(v - hi) <= tol)):
            return False
    return True if seen else None


def derive(records: list[dict], trainer: str, trace, g: int) -> Derived:
    """The informative fraction, or a bound on it, from a log with no zero-std column."""
    d = Derived(config_line=CONFIG_LINE.get(trainer, CONFIG_LINE["unknown"]))
    key = logs.pick_key(records, "filter_pass_rate")
    if key is not None:
        col = logs.column(records, key)
        d.informative = col / 100.0
        d.source = (
            f"{key} / 100 (OpenRLHF's dynamic filtering: the share of prompts whose mean "
            "reward lies inside the filter range, assumed its default (0, 1); the informative "
            "share for pass/fail rewards)"
        )
        d.dynamic_sampling = "OpenRLHF dynamic filtering"
        d.not_measurable.append(
            "the mean reward of all the policy's groups (OpenRLHF logs the kept groups' only), "
            "so whether a run without signal is saturated or stranded"
        )
        d.config_line = None
        return d
    if logs.pick_key(records, "gen_batches") is not None:
        d.dynamic_sampling = "verl DAPO dynamic sampling (algorithm.filter_groups)"
        d.not_measurable += [
            "the zero-std share the policy produced (filter_groups drops zero-std groups "
            "before anything is logged; num_gen_batches counts the batches drawn to fill one)",
            "the mean reward of all the policy's groups (critic/score/mean averages the kept ones)",
        ]
        return d
    if trace.reward is None:
        return d
    lo, hi = trace.reward_range
    binary = _binary_consistent(records, lo, hi)
    if binary is False:
        d.not_measurable.append(
            "a bound on the informative share from the mean reward (the log's per-step reward "
            "min / max lie inside the range: the rewards are not pass/fail)"
        )
        return d
    share = np.clip((trace.reward - lo) / (hi - lo), 0.0, 1.0)
    d.bound = np.minimum(1.0, g * np.minimum(share, 1.0 - share))
    why = (
        "its critic/score/min and /max sit at the range's ends"
        if binary
        else "assumed: the log cannot show it"
    )
    d.bound_words = (
        f"at most g x min(reward share, 1 - reward share) with g = {g}, for pass/fail rewards "
        f"({why})"
    )
    return d
