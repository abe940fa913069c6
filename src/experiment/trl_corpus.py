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
    nice -n 10 python -m rankinv.experiment.trl_corpus --version 2 \
        --out figures/data/trl_corpus_v2

Version 1 (40 runs of a hashed grid, one seed each, 32 x 8 evaluations) stays as it was.
Version 2 (``V2_SETTINGS``) runs each setting at V2_SEEDS seeds, sizes every held-out
evaluation so that a label's interval is within +-0.05 (``samples_for``), trains some
settings on the paper's filtered prompts beside the unfiltered ones, and logs a replicate of
seed 0 at TRL's default logging_steps = 10. Neither version is used to choose anything.

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
import math
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
    # version 2: each evaluation sized so that the LABEL_Z interval of a change is within
    # +-halfwidth at the worst case (pass@k = 0.5), up to eval_prompts prompts (None: v1's
    # fixed eval_samples)
    version: int = 1
    halfwidth: float | None = None


#: Version 2 (issue 33): settings meant to improve, sharpen, diverge, saturate and strand,
#: and the paper's prompt filter beside the unfiltered prompts, each at V2_SEEDS seeds with
#: TRL logging every step; a replicate of seed 0 logged at TRL's default logging_steps = 10
#: (same seed: the same training, logged as averaged windows) for the settings in V2_LOG10.
#: (variant, SFT epochs, difficulty, lr, group size, prompts, what the setting is meant to show)
V2_SETTINGS = (
    ("base", 0, "easy", 1e-4, 4, "all", "improve"),
    ("clean", 4, "easy", 1e-4, 8, "all", "improve"),
    ("teacher", 1, "easy", 1e-3, 4, "all", "sharpen"),
    ("teacher", 4, "easy", 4e-3, 8, "all", "diverge"),
    ("teacher", 1, "easy", 1e-4, 8, "all", "improve"),
    ("teacher", 16, "easy", 3e-4, 8, "all", "saturate"),
    ("teacher", 16, "easy", 3e-4, 8, "solved", "saturate"),
    ("teacher", 16, "easy", 3e-4, 8, "mastered", "saturate"),
    ("teacher", 4, "hard", 1e-3, 8, "all", "strand"),
    ("teacher", 4, "mixed", 3e-4, 8, "filtered", "filter"),
    ("teacher", 4, "mixed", 3e-4, 8, "all", "filter"),
)
V2_SEEDS = 5
V2_LOG10 = ("improve", "sharpen", "diverge", "filter")
#: The paper's filter ("filtered"): keep the prompts the start model solves 1 to 14 times of
#: 16; "solved" / "mastered": those it solves at least 8 / 14 times of 16 (a start that already
#: solves part of its family, trained on that part: settings meant to saturate; "solved" kept
#: 39-40 of the easy family's 45 prompts and ended at rewards 0.73-0.86, so "mastered" was
#: added, before anything was scored on the corpus).
FILTER_SAMPLES = 16
FILTER_RANGE = {"filtered": (1, 14), "solved": (8, 16), "mastered": (14, 16)}
V2 = CorpusConfig(runs=10_000, eval_prompts=64, version=2, halfwidth=0.05)


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


def grid_v2() -> list[dict]:
    """Version 2's runs: every setting at seeds 0..V2_SEEDS-1 (logging_steps 1), then the
    logging_steps 10 replicates; seeds first, so a prefix holds whole settings' seed 0."""
    runs = []
    for seed, log10 in [(s, False) for s in range(V2_SEEDS)] + [(0, True)]:
        for variant, depth, diff, lr, g, prompts, intent in V2_SETTINGS:
            if log10 and intent not in V2_LOG10:
                continue
            setting = f"{variant}-d{depth}-{diff}-lr{lr:g}-g{g}" + (
                "" if prompts == "all" else f"-{prompts}"
            )
            runs.append(
                {
                    "name": f"{setting}-s{seed}" + ("-log10" if log10 else ""),
                    "setting": setting,
                    "seed_name": f"{setting}-s{seed}",
                    "variant": variant,
                    "depth": depth,
                    "difficulty": diff,
                    "lr": lr,
                    "group_size": g,
                    "prompts": prompts,
                    "intent": intent,
                    "seed": seed,
                    "logging_steps": 10 if log10 else 1,
                }
            )
    return runs


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

    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    train = _family("train", spec["difficulty"])
    size = eval_size(spec, cfg)
    held = _heldout(spec["difficulty"], size["eval_prompts"])
    ecfg = dataclasses.replace(cfg.mini, eval_samples=size["eval_samples"], ks=(1, cfg.k))
    seed_name = spec.get("seed_name", spec["name"])
    seed = int(hashlib.sha256(seed_name.encode()).hexdigest(), 16) % 10_000
    kept = None
    if spec.get("prompts", "all") != "all":
        train = filter_prompts(model, tok, train, sandbox, cfg, seed, spec["prompts"])
        kept = len(train)
        if not train:
            raise RuntimeError(f"{spec['name']}: the filter kept no prompt")
    by_prompt = {task_of(p).prompt: task_of(p) for p in train}

    def reward(prompts, completions, **kw):
        pairs = zip(prompts, completions, strict=True)
        items = [(by_prompt[p], [c.split("\n")[0].strip()]) for p, c in pairs]
        return [float(o[0].passed) for o in sandbox.check_batches(items)]

    evals: list[dict] = []

    def run_eval(model_, step: int) -> None:
        ev = _evaluate(model_, tok, sandbox, held, ecfg, seed * 7919 + step)
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
        logging_steps=spec.get("logging_steps", 1),
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
        "prompts_kept": kept,
        "prompts_family": len(_family("train", spec["difficulty"])),
    }


