"""Write the small real TRL logs the monitor tests read: tests/data/trl/<case>/trainer_state.json.

Each is a genuine trl.GRPOTrainer run (CPU, beta = 0, g = 4) of a tiny random Qwen2 from
tests/tiny_models.py with a toy reward chosen to give one situation the monitor must call:

- saturated: reward 1 when the completion holds the letter "a"; a high learning rate makes
  every completion hold one within a few steps, then every group is zero-std for > 100 steps;
- stalled: one prompt is always rewarded, the other never (the letter pair "qq" excepted):
  the reward stays flat near 0.5 while (almost) every group has zero variance;
- rising: reward = share of the letter "a" (a continuous reward: groups keep their
  variance) at a moderate learning rate, so the reward rises slowly with signal present.

    python scripts/trl_test_logs.py [OUT]     # default tests/data/trl
"""

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CASES = {
    "saturated": {"steps": 140, "lr": 3e-2},
    "stalled": {"steps": 60, "lr": 1e-3},
    "rising": {"steps": 80, "lr": 3e-3},
}


def reward_for(case: str):
    if case == "saturated":
        return lambda completions, **kw: [float("a" in c) for c in completions]
    if case == "stalled":
        return lambda prompts, completions, **kw: [
            1.0 if p.startswith("def f") else float("qq" in c)
            for p, c in zip(prompts, completions, strict=True)
        ]
    return lambda completions, **kw: [c.count("a") / max(1, len(c)) for c in completions]


def main(out: Path) -> None:
    import torch
    from datasets import Dataset
    from tiny_models import build_model, train_tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(1)
    texts = ["def add(a, b):\n    return a + b\n", "x = 1\ny = 2\n"] * 50
    model_dir = build_model("qwen2", out / "_model", train_tokenizer(texts, vocab_size=300))
    for case, spec in CASES.items():
        dest = out / case / "trainer_state.json"
        if dest.exists():
            continue
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        tok = AutoTokenizer.from_pretrained(model_dir)
        args = GRPOConfig(
            output_dir=str(out / "_trainer"),
            use_cpu=True,
            learning_rate=spec["lr"],
            per_device_train_batch_size=8,
            num_generations=4,
            max_completion_length=12,
            max_steps=spec["steps"],
            logging_steps=1,
            report_to="none",
            save_strategy="no",
            bf16=False,
            seed=0,
            beta=0.0,
            lr_scheduler_type="constant",
            disable_tqdm=True,
        )
        prompts = ["def f(x):", "x = "] * (4 * spec["steps"])
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=reward_for(case),
            args=args,
            train_dataset=Dataset.from_dict({"prompt": prompts}),
            processing_class=tok,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.train()
        dest.parent.mkdir(parents=True, exist_ok=True)
        trainer.state.save_to_json(str(dest))
        print(f"wrote {dest}", flush=True)
    for tmp in ("_model", "_trainer"):
        import shutil

        shutil.rmtree(out / tmp, ignore_errors=True)
    (out / "README.md").write_text(__doc__ + "\n" + json.dumps(CASES) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "trl")
