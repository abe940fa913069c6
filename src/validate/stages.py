"""The probe's stages, each a typed step (the runner, :mod:`rankinv.validate.probe`, chains
them, overlaps the first two and keeps their resumable I/O):

1. generate: an engine's completions of the missing (problem, sample) rows, as
   :class:`Sample` s (:func:`pending_rows`, :func:`generate`);
2. execute: a block of samples checked in the sandbox, one ``Outcome`` each
   (:func:`execute`), and the sample record appended to samples.jsonl (:func:`sample_record`);
3. score: the entropies the engine could not see, by the teacher-forced scorer
   (:func:`rankinv.validate.probe_score.score`);
4. summarise: the records and the planned run into a
   :class:`rankinv.verdicts.probe_result.ProbeResult`
   (:func:`rankinv.validate.summary.summarise`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rankinv.sandbox import io_tasks
from rankinv.sandbox.executor import Outcome
from rankinv.validate.config import ProbeConfig
from rankinv.validate.engines.base import Engine, Generation, Request, Sampling
from rankinv.validate.prompts import completion_of


@dataclass(frozen=True)
class Row:
    """The samples still missing for one problem: one request for them (numbered)."""

    task: int  # index into the probe's tasks
    request: Request


@dataclass(frozen=True)
class Sample:
    """One sampled completion of one problem, and the code that is judged of it."""

    task: int  # index into the probe's tasks
    sample: int  # its number among the problem's samples
    generation: Generation
    completion: str


def request_seed(seed: int, task_id: str) -> int:
    """The seed of one problem's samples: of the run's seed and the problem's id alone, so
    that a rerun that resumes asks for the missing samples with the seed an uninterrupted
    run used (and the HF engine, which keys each sample by (seed, number), draws them
    alike)."""
    h = hashlib.sha256(f"{seed}:{task_id}".encode()).hexdigest()
    return int(h[:8], 16)


def pending_rows(
    tasks: Sequence, prompt_ids: Sequence[Sequence[int]], done: dict, cfg: ProbeConfig
) -> list[Row]:
    """One :class:`Row` per problem with samples 0 .. ``cfg.samples`` - 1 not all ``done``:
    a request for the missing numbers."""
    rows = []
    for i, task in enumerate(tasks):
        have = {r["sample"] for r in done.get(task.task_id, [])}
        missing = tuple(j for j in range(cfg.samples) if j not in have)
        if missing:
            seed = request_seed(cfg.seed, task.task_id)
            rows.append(Row(i, Request(tuple(prompt_ids[i]), len(missing), seed, missing)))
    return rows


def sampling_of(cfg: ProbeConfig, stop: tuple[str, ...]) -> Sampling:
    """How the probe samples: the config's temperature, top-p and length, ``stop``."""
    return Sampling(
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        max_new_tokens=cfg.max_new_tokens,
        stop=stop,
    )


def generate(
    eng: Engine, rows: Sequence[Row], sampling: Sampling, tasks: Sequence, chat_template: bool
) -> Iterator[Sample]:
    """Stage 1: every missing sample of ``rows``, as the engine finishes them (not in input
    order), each numbered (by the engine where it says which sample it is, else in the order
    they come) and with the completion that is judged."""
    unnamed = [list(r.request.sample_numbers) for r in rows]
    for k, g in eng.sample([r.request for r in rows], sampling):
        i = rows[k].task
        sample = unnamed[k].pop(0) if g.number is None else g.number
        yield Sample(i, sample, g, completion_of(tasks[i], g.text, chat_template))


def execute(sandbox, tasks: Sequence, block: Sequence[Sample], timeout_s: float) -> list[Outcome]:
    """Stage 2: each sample's completion checked in ``sandbox`` against its problem's test
    (an IO, reward or function task alike), in input order."""
    pairs = [(tasks[s.task], s.completion) for s in block]
    return io_tasks.check_many(sandbox, pairs, timeout_s)


def sample_record(
    key: str, tag: dict, task_id: str, s: Sample, o: Outcome, chat_template: bool
) -> dict:
    """The samples.jsonl line of one checked sample (tagged with the run; the token ids kept
    where the engine left the entropy to be scored)."""
    g = s.generation
    rec = {
        "run_key": key,
        **tag,
        "task_id": task_id,
        "sample": s.sample,
        "completion": s.completion,
        "n_tokens": g.n_tokens,
        "mean_entropy": g.mean_entropy if g.entropies else None,
        "passed": o.passed,
        "status": o.status,
        "exec_seconds": o.seconds,
    }
    if not g.entropies:  # scored in stage 3 from these ids
        rec["token_ids"] = list(g.token_ids)
    if chat_template:
        rec["answer"] = g.text
    return rec
