"""The contract at the bottom: the planned RL run, per-prompt counts, run and ladder records.

Every layer above theory that speaks of these imports them from here (simulate writes the
records, verdicts and evaluation read them, validate stores the plan in a probe's setup), so
each is defined once: :class:`Plan` holds the planned-run defaults (g and the run length
from the paper's constants in :mod:`rankinv.theory.paper`), :class:`Counts` the probe's raw
per-prompt samples and passes (every share a signal needs is computed from them by
``rankinv.verdicts.signals.stage1_signals``, never stored beside them), :class:`RunRecord`
and :class:`LadderRecord` one simulated (or real) SFT -> GRPO run and a ladder of them.
Each has ``to_json`` / ``from_json``; ``from_json`` names what is missing in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper

#: Prompts drawn per GRPO step when none is given.
DEFAULT_BATCH_PROMPTS = 32
#: Prompts in the planned RL set when none is given (HumanEval's 164 problems).
DEFAULT_N_PROMPTS = 164
#: pass@k's k when none is given (the paper's outcome is pass@10).
DEFAULT_K = 10
#: A column every step of a simulated run's log holds (value 1): ``rankinv simulate`` writes
#: it, so that a log reader tells rankinv's own simulation from a trainer's log.
SIMULATED_COLUMN = "rankinv/simulated"


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise UserError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


@dataclass(frozen=True)
class Plan:
    """The planned GRPO run a checkpoint is screened for: groups of ``group_size`` rollouts,
    ``rl_steps`` steps, each drawing ``batch_prompts`` of the ``n_prompts`` training prompts.

    visits: how often each prompt is drawn over the run, in expectation,
    rl_steps x min(batch_prompts, n_prompts) / n_prompts (possibly fractional).
    """

    group_size: int = paper.GROUP_SIZE
    rl_steps: int = paper.RL_STEPS
    batch_prompts: int = DEFAULT_BATCH_PROMPTS
    n_prompts: int = DEFAULT_N_PROMPTS

    def __post_init__(self):
        theory.p_star(self.group_size)  # validates g (an integer >= 2)
        for name in ("group_size", "rl_steps", "batch_prompts", "n_prompts"):
            object.__setattr__(self, name, _positive_int(name, getattr(self, name)))

    @property
    def visits(self) -> float:
        return self.rl_steps * min(self.batch_prompts, self.n_prompts) / self.n_prompts

    def to_json(self) -> dict:
        return {
            "group_size": self.group_size,
            "rl_steps": self.rl_steps,
            "batch_prompts": self.batch_prompts,
            "n_prompts": self.n_prompts,
        }

    @classmethod
    def from_json(cls, d: dict | None, n_prompts: int | None = None) -> Plan:
        """The plan a record stored; fields it lacks (or holds as null) take the defaults,
        ``n_prompts`` (when given) the prompts that were probed."""
        if d is not None and not isinstance(d, dict):
            raise UserError(f"a plan must be a JSON object, got {type(d).__name__}")
        d = d or {}
        known = {"group_size", "rl_steps", "batch_prompts", "n_prompts"}
        kw = {k: v for k, v in d.items() if k in known and v is not None}
        if "n_prompts" not in kw and n_prompts is not None:
            kw["n_prompts"] = n_prompts
        return cls(**kw)


@dataclass(frozen=True)
class Counts:
    """Samples n_i and passes c_i per prompt (0 <= c_i <= n_i, n_i >= 1)."""

    n: np.ndarray
    c: np.ndarray

    def __post_init__(self):
        n = np.asarray(self.n, dtype=np.int64)
        c = np.asarray(self.c, dtype=np.int64)
        if n.ndim == 0:  # one sample count for every prompt
            n = np.full(c.shape, int(n), dtype=np.int64)
        if n.shape != c.shape or n.ndim != 1 or n.size == 0:
            raise UserError(
                f"n and c must be equal-length non-empty vectors, got {n.shape}, {c.shape}"
            )
        if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
            raise UserError("need 1 <= n_i and 0 <= c_i <= n_i for every prompt")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "c", c)

    @property
    def p_hat(self) -> np.ndarray:
        return self.c / self.n

    def __len__(self) -> int:
        return int(self.n.size)

    def to_json(self) -> dict:
        n = self.n.tolist()
        return {"n": n[0] if len(set(n)) == 1 else n, "c": self.c.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> Counts:
        if not isinstance(d, dict) or "n" not in d or "c" not in d:
            raise UserError("counts must be a JSON object with n and c")
        return cls(np.asarray(d["n"]), np.asarray(d["c"]))


def _require(d: Any, keys: tuple[str, ...], what: str) -> None:
    if not isinstance(d, dict):
        raise UserError(f"{what} must be a JSON object, got {type(d).__name__}")
    missing = [k for k in keys if k not in d]
    if missing:
        raise UserError(f"{what} lacks {missing}")


@dataclass
class RunRecord:
    """One SFT rung followed by GRPO.

    stage1: what was measured before RL besides the counts (exact ``pass_at_1`` and
    ``pass_at_k`` where the simulator knows them, ``entropy_rollout``, ``entropy_prompt``,
    ``entropy_per_prompt``); trace: the per-step log ({step, entropy, min_entropy,
    frac_reward_zero_std, frac_all_fail, reward, heldout_pass_at_1, heldout_pass_at_k});
    outcome: {final_pass_at_1, final_pass_at_k, peak_..., start_pass_at_k, gain_pass_at_k,
    rank} (``rankinv.theory.outcomes.post_rl``).
    """

    depth: float
    counts: Counts | None
    stage1: dict
    trace: list[dict]
    outcome: dict
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "depth": self.depth,
            "counts": None if self.counts is None else self.counts.to_json(),
            "stage1": self.stage1,
            "trace": self.trace,
            "outcome": self.outcome,
            **self.extra,
        }

    @classmethod
    def from_json(cls, d: dict) -> RunRecord:
        _require(d, ("depth", "stage1", "outcome"), "a run record")
        if "final_pass_at_k" not in d["outcome"]:
            raise UserError("a run record's outcome lacks final_pass_at_k")
        known = {"depth", "counts", "stage1", "trace", "outcome"}
        return cls(
            depth=float(d["depth"]),
            counts=None if d.get("counts") is None else Counts.from_json(d["counts"]),
            stage1=dict(d["stage1"]),
            trace=list(d.get("trace") or []),
            outcome=dict(d["outcome"]),
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass
class LadderRecord:
    """Rungs of one base checkpoint (SFT depths, or recipes at one depth), each followed by
    GRPO under one :class:`Plan`; ``setting_id`` names the setting without its seed (the
    unit that held-out splits keep together)."""

    ladder_id: str
    setting_id: str
    seed: int
    plan: Plan
    k: int
    runs: list[RunRecord]
    setting: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """ "depth" (rungs at increasing SFT depth) or "recipe" (rungs at one depth that
        differ in the SFT recipe), from the setting's ``kind`` (absent: depth)."""
        return str(self.setting.get("kind", "depth"))

    def to_json(self) -> dict:
        return {
            "ladder_id": self.ladder_id,
            "setting": self.setting,
            "setting_id": self.setting_id,
            "seed": self.seed,
            "plan": self.plan.to_json(),
            "k": self.k,
            **self.extra,
            "runs": [r.to_json() for r in self.runs],
        }

    @classmethod
    def from_json(cls, d: dict) -> LadderRecord:
        _require(d, ("ladder_id", "setting_id", "plan", "runs"), "a ladder record")
        known = {"ladder_id", "setting", "setting_id", "seed", "plan", "k", "runs"}
        return cls(
            ladder_id=str(d["ladder_id"]),
            setting_id=str(d["setting_id"]),
            seed=int(d.get("seed", 0)),
            plan=Plan.from_json(d["plan"]),
            k=int(d.get("k", DEFAULT_K)),
            runs=[RunRecord.from_json(r) for r in d["runs"]],
            setting=dict(d.get("setting") or {}),
            extra={k: v for k, v in d.items() if k not in known},
        )
