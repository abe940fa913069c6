"""`rankinv evaluate`: held-out coverage of saved checkpoints, for trainers without a callback
(verl, OpenRLHF, any other), written as a JSONL log ``rankinv monitor`` reads.

Each checkpoint is sampled and checked as the TRL callback does it
(:func:`rankinv.validate.heldout.evaluate`) and gives one line: its training step (from the
folder name, ``global_step_120`` as verl writes it or ``checkpoint-120`` as transformers
does, looked for in the path from the deepest folder up, or given), the columns
``eval/pass_at_1``, ``eval/pass_at_<k>``, ``eval/pass_at_<k>_se``, the group shares, and tags
(the checkpoint, its revision, the benchmark and its hash, the sampling config, the package
version, a key of those). A line is appended as soon as its checkpoint is done; a rerun skips
the checkpoints whose line with the same key is there (resumable, and cheap to rerun as
training writes more checkpoints).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from rankinv import __version__
from rankinv._io import append_jsonl, read_jsonl
from rankinv.errors import UserError
from rankinv.validate.heldout import HeldOutConfig, evaluate, load_tasks

#: Checkpoint folder names that carry the training step: verl, transformers/TRL, others.
STEP_NAME = re.compile(r"^(?:global_step_?|checkpoint-|step_?|iter_?)(\d+)$")


def step_of(path: str | Path) -> int | None:
    """The training step in a checkpoint's path (the deepest folder named like
    ``global_step_120`` or ``checkpoint-120``), or None."""
    for part in reversed(Path(path).resolve().parts):
        m = STEP_NAME.match(part)
        if m:
            return int(m.group(1))
    return None


def resolve_steps(checkpoints: Sequence[str | Path], steps: Sequence[int] | None) -> list[int]:
    """One step per checkpoint: given (as many as checkpoints), or from each path."""
    if steps:
        if len(steps) != len(checkpoints):
            raise UserError(
                f"--step given {len(steps)} time(s) for {len(checkpoints)} checkpoint(s); "
                "give it once per checkpoint, in the same order, or leave it out"
            )
        out = [int(s) for s in steps]
    else:
        out = []
        for c in checkpoints:
            s = step_of(c)
            if s is None:
                raise UserError(
                    f"no training step in the path {c} (no folder named like global_step_120 "
                    "or checkpoint-120); give it with --step"
                )
            out.append(s)
    if any(s < 0 for s in out):
        raise UserError(f"steps must be >= 0, got {out}")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise UserError(f"two checkpoints share step(s) {dup}; give --step for each")
    return out


def run_tag(tasks, benchmark: str, cfg: HeldOutConfig) -> dict:
    from rankinv.sandbox import tasks as task_sets

    return {
        "benchmark": benchmark,
        "benchmark_hash": task_sets.benchmark_hash(tasks),
        "config": cfg.to_json(),
    }


def _key(tag: dict) -> str:
    return hashlib.sha256(json.dumps(tag, sort_keys=True).encode()).hexdigest()[:16]


def evaluate_checkpoints(
    checkpoints: Sequence[str | Path],
    benchmark: str,
    cfg: HeldOutConfig,
    out: str | Path,
    steps: Sequence[int] | None = None,
    engine: str = "hf",
    engine_options: dict | None = None,
    workers: int | None = None,
    planned_steps: int | None = None,
    log=None,
) -> dict:
    """Evaluate each checkpoint not yet in ``out`` (a JSONL file); returns {"out",
    "records" (this run's lines for these checkpoints, in step order), "evaluated",
    "skipped" (checkpoints already there)}. ``planned_steps``: the run's planned total,
    written as ``max_steps`` so the monitor counts the planned looks right."""
    from rankinv.sandbox.executor import Sandbox
    from rankinv.validate.engines.registry import make_engine
    from rankinv.validate.models import model_key, resolve_model_dir

    out = Path(out)
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; --out names a JSONL file")
    if not checkpoints:
        raise UserError("give at least one checkpoint directory")
    step_list = resolve_steps(checkpoints, steps)
    for c in checkpoints:
        resolve_model_dir(c)  # one-line errors before anything loads
    tasks = load_tasks(benchmark, cfg.limit)
    tag = run_tag(tasks, benchmark, cfg)
    key = _key(tag)
    have = {r.get("checkpoint"): r for r in read_jsonl(out) if r.get("run_key") == key}
    records, evaluated, skipped = [], [], []
    todo = [(model_key(c), s) for c, s in zip(checkpoints, step_list, strict=True)]
    with Sandbox(workers) as sandbox:
        for ckpt, step in todo:
            if ckpt in have:
                skipped.append(ckpt)
                records.append(have[ckpt])
                continue
            if log:
                log(f"evaluating {ckpt} (step {step})")
            eng = make_engine(engine, ckpt, **(engine_options or {}))
            try:
                metrics = evaluate(eng, tasks, cfg, sandbox, cfg.seed * 1_000_003 + step)
            finally:
                eng.close()
            rec = {"step": step, **metrics, "checkpoint": ckpt, "revision": eng.revision}
            if planned_steps:
                rec["max_steps"] = int(planned_steps)
            rec.update({"run_key": key, **tag, "version": __version__})
            append_jsonl(out, rec)
            records.append(rec)
            evaluated.append(ckpt)
    records.sort(key=lambda r: r["step"])
    return {"out": str(out), "records": records, "evaluated": evaluated, "skipped": skipped}
