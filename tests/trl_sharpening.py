"""A real TRL GRPOTrainer run that sharpens, with the held-out coverage callback (CPU, tiny
Qwen2, a minute or two): the test of the callback end to end and the maker of
tests/data/trl/sharpening/trainer_state.json.

The checkpoint: a tiny random Qwen2 (tests/tiny_models.py) given a few dozen SFT steps on
"return <d>" with d drawn evenly from 1..4, so its answers are diverse. The held-out set:
HELD_OUT prompts "def f():\\n    # held-out i\\n    return ", whose tests accept 1 or 2 (three
five eighths of them) or only 3 or only 4 (the rest). GRPO trains on other prompts of the same
form with reward 1 for the answers 1 or 2 (a narrow task) at a high learning rate: the policy
concentrates on them, so held-out pass@1 rises while pass@k falls (the prompts that need 3
or 4 lose the samples that solved them).

    python tests/trl_sharpening.py OUT_DIR     # writes OUT_DIR/trainer_state.json
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, train_tokenizer  # noqa: E402

ANSWERS = ("1", "2", "3", "4")
TRAINED = ("1", "2")  # the answers the training reward pays for
HELD_OUT = 64
PROMPT = "def f():\n    # {kind} {i}\n    return "
SETTINGS = {
    "lr": 0.002,
    "max_steps": 80,
    "every": 20,
    "samples": 8,
    "ks": (1, 4),
    "sft_steps": 200,
}


def held_out_tasks():
    from rankinv.sandbox.tasks import Task

    tasks = []
    for i in range(HELD_OUT):
        ok = (1, 2) if i % 8 < 5 else (3,) if i % 2 else (4,)
        test = f"def check(candidate):\n    assert candidate() in {ok!r}\n"
        tasks.append(Task(f"held-out/{i}", PROMPT.format(kind="held-out", i=i), "f", test, "1\n"))
    return tasks


def reward(completions, **kw):
    return [1.0 if c.strip() in TRAINED else 0.0 for c in completions]


def sft_checkpoint(out: Path, steps: int = SETTINGS["sft_steps"], seed: int = 0) -> Path:
    """The tiny model after ``steps`` SFT steps on answers drawn evenly from ANSWERS."""
    import random

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts = [PROMPT.format(kind=k, i=i) + a for k in ("train", "held-out") for i in range(64)
             for a in ANSWERS]  # fmt: skip
    base = build_model("qwen2", out / "base", train_tokenizer(texts, vocab_size=300), seed=seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    tok = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        rows = []
        for _ in range(32):
            prompt = tok(PROMPT.format(kind="train", i=rng.randrange(1000))).input_ids
            answer = tok(rng.choice(ANSWERS)).input_ids + [tok.eos_token_id]
            rows.append((prompt, answer))
        width = max(len(p) + len(a) for p, a in rows)
        ids = torch.full((len(rows), width), tok.pad_token_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (p, a) in enumerate(rows):
            ids[r, : len(p) + len(a)] = torch.tensor(p + a)
            labels[r, len(p) : len(p) + len(a)] = torch.tensor(a)
            mask[r, : len(p) + len(a)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    sft = out / "sft"
    model.save_pretrained(sft)
    tok.save_pretrained(sft)
    return sft


def run(out: Path, settings: dict | None = None, callbacks=(), **options):
    """GRPO from the SFT checkpoint with the coverage callback (``options``: more of its
    arguments, e.g. budget, stop_on_fall); returns (trainer, callback)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rankinv.integrations.trl import HeldOutCoverageCallback

    s = {**SETTINGS, **(settings or {})}
    torch.set_num_threads(1)
    ckpt = sft_checkpoint(out / "ckpt", s["sft_steps"])
    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        learning_rate=s["lr"],
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=4,
        max_steps=s["max_steps"],
        logging_steps=10,
        report_to="none",
        save_strategy="no",
        bf16=False,
        seed=0,
    )
    prompts = [PROMPT.format(kind="train", i=i) for i in range(64)]
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(ckpt),
        reward_funcs=reward,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=AutoTokenizer.from_pretrained(ckpt),
        callbacks=list(callbacks),
    )
    cb = HeldOutCoverageCallback(
        held_out_tasks(), every=s["every"], samples=s["samples"], ks=s["ks"],
        max_new_tokens=4, workers=1, **options,
    )  # fmt: skip
    cb.attach(trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    trainer.state.save_to_json(str(out / "trainer_state.json"))
    return trainer, cb


if __name__ == "__main__":
    import json

    out = Path(sys.argv[1])
    trainer, cb = run(out)
    for h in cb.history:
        print(json.dumps(h))
    print("callback seconds", cb.seconds, "training seconds", cb.training_seconds())
