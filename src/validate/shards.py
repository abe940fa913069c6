"""One checkpoint's probe split into shards and merged (rankinv.validate.fanout).

Where workers outnumber checkpoints, a checkpoint's problems are dealt to several workers
(rankinv.validate.slots.plan_units). Shard k of n probes its problems into
``DIR/<name>/.shards/<k>-of-<n>/`` under the whole probe's tag (its records are the whole
run's, their seeds fixed per problem), and the merge folds every shard's records into
``DIR/<name>/samples.jsonl`` and summarises the checkpoint there, as an unsplit run does.

Resumable: before a run, records the shard folders hold that the checkpoint's file lacks are
folded into it (:func:`fold`), and each shard folder is given the checkpoint's records of
its problems (:func:`seed`), so a shard resumes from what any earlier run, split any way or
not, sampled. A record is one (run key, kind, problem, sample number); none is copied twice.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from rankinv._io import JsonlAppender, write_json
from rankinv.validate.probe import _key, _load_done, _wanted
from rankinv.validate.slots import Unit
from rankinv.validate.summary import ProbeRun, summarise
from rankinv.verdicts.probe_result import PROMPT_ENTROPY, SAMPLES

#: The folder, inside a checkpoint's, that holds its shards while they run.
SHARDS_DIR = ".shards"


def shard_dir(out: str | Path, unit: Unit) -> Path:
    return Path(out) / SHARDS_DIR / f"{unit.shard + 1}-of-{unit.of}"


def _lines(path: Path) -> list[tuple[tuple, str]]:
    """(identity, line) of every whole record in a samples.jsonl, in file order."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by an interruption
            continue
        if isinstance(rec, dict):
            ident = (rec.get("run_key"), rec.get("kind"), rec.get("task_id"), rec.get("sample"))
            out.append((ident, line))
    return out


def _append_missing(path: Path, lines: list[tuple[tuple, str]]) -> int:
    """Append the lines whose record ``path`` lacks, in order; how many."""
    have = {ident for ident, _ in _lines(path)}
    new = []
    for ident, line in lines:
        if ident not in have:
            have.add(ident)
            new.append(line)
    if new:
        with JsonlAppender(path) as fh:
            for line in new:
                fh.write(line + "\n")
            fh.flush()
    return len(new)


def shard_dirs(out: str | Path) -> list[Path]:
    root = Path(out) / SHARDS_DIR
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def fold(out: str | Path) -> int:
    """Append to ``out/samples.jsonl`` every record of its shard folders it lacks (shard
    folders in name order, each in file order); how many."""
    lines = [x for d in shard_dirs(out) for x in _lines(d / SAMPLES)]
    return _append_missing(Path(out) / SAMPLES, lines) if lines else 0


def seed(out: str | Path, unit: Unit, task_ids: list[str]) -> int:
    """Give ``unit``'s shard folder the records ``out/samples.jsonl`` holds of its problems
    (``task_ids``), so that it resumes from them; how many it lacked."""
    mine = set(task_ids)
    lines = [x for x in _lines(Path(out) / SAMPLES) if x[0][2] in mine]
    d = shard_dir(out, unit)
    d.mkdir(parents=True, exist_ok=True)
    return _append_missing(d / SAMPLES, lines) if lines else 0


def clear(out: str | Path) -> None:
    """Remove the shard folders (once their records are folded)."""
    shutil.rmtree(Path(out) / SHARDS_DIR, ignore_errors=True)


def _prompt_entropies(out: Path, key: str, task_ids: list[str]) -> dict[str, float]:
    """Every problem's prompt entropy from the shards' prompt_entropy.json (and the
    checkpoint's), written to the checkpoint's, in problem order."""
    values: dict[str, float] = {}
    for d in [out, *shard_dirs(out)]:
        f = d / PROMPT_ENTROPY
        if f.is_file():
            cached = json.loads(f.read_text())
            if cached.get("run_key") == key:
                values.update(cached["values"])
    missing = [t for t in task_ids if t not in values]
    if missing:
        raise RuntimeError(f"shards of {out} left no prompt entropy for {missing[0]}")
    ordered = {t: values[t] for t in task_ids}
    write_json(out / PROMPT_ENTROPY, {"run_key": key, "values": ordered})
    return ordered


def finish(out, task_ids, cfg, runs: list[ProbeRun], pre_rl: bool, elapsed_s: float,
           model_path: str | None = None) -> dict:  # fmt: skip
    """Merge a checkpoint's finished shards (``runs``: what each reported) into ``out``:
    fold their records, summarise as run_probe does (samples 0 .. cfg.samples - 1 of each
    problem, by number; ``model_path`` recorded where given), remove the shard folders; the
    summary."""
    out = Path(out)
    first = runs[0]
    if any(r.tag != first.tag for r in runs):
        raise RuntimeError(f"shards of {out} sampled under different tags")
    fold(out)
    key = _key(first.tag)
    done = _wanted(_load_done(out / SAMPLES, key), cfg.samples)
    short = [t for t in task_ids if len(done.get(t, [])) < cfg.samples]
    if short:
        raise RuntimeError(f"shards of {out} left {short[0]} with too few samples")
    prompt_h = {}
    if first.entropy_mode in ("prompt", "both"):
        prompt_h = _prompt_entropies(out, key, task_ids)
    info = replace(
        first,
        new_samples=sum(r.new_samples for r in runs),
        new_entropies_scored=sum(r.new_entropies_scored for r in runs),
        elapsed_s=elapsed_s,
    )
    result = summarise(task_ids, done, prompt_h, cfg.plan(len(task_ids)), cfg, info, pre_rl)
    if model_path is not None:
        result.setup = replace(result.setup, model_path=model_path)
    result.save(out)
    clear(out)
    return {**result.summary, "setup": result.setup.to_json()}
