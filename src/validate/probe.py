"""The checkpoint probe, `rankinv validate`.

The probe's config, argument checks and its three phases (sample with the sandbox
overlapping, free, score: :mod:`rankinv.validate.probe_score`) with their resumable I/O,
read top to bottom.

Sample each problem N times at T = 1, run
every sample in the sandbox, measure per-problem p and entropy, and give the stage-1 risk.

Every sample is appended to ``samples.jsonl`` as soon as it is executed, tagged with the
model path and revision, the benchmark hash, the sampling config and the package version;
a rerun with the same tags resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rankinv import __version__
from rankinv._io import JsonlAppender, write_json
from rankinv.errors import UserError
from rankinv.records import DEFAULT_BATCH_PROMPTS, Plan
from rankinv.theory import paper
from rankinv.validate.engines import ENGINES, Engine, Request, Sampling
from rankinv.validate.probe_score import score_phase
from rankinv.validate.prompts import HUMANEVAL_STOP, completion_of, default_stop, task_prompt
from rankinv.validate.summary import overall_summary, problem_summary
from rankinv.verdicts import signals as sg
from rankinv.verdicts.probe_result import (
    PRE_RL,
    PROMPT_ENTROPY,
    SAMPLES,
    ProbeResult,
    ProbeSetup,
)

TAU_H = paper.TAU_H


@dataclass(frozen=True)
class ProbeConfig:
    benchmark: str = "humaneval"
    samples: int = 128
    group_size: int = paper.GROUP_SIZE
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 384
    limit: int | None = None  # first K problems only
    seed: int = 0
    tau_h: float = TAU_H
    # the planned GRPO run the checkpoint is screened for (the stage-1 signal's budget)
    rl_steps: int = paper.RL_STEPS
    batch_prompts: int = DEFAULT_BATCH_PROMPTS
    n_prompts: int | None = None  # None: the number of problems probed
    signal: str | None = None  # stage-1 predictor; None: the calibrated default
    timeout_s: float = 3.0
    # sandbox workers; None: one per available CPU but one, which the sampler's thread uses
    # (the checks run while sampling goes on)
    workers: int | None = None
    allow_imports: tuple[str, ...] = ()  # site-packages modules the completions may import
    reward: str | None = None  # "module:function": the user's reward judges every completion

    def __post_init__(self):
        if (
            isinstance(self.group_size, bool)
            or not isinstance(self.group_size, int)
            or self.group_size < 2
        ):
            raise UserError(f"group size must be an integer >= 2, got {self.group_size!r}")
        if not isinstance(self.samples, int) or self.samples < self.group_size:
            raise UserError(
                f"samples must be an integer >= group size ({self.group_size}), "
                f"got {self.samples!r}"
            )
        if self.signal is not None and self.signal not in sg.STAGE1_SIGNALS:
            raise UserError(
                f"signal must be one of {sorted(sg.STAGE1_SIGNALS)}, got {self.signal!r}"
            )
        if self.limit is not None and self.limit < 1:
            raise UserError(f"limit must be >= 1, got {self.limit!r}")
        if not self.temperature > 0:
            raise UserError(
                f"temperature must be > 0 (GRPO samples its groups at T > 0; at T = 0 every "
                f"p-hat is 0 or 1), got {self.temperature!r}"
            )

    def plan(self, n_problems: int) -> Plan:
        """The planned GRPO run (n_prompts: the problems probed unless set)."""
        return Plan(
            group_size=self.group_size,
            rl_steps=self.rl_steps,
            batch_prompts=self.batch_prompts,
            n_prompts=self.n_prompts or n_problems,
        )

    def sampling_tag(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }


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


class ProbeInterrupted(KeyboardInterrupt):
    """Ctrl-C during a probe: the message says what was kept and how to resume."""


def check_probe_args(out: str | Path, entropy_mode: str, engine: str = "hf") -> Path:
    """Argument checks that need no model: run before anything heavy is loaded."""
    if entropy_mode not in ("prompt", "rollout", "both"):
        raise UserError(f"--entropy must be prompt, rollout or both, got {entropy_mode!r}")
    if engine not in ENGINES:
        raise UserError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is an existing file; --out names a directory")
    for name in (SAMPLES, PROMPT_ENTROPY):
        if (out_dir / name).is_dir():
            raise UserError(f"--out {out_dir}: {name} there is a directory")
    return out_dir


def request_seed(seed: int, task_index: int, first_sample: int) -> int:
    """The seed of one problem's request for samples first_sample.. (a rerun that resumes
    asks for the missing samples with a seed of their own)."""
    h = hashlib.sha256(f"{seed}:{task_index}:{first_sample}".encode()).hexdigest()
    return int(h[:8], 16)


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
    """
    from rankinv.sandbox import tasks as task_sets
    from rankinv.validate.engines import make_engine

    out_dir = check_probe_args(out, entropy_mode, engine if isinstance(engine, str) else "hf")
    tasks = task_sets.load(cfg.benchmark, reward=cfg.reward)
    if cfg.limit:
        tasks = tasks[: cfg.limit]
    stop = tuple(default_stop(tasks, chat_template) if stop is None else stop)
    eng = (
        make_engine(engine, model, **(engine_options or {})) if isinstance(engine, str) else engine
    )
    try:
        return _probe(
            eng, model, cfg, out_dir, tasks, progress, entropy_mode, chat_template, stop, pre_rl
        )
    finally:
        eng.close()


