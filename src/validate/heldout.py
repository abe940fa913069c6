"""Held-out coverage of a policy: sample n completions per held-out prompt, check them in the
sandbox, and summarise pass@k with its standard error and the shares of groups of g.

One evaluation, three users: the TRL callback (``rankinv.integrations.trl``) on the model in
training, ``rankinv evaluate`` on saved checkpoints (:mod:`rankinv.validate.checkpoints`), and
the tests. The columns it writes are the ones ``rankinv monitor`` reads
(``rankinv.verdicts.coverage``): ``eval/pass_at_1``, ``eval/pass_at_<k>`` and
``eval/pass_at_<k>_se``, with ``eval/informative_fraction``, ``eval/all_fail_fraction`` and
``eval/all_pass_fraction`` beside them.

For prompt i with c_i of n samples passing, x_i = pass@k(n, c_i, k) (the unbiased estimator,
``rankinv.theory.pass_at_k``) and

    pass@k = mean_i x_i,    se = sd_i(x_i) / sqrt(P)     (P prompts, sd with ddof = 1)

The spread of x_i over prompts holds both the prompts' differences and each x_i's sampling
noise, so se is the standard error of pass@k as an estimate over the held-out population.
The shares of groups of g (GRPO's group size) are unbiased too: a group of g drawn from the
n samples is all-fail with probability C(n - c, g) / C(n, g) = 1 - pass@g(n, c), all-pass
with 1 - pass@g(n, n - c); informative is the rest
(``theory.informative_fraction_unbiased``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.validate.engines import Request, Sampling
from rankinv.validate.prompts import HUMANEVAL_STOP, chat_prompt, extract_code

#: The prefix of every column in a JSONL evaluation log (the monitor's names).
PREFIX = "eval/"


@dataclass(frozen=True)
class HeldOutConfig:
    """How a held-out evaluation samples and what it reports.

    samples: completions per prompt (n); ks: the k of each pass@k (1 is always added;
    None: 1 and min(8, samples));
    group_size: g of the reported group shares (None: min(8, samples)); stop: stop strings
    (None: HumanEval's for function tasks, the IO tasks' own otherwise, none with a chat
    template); limit: the first K prompts only."""

    samples: int = 16
    ks: tuple[int, ...] | None = None
    group_size: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] | None = None
    chat_template: bool = False
    seed: int = 0
    timeout_s: float = 3.0
    limit: int | None = None

    def __post_init__(self):
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise UserError(f"samples must be an integer >= 1, got {self.samples!r}")
        if self.ks is None:
            object.__setattr__(self, "ks", (1, min(8, self.samples)))
        bad = [k for k in self.ks if isinstance(k, bool) or not isinstance(k, int)]
        if bad or any(not 1 <= k <= self.samples for k in self.ks):
            raise UserError(
                f"every k must be an integer in [1, samples = {self.samples}], got {self.ks!r}"
            )
        ks = tuple(sorted({1, *self.ks}))
        object.__setattr__(self, "ks", ks)
        g = self.group_size
        if g is not None and (isinstance(g, bool) or not isinstance(g, int) or g < 2):
            raise UserError(f"group size must be an integer >= 2, got {g!r}")
        if g is not None and g > self.samples:
            raise UserError(f"group size {g} needs samples >= {g}, got {self.samples}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"limit must be >= 1, got {self.limit!r}")
        Sampling(self.temperature, self.top_p, self.max_new_tokens)  # checks them

    @property
    def g(self) -> int | None:
        """The group size of the shares (None when samples < 2: no group to share)."""
        if self.group_size is not None:
            return self.group_size
        return min(8, self.samples) if self.samples >= 2 else None

    def stops_for(self, tasks) -> tuple[str, ...]:
        from rankinv.sandbox import io_tasks

        if self.stop is not None:
            return tuple(self.stop)
        if self.chat_template:
            return ()
        if tasks and all(isinstance(t, io_tasks.IOTask) for t in tasks):
            return io_tasks.IO_STOP
        return HUMANEVAL_STOP

    def to_json(self) -> dict:
        return {
            "samples": self.samples,
            "ks": list(self.ks),
            "group_size": self.g,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "stop": None if self.stop is None else list(self.stop),
            "chat_template": self.chat_template,
            "seed": self.seed,
            "limit": self.limit,
        }


def load_tasks(tasks, limit: int | None = None) -> list:
    """A benchmark name or path (``rankinv.sandbox.tasks.load``) or a list of tasks; the first
    ``limit`` of them."""
    from rankinv.sandbox import tasks as task_sets

    out = task_sets.load(tasks) if isinstance(tasks, str) else list(tasks)
    out = out[:limit] if limit else out
    if not out:
        raise UserError("the held-out set has no tasks")
    return out


def coverage_metrics(n: Sequence[int], c: Sequence[int], ks: Sequence[int], g: int | None) -> dict:
    """pass@k and its standard error over prompts for each k, and the shares of groups of g
    (module docstring), from per-prompt sample counts n and passes c; keys without a prefix
    (``pass_at_1``, ``pass_at_1_se``, ..., ``informative_fraction``, ``all_fail_fraction``,
    ``all_pass_fraction``, ``n_prompts``). The standard errors need at least two prompts
    (None with one)."""
    n_arr, c_arr = np.asarray(n, dtype=int), np.asarray(c, dtype=int)
    if n_arr.size == 0 or n_arr.shape != c_arr.shape:
        raise UserError("coverage needs one (n, c) pair per prompt, at least one prompt")
    p = n_arr.size
    out: dict = {"n_prompts": int(p)}
    for k in ks:
        x = np.atleast_1d(theory.pass_at_k(n_arr, c_arr, k))
        out[f"pass_at_{k}"] = float(x.mean())
        out[f"pass_at_{k}_se"] = float(x.std(ddof=1) / np.sqrt(p)) if p > 1 else None
    if g is not None:
        fail = 1.0 - np.atleast_1d(theory.pass_at_k(n_arr, c_arr, g))
        win = 1.0 - np.atleast_1d(theory.pass_at_k(n_arr, n_arr - c_arr, g))
        out["all_fail_fraction"] = float(fail.mean())
        out["all_pass_fraction"] = float(win.mean())
        info = np.atleast_1d(theory.informative_fraction_unbiased(n_arr, c_arr, g))
        out["informative_fraction"] = float(info.mean())
        out["group_size"] = int(g)
    return out


def prompts_of(tasks, tokenizer, cfg: HeldOutConfig) -> list[str]:
    from rankinv.sandbox import io_tasks

    if not cfg.chat_template:
        return [t.prompt for t in tasks]
    return [
        chat_prompt(tokenizer, t.prompt, io_tasks.IO_CHAT_INSTRUCTION)
        if isinstance(t, io_tasks.IOTask)
        else chat_prompt(tokenizer, t.prompt)
        for t in tasks
    ]


def sample_counts(engine, tasks, cfg: HeldOutConfig, sandbox, seed: int) -> list[int]:
    """Passes c_i of ``cfg.samples`` completions of each task: sampled by ``engine`` (any
    :class:`rankinv.validate.engines.Engine`), checked in ``sandbox`` (a
    :class:`rankinv.sandbox.executor.Sandbox`: generated code never runs in this process)."""
    from rankinv.sandbox import io_tasks

    ids = engine.encode(prompts_of(tasks, engine.tokenizer, cfg))
    reqs = [Request(tuple(p), cfg.samples, seed * 1_000_003 + i) for i, p in enumerate(ids)]
    sampling = Sampling(
        cfg.temperature, cfg.top_p, cfg.max_new_tokens, cfg.stops_for(tasks), entropy=False
    )
    pairs, owner = [], []
    for i, gen in engine.sample(reqs, sampling):
        code = gen.text
        if cfg.chat_template and isinstance(tasks[i], io_tasks.IOTask):
            code = io_tasks.extract_program(gen.text)
        elif cfg.chat_template:
            code = extract_code(gen.text, tasks[i].entry_point)
        pairs.append((tasks[i], code))
        owner.append(i)
    c = [0] * len(tasks)
    for i, o in zip(owner, io_tasks.check_many(sandbox, pairs, cfg.timeout_s), strict=True):
        c[i] += int(o.passed)
    return c


def evaluate(engine, tasks, cfg: HeldOutConfig, sandbox, seed: int | None = None) -> dict:
    """One held-out evaluation: the monitor's columns (``eval/...``) and ``eval/seconds``."""
    t0 = time.perf_counter()
    c = sample_counts(engine, tasks, cfg, sandbox, cfg.seed if seed is None else seed)
    m = coverage_metrics([cfg.samples] * len(tasks), c, cfg.ks, cfg.g)
    m["samples"] = cfg.samples
    m["seconds"] = time.perf_counter() - t0
    return {PREFIX + k: v for k, v in m.items() if v is not None}
