"""The checkpoint probe (`rankinv validate`): sample each problem N times at T = 1, run
every sample in the sandbox, measure per-problem p and entropy, and give the stage-1 risk.

Every sample is appended to ``samples.jsonl`` as soon as it is executed, tagged with the
model path and revision, the benchmark hash, the sampling config and the package version;
a rerun with the same tags resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rankinv import __version__, theory
from rankinv._io import write_json
from rankinv.theory import paper
from rankinv.validate import rules

TAU_H = paper.TAU_H


@dataclass(frozen=True)
class ProbeConfig:
    benchmark: str = "humaneval"
    samples: int = 128
    group_size: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 384
    limit: int | None = None  # first K problems only
    seed: int = 0
    tau_h: float = TAU_H
    # the planned GRPO run the checkpoint is screened for (the stage-1 signal's budget)
    rl_steps: int = 400
    batch_prompts: int = 32
    n_prompts: int | None = None  # None: the number of problems probed
    signal: str | None = None  # stage-1 predictor; None: the calibrated default
    timeout_s: float = 3.0
    workers: int = 2

    def __post_init__(self):
        if (
            isinstance(self.group_size, bool)
            or not isinstance(self.group_size, int)
            or self.group_size < 2
        ):
            raise ValueError(f"group size must be an integer >= 2, got {self.group_size!r}")
        if not isinstance(self.samples, int) or self.samples < self.group_size:
            raise ValueError(
                f"samples must be an integer >= group size ({self.group_size}), "
                f"got {self.samples!r}"
            )
        if self.signal is not None and self.signal not in rules.STAGE1_SIGNALS:
            raise ValueError(
                f"signal must be one of {sorted(rules.STAGE1_SIGNALS)}, got {self.signal!r}"
            )
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit!r}")

    def sampling_tag(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }


def _key(tag: dict) -> str:
    return hashlib.sha256(json.dumps(tag, sort_keys=True).encode()).hexdigest()[:16]


def _load_done(path: Path, key: str) -> dict[str, list[dict]]:
    done: dict[str, list[dict]] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption: that sample is redone
        if rec.get("run_key") == key:
            done.setdefault(rec["task_id"], []).append(rec)
    return done


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
    plan = rules.Plan(
        group_size=g,
        rl_steps=cfg.rl_steps,
        batch_prompts=cfg.batch_prompts,
        n_prompts=cfg.n_prompts or len(problems),
    )
    signals = rules.stage1_signals(
        n, c, plan, k=10, entropy_rollout=h_roll, entropy_prompt=h_prompt
    )
    verdict = stage1_verdict(signals, cfg.signal)
    reasons = verdict["reasons"] + [
        f"pass@1 {pass1:.3f}; p*({g}) = {ps:.3f}; {below:.0%} of problems below p* (all-fail "
        f"zone), {above:.0%} above 1 - p* (all-pass); {informative:.0%} of groups of {g} would "
        "carry signal (unbiased estimate)",
    ]
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
        "plan": {
            "group_size": g,
            "rl_steps": plan.rl_steps,
            "batch_prompts": plan.batch_prompts,
            "n_prompts": plan.n_prompts,
            "visits_per_prompt": plan.visits,
        },
        "n_problems": len(problems),
        "samples_per_problem": int(n.min()),
        "group_size": g,
    }


def stage1_verdict(signals: dict, signal: str | None = None) -> dict:
    """Risk from one stage-1 signal against the threshold that best separated poor from good
    starting checkpoints on simulated settings. Default: the calibrated risk signal, chosen
    among the signals measured against p*(g) (a pass-rate or entropy level does not transfer
    between tasks; the ranking of several checkpoints, `rankinv rank`, uses the best-ordering
    signal instead).

    risk "high": the signal predicts a poor start (in simulated ladders, checkpoints past this
    threshold ended RL below a better rung of their ladder); "low" otherwise; "unknown" when
    the signal cannot be computed from this probe."""
    name = signal or rules.DEFAULT_STAGE1_RISK_SIGNAL
    meta = rules.STAGE1_SIGNALS[name]
    value = signals.get(name)
    cal = rules.STAGE1_CALIBRATION.get(name, {})
    note = rules.stage1_accuracy_note(name)
    if value is None:
        return {
            "risk": "unknown",
            "signal": name,
            "value": None,
            "accuracy": note,
            "reasons": [f"stage-1 signal {name} cannot be computed from this probe"],
        }
    thr = cal.get("poor_start_threshold")
    sign = cal.get("sign", meta.expected_sign)
    if thr is None:
        risk = "unknown"
        why = f"{name} = {value:.3f} ({meta.description}); no calibrated threshold"
    else:
        poor = sign * value < sign * thr
        risk = "high" if poor else "low"
        side = ("below" if sign > 0 else "above") if poor else ("above" if sign > 0 else "below")
        why = (
            f"{name} = {value:.3f} is {side} {thr:.3f}, the threshold past which simulated "
            f"checkpoints were poor starts: a better rung of the same ladder ended higher "
            f"after RL ({meta.description})"
        )
    return {
        "risk": risk,
        "signal": name,
        "value": value,
        "accuracy": note,
        "reasons": [f"stage-1 signal {why}; {note}"],
    }


def run_probe(
    model: str,
    cfg: ProbeConfig,
    out: str | Path,
    sampler=None,
    progress: bool = True,
    entropy_mode: str = "both",
) -> dict:
    """Probe a checkpoint; returns the summary (also written to validate_summary.json)."""
    from rankinv.sandbox import tasks as task_sets
    from rankinv.sandbox.executor import Sandbox

    if entropy_mode not in ("prompt", "rollout", "both"):
        raise ValueError(f"entropy must be prompt, rollout or both, got {entropy_mode!r}")
    tasks = task_sets.load(cfg.benchmark)
    if cfg.limit:
        tasks = tasks[: cfg.limit]
    if sampler is None:
        from rankinv.validate.sampler import HFSampler

        sampler = HFSampler(model)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = {
        "model": str(model),
        "revision": getattr(sampler, "revision", None),
        "benchmark": cfg.benchmark,
        "benchmark_hash": task_sets.benchmark_hash(tasks),
        "sampling": cfg.sampling_tag(),
        "version": __version__,
    }
    key = _key(tag)
    samples_path = out_dir / "samples.jsonl"
    done = _load_done(samples_path, key)
    prompt_h: dict[str, float] = {}
    ph_path = out_dir / "prompt_entropy.json"
    if entropy_mode in ("prompt", "both"):
        cached = json.loads(ph_path.read_text()) if ph_path.exists() else {}
        if cached.get("run_key") == key:
            prompt_h = cached["values"]
        else:
            vals = sampler.prompt_entropy([t.prompt for t in tasks])
            prompt_h = {t.task_id: v for t, v in zip(tasks, vals, strict=True)}
            write_json(ph_path, {"run_key": key, "values": prompt_h})
    t0 = time.perf_counter()
    iterator = tasks
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(tasks, desc="probing", unit="problem")
        iterator = bar
    n_new = 0
    with Sandbox(cfg.workers) as sandbox, samples_path.open("a") as fh:
        for task in iterator:
            have = len(done.get(task.task_id, []))
            need = cfg.samples - have
            if need <= 0:
                continue
            gens = sampler.generate(
                [task.prompt],
                n=need,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                max_new_tokens=cfg.max_new_tokens,
                seed=cfg.seed * 1_000_003 + hash_task(task.task_id) + have,
            )[0]
            outcomes = sandbox.check_many([(task, g.text) for g in gens], cfg.timeout_s)
            for i, (g, o) in enumerate(zip(gens, outcomes, strict=True)):
                rec = {
                    "run_key": key,
                    **tag,
                    "task_id": task.task_id,
                    "sample": have + i,
                    "completion": g.text,
                    "n_tokens": g.n_tokens,
                    "mean_entropy": g.mean_entropy,
                    "passed": o.passed,
                    "status": o.status,
                    "exec_seconds": o.seconds,
                }
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                done.setdefault(task.task_id, []).append(rec)
            n_new += len(gens)
    problems = [problem_summary(t.task_id, done[t.task_id], prompt_h.get(t.task_id)) for t in tasks]
    vocab = len(getattr(sampler, "tokenizer", [])) or 32000
    summary = overall_summary(problems, cfg, vocab)
    summary.update(
        {
            "model": str(model),
            "tag": tag,
            "config": asdict(cfg),
            "new_samples": n_new,
            "elapsed_s": time.perf_counter() - t0,
            "entropy_mode": entropy_mode,
        }
    )
    (out_dir / "problems.jsonl").write_text("\n".join(json.dumps(p) for p in problems) + "\n")
    write_json(out_dir / "validate_summary.json", summary)
    return summary


def hash_task(task_id: str) -> int:
    return int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16)