def _probe(eng, model, cfg, out_dir, tasks, progress, entropy_mode, chat_template, stop, pre_rl):
    from rankinv.sandbox import tasks as task_sets

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
    samples_path = out_dir / SAMPLES
    done = _load_done(samples_path, key)
    prompt_ids = eng.encode(prompts)
    t0 = time.perf_counter()
    total = len(tasks) * cfg.samples
    kept_before = sum(min(cfg.samples, len(done.get(t.task_id, []))) for t in tasks)
    counts = {"written": 0, "scored": 0}
    try:
        _sample_phase(eng, cfg, tasks, prompt_ids, done, key, tag, samples_path, stop,
                      chat_template, progress, counts)  # fmt: skip
        eng.close()  # phase 2: the sampling backend's memory is freed before any scoring
        prompt_h = score_phase(eng, tasks, prompt_ids, done, key, out_dir, entropy_mode, counts)
    except KeyboardInterrupt:
        kept = kept_before + counts["written"]
        raise ProbeInterrupted(
            f"interrupted: kept {kept} of {total} samples in {samples_path}; "
            "rerun the same command to resume from there"
        ) from None
    problems = [
        problem_summary(t.task_id, done[t.task_id][: cfg.samples], prompt_h.get(t.task_id))
        for t in tasks
    ]
    summary = overall_summary(problems, cfg, eng.vocab_size)
    n_min = int(min(p["n"] for p in problems))
    summary.update(
        {
            "model": str(model),
            "tag": tag,
            "config": asdict(cfg),
            "new_samples": counts["written"],
            "new_entropies_scored": counts["scored"],
            "elapsed_s": time.perf_counter() - t0,
            "entropy_mode": entropy_mode,
            "engine": eng.name,
            "chat_template": chat_template,
            "stop": list(stop),
            "reward": cfg.reward,
        }
    )
    if summary["pass_at_64"] is None:
        summary["pass_at_64_note"] = (
            f"pass@64 needs at least 64 samples per problem, this probe has {n_min} "
            "(--samples 64 or more)"
        )
    plan = cfg.plan(len(problems))
    if pre_rl:
        from rankinv.validate.prerl import prerl_report

        rep = prerl_report(
            [p["task_id"] for p in problems],
            [p["n"] for p in problems],
            [p["c"] for p in problems],
            plan,
        )
        write_json(out_dir / PRE_RL, rep)
        summary["pre_rl"] = {k: v for k, v in rep.items() if k != "prompts"}
    setup = ProbeSetup(
        model=str(model),
        revision=tag["revision"],
        benchmark=cfg.benchmark,
        benchmark_hash=tag["benchmark_hash"],
        n_problems=len(tasks),
        samples=cfg.samples,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        max_new_tokens=cfg.max_new_tokens,
        seed=cfg.seed,
        stop=stop,
        chat_template=chat_template,
        engine=eng.name,
        end_tokens=tuple(sorted(int(t) for t in eng.end_tokens)),
        group_size=plan.group_size,
        rl_steps=plan.rl_steps,
        batch_prompts=plan.batch_prompts,
        n_prompts=plan.n_prompts,
        version=__version__,
    )
    ProbeResult(summary=summary, problems=problems, setup=setup).save(out_dir)
    return {**summary, "setup": setup.to_json()}


