"""Stage 4 of the probe, summarise: one problem's record from its samples, the overall
stage-1 summary with its verdict (the calibrated signal against its threshold, the paper's
screen beside it), and :func:`summarise`, which turns a run's records and its planned GRPO
run into the :class:`ProbeResult` the probe folder holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rankinv import __version__, theory
from rankinv.records import Plan
from rankinv.validate.config import ProbeConfig
from rankinv.validate.prerl import prerl_report
from rankinv.verdicts.probe_result import ProbeResult, ProbeSetup
from rankinv.verdicts.signals import stage1_signals, stage1_verdict  # the one computation


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


def overall_summary(
    problems: list[dict], cfg: ProbeConfig, vocab_size: int, plan: Plan | None = None
) -> dict:
    """The stage-1 summary of a probe's problems under ``plan`` (default: the config's
    planned run over the problems probed)."""
    plan = plan or cfg.plan(len(problems))
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


@dataclass(frozen=True)
class ProbeRun:
    """What the runner knows of one probe beside its records: the model and the run's tag,
    the engine and how it sampled and scored, and what this run added."""

    model: str
    tag: dict  # model, revision, benchmark, benchmark_hash, sampling, version
    engine: str
    vocab_size: int
    end_tokens: tuple[int, ...]
    entropy_mode: str
    chat_template: bool
    stop: tuple[str, ...]
    new_samples: int = 0
    new_entropies_scored: int = 0
    elapsed_s: float = 0.0


def summarise(
    task_ids: list[str],
    records: dict[str, list[dict]],
    prompt_entropy: dict[str, float],
    plan: Plan,
    cfg: ProbeConfig,
    run: ProbeRun,
    pre_rl: bool = False,
) -> ProbeResult:
    """Stage 4: each problem's first ``cfg.samples`` records (and its prompt entropy, where
    scored) into the probe's result under the planned run; ``pre_rl`` adds the pre-RL report
    (:mod:`rankinv.validate.prerl`)."""
    problems = [
        problem_summary(t, records[t][: cfg.samples], prompt_entropy.get(t)) for t in task_ids
    ]
    summary = overall_summary(problems, cfg, run.vocab_size, plan)
    n_min = int(min(p["n"] for p in problems))
    summary.update(
        {
            "model": run.model,
            "tag": run.tag,
            "config": asdict(cfg),
            "new_samples": run.new_samples,
            "new_entropies_scored": run.new_entropies_scored,
            "elapsed_s": run.elapsed_s,
            "entropy_mode": run.entropy_mode,
            "engine": run.engine,
            "chat_template": run.chat_template,
            "stop": list(run.stop),
            "reward": cfg.reward,
        }
    )
    if summary["pass_at_64"] is None:
        summary["pass_at_64_note"] = (
            f"pass@64 needs at least 64 samples per problem, this probe has {n_min} "
            "(--samples 64 or more)"
        )
    report = None
    if pre_rl:
        n, c = [p["n"] for p in problems], [p["c"] for p in problems]
        report = prerl_report([p["task_id"] for p in problems], n, c, plan)
        summary["pre_rl"] = {k: v for k, v in report.items() if k != "prompts"}
    return ProbeResult(
        summary=summary,
        problems=problems,
        setup=_setup(run, cfg, plan, len(task_ids)),
        pre_rl=report,
    )


def _setup(run: ProbeRun, cfg: ProbeConfig, plan: Plan, n_problems: int) -> ProbeSetup:
    return ProbeSetup(
        model=run.model,
        revision=run.tag["revision"],
        benchmark=cfg.benchmark,
        benchmark_hash=run.tag["benchmark_hash"],
        n_problems=n_problems,
        samples=cfg.samples,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        max_new_tokens=cfg.max_new_tokens,
        seed=cfg.seed,
        stop=run.stop,
        chat_template=run.chat_template,
        engine=run.engine,
        end_tokens=tuple(sorted(int(t) for t in run.end_tokens)),
        group_size=plan.group_size,
        rl_steps=plan.rl_steps,
        batch_prompts=plan.batch_prompts,
        n_prompts=plan.n_prompts,
        version=__version__,
    )
