"""A corpus of real GRPO runs: TRL's GRPOTrainer on the miniature experiment's model and code
tasks, for scoring the stage-2 rules on runs no rule was chosen on.

One base model is pretrained here (the mini experiment's recipe, shortened), fine-tuned to
several SFT depths on the teacher's (plausibly wrong) or the clean demonstrations, then each
run trains one checkpoint with ``trl.GRPOTrainer`` (beta = 0) on a family of the synthetic
code tasks whose rewards come from the sandbox (the completion, an expression in x, passes
when it matches the hidden function on x = 0..9). Runs vary over learning rate, group size,
SFT depth and reward difficulty (which task family is trained on: "easy" linear templates,
"mixed" or "hard" nonlinear ones) so that some gain, some saturate and some stall. Every
``eval_every`` steps the policy is evaluated on held-out programs of the same family
(pass@1 and pass@k at T = 1); the evaluations are written into TRL's own log_history as
``heldout_pass_at_1`` / ``heldout_pass_at_k`` entries, so each run's ``trainer_state.json`` is
a genuine TRL log plus the held-out outcome.

Layout of ``out``: ``ckpt/`` (base and SFT checkpoints, git-ignored by size), ``trl_logs/<name>/
trainer_state.json`` (TRL's log), ``runs.jsonl`` (one record per finished run: its setting,
the outcome label and held-out gains; appended as runs finish, so a rerun resumes).

    nice -n 10 python -m rankinv.experiment.trl_corpus --out figures/data/trl_corpus
    python -m rankinv.experiment.trl_corpus --out figures/data/trl_corpus --relabel

Each record in runs.jsonl carries its held-out evaluation's size (eval_prompts, eval_samples,
k) and its whole-run label judged with that evaluation's interval; ``--relabel`` recomputes
the labels from the saved logs when their definition changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import random
import time
import warnings
from pathlib import Path

from rankinv._io import append_jsonl, json_default, read_jsonl, write_json
from rankinv.experiment.config import MiniConfig
from rankinv.experiment.data import programs, task_of
from rankinv.experiment.ladders import Ladder, sft
from rankinv.experiment.train import evaluate, pretrain
from rankinv.sandbox import tasks as task_sets

#: The task families a run trains on (reward difficulty): templates of the synthetic set.
DIFFICULTY = {
    "easy": ("add", "mul", "sub"),
    "mixed": tuple(task_sets.TEMPLATES),
    "hard": ("square_plus", "square_lin", "mod_plus"),
}
#: The axes of the corpus. Checkpoints: (variant, SFT epochs); depth 0 is the base model.
CHECKPOINTS = (("base", 0), ("teacher", 1), ("teacher", 4), ("teacher", 16), ("clean", 4))
LEARNING_RATES = (1e-4, 1e-3, 4e-3)
GROUP_SIZES = (4, 8)


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
    runs: int = 40  # drawn from the grid in an order fixed by a hash of each run's name
    steps: int = 40
    completions_per_step: int = 16  # per_device_train_batch_size: prompts x group size
    max_new_tokens: int = 12
    eval_every: int = 10
    eval_prompts: int = 32
    eval_samples: int = 8
    k: int = 4
    mini: MiniConfig = MiniConfig(name="trl_corpus", layers=2, pretrain_steps=800, workers=2)


def grid() -> list[dict]:
    """Every run of the design, ordered by a hash of its name (so a prefix is balanced)."""
    runs = []
    for (variant, depth), diff, lr, g in itertools.product(
        CHECKPOINTS, DIFFICULTY, LEARNING_RATES, GROUP_SIZES
    ):
        name = f"{variant}-d{depth}-{diff}-lr{lr:g}-g{g}"
        runs.append(
            {
                "name": name,
                "variant": variant,
                "depth": depth,
                "difficulty": diff,
                "lr": lr,
                "group_size": g,
            }
        )
    return sorted(runs, key=lambda r: hashlib.sha256(r["name"].encode()).hexdigest())


def _family(split: str, difficulty: str) -> list[dict]:
    keep = DIFFICULTY[difficulty]
    return [p for p in programs(split) if p["template"] in keep]


def _heldout(difficulty: str, n: int) -> list:
    progs = sorted(_family("test", difficulty), key=lambda p: p["expression"])
    random.Random(0).shuffle(progs)
    return [task_of(p) for p in progs[:n]]


def train_run(spec: dict, ckpt: Path, out: Path, cfg: CorpusConfig, sandbox) -> dict:
    """One GRPOTrainer run; returns its TRL log_history with the held-out evaluations."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rankinv.validate.engines.hf import HFEngine

    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    train = _family("train", spec["difficulty"])
    held = _heldout(spec["difficulty"], cfg.eval_prompts)
    by_prompt = {task_of(p).prompt: task_of(p) for p in train}
    ecfg = dataclasses.replace(cfg.mini, eval_samples=cfg.eval_samples, ks=(1, cfg.k))
    seed = int(hashlib.sha256(spec["name"].encode()).hexdigest(), 16) % 10_000

    def reward(prompts, completions, **kw):
        pairs = zip(prompts, completions, strict=True)
        items = [(by_prompt[p], [c.split("\n")[0].strip()]) for p, c in pairs]
        return [float(o[0].passed) for o in sandbox.check_batches(items)]

    evals: list[dict] = []

    def run_eval(model_, step: int) -> None:
        sampler = HFEngine.from_model(model_, tok, batch_size=256)
        was_training = model_.training
        model_.eval()
        with warnings.catch_warnings():  # a family absent from this difficulty: mean of []
            warnings.simplefilter("ignore", RuntimeWarning)
            ev = evaluate(sampler, sandbox, held, ecfg, seed * 7919 + step)
        if was_training:
            model_.train()
        evals.append(
            {
                "step": step,
                "heldout_pass_at_1": ev["pass_at_1"],
                "heldout_pass_at_k": ev[f"pass_at_{cfg.k}"],
                "heldout_entropy": ev["entropy"],
            }
        )

    class Eval(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kw):
            if state.global_step % cfg.eval_every == 0:
                run_eval(model, state.global_step)

    run_eval(model, 0)
    rng = random.Random(seed)
    prompts = [rng.choice(train) for _ in range(cfg.steps * cfg.completions_per_step)]
    data = Dataset.from_dict({"prompt": [task_of(p).prompt for p in prompts]})
    args = GRPOConfig(
        output_dir=str(out / "trainer"),
        use_cpu=True,
        learning_rate=spec["lr"],
        per_device_train_batch_size=cfg.completions_per_step,
        num_generations=spec["group_size"],
        max_completion_length=cfg.max_new_tokens,
        max_steps=cfg.steps,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        bf16=False,
        seed=seed,
        beta=0.0,
        temperature=1.0,
        lr_scheduler_type="constant",
        warmup_steps=0,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=args,
        train_dataset=data,
        processing_class=tok,
        callbacks=[Eval()],
    )
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    history = list(trainer.state.log_history) + evals
    history.sort(key=lambda r: (r.get("step", 0), "heldout_pass_at_1" in r))
    return {
        "log_history": history,
        "max_steps": trainer.state.max_steps,
        "global_step": trainer.state.global_step,
    }


