"""The miniature end-to-end experiment: the paper's pipeline on a model trained here.

1. Tokenizer (BPE, trained offline on the task corpus) and a small Qwen2ForCausalLM built
   from a Qwen2Config, pretrained on a broad 50/50 mix of correct answers (in equivalent
   forms) and plausible wrong ones to the synthetic benchmark's training programs, so that
   the base policy is diverse.
2. SFT on demonstrations in one canonical style to several depths x seeds, every
   checkpoint saved with save_pretrained (so `rankinv validate --model` runs on it). The
   "teacher" writes the line through f(0), f(1): right on linear programs, plausibly wrong
   on nonlinear ones. A control uses clean (always correct) demonstrations.
3. GRPO written here: group size g, binary reward from the sandboxed executor, mean-centred
   advantage, clipped ratio (clip-higher), no KL; per-step JSONL logs in the monitor's
   format; held-out pass@k every N steps.
4. Stage 1 on every checkpoint (prompt and rollout entropy, pass@1, the theory's verdict),
   stage 2 on every run (the monitor), `compare` of predicted against observed, and the
   simulator's prediction for the same depths side by side.

Resumable: finished checkpoints (a ``done`` marker) and runs (their result JSON) are reused.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankinv import __version__, theory
from rankinv._io import write_json
from rankinv.sandbox import tasks as task_sets


@dataclass(frozen=True)
class MiniConfig:
    name: str = "ci"
    # model
    hidden: int = 64
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    vocab_size: int = 400  # byte alphabet (256) + BPE merges of the task's scaffolding
    # pretraining
    pretrain_steps: int = 1500
    pretrain_batch: int = 64
    pretrain_lr: float = 3e-3
    wrong_share: float = 0.5
    # SFT
    sft_demos: int = 256
    sft_batch: int = 32
    sft_lr: float = 5e-4
    sft_mode: str = "full"  # "full" fine-tuning or "lora" adapters through peft (the paper's)
    lora_rank: int = 16
    lora_lr: float = 2e-3
    depths: tuple[int, ...] = (1, 2, 4, 8, 16)
    seeds: int = 3
    control_depths: tuple[int, ...] = (1, 16)  # clean demonstrations, seed 0
    # GRPO
    group_size: int = 8
    rl_steps: int = 30
    rl_prompts: int = 16
    rl_lr: float = 3e-4
    clip_low: float = 0.2
    clip_high: float = 0.28
    max_new_tokens: int = 12
    # evaluation
    eval_every: int = 10
    eval_samples: int = 16
    ks: tuple[int, ...] = (1, 10)
    # torch threads; the GRPO loop runs sampling, sandbox checks and the update one after
    # another, so torch and the sandbox never compete for the two cores
    threads: int = 2
    device: str = "auto"  # "auto": cuda when available, else cpu
    workers: int = 2  # sandbox workers

    def __post_init__(self):
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2, got {self.group_size}")
        if self.eval_samples < max(self.ks):
            raise ValueError(f"eval_samples ({self.eval_samples}) must be >= max k {max(self.ks)}")
        if self.sft_mode not in ("full", "lora"):
            raise ValueError(f"sft_mode must be 'full' or 'lora', got {self.sft_mode!r}")
        if not self.depths or min(self.depths) < 1:
            raise ValueError(f"depths must be positive epochs, got {self.depths}")


PRESETS = {
    "ci": MiniConfig(),
    "gpu": MiniConfig(
        name="gpu",
        hidden=128,
        layers=6,
        heads=8,
        kv_heads=4,
        pretrain_steps=4000,
        pretrain_batch=256,
        sft_batch=64,
        rl_steps=100,
        rl_prompts=64,
        eval_every=10,
        eval_samples=64,
        seeds=5,
        control_depths=(1, 4, 16),
        workers=12,
    ),
}
# Measured on one H200 (16 CPU cores): pretraining 4000 x 256 in 150 s; one 100-step GRPO
# run with its 11 held-out evaluations in about 90 s, so the whole gpu preset (28 runs)
# needs about 45 minutes: run it resumably, across calls, with the same --out.


# ---------------------------------------------------------------- data
def _fmt_line(slope: int, intercept: int) -> str:
    """The teacher's canonical style for slope*x + intercept."""
    if slope == 0:
        return str(intercept)
    s = "x" if slope == 1 else f"{slope}*x"
    if intercept > 0:
        return f"{s}+{intercept}"
    if intercept < 0:
        return f"{s}-{-intercept}"
    return s


