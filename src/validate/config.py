"""The probe's configuration: :class:`ProbeConfig`, what `rankinv validate` is asked to
measure (the task set, the sampling, the sandbox, the planned GRPO run it screens for), its
argument checks, and the :class:`rankinv.records.Plan` it builds."""

from __future__ import annotations

from dataclasses import dataclass

from rankinv.errors import UserError
from rankinv.records import DEFAULT_BATCH_PROMPTS, Plan
from rankinv.theory import paper
from rankinv.verdicts.signals import STAGE1_SIGNALS

TAU_H = paper.TAU_H


@dataclass(frozen=True)
class ProbeConfig:
    benchmark: str = "humaneval"
    samples: int = 128
    group_size: int = paper.GROUP_SIZE
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 384
    limit: int | None = None  # first K problems only
    seed: int = 0
    tau_h: float = TAU_H
    # the planned GRPO run the checkpoint is screened for (the stage-1 signal's budget)
    rl_steps: int = paper.RL_STEPS
    batch_prompts: int = DEFAULT_BATCH_PROMPTS
    n_prompts: int | None = None  # None: the number of problems probed
    signal: str | None = None  # stage-1 predictor; None: the calibrated default
    timeout_s: float = 3.0
    # sandbox workers; None: one per available CPU but one, which the sampler's thread uses
    # (the checks run while sampling goes on)
    workers: int | None = None
    allow_imports: tuple[str, ...] = ()  # site-packages modules the completions may import
    reward: str | None = None  # "module:function": the user's reward judges every completion
    # the planned run's options the user typed (group_size, rl_steps, batch_prompts,
    # n_prompts), given even where equal to the default; None: not recorded (an API caller)
    given: tuple[str, ...] | None = None

    def __post_init__(self):
        if (
            isinstance(self.group_size, bool)
            or not isinstance(self.group_size, int)
            or self.group_size < 2
        ):
            raise UserError(f"group size must be an integer >= 2, got {self.group_size!r}")
        if not isinstance(self.samples, int) or self.samples < self.group_size:
            raise UserError(
                f"samples must be an integer >= group size ({self.group_size}), "
                f"got {self.samples!r}"
            )
        if self.signal is not None and self.signal not in STAGE1_SIGNALS:
            raise UserError(f"signal must be one of {sorted(STAGE1_SIGNALS)}, got {self.signal!r}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"limit must be >= 1, got {self.limit!r}")
        if not self.temperature > 0:
            raise UserError(
                f"temperature must be > 0 (GRPO samples its groups at T > 0; at T = 0 every "
                f"p-hat is 0 or 1), got {self.temperature!r}"
            )
        self._check_before_any_load()

    def _check_before_any_load(self) -> None:
        """The checks the sampler, the planned run and the sandbox would make once a model
        is loaded and the probe started, made here, before anything is written to --out."""
        from rankinv.sandbox.executor import MAX_WORKERS
        from rankinv.validate.engines.base import Sampling

        Sampling(self.temperature, self.top_p, self.max_new_tokens)  # top_p, max_new_tokens
        n_prompts = 1 if self.n_prompts is None else self.n_prompts
        Plan(self.group_size, self.rl_steps, self.batch_prompts, n_prompts)
        w = self.workers
        if w is not None and (type(w) is not int or not 1 <= w <= MAX_WORKERS):
            raise UserError(f"workers must be an integer in [1, {MAX_WORKERS}], got {w!r}")
        if not self.timeout_s > 0:
            raise UserError(f"timeout_s must be > 0, got {self.timeout_s!r}")

    def plan(self, n_problems: int) -> Plan:
        """The planned GRPO run (n_prompts: the problems probed unless set)."""
        return Plan(
            group_size=self.group_size,
            rl_steps=self.rl_steps,
            batch_prompts=self.batch_prompts,
            n_prompts=self.n_prompts or n_problems,
        )

    def sampling_tag(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }
