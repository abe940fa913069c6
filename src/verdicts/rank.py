"""Rank checkpoints by their predicted post-RL outcome beside their pre-RL pass@1 order.

Reads the outputs of several ``rankinv validate`` runs (validate_summary.json and
problems.jsonl in each directory), computes the stage-1 signal chosen by calibration (or the
one named) for each under one planned RL budget, and orders the checkpoints by it. When the
checkpoint with the best pre-RL pass@1 is not the one predicted to end best, that is a
predicted rank inversion.
"""

from __future__ import annotations

import json
from pathlib import Path

from rankinv._io import read_jsonl
from rankinv.errors import InputNotFound, UserError
from rankinv.verdicts import rules


def load_probe(path: str | Path) -> dict:
    """A validate output directory: its summary and per-problem counts."""
    d = Path(path)
    if not d.exists():
        raise InputNotFound(f"probe directory not found: {d}")
    if not d.is_dir():
        raise UserError(f"{d} is a file; pass the directory `rankinv validate --out` wrote")
    summary_path = d / "validate_summary.json"
    problems_path = d / "problems.jsonl"
    if not summary_path.exists() or not problems_path.exists():
        raise UserError(
            f"{d} is not a `rankinv validate` output (needs validate_summary.json and "
            "problems.jsonl)"
        )
    try:
        summary = json.loads(summary_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{summary_path} is not valid JSON ({exc.msg})") from None
    problems = read_jsonl(problems_path)
    if not problems:
        raise UserError(f"{problems_path} holds no problems")
    missing = {"n", "c"} - set(problems[0])
    if missing:
        raise UserError(f"{problems_path} lacks {sorted(missing)}")
    return {"dir": str(d), "summary": summary, "problems": problems}


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
    probes = [load_probe(d) for d in dirs]
    groups = {p["summary"].get("group_size") for p in probes}
    if len(groups) > 1:
        raise UserError(f"the probes used different group sizes {sorted(groups)}; rerun alike")
    if plan is None:
        sp = probes[0]["summary"].get("plan") or {}
        plan = rules.Plan(
            group_size=int(sp.get("group_size") or groups.pop() or 8),
            rl_steps=int(sp.get("rl_steps", 400)),
            batch_prompts=int(sp.get("batch_prompts", 32)),
            n_prompts=int(sp.get("n_prompts") or len(probes[0]["problems"])),
        )
    sign = rules.signal_sign(name)
    rows = []
    for p in probes:
        s = p["summary"]
        sig = rules.stage1_signals(
            [q["n"] for q in p["problems"]],
            [q["c"] for q in p["problems"]],
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
                f"signal {name} cannot be computed for {p['dir']}: {hint}; or rank by another "
                "signal (--signal share_below_p_star needs no more samples)"
            )
        rows.append(
            {
                "checkpoint": s.get("model") or p["dir"],
                "probe_dir": p["dir"],
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
