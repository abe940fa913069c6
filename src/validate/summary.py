"""The probe's summaries: one problem's record from its samples, and the overall stage-1
summary with its verdict (the calibrated signal against its threshold, the paper's screen
beside it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rankinv import theory
from rankinv.verdicts.signals import stage1_signals, stage1_verdict  # the one computation

if TYPE_CHECKING:
    from rankinv.validate.probe import ProbeConfig


def problem_summary(task_id: str, recs: list[dict], prompt_entropy: float | None) -> dict:
    n = len(recs)
    c = sum(r["passed"] for r in recs)
    ks = [k for k in (1, 10, 64) if k <= n]
    texts = [r["completion"] for r in recs]
    correct = {r["completion"].strip() for r in recs if r["passed"]}
    return {
        "task_id": task_id,
        "n": n,
        "c": c,
        "p_hat": c / n,
        "pass_at_k": {str(k): theory.pass_at_k(n, c, k) for k in ks},
        "mean_token_entropy": float(np.mean([r["mean_entropy"] for r in recs])),
        "mean_tokens": float(np.mean([r["n_tokens"] for r in recs])),
        "distinct_fraction": len({t.strip() for t in texts}) / n,
        "distinct_correct": len(correct),
        "prompt_entropy": prompt_entropy,
        "statuses": {
            s: sum(r["status"] == s for r in recs) for s in sorted({r["status"] for r in recs})
        },
    }


def overall_summary(problems: list[dict], cfg: ProbeConfig, vocab_size: int) -> dict:
    g = cfg.group_size
    n = np.array([p["n"] for p in problems])
    c = np.array([p["c"] for p in problems])
    p_hat = c / n
    ps = theory.p_star(g)
    informative = float(np.mean(theory.informative_fraction_unbiased(n, c, g)))
    pass1 = float(np.mean(p_hat))
    h_roll = float(np.mean([p["mean_token_entropy"] for p in problems]))
    h_prompt_vals = [p["prompt_entropy"] for p in problems if p["prompt_entropy"] is not None]
    h_prompt = float(np.mean(h_prompt_vals)) if h_prompt_vals else None
    pass64 = (
        float(np.mean([theory.pass_at_k(a, b, 64) for a, b in zip(n, c, strict=True)]))
        if n.min() >= 64
        else None
    )
    n_correct = int(c.sum())
    diversity = (sum(p["distinct_correct"] for p in problems) / n_correct) if n_correct else None
    mean_len = max(1, int(round(np.mean([p["mean_tokens"] for p in problems]))))
    low, high = theory.entropy_threshold_per_token(g, max(2, vocab_size), mean_len)
    below = float(np.mean(p_hat < ps))
    adv_var = float(np.mean(theory.advantage_variance(p_hat, g)))
    above = float(np.mean(p_hat > 1 - ps))
    plan = cfg.plan(len(problems))
    signals = stage1_signals(n, c, plan, k=10, entropy_rollout=h_roll, entropy_prompt=h_prompt)
    verdict = stage1_verdict(signals, cfg.signal)
    small = []
    if len(problems) < 30 or int(n.min()) < 16:
        small = [
            f"small probe: {len(problems)} problems x {int(n.min())} samples; the p-hats behind "
            "this verdict are coarse (the calibration used 64 samples per prompt)"
        ]
    # what the counts show mechanically comes first: no group of g with mixed rewards
    mechanical = []
    if informative == 0.0:
        mechanical = [
            f"no signal: every problem was all-fail or all-pass in {int(n.min())} samples, so no "
            f"group of {g} would carry a reward difference (zero advantage, zero gradient)"
        ]
    reasons = (
        mechanical
        + verdict["reasons"]
        + small
        + [
            f"pass@1 {pass1:.3f}; p*({g}) = {ps:.3f}; {below:.0%} of problems below p* (all-fail "
            f"zone), {above:.0%} above 1 - p* (all-pass); {informative:.0%} of groups of {g} would "
            "carry signal (unbiased estimate)",
        ]
    )
    screen_h = h_prompt if h_prompt is not None else h_roll
    kind = "prompt" if h_prompt is not None else "rollout"
    reasons.append(
        f"the paper's screen (baseline, not the verdict): {kind}"
        f" entropy {screen_h:.3f} nats is {'below' if screen_h < cfg.tau_h else 'above'} "
        f"tau_H = {cfg.tau_h} ({'flag' if screen_h < cfg.tau_h else 'no flag'}; calibrated "
        "on one model family)"
    )
    risk = verdict["risk"]
    return {
        "pass_at_1": pass1,
        "pass_at_64": pass64,
        "entropy_rollout": h_roll,
        "entropy_prompt": h_prompt,
        "entropy_screened": "prompt" if h_prompt is not None else "rollout",
        "informative_fraction": informative,
        "advantage_variance": adv_var,
        "frac_below_p_star": below,
        "frac_above_upper_p_star": above,
        "p_star": ps,
        "headroom": pass1 / ps,
        "diversity_ratio": diversity,
        "tau_h": cfg.tau_h,
        "entropy_low_per_token": low,
        "entropy_high_per_token": high,
        "entropy_thresholds_note": f"per-token bounds for answers of {mean_len} tokens from a "
        f"vocabulary of {vocab_size}",
        "risk": risk,
        "reasons": reasons,
        "signal": verdict["signal"],
        "signal_value": verdict["value"],
        "signal_accuracy": verdict["accuracy"],
        "signals": signals,
        "plan": {**plan.to_json(), "visits_per_prompt": plan.visits},
        "n_problems": len(problems),
        "samples_per_problem": int(n.min()),
        "group_size": g,
    }
