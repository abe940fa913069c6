"""The checkpoint probe, `rankinv validate`: the runner of the probe's stages.

Sample each problem N times at T = 1, run every sample in the sandbox, measure per-problem p
and entropy, and give the stage-1 risk. The stages are typed steps
(:mod:`rankinv.validate.stages`: generate, execute; :mod:`rankinv.validate.probe_score`:
score; :mod:`rankinv.validate.summary`: summarise); this module chains them, overlaps
sampling with the sandbox checks, and keeps their resumable I/O.

Every sample is appended to ``samples.jsonl`` as soon as it is executed, tagged with the
model's name and revision, the benchmark hash, the sampling config and the package version;
a rerun with the same tags resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path

from rankinv import __version__
from rankinv._io import JsonlAppender
from rankinv.errors import UserError
from rankinv.sandbox import tasks as task_sets
from rankinv.sandbox.executor import Sandbox, default_workers
from rankinv.validate.config import ProbeConfig
from rankinv.validate.engines.base import Engine
from rankinv.validate.engines.registry import engine_spec, make_engine
from rankinv.validate.models import model_key, model_name
from rankinv.validate.probe_score import score
from rankinv.validate.prompts import HUMANEVAL_STOP, default_stop, task_prompt
from rankinv.validate.stages import (
    Sample,
    execute,
    generate,
    pending_rows,
    sample_record,
    sampling_of,
)
from rankinv.validate.summary import ProbeRun, summarise
from rankinv.verdicts.probe_result import PROMPT_ENTROPY, SAMPLES


def _key(tag: dict) -> str:
    return hashlib.sha256(json.dumps(tag, sort_keys=True).encode()).hexdigest()[:16]


def _load_done(path: Path, key: str) -> dict[str, list[dict]]:
    """This run's sample records by task, in file order, each with the entropy of any
    later entropy record (phase 3) merged in; a line cut by an interruption is skipped
    (that sample is redone)."""
    done: dict[str, list[dict]] = {}
    if not path.exists():
        return done
    by_sample: dict[tuple[str, int], dict] = {}
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("run_key") != key:
            continue
        if rec.get("kind") == "entropy":
            if (rec["task_id"], rec["sample"]) in by_sample:
                by_sample[(rec["task_id"], rec["sample"])]["mean_entropy"] = rec["mean_entropy"]
            continue
        done.setdefault(rec["task_id"], []).append(rec)
        by_sample[(rec["task_id"], rec["sample"])] = rec
    return done


def _wanted(done: dict[str, list[dict]], samples: int) -> dict[str, list[dict]]:
    """Each problem's records of samples 0 .. ``samples`` - 1, by number (the order samples
    finish in, and whether a run was resumed, change nothing)."""
    return {
        t: sorted((r for r in recs if r["sample"] < samples), key=lambda r: r["sample"])
        for t, recs in done.items()
    }


class ProbeInterrupted(KeyboardInterrupt):
    """Ctrl-C during a probe: the message says what was kept and how to resume."""


def check_probe_args(out: str | Path, entropy_mode: str, engine: str = "hf") -> Path:
    """Argument checks that need no model: run before anything heavy is loaded."""
    if entropy_mode not in ("prompt", "rollout", "both"):
        raise UserError(f"--entropy must be prompt, rollout or both, got {entropy_mode!r}")
    engine_spec(engine)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is an existing file; --out names a directory")
    for name in (SAMPLES, PROMPT_ENTROPY):
        if (out_dir / name).is_dir():
            raise UserError(f"--out {out_dir}: {name} there is a directory")
    return out_dir


def run_probe(
    model: str,
    cfg: ProbeConfig,
    out: str | Path,
    engine: str | Engine = "hf",
    engine_options: dict | None = None,
    progress: bool = True,
    entropy_mode: str = "both",
    chat_template: bool = False,
    stop: tuple[str, ...] | None = None,
    pre_rl: bool = False,
    problems: Sequence[int] | None = None,
    name: str | None = None,
    record_path: bool = False,
) -> dict:
    """Probe a checkpoint; returns the summary (also written to validate_summary.json).

    ``engine``: "hf", "vllm" (built with ``engine_options``: batch_size, and for vLLM its
    pass-through options) or an :class:`Engine` already built. Three phases, so that no
    phase holds two copies of the model on one device:

    1. sample: every missing (problem, sample) row, one request per problem; finished
       samples are checked in the sandbox on a background thread while sampling goes on
       and appended to samples.jsonl as soon as their verdicts are in (Ctrl-C and rerun
       resume from there);
    2. free the sampling backend (vLLM's weights and KV cache);
    3. score: the prompt entropy, and the exact rollout entropy of samples whose engine
       could not see full logits (vLLM), by the teacher-forced scorer; appended to
       samples.jsonl as entropy records, so this phase resumes too.

    ``chat_template`` wraps each prompt with the tokenizer's chat template and takes the code
    out of the answer; ``stop`` overrides the stop strings (HumanEval's by default, none with
    a chat template, where the model's end-of-turn token ends the answer). ``pre_rl``: also
    write pre_rl.json for the config's planned run (:mod:`rankinv.validate.prerl`).

    ``progress``: a tqdm bar, or a callable ``progress(total)`` giving an object with
    ``update(n)`` and ``close()`` (rankinv.validate.progress). ``problems``: one shard of the
    probe (rankinv.validate.shards): only these problems (indices into the task set) are
    sampled and scored, under the whole set's tag, and the run's facts come back
    (``{"probe_run": ProbeRun}``) for the merge, which summarises.

    The probe names the checkpoint ``name`` (default: its folder's name, or its Hub id), so
    that a probe folder read on another machine names no path of this one; ``record_path``
    also records its full path (the setup's ``model_path``).
    """
    out_dir = check_probe_args(out, entropy_mode, engine if isinstance(engine, str) else "hf")
    tasks = task_sets.load(cfg.benchmark, reward=cfg.reward)
    if cfg.limit:
        tasks = tasks[: cfg.limit]
    stop = tuple(default_stop(tasks, chat_template) if stop is None else stop)
    eng = (
        make_engine(engine, model, **(engine_options or {})) if isinstance(engine, str) else engine
    )
    label = name or model_name(model)
    path = model_key(model) if record_path else None
    try:
        return _probe(eng, label, path, cfg, out_dir, tasks, progress, entropy_mode,
                      chat_template, stop, pre_rl, problems)  # fmt: skip
    finally:
        eng.close()


@dataclass
class _Probe:
    """One probe run as the runner holds it: the engine, the config, the tasks and their
    prompt ids, the records so far (``done``, by task), the run's tag and key, where it
    writes, and what this run added (``counts``)."""

    eng: Engine
    cfg: ProbeConfig
    tasks: list
    prompt_ids: list[list[int]]
    done: dict[str, list[dict]]
    tag: dict
    key: str
    out_dir: Path
    stop: tuple[str, ...]
    chat_template: bool
    counts: dict = field(default_factory=lambda: {"written": 0, "scored": 0})
    only: frozenset[int] | None = None  # a shard's problems (None: all)


def _open(eng, model, cfg, out_dir, tasks, chat_template, stop) -> _Probe:
    """The run's tag and key, the records a previous run with that key left, the prompts."""
    prompts = [task_prompt(eng.tokenizer, t, chat_template) for t in tasks]
    out_dir.mkdir(parents=True, exist_ok=True)
    sampling = cfg.sampling_tag()
    if chat_template or stop != HUMANEVAL_STOP:
        sampling = {**sampling, "chat_template": chat_template, "stop": list(stop)}
    tag = {
        "model": str(model),
        "revision": eng.revision,
        "benchmark": cfg.benchmark,
        "benchmark_hash": task_sets.benchmark_hash(tasks),
        "sampling": sampling,
        "version": __version__,
    }
    key = _key(tag)
    done = _load_done(out_dir / SAMPLES, key)
    return _Probe(eng, cfg, tasks, eng.encode(prompts), done, tag, key, out_dir, stop,
                  chat_template)  # fmt: skip


def _probe(eng, model, model_path, cfg, out_dir, tasks, progress, entropy_mode, chat_template,
           stop, pre_rl, problems=None):  # fmt: skip
    run = _open(eng, model, cfg, out_dir, tasks, chat_template, stop)
    mine = range(len(tasks)) if problems is None else sorted(set(problems))
    run.only = None if problems is None else frozenset(mine)
    t0 = time.perf_counter()
    try:
        _sample_and_check(run, progress)  # stages 1 and 2, overlapped
        eng.close()  # the sampling backend's memory is freed before any scoring
        prompt_h = score(eng, [tasks[i] for i in mine], [run.prompt_ids[i] for i in mine],
                         run.done, run.key, out_dir, entropy_mode, run.counts)  # fmt: skip
    except KeyboardInterrupt:
        total = len(tasks) * cfg.samples
        # counted on disk once the file is closed: a block's lines can reach it (flushed on
        # close) after the interrupt and before its count was added
        kept = sum(
            len(v) for v in _wanted(_load_done(out_dir / SAMPLES, run.key), cfg.samples).values()
        )
        raise ProbeInterrupted(
            f"interrupted: kept {kept} of {total} samples in {out_dir / SAMPLES}; "
            "rerun the same command to resume from there"
        ) from None
    info = ProbeRun(
        model=str(model),
        tag=run.tag,
        engine=eng.name,
        vocab_size=eng.vocab_size,
        end_tokens=tuple(eng.end_tokens),
        entropy_mode=entropy_mode,
        chat_template=chat_template,
        stop=stop,
        new_samples=run.counts["written"],
        new_entropies_scored=run.counts["scored"],
        elapsed_s=time.perf_counter() - t0,
    )
    if problems is not None:
        return {"probe_run": info}
    task_ids = [t.task_id for t in tasks]
    records = _wanted(run.done, cfg.samples)
    result = summarise(task_ids, records, prompt_h, cfg.plan(len(tasks)), cfg, info, pre_rl)
    if model_path is not None:
        result.setup = replace(result.setup, model_path=model_path)
    result.save(out_dir)
    return {**result.summary, "setup": result.setup.to_json()}


def _sample_and_check(run: _Probe, progress: bool) -> None:
    """Stages 1 and 2 overlapped: the missing rows are sampled; every block of finished
    samples is checked in the sandbox on a background thread while sampling goes on, and
    appended to samples.jsonl (in order) as soon as its outcomes are in."""
    cfg = run.cfg
    rows = pending_rows(run.tasks, run.prompt_ids, run.done, cfg)
    rows = [r for r in rows if run.only is None or r.task in run.only]
    if not rows:
        return
    bar = None
    if callable(progress):
        bar = progress(sum(r.request.n for r in rows))
    elif progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(r.request.n for r in rows), desc="probing", unit="sample")
    block_size = max(8, min(256, getattr(run.eng, "batch_size", None) or 64))
    samples = generate(run.eng, rows, sampling_of(cfg, run.stop), run.tasks, run.chat_template)
    try:
        with (
            Sandbox(sandbox_workers(cfg.workers), allow_imports=cfg.allow_imports) as sandbox,
            JsonlAppender(run.out_dir / SAMPLES) as fh,  # whole lines; flush fsyncs
            ThreadPoolExecutor(max_workers=1) as checker,
        ):

            def write(block: list[Sample], outcomes) -> None:
                for s, o in zip(block, outcomes, strict=True):
                    task_id = run.tasks[s.task].task_id
                    rec = sample_record(run.key, run.tag, task_id, s, o, run.chat_template)
                    fh.write(json.dumps(rec) + "\n")
                    run.done.setdefault(task_id, []).append(rec)
                fh.flush()
                run.counts["written"] += len(block)
                if bar is not None:
                    bar.update(len(block))

            _overlap(samples, block_size, write, lambda block: checker.submit(
                execute, sandbox, run.tasks, block, cfg.timeout_s))  # fmt: skip
    finally:
        if bar is not None:
            bar.close()


def _overlap(samples, block_size: int, write, submit) -> None:
    """Blocks of ``block_size`` samples go to ``submit`` (the sandbox's thread) as they are
    sampled; each is written, in order, once its outcomes are in. On Ctrl-C the blocks whose
    checks end soon are written (:func:`_keep_checked`) before the interrupt goes on."""
    pending = []  # (block, future) in submission order

    def drain(wait: bool):
        while pending and (wait or pending[0][1].done()):
            block, fut = pending.pop(0)
            write(block, fut.result())

    def flush(block):
        pending.append((block, submit(block)))
        drain(wait=False)

    block: list[Sample] = []
    try:
        for s in samples:
            block.append(s)
            if len(block) >= block_size:
                flush(block)
                block = []
    except KeyboardInterrupt:  # keep what was sampled if its checks end soon
        if block:
            flush(block)
        _keep_checked(pending, write)
        raise
    if block:
        flush(block)
    drain(wait=True)


def sandbox_workers(workers: int | None) -> int:
    """``--workers``, or one per available CPU but the one the sampler keeps busy: on this
    project's 2-core machine one worker beside the sampler gave a median 14.3 s per probe of
    256 samples against 15.2 s with two (5 alternating runs each)."""
    return workers if workers is not None else max(1, default_workers() - 1)


def _keep_checked(pending, write, wait_s: float = 30.0) -> None:
    """On Ctrl-C: write the blocks whose sandbox checks end within ``wait_s`` (the rest are
    sampled again by the rerun)."""
    for block, fut in pending:
        try:
            outcomes = fut.result(timeout=wait_s)
        except (FutureTimeout, KeyboardInterrupt, OSError, RuntimeError):
            return
        write(block, outcomes)