def teacher_answer(prog: dict) -> str:
    """The line through f(0), f(1): right on linear programs, wrong on nonlinear ones."""
    f = [eval(prog["expression"], {"x": x}) for x in (0, 1)]  # noqa: S307 - our template
    return _fmt_line(f[1] - f[0], f[0])


@functools.cache
def _forms(expression: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    prog = next(p for p in task_sets.synthetic_programs() if p["expression"] == expression)
    return tuple(correct_forms(prog)), tuple(wrong_forms(prog))


def correct_forms(prog: dict) -> list[str]:
    a, b, m, t = prog["a"], prog["b"], prog["m"], prog["template"]
    return {
        "add": [f"x+{b}", f"{b}+x"],
        "mul": [f"{a}*x", f"x*{a}"],
        "affine": [f"{a}*x+{b}", f"{b}+{a}*x", f"x*{a}+{b}"],
        "sub": [f"x-{b}", f"-{b}+x"],
        "square_plus": [f"x*x+{b}", f"{b}+x*x", f"x**2+{b}"],
        "square_lin": [f"x*x+{a}*x", f"x*(x+{a})", f"{a}*x+x*x"],
        "mod_plus": [f"x%{m}+{b}", f"{b}+x%{m}"],
    }[t]


def wrong_forms(prog: dict) -> list[str]:
    a, b, m = prog["a"], prog["b"], prog["m"]
    wrong = {
        teacher_answer(prog),
        f"x+{b + 1}",
        f"{a + 1}*x+{b}",
        f"x*x+{b + 1}",
        f"x%{m + 1}+{b}",
        f"{a}*x+{b - 1}" if b > 1 else f"{a}*x",
        f"x*x+{a}",
    }
    ok = {_value_tuple(e) for e in correct_forms(prog)}
    return sorted(w for w in wrong if _value_tuple(w) not in ok)


def _value_tuple(expr: str) -> tuple:
    return tuple(eval(expr, {"x": x}) for x in range(10))  # noqa: S307 - our templates


def programs(split: str) -> list[dict]:
    return [
        p
        for p in task_sets.synthetic_programs()
        if task_sets.synthetic_split(p["expression"]) == split
    ]


@functools.cache
def _task(expression: str, template: str) -> task_sets.Task:
    return task_sets.synthetic_task(expression, f"synthetic/{template}/{expression}")


def task_of(prog: dict) -> task_sets.Task:
    return _task(prog["expression"], prog["template"])


# ---------------------------------------------------------------- model
def train_bpe_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE trained offline on ``texts`` (tokenizers library), wrapped for
    transformers, with <|endoftext|> as EOS and padding."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def build_tokenizer(vocab_size: int):
    """The task corpus' tokenizer: prompts and every correct and wrong answer form."""
    corpus = []
    for p in task_sets.synthetic_programs():
        corpus.append(task_of(p).prompt)
        corpus.extend(correct_forms(p) + wrong_forms(p))
    return train_bpe_tokenizer(corpus, vocab_size)


def build_model(cfg: MiniConfig, tokenizer, seed: int = 0):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden,
        intermediate_size=cfg.hidden * 4,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    return Qwen2ForCausalLM(config)


class Encoder:
    """Token ids of prompts and answers, tokenised apart so the boundary matches decoding."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.cache: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        if text not in self.cache:
            self.cache[text] = self.tok(text, add_special_tokens=False).input_ids
        return self.cache[text]

    def batch(self, prompts: list[str], answers: list[list[int]], device):
        """Right-padded input ids, attention mask, and the answer-token mask."""
        import torch

        rows = [self.ids(p) + a for p, a in zip(prompts, answers, strict=True)]
        width = max(map(len, rows))
        pad = self.tok.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        att = torch.zeros((len(rows), width), dtype=torch.long)
        ans = torch.zeros((len(rows), width), dtype=torch.bool)
        for r, (p, a) in enumerate(zip(prompts, answers, strict=True)):
            n_p = len(self.ids(p))
            row = rows[r]
            ids[r, : len(row)] = torch.tensor(row)
            att[r, : len(row)] = 1
            ans[r, n_p : n_p + len(a)] = True
        return ids.to(device), att.to(device), ans.to(device)

    def answer_ids(self, answer: str) -> list[int]:
        return self.ids(answer + "\n") + [self.tok.eos_token_id]


def token_logprobs(model, ids, att):
    """log pi(token_t | tokens_<t) for t >= 1, aligned so that [:, t] scores ids[:, t]."""
    import torch

    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1)
    tok_lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
    return torch.nn.functional.pad(tok_lp, (1, 0))


def device_of(model) -> str:
    return str(next(model.parameters()).device)


def resolve_device(cfg: MiniConfig) -> str:
    import torch

    if cfg.device != "auto":
        return cfg.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def supervised_step(model, opt, enc: Encoder, prompts, answers) -> float:
    ids, att, ans = enc.batch(prompts, answers, device_of(model))
    lp = token_logprobs(model, ids, att)
    loss = -(lp * ans).sum() / ans.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


# ---------------------------------------------------------------- stages
def pretrain(cfg: MiniConfig, out: Path, log) -> Path:
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
    for step in range(cfg.pretrain_steps):
        prompts, answers = [], []
        for _ in range(cfg.pretrain_batch):
            p = rng.choice(train)
            right, wrong = _forms(p["expression"])
            forms = wrong if rng.random() < cfg.wrong_share else right
            prompts.append(task_of(p).prompt)
            answers.append(enc.answer_ids(rng.choice(forms)))
        loss = supervised_step(model, opt, enc, prompts, answers)
        sched.step()
        if step % 200 == 0 or step == cfg.pretrain_steps - 1:
            log(f"pretrain step {step}: loss {loss:.3f} ({time.perf_counter() - t0:.0f} s)")
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    write_json(path / "done", {"seconds": time.perf_counter() - t0})
    return path


def sft(cfg: MiniConfig, base: Path, out: Path, variant: str, seed: int, depths, log) -> dict:
    """Fine-tune a copy of the base on demonstrations; save a checkpoint at every depth."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    paths = {d: out / "ckpt" / f"{variant}{_mode_tag(cfg)}-s{seed}-d{d}" for d in depths}
    if all((p / "done").exists() for p in paths.values()):
        return paths
    base = base.resolve()  # adapters record their base by this path
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base).to(resolve_device(cfg))
    lr = cfg.sft_lr
    if cfg.sft_mode == "lora":
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(
            model,
            LoraConfig(
                r=cfg.lora_rank,
                lora_alpha=2 * cfg.lora_rank,
                lora_dropout=0.0,
                target_modules=targets,
            ),
        )
        lr = cfg.lora_lr
    enc = Encoder(tok)
    rng = random.Random(1000 + seed)
    train = programs("train")
    demos = [rng.choice(train) for _ in range(cfg.sft_demos)]
    answer = teacher_answer if variant == "teacher" else (lambda p: p["expression"])
    data = [(task_of(p).prompt, enc.answer_ids(answer(p))) for p in demos]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    for epoch in range(1, max(depths) + 1):
        rng.shuffle(data)
        for i in range(0, len(data), cfg.sft_batch):
            chunk = data[i : i + cfg.sft_batch]
            supervised_step(model, opt, enc, [c[0] for c in chunk], [c[1] for c in chunk])
        if epoch in paths and not (paths[epoch] / "done").exists():
            paths[epoch].mkdir(parents=True, exist_ok=True)
            model.save_pretrained(paths[epoch])
            tok.save_pretrained(paths[epoch])
            (paths[epoch] / "done").write_text("1")
            log(f"sft {variant} seed {seed}: saved {epoch} epochs")
    return paths


