"""Several runs of one sweep judged against each other: successive halving at the runs'
common step, for the practitioner who stops the losers of a sweep rather than judging one
run alone (``rankinv monitor LOG LOG ...``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from rankinv.errors import UserError
from rankinv.verdicts import logs
from rankinv.verdicts.monitor import MonitorConfig, analyse
from rankinv.verdicts.stage2 import STAGE2_RULES


def doom_words(rule: str) -> str:
    """What the doom score of ``rule`` is, in words (higher = less worth continuing)."""
    desc = STAGE2_RULES[rule].description if rule in STAGE2_RULES else rule
    return (
        f"the doom score is rule {rule}'s score at the sweep's common step: {desc}; higher "
        "means less worth continuing, and the runs are ranked by it"
    )


#: A sweep is compared from this common step on (the paper's reference step): before it,
#: every rule's window is too short for a ranking to mean anything.
MIN_SWEEP_STEP = 10


def judge_sweep(paths, cfg: MonitorConfig | None = None, keep: float = 0.5) -> dict:
    """Several runs of one sweep judged against each other at their common step (the
    earliest last step): runs with no signal stop; of the rest, ranked by the rule's doom
    score over [ref, common step], the worst ``1 - keep`` stop (successive halving)."""
    cfg = cfg or MonitorConfig()
    if len(paths) < 2:
        raise UserError("a sweep needs at least two logs")
    resolved = [str(Path(p).resolve()) for p in paths]
    dup = sorted({p for p in resolved if resolved.count(p) > 1})
    if dup:
        raise UserError(f"the same log is given twice: {dup[0]}")
    read = [(str(p), logs.read_log(p, cfg.step_key)) for p in paths]
    common = min(int(max(r["step"] for r in lg.records)) for _, lg in read)
    ref = cfg.ref_step if cfg.ref_step is not None else 1
    if common < max(ref + 1, MIN_SWEEP_STEP):
        raise UserError(
            f"the logs' common step {common} is too early to compare the sweep (it needs "
            f"step {max(ref + 1, MIN_SWEEP_STEP)} in every log)"
        )
    # each run keeps its own planned total (--planned-steps, else its log's max_steps)
    at = MonitorConfig(**{**asdict(cfg), "ref_step": ref, "check_step": common})
    runs = []
    for name, lg in read:
        cut = logs.RunLog(
            lg.source,
            lg.format,
            [r for r in lg.records if r["step"] <= common],
            lg.max_steps,
            lg.issues,
            lg.logging_steps,
        )
        rep = analyse(cut, at)
        runs.append({"log": name, "report": rep, "score": rep.doom_score})
    live = [r for r in runs if r["report"].no_signal is None]
    scored = sorted((r for r in live if r["score"] is not None), key=lambda r: r["score"])
    n_keep = max(1, int(np.ceil(keep * len(scored)))) if scored else 0
    while 0 < n_keep < len(scored) and scored[n_keep]["score"] == scored[n_keep - 1]["score"]:
        n_keep += 1  # a tie at the boundary is kept: the order the logs were given decides nothing
    for i, r in enumerate(scored):
        r["rank"] = i + 1
        r["verdict"] = "continue" if i < n_keep else "stop"
        side = "better" if i < n_keep else "worse"
        r["why"] = (
            f"doom score {r['score']:+.3f}, rank {i + 1} of {len(scored)} (1 = least doomed): "
            f"in the {side} {keep:.0%} of the sweep"
            if i < n_keep
            else f"doom score {r['score']:+.3f}, rank {i + 1} of {len(scored)} (1 = least "
            f"doomed): outside the best {keep:.0%} of the sweep"
        )
    for r in runs:
        own = r["report"].verdict
        if r["report"].no_signal is not None:
            r["rank"], r["verdict"] = None, "stop"
            r["why"] = "no signal, a fact of its log"
        elif r["score"] is None:
            r["rank"], r["verdict"] = None, "continue"
            r["why"] = "its rule cannot be computed on its log: not ranked"
        if r["verdict"] != own:
            r["why"] += f"; judged alone its own verdict would be {own}: the sweep " + (
                "stops it relative to the others" if r["verdict"] == "stop" else "keeps it"
            )
        plan, done = r["report"].planned_steps, r["report"].steps_done
        r["compute_saved"] = (plan - done) / plan if r["verdict"] == "stop" else 0.0
    rule = next((r["report"].rule_used for r in runs if r["report"].rule_used), cfg.rule)
    return {
        "step": common,
        "rule": rule,
        "doom_score": doom_words(rule),
        "keep": keep,
        "runs": [
            {
                "log": r["log"],
                "verdict": r["verdict"],
                "rank": r["rank"],
                "score": r["score"],
                "state": r["report"].state,
                "compute_saved": r["compute_saved"],
                "own_verdict": r["report"].verdict,
                "why": r["why"],
                "reason": reasons[0],
                "reasons": reasons,
            }
            for r in runs
            for reasons in [r["report"].reasons]
        ],
        "compute_saved": float(np.mean([r["compute_saved"] for r in runs])),
    }
