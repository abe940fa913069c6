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
from rankinv.verdicts.probe_verdict import ProbeVerdict
from rankinv.verdicts.signals import stage1_signals, stage1_verdict  # the one computation
from rankinv.verdicts.words import probe as words


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
    planned run over the problems probed): its numbers (:func:`summary_numbers`), the risk
    verdict (:func:`probe_verdict`) and its reasons in words (``verdicts.words.probe``)."""
    numbers = summary_numbers(problems, cfg, vocab_size, plan)
    pv = probe_verdict(numbers, cfg)
    return numbers | {
        "risk": pv.risk,
        "reasons": words.reasons(pv),
        "signal": pv.verdict.signal,
        "signal_value": pv.verdict.value,
        "signal_accuracy": pv.verdict.accuracy,
    }


def probe_verdict(numbers: dict, cfg: ProbeConfig) -> ProbeVerdict:
    """The risk verdict of a probe's numbers (:func:`summary_numbers`): the configured (else
    calibrated) stage-1 signal against its threshold, with what it rests on."""
    screen = "prompt" if numbers["entropy_prompt"] is not None else "rollout"
    return ProbeVerdict(
        verdict=stage1_verdict(numbers["signals"], cfg.signal),
        n_problems=numbers["n_problems"],
        samples_per_problem=numbers["samples_per_problem"],
        group_size=numbers["group_size"],
        pass_at_1=numbers["pass_at_1"],
        p_star=numbers["p_star"],
        frac_below_p_star=numbers["frac_below_p_star"],
        frac_above_upper_p_star=numbers["frac_above_upper_p_star"],
        informative_fraction=numbers["informative_fraction"],
        screen_kind=screen,
        screen_entropy=numbers[f"entropy_{screen}"],
        tau_h=numbers["tau_h"],
    )


def summary_numbers(
    problems: list[dict], cfg: ProbeConfig, vocab_size: int, plan: Plan | None = None
) -> dict:
    """A probe's stage-1 numbers under ``plan``: pass@1 (and pass@64 with 64 samples), the
    entropies, the informative fraction and advantage variance at g, the shares of problems
    beyond p* and 1 - p*, the per-token entropy bounds and every stage-1 signal."""
    plan = plan or cfg.plan(len(problems))
    g = cfg.group_size
    n = np.array([p["n"] for p in problems])
    c = np.array([p["c"] for p in problems])
    p_hat = c / n
    ps = theory.p_star(g)
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
    return {
        "pass_at_1": pass1,
        "pass_at_64": pass64,
        "entropy_rollout": h_roll,
        "entropy_prompt": h_prompt,
        "entropy_screened": "prompt" if h_prompt is not None else "rollout",
        "informative_fraction": float(np.mean(theory.informative_fraction_unbiased(n, c, g))),
        "advantage_variance": float(np.mean(theory.advantage_variance(p_hat, g))),
        "frac_below_p_star": float(np.mean(p_hat < ps)),
        "frac_above_upper_p_star": float(np.mean(p_hat > 1 - ps)),
        "p_star": ps,
        "headroom": pass1 / ps,
        "diversity_ratio": diversity,
        "tau_h": cfg.tau_h,
        "entropy_low_per_token": low,
        "entropy_high_per_token": high,
        "entropy_thresholds_note": f"per-token bounds for answers of {mean_len} tokens from a "
        f"vocabulary of {vocab_size}",
        "signals": stage1_signals(
            n, c, plan, k=10, entropy_rollout=h_roll, entropy_prompt=h_prompt
        ),
        "plan": {**plan.to_json(), "visits_per_prompt": plan.visits}
        | ({} if cfg.given is None else {"given": list(cfg.given)}),
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
        report = prerl_report([p["task_id"] for p in problems], n, c, plan).to_json()
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
        plan_given=cfg.given,
    )