def _mode_tag(cfg: MiniConfig) -> str:
    return "" if cfg.sft_mode == "full" else f"-{cfg.sft_mode}"


def load_checkpoint(ckpt: Path, device: str):
    """A full checkpoint, or a LoRA adapter merged into its base (for RL on the whole model)."""
    from transformers import AutoModelForCausalLM

    from rankinv.validate.sampler import resolve_model_dir

    base, adapter = resolve_model_dir(ckpt)
    model = AutoModelForCausalLM.from_pretrained(base)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model.requires_grad_(True)  # peft froze the base weights; RL trains them all
    return model.to(device)


def evaluate(sampler, sandbox, tasks, cfg: MiniConfig, seed: int) -> dict:
    """pass@k on held-out tasks at T = 1, mean rollout token entropy, by family."""
    gens = sampler.generate(
        [t.prompt for t in tasks],
        n=cfg.eval_samples,
        temperature=1.0,
        max_new_tokens=cfg.max_new_tokens,
        stop=("\n",),
        seed=seed,
    )
    n = cfg.eval_samples
    outcomes = sandbox.check_batches(
        [(t, [g.text.strip() for g in row]) for t, row in zip(tasks, gens, strict=True)]
    )
    cs = [sum(o.passed for o in outs) for outs in outcomes]
    ents = [g.mean_entropy for row in gens for g in row]
    cs = np.array(cs)
    res = {f"pass_at_{k}": float(np.mean(theory.pass_at_k(n, cs, k))) for k in cfg.ks}
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