def build(
    out: str | Path, cfg: CorpusConfig = CorpusConfig(), log=print, shard: tuple[int, int] = (0, 1)
) -> list[dict]:
    """Pretrain, fine-tune, then every run of the corpus not yet in runs.jsonl (with
    ``shard`` = (i, n): only the runs i, i + n, ... of the plan, so that n processes share
    it once the checkpoints exist)."""
    import torch

    from rankinv.sandbox.executor import Sandbox

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    write_json(out / "config.json", json.loads(json.dumps(dataclasses.asdict(cfg))))
    runs_path = out / "runs.jsonl"
    done = {r["name"] for r in read_jsonl(runs_path)} if runs_path.exists() else set()
    i, n = shard
    plan = [r for j, r in enumerate(grid()[: cfg.runs]) if j % n == i and r["name"] not in done]
    if not plan:
        return read_jsonl(out / "runs.jsonl")
    base = pretrain(cfg.mini, out, log)  # out/ckpt/base
    ckpts = {("base", 0): base}
    for variant in ("teacher", "clean"):
        depths = sorted({d for v, d in CHECKPOINTS if v == variant})
        for d, p in sft(cfg.mini, base, out, Ladder(variant, 0, depths), log).items():
            ckpts[(variant, d)] = p
    with Sandbox(cfg.mini.workers) as sandbox:
        for i, spec in enumerate(plan, 1):
            t0 = time.perf_counter()
            run_dir = out / "trl_logs" / spec["name"]
            res = train_run(spec, ckpts[(spec["variant"], spec["depth"])], run_dir, cfg, sandbox)
            state = {
                "log_history": res["log_history"],
                "max_steps": res["max_steps"],
                "global_step": res["global_step"],
            }
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json(run_dir / "trainer_state.json", state)
            rec = {**spec, **run_label(spec, res["log_history"], cfg)}
            rec["seconds"] = time.perf_counter() - t0
            label = rec
            append_jsonl(out / "runs.jsonl", rec)
            log(
                f"run {i}/{len(plan)} {spec['name']}: {label['label']} "
                f"(held-out pass@1 {label['start_pass_at_1']:.2f} -> "
                f"{label['final_pass_at_1']:.2f}, {rec['seconds']:.0f} s)"
            )
    return read_jsonl(out / "runs.jsonl")


