"""What a user needs before GRPO on their own prompts: from a probe's per-prompt counts
(n samples, c passed), the p-hat histogram, the expected share of prompts that stay
stranded (every group they get is degenerate: no gradient signal from them) under the
planned steps x prompts-per-step x g, and per prompt the group size that lifts it above p*.

All at the checkpoint's own p (RL changing p along the way is not modelled): a stranded
prompt gives no signal to learn from, so only transfer from other prompts can rescue it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.records import Plan
from rankinv.verdicts.words.probe import PRE_RL_NOTE, prompt_note

#: p-hat histogram bins: exactly 0, (0, 1/g-ish ranges], ..., exactly 1.
BIN_EDGES = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def p_hat_histogram(n, c) -> list[dict]:
    """Counts of prompts by p-hat = c / n: "0" (never solved), the open bins, "1"."""
    n, c = np.asarray(n, float), np.asarray(c, float)
    p = c / n
    rows = [{"bin": "0", "count": int(np.sum(p == 0))}]
    for lo, hi in zip(BIN_EDGES[:-1], BIN_EDGES[1:], strict=True):
        inside = (p > lo) & (p <= hi) & (p < 1) if hi == 1.0 else (p > lo) & (p <= hi)
        rows.append(
            {"bin": f"({lo:g}, {hi:g}{')' if hi == 1.0 else ']'}", "count": int(inside.sum())}
        )
    rows.append({"bin": "1", "count": int(np.sum(p == 1))})
    return rows


def stranded_probability(p, g: int, draws: float):
    """P(every one of a prompt's groups is degenerate) in ``draws`` draws (possibly
    fractional): 1 - theory.escape_probability, the one formula."""
    return 1.0 - np.asarray(theory.escape_probability(p, g, draws), dtype=float)


def expected_stranded_share(n, c, g: int, draws: float, n_draws: int = 4000, seed: int = 0):
    """Mean over prompts of E[f_g(p)^draws] under each prompt's Jeffreys posterior
    Beta(c + 1/2, n - c + 1/2) (Monte Carlo, seeded), and the plug-in at p-hat."""
    n, c = np.asarray(n, float), np.asarray(c, float)
    rng = np.random.default_rng(seed)
    post = rng.beta(c[:, None] + 0.5, n[:, None] - c[:, None] + 0.5, size=(len(n), n_draws))
    per_prompt = stranded_probability(post, g, draws).mean(axis=1)
    plugin = stranded_probability(c / n, g, draws)
    return float(per_prompt.mean()), float(np.mean(plugin)), per_prompt


def group_size_needed(p_hat: float, max_g: int = 4096) -> int | None:
    """Smallest g >= 2 with p*(g) <= min(p, 1 - p); None at p-hat 0 or 1 (no g helps what
    the probe never saw solved / never saw fail)."""
    if p_hat <= 0 or p_hat >= 1:
        return None
    try:
        return int(theory.min_group_size(p_hat, max_g=max_g))
    except ValueError:
        return None


@dataclass(frozen=True)
class PromptOutlook:
    """One prompt before RL: its counts, p-hat, whether below p*, the chance it stays
    stranded under the planned run, and the smallest g that lifts it above p* (None at
    p-hat 0 or 1)."""

    task_id: str
    n: int
    c: int
    p_hat: float
    below_p_star: bool
    stranded_probability: float
    group_size_needed: int | None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "note": prompt_note(self.n, self.c)
        }


@dataclass(frozen=True)
class PreRLReport:
    """The pre-RL report of one probe under the planned run (see the module docstring):
    the plan (g, steps, prompts per step, the prompt set, draws per prompt), the expected
    stranded share (Jeffreys posterior; ``_plugin``: at p-hat), the shares below p* and
    never solved, the g that lifts every prompt seen solved above p*, the p-hat histogram
    and each prompt's outlook."""

    group_size: int
    p_star: float
    steps: int
    prompts_per_step: int
    n_prompts: int
    draws_per_prompt: float
    expected_stranded_share: float
    expected_stranded_share_plugin: float
    frac_below_p_star: float
    frac_never_solved: float
    group_size_to_lift_all_below: int | None
    histogram: list[dict]
    prompts: list[PromptOutlook]

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["prompts"] = [p.to_json() for p in self.prompts]
        return out | {"note": PRE_RL_NOTE}


def prerl_report(task_ids, n, c, plan: Plan, seed: int = 0) -> PreRLReport:
    """The pre-RL report for one probe under the planned run (see the module docstring)."""
    n, c = np.asarray(n, int), np.asarray(c, int)
    if len(task_ids) != len(n) or len(n) != len(c) or len(n) == 0:
        raise UserError("task_ids, n and c must be non-empty and of one length")
    g, d = plan.group_size, plan.visits
    share, share_plugin, per_prompt = expected_stranded_share(n, c, g, d, seed=seed)
    ps = theory.p_star(g)
    p_hat = c / n
    prompts = [
        PromptOutlook(
            tid, int(ni), int(ci), ci / ni, bool(ci / ni < ps), float(s), group_size_needed(ci / ni)
        )
        for tid, ni, ci, s in zip(task_ids, n, c, per_prompt, strict=True)
    ]
    lifts = [
        p.group_size_needed for p in prompts if p.below_p_star and p.group_size_needed is not None
    ]
    return PreRLReport(
        group_size=g,
        p_star=ps,
        steps=plan.rl_steps,
        prompts_per_step=plan.batch_prompts,
        n_prompts=plan.n_prompts,
        draws_per_prompt=d,
        expected_stranded_share=share,
        expected_stranded_share_plugin=share_plugin,
        frac_below_p_star=float(np.mean(p_hat < ps)),
        frac_never_solved=float(np.mean(c == 0)),
        group_size_to_lift_all_below=max(lifts) if lifts else None,
        histogram=p_hat_histogram(n, c),
        prompts=prompts,
    )