def grpo(cfg: MiniConfig, ckpt: Path, out: Path, name: str, seed: int, sandbox, log) -> dict:
    """GRPO from a checkpoint; returns the run's result (also saved as JSON)."""
    import torch
    from transformers import AutoTokenizer

    from rankinv.validate.sampler import HFSampler, prompt_entropy

    result_path = out / "runs" / f"{name}.json"
    if result_path.exists():
        return json.loads(result_path.read_text())
    log_path = out / "runs" / f"{name}.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = load_checkpoint(ckpt, resolve_device(cfg))
    sampler = HFSampler.from_model(model, tok, batch_size=256, model_path=str(ckpt))
    enc = Encoder(tok)
    train = [task_of(p) for p in programs("train")]
    held_out = [task_of(p) for p in programs("test")]
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.rl_lr, weight_decay=0.0)
    model.eval()
    h_prompt = float(np.mean(prompt_entropy(model, tok, [t.prompt for t in held_out], 64)))
    evals = [{"step": 0, **evaluate(sampler, sandbox, held_out, cfg, seed * 7919)}]
    g = cfg.group_size
    t0 = time.perf_counter()
    with log_path.open("w") as fh:
        for step in range(cfg.rl_steps):
            batch = rng.sample(train, cfg.rl_prompts)
            gens = sampler.generate(
                [t.prompt for t in batch],
                n=g,
                temperature=1.0,
                max_new_tokens=cfg.max_new_tokens,
                stop=("\n",),
                seed=seed * 100_003 + step,
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
            ratio = torch.exp(lp - lp.detach())  # one update per batch: ratio 1, clip inactive
            clipped = torch.clamp(ratio, 1 - cfg.clip_low, 1 + cfg.clip_high)
            obj = torch.minimum(ratio * a, clipped * a) * ans
            loss = -obj.sum() / (len(answers) * cfg.max_new_tokens)  # constant normaliser
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
            }
            if (step + 1) % cfg.eval_every == 0:
                ev = evaluate(sampler, sandbox, held_out, cfg, seed * 7919 + step + 1)
                evals.append({"step": step + 1, **ev})
                rec.update({f"eval_pass_at_{k}": ev[f"pass_at_{k}"] for k in cfg.ks})
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
    kmax = max(cfg.ks)
    steps = [json.loads(line) for line in log_path.read_text().splitlines()]
    result = {
        "name": name,
        "checkpoint": str(ckpt),
        "seed": seed,
        "pre": {**{k: v for k, v in evals[0].items() if k != "c"}, "entropy_prompt": h_prompt},
        "peak_pass_at_k": max(e[f"pass_at_{kmax}"] for e in evals),
        "peak_pass_at_1": max(e["pass_at_1"] for e in evals),
        "final_pass_at_k": evals[-1][f"pass_at_{kmax}"],
        "peak_nonlinear": max(e[f"pass_at_{kmax}_nonlinear"] for e in evals),
        "evals": [{k: v for k, v in e.items() if k != "c"} for e in evals],
        "all_fail": _early_mean(steps, "all_fail"),
        "all_pass": _early_mean(steps, "all_pass"),
        "informative": None if not steps else 1 - _early_mean(steps, "frac_reward_zero_std"),
        "rl_seconds": time.perf_counter() - t0,
    }
    write_json(result_path, result)
    log(
        f"grpo {name}: pre pass@1 {result['pre']['pass_at_1']:.3f} H {result['pre']['entropy']:.3f}"
        f" -> peak pass@{kmax} {result['peak_pass_at_k']:.3f} ({result['rl_seconds']:.0f} s)"
    )
    return result


