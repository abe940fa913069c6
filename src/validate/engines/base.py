"""What every sampling engine shares: the request and result types, the :class:`Engine`
protocol, the end tokens, the prompt encoding, and :class:`EngineSpec`, the declaration a
backend gives the registry (:mod:`rankinv.validate.engines`): its name, its factory and its
own options.

An :class:`Engine` turns requests (a tokenized prompt, how many samples, a seed) into
:class:`Generation` s, yielded as they finish. Every engine stops a sample on the same end
tokens (:func:`end_token_ids`) and records them (``end_tokens``), so that probes sampled by
different engines can be checked for being sampled alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rankinv.errors import UserError

#: Names of end-of-turn / end-of-text tokens used by common chat and base models.
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<|end|>",
    "</s>",
    "<|EOT|>",
)


@dataclass
class Generation:
    """One sampled completion."""

    text: str
    n_tokens: int  # generated tokens up to and including the stop / end token
    entropies: list[float] = field(default_factory=list)  # nats, one per counted token
    token_ids: list[int] = field(default_factory=list)  # the counted generated tokens
    number: int | None = None  # which sample of its request (Request.sample_numbers), if known

    @property
    def mean_entropy(self) -> float:
        return float(sum(self.entropies) / len(self.entropies)) if self.entropies else 0.0


@dataclass(frozen=True)
class Sampling:
    """How every request of one call is sampled."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False  # benchmarks only: every row runs to max_new_tokens
    entropy: bool = True  # engines that see logits fill per-token entropies

    def __post_init__(self):
        if not self.temperature >= 0:
            raise UserError(f"temperature must be >= 0, got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise UserError(f"max_new_tokens must be an integer >= 1, got {self.max_new_tokens!r}")


@dataclass(frozen=True)
class Request:
    """``n`` samples of one tokenized prompt, numbered ``numbers`` (default 0 .. n - 1);
    ``seed`` seeds this prompt's draws. The HF engine draws sample j from a stream keyed by
    (seed, j) alone, so the missing samples a resumed probe asks for are those an
    uninterrupted run drew; vLLM draws a request's n samples from one stream, seeded by
    ``seed`` for samples 0 .. n - 1 and by (seed, first number) otherwise (a resumed rest
    is other draws, never copies of the first)."""

    prompt_ids: tuple[int, ...]
    n: int = 1
    seed: int = 0
    numbers: tuple[int, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.n, int) or self.n < 1:
            raise UserError(f"n must be an integer >= 1, got {self.n!r}")
        if not self.prompt_ids:
            raise UserError("a request needs at least one prompt token")
        if self.numbers is not None and (
            len(self.numbers) != self.n or len(set(self.numbers)) != self.n
        ):
            raise UserError(f"a request of n = {self.n} needs {self.n} distinct sample numbers")

    @property
    def sample_numbers(self) -> tuple[int, ...]:
        """The numbers of its n samples."""
        return tuple(range(self.n)) if self.numbers is None else tuple(self.numbers)

    @property
    def first_draws(self) -> bool:
        """Whether it asks for samples 0 .. n - 1 (a problem's first request)."""
        return self.sample_numbers == tuple(range(self.n))


class Engine(Protocol):
    """What the probe and the mini experiment need from a sampling backend."""

    name: str
    tokenizer: Any
    revision: str | None
    #: the ids that end a sample (sorted), the same set for every engine on one model
    end_tokens: tuple[int, ...]
    #: whether :meth:`sample` fills per-token entropies (else score them with :meth:`scorer`)
    exact_entropy: bool

    @property
    def vocab_size(self) -> int: ...

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt (an empty encoding is a UserError)."""
        ...

    def sample(
        self, requests: Sequence[Request], sampling: Sampling
    ) -> Iterator[tuple[int, Generation]]:
        """(request index, one Generation) for every sample of every request, as samples
        finish (not in input order)."""
        ...

    def scorer(self):
        """A :class:`rankinv.validate.scoring.EntropyScorer` on a transformers copy of the
        model (for vLLM: call :meth:`close` first, so that only one copy is held)."""
        ...

    def close(self) -> None:
        """Free the sampling backend's device memory (the scorer may still be used)."""
        ...


@dataclass(frozen=True)
class EngineOption:
    """One option of an engine: the keyword its factory takes (the command line's flag is
    ``--`` + the name with dashes) and what it does."""

    name: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def check_batch_size(options: dict) -> None:
    """``batch_size``, an option every engine takes: >= 1 where given."""
    bs = options.get("batch_size")
    if bs is not None and bs < 1:
        raise UserError(f"--batch-size must be >= 1, got {bs}")


@dataclass(frozen=True)
class EngineSpec:
    """A backend as the registry holds it: ``factory(model_path, **options)`` builds the
    engine (heavy imports inside it); ``options`` are the keywords it accepts; ``check``
    checks their values before any model loads (a UserError naming the flag)."""

    name: str
    label: str  # how a message names the backend ("vLLM")
    factory: Callable[..., Engine]
    options: tuple[EngineOption, ...]
    check: Callable[[dict], None] = check_batch_size

    @property
    def option_names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.options)


def end_token_ids(tokenizer, *eos_values) -> tuple[int, ...]:
    """Every id that ends a completion: each of ``eos_values`` (generation_config's and
    config's ``eos_token_id``, an int or a list, None skipped), the tokenizer's eos token and
    its end tokens (ChatML <|im_end|>, Llama-3 <|eot_id|>, ...) where its vocabulary has them."""
    ids: set[int] = set()

    def add(x):
        if x is None:
            return
        if isinstance(x, int):
            if x >= 0:
                ids.add(x)
        else:
            for y in x:
                add(y)

    for v in eos_values:
        add(v)
    add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    for name in END_TOKENS:
        if name in vocab:
            ids.add(vocab[name])
    return tuple(sorted(ids))


def config_eos(model_dir: str | Path) -> list:
    """The ``eos_token_id`` values of a model directory's generation_config.json and
    config.json (what transformers' model.generation_config / model.config hold), read
    without loading the model."""
    out = []
    for name in ("generation_config.json", "config.json"):
        f = Path(model_dir) / name
        if f.is_file():
            try:
                out.append(json.loads(f.read_text()).get("eos_token_id"))
            except (json.JSONDecodeError, AttributeError):
                continue
    return out


def encode(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    enc = tokenizer(list(prompts), add_special_tokens=True).input_ids
    for p, ids in zip(prompts, enc, strict=True):
        if not ids:
            raise UserError(f"prompt {p[:40]!r} encodes to no tokens")
    return [list(x) for x in enc]


def generate(
    engine: Engine, prompts: Sequence[str], n: int, sampling: Sampling, seed: int = 0
) -> list[list[Generation]]:
    """n generations per prompt, in input order (each prompt its own seed from ``seed``)."""
    ids = engine.encode(prompts)
    reqs = [Request(tuple(p), n, seed * 1_000_003 + i) for i, p in enumerate(ids)]
    out: list[list[Generation]] = [[] for _ in reqs]
    for k, g in engine.sample(reqs, sampling):
        out[k].append(g)
    return out
