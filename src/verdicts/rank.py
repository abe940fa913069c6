"""Rank checkpoints by their predicted post-RL outcome beside their pre-RL pass@1 order.

Reads the outputs of several ``rankinv validate`` runs (:class:`ProbeResult`), refuses
probes that were not sampled alike, takes the stage-1 signal chosen by calibration (or the
one named) for each under one planned RL budget, and orders the checkpoints by it. When the
checkpoint with the best pre-RL pass@1 is not the one predicted to end best, that is a
predicted rank inversion.
"""

from __future__ import annotations

from pathlib import Path

from rankinv.errors import UserError
from rankinv.verdicts import rules
from rankinv.verdicts.probe_result import ProbeResult, sampling_differences


def rank(
    dirs: list[str | Path],
    signal: str | None = None,
    plan: rules.Plan | None = None,
) -> dict:
    """Rank checkpoints by the predicted post-RL outcome.

    JSON fields: ranking (list of {checkpoint, predicted, pre_pass_at_1}, best predicted
    first), recommended, predicted_inversion, signal, signal_sign, accuracy, plan.
    """
    if len(dirs) < 2:
        raise UserError(f"ranking needs at least 2 probe directories, got {len(dirs)}")
    name = signal or rules.DEFAULT_STAGE1_SIGNAL
    if name not in rules.STAGE1_SIGNALS:
        raise UserError(f"signal must be one of {sorted(rules.STAGE1_SIGNALS)}, got {name!r}")
    resolved = [str(Path(d).resolve()) for d in dirs]
    dup = sorted({d for d in resolved if resolved.count(d) > 1})
    if dup:
        raise UserError(f"the same probe directory is given twice: {dup[0]}")
    probes = [ProbeResult.load(d) for d in dirs]
    diffs = sampling_differences(probes)
    if diffs:
        raise UserError(
            f"the probes were not sampled alike, so their pass rates do not compare: {diffs[0]}"
            "; probe every checkpoint with the same options"
        )
    if plan is None:
        st = probes[0].setup
        default = rules.Plan()
        plan = rules.Plan(
            group_size=int(st.group_size or default.group_size),
            rl_steps=int(st.rl_steps or default.rl_steps),
            batch_prompts=int(st.batch_prompts or default.batch_prompts),
            n_prompts=int(st.n_prompts or len(probes[0].problems)),
        )
    sign = rules.signal_sign(name)
    rows = []
    for p in probes:
        s = p.summary
        # the signals the probe saved, when it planned the same RL run as this ranking
        st = p.setup
        same_plan = (st.rl_steps, st.batch_prompts, st.n_prompts, st.group_size) == (
            plan.rl_steps,
            plan.batch_prompts,
            plan.n_prompts,
            plan.group_size,
        )
        sig = p.signals if same_plan and p.signals.get(name) is not None else None
        if sig is None:
            sig = rules.stage1_signals(
                p.n,
                p.c,
                plan,
                entropy_rollout=s.get("entropy_rollout"),
                entropy_prompt=s.get("entropy_prompt"),
            )
        if sig[name] is None:
            hint = {
                "pass_at_k": "pass@10 needs at least 10 samples per problem: rerun "
                "`rankinv validate` with --samples >= 10",
                "entropy_prompt": "the probe measured no prompt entropy (--entropy both)",
                "entropy_rollout": "the probe measured no rollout entropy (--entropy both)",
                "informative_fraction": "it needs at least g samples per problem",
            }.get(name, "not measured")
            raise UserError(
                f"signal {name} cannot be computed for {p.dir}: {hint}; or rank by another "
                "signal (--signal share_below_p_star needs no more samples)"
            )
        rows.append(
            {
                "checkpoint": p.name,
                "probe_dir": str(p.dir),
                "predicted": sign * float(sig[name]),
                "signal_value": float(sig[name]),
                "pre_pass_at_1": float(sig["pass_at_1"]),
            }
        )
    rows.sort(key=lambda r: -r["predicted"])
    best_pre = max(rows, key=lambda r: r["pre_pass_at_1"])
    recommended = rows[0]
    # values within 0.5% of the signal's spread (or 1e-3) are a tie: no clear first
    spread = max(r["predicted"] for r in rows) - min(r["predicted"] for r in rows)
    tol = max(1e-3, 0.005 * spread)
    tie = [r for r in rows if recommended["predicted"] - r["predicted"] <= tol]
    inversion = best_pre not in tie
    return {
        "ranking": rows,
        "recommended": recommended["checkpoint"],
        "best_pre_pass_at_1": best_pre["checkpoint"],
        "predicted_inversion": bool(inversion),
        "tied_first": [r["checkpoint"] for r in tie] if len(tie) > 1 else [],
        "signal": name,
        "signal_sign": sign,
        "accuracy": rules.stage1_accuracy_note(name),
        "plan": {
            "group_size": plan.group_size,
            "rl_steps": plan.rl_steps,
            "batch_prompts": plan.batch_prompts,
            "n_prompts": plan.n_prompts,
        },
    }