def run_mini(cfg: MiniConfig, out: str | Path, log=print) -> dict:
    """The whole experiment; returns (and writes) mini.json."""
    import torch

    from rankinv.sandbox.executor import Sandbox
    from rankinv.simulate import preset as sim_preset
    from rankinv.simulate import run_sweep
    from rankinv.validate.compare import compare
    from rankinv.validate.monitor import MonitorConfig, monitor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "config.json"
    cfg_json = json.loads(json.dumps(dataclasses.asdict(cfg)))
    if cfg_path.exists() and json.loads(cfg_path.read_text()) != cfg_json:
        raise ValueError(
            f"{out} holds a run with another configuration; resume it with the same "
            "preset or choose another --out"
        )
    write_json(cfg_path, cfg_json)
    t0 = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    base = pretrain(cfg, out, log)
    t_pre = time.perf_counter() - t0
    runs = []
    with Sandbox(cfg.workers) as sandbox:
        base_eval = (
            grpo(dataclasses.replace(cfg, rl_steps=0), base, out, "base", 0, sandbox, log)
            if cfg.rl_steps > 0
            else None
        )
        plan = [("teacher", s, d) for s in range(cfg.seeds) for d in cfg.depths]
        plan += [("clean", 0, d) for d in cfg.control_depths]
        ckpts = {}
        for variant in ("teacher", "clean"):
            for s in range(cfg.seeds if variant == "teacher" else 1):
                depths = cfg.depths if variant == "teacher" else cfg.control_depths
                if depths:
                    ckpts.update(
                        {
                            (variant, s, d): p
                            for d, p in sft(cfg, base, out, variant, s, depths, log).items()
                        }
                    )
        for variant, s, d in plan:
            name = f"{variant}{_mode_tag(cfg)}-s{s}-d{d}"
            res = grpo(cfg, ckpts[(variant, s, d)], out, name, s, sandbox, log)
            res.update({"variant": variant, "depth": d})
            mcfg = MonitorConfig(
                ref_step=2,
                check_step=max(3, cfg.rl_steps - 5),
                planned_steps=max(cfg.rl_steps, 1),
                group_size=cfg.group_size,
            )
            rep = monitor(out / "runs" / f"{name}.jsonl", mcfg)
            res["stage2"] = {k: rep[k] for k in ("verdict", "entropy_drop", "informative_fraction")}
            runs.append(res)
    main = [r for r in runs if r["variant"] == "teacher"]
    kmax = max(cfg.ks)
    rows = [
        {
            "name": r["name"],
            "seed": r["seed"],
            "depth": r["depth"],
            "pre_pass_at_1": r["pre"]["pass_at_1"],
            "entropy": r["pre"]["entropy"],
            "entropy_prompt": r["pre"]["entropy_prompt"],
            f"pre_pass_at_{kmax}": r["pre"][f"pass_at_{kmax}"],
            f"post_pass_at_{kmax}": r["peak_pass_at_k"],
        }
        for r in main
    ]
    cmp = compare(rows, f"post_pass_at_{kmax}", cfg.group_size) if len(rows) >= 3 else None
    by_depth = []
    for variant, depths in (("teacher", cfg.depths), ("clean", cfg.control_depths)):
        for d in depths:
            rs = [r for r in runs if r["variant"] == variant and r["depth"] == d]
            if not rs:
                continue
            by_depth.append(
                {
                    "variant": variant,
                    "depth": d,
                    "runs": len(rs),
                    **{
                        key: float(np.mean([_get(r, key) for r in rs]))
                        for key in (
                            "pre.entropy",
                            "pre.entropy_prompt",
                            "pre.pass_at_1",
                            f"pre.pass_at_{kmax}",
                            "peak_pass_at_k",
                            "peak_nonlinear",
                            "all_fail",
                            "all_pass",
                            "informative",
                        )
                    },
                    "stage2_stop": sum(r["stage2"]["verdict"] == "stop" for r in rs),
                }
            )
    sim = run_sweep(
        sim_preset("quick").replace(sft_depths=tuple(float(d) for d in cfg.depths)),
        p_star_groups=20_000,
    )
    summary = {
        "config": dataclasses.asdict(cfg),
        "version": __version__,
        "base": None if base_eval is None else base_eval["pre"],
        "by_depth": by_depth,
        "runs": runs,
        "compare": None if cmp is None else {k: v for k, v in cmp.items() if k != "rows"},
        "inversion": None if cmp is None else cmp["inversion"],
        "rho_entropy_vs_post": None if cmp is None else cmp["predictors"]["entropy"],
        "rho_pass1_vs_post": None if cmp is None else cmp["predictors"]["pre_pass_at_1"],
        "simulator": {
            "rho_pass1_vs_post": sim["spearman_pre_pass1_vs_post"],
            "rho_entropy_vs_post": sim["spearman_entropy_vs_post"],
            "inversion": sim["inversion"],
            "by_depth": sim["by_depth"],
        },
        "seconds": {"pretrain": t_pre, "total": time.perf_counter() - t0},
    }
    write_json(out / "mini.json", summary)
    write_json(out / "compare_rows.json", rows)
    return summary


def _early_mean(steps: list[dict], key: str, n: int = 5) -> float | None:
    """Mean of a per-step quantity over the first n GRPO steps (the pre-RL group split)."""
    vals = [r[key] for r in steps[:n]]
    return float(np.mean(vals)) if vals else None


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


def preset(name: str) -> MiniConfig:
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]