def _evaluate(model, tok, sandbox, tasks, cfg: MiniConfig, seed: int) -> dict:
    """The mini experiment's evaluation (rankinv.experiment.train.evaluate: per-task pass
    counts "c", pass@k, entropy) of ``model`` in eval mode, its training mode restored."""
    from rankinv.validate.engines.hf import HFEngine

    was_training = model.training
    model.eval()
    with warnings.catch_warnings():  # a family absent from this difficulty: mean of []
        warnings.simplefilter("ignore", RuntimeWarning)
        ev = evaluate(HFEngine.from_model(model, tok, batch_size=256), sandbox, tasks, cfg, seed)
    if was_training:
        model.train()
    return ev


def filter_prompts(model, tok, train: list[dict], sandbox, cfg: CorpusConfig, seed: int, how):
    """The training prompts the start model solves FILTER_RANGE[how] times of FILTER_SAMPLES
    samples at T = 1 ("filtered", the paper's: neither never nor always)."""
    fcfg = dataclasses.replace(cfg.mini, eval_samples=FILTER_SAMPLES, ks=(1,))
    counts = _evaluate(model, tok, sandbox, [task_of(p) for p in train], fcfg, seed)["c"]
    lo, hi = FILTER_RANGE[how]
    return [p for p, c in zip(train, counts, strict=True) if lo <= c <= hi]


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
    design = grid() if cfg.version == 1 else grid_v2()
    plan = [r for j, r in enumerate(design[: cfg.runs]) if j % n == i and r["name"] not in done]
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
            if res.get("prompts_kept") is not None:  # a filtered run: what the filter kept
                rec["prompts_kept"] = res["prompts_kept"]
                rec["prompts_family"] = res["prompts_family"]
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
    if cfg.halfwidth is None:
        return {"eval_prompts": n, "eval_samples": cfg.eval_samples, "k": cfg.k}
    return {"eval_prompts": n, "eval_samples": samples_for(n, cfg.k, cfg.halfwidth), "k": cfg.k}


def samples_for(n_prompts: int, k: int, halfwidth: float) -> int:
    """Samples per prompt (a multiple of k) for which the LABEL_Z interval of a change
    between two evaluations of n_prompts prompts, LABEL_Z * sqrt(2) * eval_se(0.5), is at
    most ``halfwidth``: N floor(m / k) >= 2 LABEL_Z^2 0.25 / halfwidth^2."""
    from rankinv.verdicts.labels import LABEL_Z

    need = 2 * LABEL_Z**2 * 0.25 / halfwidth**2
    return k * math.ceil(need / n_prompts - 1e-9)


def run_label(spec: dict, history: list[dict], cfg: CorpusConfig) -> dict:
    """A run's evaluation size and its whole-run label (``rankinv.verdicts.labels``) with the
    interval of that evaluation."""
    from rankinv.verdicts.labels import EvalSize, label_run

    size = eval_size(spec, cfg)
    ev = EvalSize(size["eval_prompts"], size["eval_samples"], size["k"])
    return {**size, **label_run(history, evaluation=ev)}


SPEC_KEYS = ("name", "setting", "seed_name", "variant", "depth", "difficulty", "lr")
SPEC_KEYS += ("group_size", "prompts", "intent", "seed", "logging_steps")


def relabel(out: str | Path, cfg: CorpusConfig = CorpusConfig()) -> list[dict]:
    """Rewrite runs.jsonl's labels from the saved TRL logs (no training): after the label
    definition changes. Each record keeps its setting and seconds."""
    out = Path(out)
    recs = read_jsonl(out / "runs.jsonl")
    fresh = []
    for rec in recs:
        state = json.loads((out / "trl_logs" / rec["name"] / "trainer_state.json").read_text())
        spec = {k: rec[k] for k in SPEC_KEYS if k in rec}
        kept = {k: rec[k] for k in ("prompts_kept", "prompts_family") if k in rec}
        fresh.append(
            {**spec, **run_label(spec, state["log_history"], cfg), **kept}
            | {"seconds": rec.get("seconds")}
        )
    tmp = out / ".runs.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, default=json_default) + "\n" for r in fresh))
    tmp.replace(out / "runs.jsonl")  # atomic: a reader sees the old file or the new one
    return fresh


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="figures/data/trl_corpus")
    ap.add_argument("--runs", type=int, default=None, help="the first N runs of the design")
    ap.add_argument("--version", type=int, choices=(1, 2), default=1, help="the corpus design")
    ap.add_argument("--shard", default="0/1", help="I/N: this process runs every N-th run")
    ap.add_argument("--relabel", action="store_true", help="relabel runs.jsonl from the logs")
    a = ap.parse_args(argv)
    cfg = CorpusConfig() if a.version == 1 else V2
    if a.runs is not None:
        cfg = dataclasses.replace(cfg, runs=a.runs)
    if a.relabel:
        recs = relabel(a.out, cfg)
        print(f"relabelled {len(recs)} runs in {a.out}/runs.jsonl")
        return
    i, n = (int(x) for x in a.shard.split("/"))
    build(a.out, cfg, log=lambda m: print(m, flush=True), shard=(i, n))


if __name__ == "__main__":
    main()
