"""Training stages of the miniature experiment: pretraining and GRPO (SFT ladders are in
:mod:`rankinv.experiment.ladders`).

``grpo_loss`` is the GRPO objective as a pure function of per-token log-probabilities, unit
tested on its own; ``grpo`` runs the loop (sampling, sandboxed rewards, update, held-out
evaluations, a JSONL log in the monitor's format).

torch, transformers and peft are imported inside the functions that use them: heavy
dependencies of the optional `validate` extra, kept out of `import rankinv`.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.experiment.config import MiniConfig
from rankinv.experiment.data import _forms, programs, task_of
from rankinv.experiment.model import (
    Encoder,
    build_model,
    build_tokenizer,
    device_of,
    load_checkpoint,
    resolve_device,
    smoothed_logprobs,
    token_logprobs,
)
from rankinv.sandbox import tasks as task_sets
from rankinv.theory import outcomes
from rankinv.validate.engines import Sampling, generate
from rankinv.validate.heldout import coverage_metrics
from rankinv.validate.scoring import prompt_entropy


def grpo_loss(logp, old_logp, advantages, mask, clip_low=0.2, clip_high=0.28, normaliser=None):
    """The clipped GRPO surrogate (Dr. GRPO normalisation), negated for minimisation.

        L = -(1/Z) sum_{i,t} m_it min(r_it A_i, clip(r_it, 1 - eps_lo, 1 + eps_hi) A_i),
        r_it = exp(logp_it - old_logp_it)

    logp, old_logp, mask: [N, T] (mask selects answer tokens); advantages: [N], one per
    rollout. Z is ``normaliser`` (a constant: rollouts x max new tokens, so that the gradient
    does not depend on answer lengths), or the number of masked tokens when None. clip_high
    > clip_low is DAPO's clip-higher. At r = 1 the gradient is -(1/Z) m_it A_i d logp_it.
    """
    import torch

    if logp.shape != old_logp.shape or logp.shape != mask.shape:
        raise UserError(
            f"logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)} and mask "
            f"{tuple(mask.shape)} must have one shape"
        )
    if advantages.shape != logp.shape[:1]:
        raise UserError(
            f"advantages must have shape [{logp.shape[0]}], got {tuple(advantages.shape)}"
        )
    if not (0 <= clip_low < 1 and clip_high >= 0):
        raise UserError(
            f"clip_low must be in [0, 1) and clip_high >= 0, got {clip_low}, {clip_high}"
        )
    m = mask.to(logp.dtype)
    z = m.sum() if normaliser is None else torch.as_tensor(float(normaliser))
    ratio = torch.exp(logp - old_logp)
    a = advantages[:, None]
    clipped = torch.clamp(ratio, 1 - clip_low, 1 + clip_high)
    return -(torch.minimum(ratio * a, clipped * a) * m).sum() / z


def supervised_step(model, opt, enc: Encoder, prompts, answers, label_smoothing=0.0) -> float:
    """One step of answer-token cross-entropy; with label smoothing eps the target puts eps
    evenly over the vocabulary: (1 - eps) NLL + eps mean_v(-log pi(v))."""
    ids, att, ans = enc.batch(prompts, answers, device_of(model))
    if label_smoothing:
        lp, uniform = smoothed_logprobs(model, ids, att)
        lp = (1 - label_smoothing) * lp + label_smoothing * uniform
    else:
        lp = token_logprobs(model, ids, att)
    loss = -(lp * ans).sum() / ans.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


#: Pretraining steps at which the loss is recorded (and every step's loss is a float of the
#: recipe: two pretrainings with one recipe on one torch build give the same trajectory).
LOSS_EVERY = 100


def pretrain(cfg: MiniConfig, out: Path, log, stop_after: int | None = None) -> Path:
    """Pretrain the base model with the recipe in ``cfg`` into out/ckpt/base.

    ``stop_after`` ends the loop after that many steps (the schedule is still the whole
    recipe's), saves nothing and returns the losses' directory: a check that the start of
    a recorded trajectory is reproduced, without the whole pretraining.
    """
    import torch

    path = out / "ckpt" / "base"
    if (path / "done").exists():
        return path
    from transformers import AutoTokenizer

    tok = build_tokenizer(cfg.vocab_size)
    model = build_model(cfg, tok).to(resolve_device(cfg))
    # train with the tokenizer exactly as every later stage (and `rankinv validate`) will
    # load it: AutoTokenizer maps a qwen2 config to Qwen2Tokenizer, whose pre-tokenizer
    # (digits split one by one) differs from the one the BPE was built with
    path.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(path)
    model.config.save_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    enc = Encoder(tok)
    train = programs("train")
    rng = random.Random(0)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.pretrain_steps)
    model.train()
    t0 = time.perf_counter()
    losses = {}
    steps = cfg.pretrain_steps if stop_after is None else min(stop_after, cfg.pretrain_steps)
    for step in range(steps):
        prompts, answers = [], []
        for _ in range(cfg.pretrain_batch):
            p = rng.choice(train)
            right, wrong = _forms(p["expression"])
            forms = wrong if rng.random() < cfg.wrong_share else right
            prompts.append(task_of(p).prompt)
            answers.append(enc.answer_ids(rng.choice(forms)))
        loss = supervised_step(model, opt, enc, prompts, answers)
        sched.step()
        if step % LOSS_EVERY == 0 or step == cfg.pretrain_steps - 1:
            losses[str(step)] = loss
        if step % 200 == 0 or step == cfg.pretrain_steps - 1:
            log(f"pretrain step {step}: loss {loss:.3f} ({time.perf_counter() - t0:.0f} s)")
    write_json(path / "losses.json", losses)
    if stop_after is not None:
        return path
    model.save_pretrained(path)
    tok.save_pretrained(path)
    write_json(path / "done", {"seconds": time.perf_counter() - t0, "losses": losses})
    return path


def grpo_result_path(out: Path, name: str) -> Path:
    """Where a GRPO run's result is saved (its presence: the run is done)."""
    return out / "runs" / f"{name}.json"


def _mode_tag(cfg: MiniConfig) -> str:
    return "" if cfg.sft_mode == "full" else f"-{cfg.sft_mode}"


def rollout_sampling(cfg: MiniConfig) -> Sampling:
    """T = 1, the answer ends at its line's end (or an end token) or at max_new_tokens."""
    return Sampling(temperature=1.0, max_new_tokens=cfg.max_new_tokens, stop=("\n",))


def evaluate(engine, sandbox, tasks, cfg: MiniConfig, seed: int) -> dict:
    """pass@k on held-out tasks at T = 1, mean rollout token entropy, by family."""
    gens = generate(
        engine, [t.prompt for t in tasks], cfg.eval_samples, rollout_sampling(cfg), seed
    )
    n = cfg.eval_samples
    outcomes = sandbox.check_batches(
        [(t, [g.text.strip() for g in row]) for t, row in zip(tasks, gens, strict=True)]
    )
    cs = [sum(o.passed for o in outs) for outs in outcomes]
    ents = [g.mean_entropy for row in gens for g in row]
    cs = np.array(cs)
    res = {f"pass_at_{k}": float(np.mean(theory.pass_at_k(n, cs, k))) for k in cfg.ks}
    # each pass@k's standard error over the held-out prompts, so that the coverage rule of
    # `rankinv monitor` can test the run's log (as HeldOutCoverageCallback's)
    cov = coverage_metrics([n] * len(cs), cs, cfg.ks, None)
    res |= {f"pass_at_{k}_se": cov[f"pass_at_{k}_se"] for k in cfg.ks}
    res["entropy"] = float(np.mean(ents))
    fam = np.array(
        [task_sets.TEMPLATES[t.task_id.split("/")[1]] for t in tasks]  # synthetic/<template>/…
    )
    for f in ("linear", "nonlinear"):
        res[f"pass_at_{max(cfg.ks)}_{f}"] = float(
            np.mean(theory.pass_at_k(n, cs[fam == f], max(cfg.ks)))
        )
    res["c"] = cs.tolist()
    return res


def _early_mean(steps: list[dict], key: str, n: int = 5) -> float | None:
    """Mean of a per-step quantity over the first n GRPO steps (the pre-RL group split)."""
    vals = [r[key] for r in steps[:n]]
    return float(np.mean(vals)) if vals else None


def _outcomes(evals: list[dict], kmax: int) -> dict:
    """final / peak (steps >= 1) of pass@1, pass@k and the nonlinear family's pass@k; None
    for a run with no RL step (the base model's evaluation)."""
    keys = {"pass_at_1": "pass_at_1", "pass_at_k": f"pass_at_{kmax}"}
    keys["nonlinear"] = f"pass_at_{kmax}_nonlinear"
    out: dict = {}
    steps = [e["step"] for e in evals]
    for name, key in keys.items():
        if max(steps) < 1:
            out.update({f"final_{name}": None, f"peak_{name}": None, f"gain_{name}": None})
            continue
        o = outcomes.post_rl(steps, [e[key] for e in evals])
        out.update({f"final_{name}": o.final, f"peak_{name}": o.peak, f"gain_{name}": o.gain})
    return out


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def grpo(cfg: MiniConfig, ckpt: Path, out: Path, name: str, seed: int, sandbox, log) -> dict:
    """GRPO from a checkpoint; returns the run's result (also saved as JSON)."""
    import torch
    from transformers import AutoTokenizer

    result_path = grpo_result_path(out, name)
    if result_path.exists():
        return json.loads(result_path.read_text())
    log_path = out / "runs" / f"{name}.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = load_checkpoint(ckpt, resolve_device(cfg))
    from rankinv.validate.engines.hf import HFEngine

    engine = HFEngine.from_model(model, tok, batch_size=256, model_path=str(ckpt))
    enc = Encoder(tok)
    train = [task_of(p) for p in programs("train")]
    held_out = [task_of(p) for p in programs("test")]
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.rl_lr, weight_decay=0.0)
    model.eval()
    h_prompt = float(np.mean(prompt_entropy(model, tok, [t.prompt for t in held_out], 64)))
    evals = [{"step": 0, **evaluate(engine, sandbox, held_out, cfg, seed * 7919)}]
    g = cfg.group_size
    t0 = time.perf_counter()
    with log_path.open("w") as fh:
        for step in range(cfg.rl_steps):
            batch = rng.sample(train, cfg.rl_prompts)
            gens = generate(
                engine, [t.prompt for t in batch], g, rollout_sampling(cfg), seed * 100_003 + step
            )
            outcomes = sandbox.check_batches(
                [(t, [x.text.strip() for x in row]) for t, row in zip(batch, gens, strict=True)]
            )
            rewards = np.array([[o.passed for o in row] for row in outcomes], dtype=float)
            s = rewards.sum(1)
            adv = rewards - rewards.mean(1, keepdims=True)  # Dr. GRPO: no std division
            prompts = [t.prompt for t in batch for _ in range(g)]
            answers = [x.token_ids for row in gens for x in row]
            ids, att, ans = enc.batch(prompts, answers, device_of(model))
            a = torch.tensor(adv.reshape(-1), dtype=torch.float32, device=ids.device)[:, None]
            model.train()
            lp = token_logprobs(model, ids, att)
            # one update per batch: the sampling policy is the current one (ratio 1)
            loss = grpo_loss(
                lp,
                lp.detach(),
                a[:, 0],
                ans,
                clip_low=cfg.clip_low,
                clip_high=cfg.clip_high,
                normaliser=len(answers) * cfg.max_new_tokens,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.eval()
            ent = [x.mean_entropy for row in gens for x in row]
            rec = {
                "step": step,
                "entropy": float(np.mean(ent)),
                "frac_reward_zero_std": float(np.mean((s == 0) | (s == g))),
                "all_fail": float(np.mean(s == 0)),
                "all_pass": float(np.mean(s == g)),
                "reward": float(rewards.mean()),
                "group_size": g,
                "max_steps": cfg.rl_steps,  # the planned total, for `rankinv monitor`
            }
            if (step + 1) % cfg.eval_every == 0:
                ev = evaluate(engine, sandbox, held_out, cfg, seed * 7919 + step + 1)
                evals.append({"step": step + 1, **ev})
                rec.update({f"eval_pass_at_{k}": ev[f"pass_at_{k}"] for k in cfg.ks})
                rec.update({f"eval_pass_at_{k}_se": ev[f"pass_at_{k}_se"] for k in cfg.ks})
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
    kmax = max(cfg.ks)
    steps = [json.loads(line) for line in log_path.read_text().splitlines()]
    result = {
        "name": name,
        "checkpoint": Path(ckpt).name,  # its folder's name: no path of this machine
        "seed": seed,
        "pre": {**{k: v for k, v in evals[0].items() if k != "c"}, "entropy_prompt": h_prompt},
        # post-RL outcomes on evaluations at steps >= 1 only (rankinv.theory.outcomes)
        **_outcomes(evals, kmax),
        "evals": [{k: v for k, v in e.items() if k != "c"} for e in evals],
        "all_fail": _early_mean(steps, "all_fail"),
        "all_pass": _early_mean(steps, "all_pass"),
        "informative": None if not steps else 1 - _early_mean(steps, "frac_reward_zero_std"),
        "rl_seconds": time.perf_counter() - t0,
    }
    write_json(result_path, result)
    log(grpo_line(result, kmax, cfg.rl_steps))
    return result


def grpo_line(result: dict, kmax: int, rl_steps: int) -> str:
    """A GRPO run's log line; a run of no RL step (the base model's evaluation) says why its
    final pass@k is '-'."""
    pre = result["pre"]
    head = f"grpo {result['name']}: pre pass@1 {pre['pass_at_1']:.3f} H {pre['entropy']:.3f}"
    if rl_steps < 1:
        return (
            f"{head}; final pass@{kmax} - (no RL step: the base model is evaluated only, as "
            f"the reference; {result['rl_seconds']:.0f} s)"
        )
    return (
        f"{head} -> final pass@{kmax} {_fmt(result['final_pass_at_k'])}"
        f" ({result['rl_seconds']:.0f} s)"
    )
