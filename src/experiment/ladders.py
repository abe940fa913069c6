"""The miniature experiment's SFT ladders: a copy of the base fine-tuned on demonstrations
and saved at every depth (fractions of an epoch too), under the preset's SFT or a recipe's;
and the probe of each checkpoint, `rankinv validate` as a user runs it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from rankinv.experiment.config import MiniConfig
from rankinv.experiment.data import programs, task_of, teacher_answer
from rankinv.experiment.model import Encoder, resolve_device
from rankinv.experiment.train import _mode_tag, supervised_step


@dataclass(frozen=True)
class Ladder:
    """One SFT ladder: a copy of the base fine-tuned once, saved at every depth (epochs).

    ``variant``: "teacher" (the imperfect teacher's demonstrations) or "clean" (correct
    ones); ``recipe``: a name of :data:`~rankinv.experiment.config.RECIPES` whose SFT settings
    replace the preset's (None: the preset's own SFT).
    """

    variant: str
    seed: int
    depths: tuple[float, ...]
    recipe: str | None = None

    def sft_config(self, cfg: MiniConfig) -> MiniConfig:
        return cfg if self.recipe is None else cfg.with_recipe(self.recipe)

    def rung(self, cfg: MiniConfig, depth: float) -> str:
        """The name of one checkpoint (and of its GRPO run): teacher-s0-d4, lr-high-s0-d4."""
        head = self.recipe if self.recipe is not None else f"{self.variant}{_mode_tag(cfg)}"
        return f"{head}-s{self.seed}-d{depth:g}"


def sft_paths(cfg: MiniConfig, out: Path, ladder: Ladder) -> dict:
    """The checkpoint directory of every depth of one SFT ladder."""
    return {d: out / "ckpt" / ladder.rung(cfg, d) for d in ladder.depths}


def probe_path(out: Path, name: str) -> Path:
    """Where a checkpoint's probe (a `rankinv validate` output folder) is saved."""
    return out / "probes" / name


def save_points(depths, n_demos: int, batch: int) -> dict[int, float]:
    """SFT steps after which each depth (in epochs, fractions too) is saved: an epoch is
    ceil(n_demos / batch) steps, a fraction of one that share of them (at least one)."""
    per_epoch = -(-n_demos // batch)
    return {max(1, round(d * per_epoch)): d for d in depths}


def sft_data(cfg: MiniConfig, enc: Encoder, variant: str, seed: int, rng) -> list[tuple]:
    """(prompt, answer ids) of the demonstrations, programs drawn with ``rng``: the teacher's
    (a ``correct_share`` of them written correctly instead) or, for "clean", correct ones."""
    train = programs("train")
    demos = [rng.choice(train) for _ in range(cfg.sft_demos)]
    fix = random.Random(2000 + seed)
    right = [variant != "teacher" or fix.random() < cfg.correct_share for _ in demos]
    return [
        (
            task_of(p).prompt,
            enc.answer_ids(p["expression"] if ok else teacher_answer(p, cfg.teacher)),
        )
        for p, ok in zip(demos, right, strict=True)
    ]


def sft(cfg: MiniConfig, base: Path, out: Path, ladder: Ladder, log) -> dict:
    """Fine-tune a copy of the base on demonstrations; save a checkpoint at every depth."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    paths = sft_paths(cfg, out, ladder)
    if all((p / "done").exists() for p in paths.values()):
        return paths
    scfg = ladder.sft_config(cfg)
    base = base.resolve()  # adapters record their base by this path
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base).to(resolve_device(cfg))
    lr = scfg.sft_lr
    if scfg.sft_mode == "lora":
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(
            model,
            LoraConfig(
                r=scfg.lora_rank,
                lora_alpha=2 * scfg.lora_rank,
                lora_dropout=0.0,
                target_modules=targets,
            ),
        )
        lr = scfg.lora_lr
    enc = Encoder(tok)
    rng = random.Random(1000 + ladder.seed)  # the demonstrations' programs, then their order
    data = sft_data(scfg, enc, ladder.variant, ladder.seed, rng)
    saves = save_points(ladder.depths, len(data), scfg.sft_batch)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    step = 0
    while step < max(saves):
        rng.shuffle(data)
        for i in range(0, len(data), scfg.sft_batch):
            chunk = data[i : i + scfg.sft_batch]
            prompts, answers = [c[0] for c in chunk], [c[1] for c in chunk]
            supervised_step(model, opt, enc, prompts, answers, scfg.label_smoothing)
            step += 1
            d = saves.get(step)
            if d is not None and not (paths[d] / "done").exists():
                paths[d].mkdir(parents=True, exist_ok=True)
                model.save_pretrained(paths[d])
                tok.save_pretrained(paths[d])
                (paths[d] / "done").write_text("1")
                log(f"sft {ladder.rung(cfg, d)}: saved")
            if step >= max(saves):
                break
    return paths


def probe(cfg: MiniConfig, ckpt: Path, out: Path, name: str, log) -> Path:
    """`rankinv validate` on one checkpoint (the synthetic benchmark, ``probe_samples`` per
    problem, T = 1, planned for this run's GRPO); its output folder (a ProbeResult)."""
    from rankinv.validate.probe import ProbeConfig, run_probe

    dest = probe_path(out, name)
    if (dest / "validate_summary.json").exists():
        return dest
    pcfg = ProbeConfig(
        benchmark="synthetic",
        samples=cfg.probe_samples,
        group_size=cfg.group_size,
        max_new_tokens=cfg.max_new_tokens,
        rl_steps=cfg.rl_steps,
        batch_prompts=cfg.rl_prompts,
        workers=cfg.workers,
    )
    s = run_probe(str(ckpt), pcfg, dest, progress=False)
    log(f"probe {name}: pass@1 {s['pass_at_1']:.3f} ({s['elapsed_s']:.0f} s)")
    return dest