def eval_size(spec: dict, cfg: CorpusConfig) -> dict:
    """The held-out evaluation a run had: prompts (the family's test programs, at most
    eval_prompts), samples per prompt and pass@k's k."""
    n = len(_heldout(spec["difficulty"], cfg.eval_prompts))
    return {"eval_prompts": n, "eval_samples": cfg.eval_samples, "k": cfg.k}


def run_label(spec: dict, history: list[dict], cfg: CorpusConfig) -> dict:
    """A run's evaluation size and its whole-run label (``rankinv.verdicts.labels``) with the
    interval of that evaluation."""
    from rankinv.verdicts.labels import EvalSize, label_run

    size = eval_size(spec, cfg)
    ev = EvalSize(size["eval_prompts"], size["eval_samples"], size["k"])
    return {**size, **label_run(history, evaluation=ev)}


def relabel(out: str | Path, cfg: CorpusConfig = CorpusConfig()) -> list[dict]:
    """Rewrite runs.jsonl's labels from the saved TRL logs (no training): after the label
    definition changes. Each record keeps its setting and seconds."""
    out = Path(out)
    recs = read_jsonl(out / "runs.jsonl")
    fresh = []
    for rec in recs:
        state = json.loads((out / "trl_logs" / rec["name"] / "trainer_state.json").read_text())
        spec = {k: rec[k] for k in ("name", "variant", "depth", "difficulty", "lr", "group_size")}
        fresh.append(
            {**spec, **run_label(spec, state["log_history"], cfg), "seconds": rec.get("seconds")}
        )
    tmp = out / ".runs.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, default=json_default) + "\n" for r in fresh))
    tmp.replace(out / "runs.jsonl")  # atomic: a reader sees the old file or the new one
    return fresh


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="figures/data/trl_corpus")
    ap.add_argument("--runs", type=int, default=CorpusConfig.runs)
    ap.add_argument("--shard", default="0/1", help="I/N: this process runs every N-th run")
    ap.add_argument("--relabel", action="store_true", help="relabel runs.jsonl from the logs")
    a = ap.parse_args(argv)
    if a.relabel:
        recs = relabel(a.out)
        print(f"relabelled {len(recs)} runs in {a.out}/runs.jsonl")
        return
    i, n = (int(x) for x in a.shard.split("/"))
    cfg = dataclasses.replace(CorpusConfig(), runs=a.runs)
    build(a.out, cfg, log=lambda m: print(m, flush=True), shard=(i, n))


if __name__ == "__main__":
    main()
