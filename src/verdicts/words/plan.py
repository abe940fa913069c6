"""The planned GRPO run a stage-1 signal assumed, in one line (:func:`plan_line`), for
`rank` and `validate`: the escape signals count each prompt's draws over the planned steps
x prompts per step (``Plan.visits``), and the p* signals use its g, so a printout that
shows or decides by one of them says which of those values were given and which assumed.

Where they came from (:func:`plan_sources`): a probe's steps and prompts per step were
given when it wrote its pre-RL report (validate takes --rl-steps and --rl-prompts-per-step
together, and only then writes it); its prompts when ``--n-prompts`` was set (else the
problems probed); its g is validate's -g, the paper's 8 by default. A probe made since 38c
records which options were typed (its plan's ``given``): those were given, even where equal
to the default. An older probe cannot tell a given default from one left out: there a value
other than the default was given, a default value reads as assumed."""

from __future__ import annotations

from rankinv.theory import paper

#: Signals that read the planned budget (steps x prompts per step over the prompts).
BUDGET_SIGNALS = ("escape", "reachable_pass_at_k")
#: Where a plan's values come from: g, the budget (steps x prompts per step), the prompts.
PLAN_FIELDS = ("group_size", "budget", "n_prompts")
#: Signals that read g alone (p*(g), groups of g).
G_SIGNALS = ("informative_fraction", "share_below_p_star", "share_above_1m_p_star")


def plan_sources(summary: dict, group_size_given: bool = False) -> dict[str, bool]:
    """Which of a probe's planned values were given (True) or assumed (False);
    ``group_size_given``: g set by the reader (rank's --group-size)."""
    from rankinv.records import DEFAULT_BATCH_PROMPTS

    config, plan = summary.get("config") or {}, summary.get("plan") or {}
    typed = plan.get("given")
    if isinstance(typed, list):  # the probe recorded what was typed (38c)
        return {
            "group_size": group_size_given or "group_size" in typed,
            "budget": "rl_steps" in typed or "batch_prompts" in typed,
            "n_prompts": "n_prompts" in typed,
        }
    g = plan.get("group_size", summary.get("group_size"))
    budget = (plan.get("rl_steps"), plan.get("batch_prompts"))
    n_prompts = plan.get("n_prompts")
    return {
        "group_size": group_size_given or (g is not None and g != paper.GROUP_SIZE),
        "budget": bool(summary.get("pre_rl")) or budget != (paper.RL_STEPS, DEFAULT_BATCH_PROMPTS),
        "n_prompts": config.get("n_prompts") is not None
        or (n_prompts is not None and n_prompts != summary.get("n_problems", n_prompts)),
    }


def plan_line(plan: dict, given: dict[str, bool], budget: bool = True) -> str:
    """One line: the planned run and which values were given or assumed; ``budget`` False
    (a signal that reads g alone) names g only."""
    g = plan["group_size"]
    g_words = "given" if given.get("group_size") else "assumed: the paper's; --group-size sets it"
    if not budget:
        return f"planned run: g = {g} ({g_words}), the g of p*(g) and of the groups"
    said, assumed = [], []
    (said if given.get("group_size") else assumed).append(f"g = {g}")
    steps = f"{plan['rl_steps']} RL steps x {plan['batch_prompts']} prompts per step"
    (said if given.get("budget") else assumed).append(steps)
    prompts = f"{plan['n_prompts']} prompts"
    if given.get("n_prompts"):
        said.append(prompts)
    parts = []
    if said:
        parts.append("given: " + ", ".join(said))
    if assumed:
        parts.append(
            "assumed: the paper's "
            + ", ".join(assumed)
            + "; validate's --group-size, --rl-steps, --rl-prompts-per-step set them"
        )
    if not given.get("n_prompts"):
        parts.append(f"{prompts}: the problems probed (--n-prompts sets it)")
    return f"planned run: g = {g}, {steps} over {prompts} ({'; '.join(parts)})"
