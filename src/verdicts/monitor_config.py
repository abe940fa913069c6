"""What the stage-2 monitor is asked: the rule, its window and thresholds, and what the log
does not state (the group size, the planned steps, the reward range) or names differently
(the column keys). :class:`MonitorConfig` checks its values on construction."""

from __future__ import annotations

from dataclasses import dataclass

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper
from rankinv.verdicts import stage2
from rankinv.verdicts._calibrated import DEFAULT_STAGE2_RULE


@dataclass(frozen=True)
class MonitorConfig:
    ref_step: int | None = None  # None: the paper's 10 for its rule, else calibrated
    check_step: int | None = None  # None: the paper's 150, else the calibrated fraction
    threshold: float = paper.DROP_THRESHOLD  # the paper's rule's threshold
    group_size: int | None = None  # None: the log's, else assumptions.DEFAULT_GROUP_SIZE
    planned_steps: int | None = None  # None: the log's max_steps, else DEFAULT_PLANNED_STEPS
    watch_fraction: float = 0.6  # paper rule: a drop above watch_fraction * threshold -> watch
    entropy_key: str | None = None
    rule: str = DEFAULT_STAGE2_RULE
    rule_threshold: float | None = None  # None: the calibrated threshold of the rule
    zero_std_key: str | None = None
    reward_key: str | None = None
    step_key: str | None = None
    reward_range: tuple[float, float] | None = None  # None: (0, 1), assumed

    def __post_init__(self):
        if self.ref_step is not None and not (
            isinstance(self.ref_step, int) and self.ref_step >= 0
        ):
            raise UserError(f"ref_step must be an integer >= 0, got {self.ref_step!r}")
        if self.check_step is not None and not (
            isinstance(self.check_step, int) and self.check_step > (self.ref_step or 0)
        ):
            after = (
                "a positive integer"
                if self.ref_step is None
                else (f"an integer after the reference step {self.ref_step}")
            )
            raise UserError(f"check step must be {after}, got {self.check_step!r}")
        if not 0.0 < self.threshold < 1.0:
            raise UserError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if self.planned_steps is not None and not (
            isinstance(self.planned_steps, int) and self.planned_steps > 0
        ):
            raise UserError(f"planned steps must be a positive integer, got {self.planned_steps!r}")
        if self.group_size is not None:
            theory.p_star(self.group_size)  # validates g
        if self.rule not in stage2.STAGE2_RULES:
            raise UserError(f"rule must be one of {sorted(stage2.STAGE2_RULES)}, got {self.rule!r}")
        if self.reward_range is not None and not self.reward_range[1] > self.reward_range[0]:
            raise UserError(
                f"reward_range must be (min, max) with max > min, got {self.reward_range}"
            )