def _sample_phase(eng, cfg, tasks, prompt_ids, done, key, tag, samples_path, stop,
                  chat_template, progress, counts):  # fmt: skip
    """Phase 1: sample the missing rows; check and append them as they finish."""
    from concurrent.futures import ThreadPoolExecutor

    from rankinv.sandbox import io_tasks
    from rankinv.sandbox.executor import Sandbox

    requests, firsts = [], []
    for i, task in enumerate(tasks):
        have = len(done.get(task.task_id, []))
        if have < cfg.samples:
            requests.append(
                Request(tuple(prompt_ids[i]), cfg.samples - have, request_seed(cfg.seed, i, have))
            )
            firsts.append((i, have))
    if not requests:
        return
    n_rows = sum(r.n for r in requests)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_rows, desc="probing", unit="sample")
    sampling = Sampling(
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        max_new_tokens=cfg.max_new_tokens,
        stop=stop,
    )
    next_sample = [have for _, have in firsts]
    block_size = max(8, min(256, getattr(eng, "batch_size", None) or 64))
    try:
        with (
            Sandbox(sandbox_workers(cfg.workers), allow_imports=cfg.allow_imports) as sandbox,
            JsonlAppender(samples_path) as fh,  # whole lines; flush fsyncs
            ThreadPoolExecutor(max_workers=1) as checker,
        ):

            def write(block, outcomes):
                for (i, sample, g, code), o in zip(block, outcomes, strict=True):
                    task = tasks[i]
                    rec = {
                        "run_key": key,
                        **tag,
                        "task_id": task.task_id,
                        "sample": sample,
                        "completion": code,
                        "n_tokens": g.n_tokens,
                        "mean_entropy": g.mean_entropy if g.entropies else None,
                        "passed": o.passed,
                        "status": o.status,
                        "exec_seconds": o.seconds,
                    }
                    if not g.entropies:  # scored in phase 3 from these ids
                        rec["token_ids"] = list(g.token_ids)
                    if chat_template:
                        rec["answer"] = g.text
                    fh.write(json.dumps(rec) + "\n")
                    done.setdefault(task.task_id, []).append(rec)
                fh.flush()
                counts["written"] += len(block)
                if bar is not None:
                    bar.update(len(block))

            pending = []  # (block, future) in submission order

            def drain(wait: bool):
                while pending and (wait or pending[0][1].done()):
                    block, fut = pending.pop(0)
                    write(block, fut.result())

            def flush(block):
                pairs = [(tasks[i], code) for i, _, _, code in block]
                fut = checker.submit(io_tasks.check_many, sandbox, pairs, cfg.timeout_s)
                pending.append((block, fut))
                drain(wait=False)

            block = []
            try:
                for k, g in eng.sample(requests, sampling):
                    i = firsts[k][0]
                    sample = next_sample[k]
                    next_sample[k] += 1
                    code = completion_of(tasks[i], g.text, chat_template)
                    block.append((i, sample, g, code))
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
    finally:
        if bar is not None:
            bar.close()


def sandbox_workers(workers: int | None) -> int:
    """``--workers``, or one per available CPU but the one the sampler keeps busy: on this
    project's 2-core machine one worker beside the sampler gave a median 14.3 s per probe of
    256 samples against 15.2 s with two (5 alternating runs each)."""
    from rankinv.sandbox.executor import default_workers

    return workers if workers is not None else max(1, default_workers() - 1)


def _keep_checked(pending, write, wait_s: float = 30.0) -> None:
    """On Ctrl-C: write the blocks whose sandbox checks end within ``wait_s`` (the rest are
    sampled again by the rerun)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    for block, fut in pending:
        try:
            outcomes = fut.result(timeout=wait_s)
        except (FutureTimeout, KeyboardInterrupt, OSError, RuntimeError):
            return
        write(block, outcomes)
