"""The HF engine (``--engine hf``): one queue of rows, refilled as rows finish.

``HFEngine`` (torch + transformers) puts every (prompt, sample) row of every request into
one queue and keeps a batch of ``batch_size`` rows decoding over a shared KV cache; a row
that ends (an end token, a stop string, or the token limit) leaves the batch at once and new
rows are prefilled and merged in (continuous batching with left padding and explicit position
ids); rows of one prompt are prefilled once and share copies of its KV cache. Stop strings
are looked for only in the newest tokens, and only on rows whose newest token could end one.
Each token's exact T = 1 entropy is taken from the logits it was drawn from ([batch, V] per
step, never [batch, T, V]).

transformers' own continuous batching (``generate_batch``) was measured on this project's
CPU machine at 642 tokens/s against 5,878 for ``generate()`` on the same rows (tiny Qwen2,
64 prompts x 4 samples x 128 tokens), so the loop here is our own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from rankinv.errors import UserError
from rankinv.validate.engines.base import (
    EngineOption,
    EngineSpec,
    Generation,
    Request,
    Sampling,
    encode,
    end_token_ids,
)
from rankinv.validate.engines.draws import row_key, row_uniforms, sample_tokens, sample_with_entropy
from rankinv.validate.engines.hf_cache import merge, to_buffered, trim_left
from rankinv.validate.models import cache_keyword, cache_of, load_model
from rankinv.validate.scoring import EntropyScorer


class StopChecker:
    """Stop strings found incrementally: a row is looked at only when its newest token
    contains the last character of some stop string, and then only the text of its last
    ``max(len(stop)) + 1`` tokens is decoded (every token has at least one character)."""

    def __init__(self, tokenizer, stops: Sequence[str], vocab_size: int):
        import torch

        self.tokenizer = tokenizer
        self.stops = tuple(s for s in stops if s)
        self.window = max((len(s) for s in self.stops), default=0) + 1
        can_end = torch.zeros(max(vocab_size, len(tokenizer)), dtype=torch.bool)
        if self.stops:
            lasts = {s[-1] for s in self.stops}
            texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
            can_end[: len(texts)] = torch.tensor([any(c in t for c in lasts) for t in texts])
        self.can_end = can_end

    def hits(self, rows: list[list[int]], candidates: list[int]) -> list[int]:
        if not self.stops or not candidates:
            return []
        texts = self.tokenizer.batch_decode(
            [rows[r][-self.window :] for r in candidates], skip_special_tokens=True
        )
        return [
            r for r, t in zip(candidates, texts, strict=True) if any(s in t for s in self.stops)
        ]


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return text[:cut] if cut >= 0 else text


def auto_batch_size(model, max_len: int, n_rows: int) -> int:
    """Rows decoded at once. On a GPU: as many as fit in 60% of free memory with KV cache
    for ``max_len`` tokens plus fp32 logits and sampling buffers per row; on the CPU 64
    (measured: larger batches gain little there, see benchmarks/probe_bench.py)."""
    import torch

    dev = next(model.parameters()).device
    cap = max(1, n_rows)
    if dev.type != "cuda":
        return min(64, cap)
    cfg = model.config
    layers = getattr(cfg, "num_hidden_layers", 32)
    heads = getattr(cfg, "num_key_value_heads", None) or getattr(cfg, "num_attention_heads", 32)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    elt = next(model.parameters()).element_size()
    per_row = 2 * layers * heads * head_dim * elt * max_len + 4 * 4 * cfg.vocab_size
    free, _ = torch.cuda.mem_get_info(dev)
    return max(1, min(cap, 1024, int(0.6 * free / per_row)))


class HFEngine:
    """Continuous-batching sampler over a transformers causal LM (local dir or LoRA); the
    :class:`rankinv.validate.engines.Engine` of ``--engine hf``."""

    name = "hf"
    exact_entropy = True

    def __init__(
        self,
        model_path: str | Path,
        device: str | None = None,
        dtype=None,
        batch_size: int | None = None,
        trust_remote_code: bool = False,
    ):
        if batch_size is not None and batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {batch_size}")
        self.model, self.tokenizer, self.device, self.revision = load_model(
            model_path, device, dtype, trust_remote_code
        )
        self.model_path = str(model_path)
        self._setup(batch_size)

    @classmethod
    def from_model(cls, model, tokenizer, batch_size: int | None = None, model_path="<memory>"):
        """Wrap a model already in memory (e.g. during training) without reloading it."""
        self = cls.__new__(cls)
        self.model, self.tokenizer = model, tokenizer
        self.device = str(next(model.parameters()).device)
        self.model_path, self.revision = model_path, None
        self._setup(batch_size)
        return self

    def _setup(self, batch_size):
        import inspect

        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = batch_size
        m = self.model
        self.end_tokens = end_token_ids(
            self.tokenizer,
            getattr(getattr(m, "generation_config", None), "eos_token_id", None),
            getattr(getattr(m, "config", None), "eos_token_id", None),
        )
        self._cache_kw = cache_keyword(m)
        base = m.get_base_model() if hasattr(m, "get_base_model") else m
        self._keep_kw = "logits_to_keep" in inspect.signature(base.forward).parameters
        self._stoppers: dict[tuple, StopChecker] = {}
        self._scorer = None

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def scorer(self):
        """The teacher-forced scorer on this very model (no second copy)."""
        if self._scorer is None:
            self._scorer = EntropyScorer(self.model)
        return self._scorer

    def close(self) -> None:
        """Nothing to free: the scorer uses the same model."""

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, prompts)

    # ------------------------------------------------------------ decoding
    def _forward(self, ids, mask, pos, cache=None):
        kw = {self._cache_kw: cache} if cache is not None else {}
        if self._keep_kw:
            kw["logits_to_keep"] = 1
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **kw)
        return out.logits[:, -1, :].float(), cache_of(out)

    def _prefill(self, prompt_ids: list[list[int]]):
        import torch

        width = max(len(p) for p in prompt_ids)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(prompt_ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompt_ids), width), dtype=torch.long)
        for r, p in enumerate(prompt_ids):
            ids[r, width - len(p) :] = torch.tensor(p)
            mask[r, width - len(p) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, cache = self._forward(ids, mask, pos)
        return logits, cache, mask, pos[:, -1]

    def _prefill_shared(self, prompt_ids: list[Sequence[int]]):
        """Prefill each distinct prompt once and give every row a copy of its KV cache
        (the n samples of a request share their prompt: n-fold less prefill work)."""
        import torch

        first: dict[tuple, int] = {}
        expand = [first.setdefault(tuple(p), len(first)) for p in prompt_ids]
        uniq = [list(p) for p in first]
        logits, cache, mask, pos = self._prefill(uniq)
        if len(uniq) == len(prompt_ids):
            return logits, cache, mask, pos
        idx = torch.tensor(expand, device=self.device)
        cache.batch_select_indices(idx)
        return logits[idx], cache, mask[idx], pos[idx]

    def sample(
        self, requests: Sequence[Request], sampling: Sampling
    ) -> Iterator[tuple[int, Generation]]:
        """Every (request, sample) row in one queue; yields (request index, Generation) as
        rows finish. With ``sampling.entropy`` each generated token carries the exact T = 1
        entropy of the logits it was drawn from (equal to the teacher-forced score, see
        tests). Sample number j of a request draws from a stream of its own keyed by (its
        seed, j) (:mod:`rankinv.validate.engines.draws`) and is yielded with ``number`` j:
        what it draws does not depend on the other rows of the call."""
        import torch

        owner = [k for k, r in enumerate(requests) for _ in range(r.n)]
        if not owner:
            return
        prompt_ids = [requests[k].prompt_ids for k in owner]
        numbers = [j for r in requests for j in r.sample_numbers]
        keys = [row_key(requests[k].seed, j) for k, j in zip(owner, numbers, strict=True)]
        longest = max(len(p) for p in prompt_ids) + sampling.max_new_tokens
        bs = self.batch_size or auto_batch_size(self.model, longest, len(owner))
        stops = tuple(s for s in sampling.stop if s)
        if stops not in self._stoppers:
            self._stoppers[stops] = StopChecker(self.tokenizer, stops, self.vocab_size)
        stopper = self._stoppers[stops]
        ends = [] if sampling.ignore_eos else list(self.end_tokens)
        eos = torch.tensor(ends, dtype=torch.long, device=self.device)
        threads = torch.get_num_threads()
        if _one_thread(self.model):
            torch.set_num_threads(1)
        try:
            for row, g in self._loop(prompt_ids, keys, sampling, stops, stopper, eos, bs):
                g.number = numbers[row]
                yield owner[row], g
        finally:
            torch.set_num_threads(threads)

    def _loop(self, prompt_ids, keys, sampling: Sampling, stops, stopper, eos, bs):
        import torch

        temperature, top_p = sampling.temperature, sampling.top_p
        max_new_tokens, entropy = sampling.max_new_tokens, sampling.entropy
        can_end = stopper.can_end.to(self.device)
        refill_min = max(1, bs // 8)
        queue = deque(range(len(prompt_ids)))
        rows: list[int] = []
        toks: list[list[int]] = []
        ents: list[list[float]] = []
        cache = mask = pos = logits = None
        mergeable = True
        with torch.inference_mode():
            while queue or rows:
                free = bs - len(rows)
                if queue and free > 0 and (not rows or (mergeable and free >= refill_min)):
                    new = [queue.popleft() for _ in range(min(free, len(queue)))]
                    n_logits, n_cache, n_mask, n_pos = self._prefill_shared(
                        [prompt_ids[k] for k in new]
                    )
                    if rows:
                        mask = merge(cache, mask, n_cache, n_mask)
                        logits = torch.cat([logits, n_logits])
                        pos = torch.cat([pos, n_pos])
                    else:
                        cache, mask, logits, pos = n_cache, n_mask, n_logits, n_pos
                        mergeable = to_buffered(cache)
                    rows += new
                    toks += [[] for _ in new]
                    ents += [[] for _ in new]
                u = torch.from_numpy(row_uniforms([keys[k] for k in rows], [len(t) for t in toks]))
                if entropy:
                    nxt, h = sample_with_entropy(logits, temperature, top_p, u)
                    for r, x in enumerate(h.tolist()):
                        ents[r].append(x)
                else:
                    nxt = sample_tokens(logits, temperature, top_p, u)
                nxt_l = nxt.tolist()
                for r, t in enumerate(nxt_l):
                    toks[r].append(t)
                ended = (
                    torch.isin(nxt, eos) if len(eos) else torch.zeros_like(nxt, dtype=torch.bool)
                )
                ended_l = ended.tolist()
                cand = torch.nonzero(can_end[nxt] & ~ended).flatten().tolist()
                done = {r for r in range(len(rows)) if ended_l[r] or len(toks[r]) >= max_new_tokens}
                done.update(stopper.hits(toks, [r for r in cand if r not in done]))
                for r in sorted(done):
                    yield rows[r], self._finish(toks[r], stops, ents[r])
                if done:
                    keep = [r for r in range(len(rows)) if r not in done]
                    rows = [rows[r] for r in keep]
                    toks = [toks[r] for r in keep]
                    ents = [ents[r] for r in keep]
                    if not rows:
                        cache = mask = pos = logits = None
                        continue
                    idx = torch.tensor(keep, device=self.device)
                    cache.batch_select_indices(idx)
                    mask, pos, nxt = mask[idx], pos[idx], nxt[idx]
                    mask = trim_left(cache, mask)
                ones = torch.ones((len(rows), 1), dtype=mask.dtype, device=self.device)
                mask = torch.cat([mask, ones], 1)
                pos = pos + 1
                logits, cache = self._forward(nxt[:, None], mask, pos[:, None], cache)

    def _finish(self, ids: list[int], stops: tuple[str, ...], ents: list[float]) -> Generation:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Generation(cut_at_stop(text, stops), len(ids), ents, list(ids))


#: Below this many parameters a CPU decode step is a few tiny matmuls: measured on this
#: project's 2-core machine (load ~5), `validate --limit 8 --samples 8` on a tiny Qwen2 took
#: 8.2 s with one torch thread and 38.6 s with two (thread hand-offs dominate).
ONE_THREAD_PARAMS = 50_000_000


def _one_thread(model) -> bool:
    p = next(model.parameters())
    return p.device.type == "cpu" and sum(x.numel() for x in model.parameters()) < ONE_THREAD_PARAMS


#: ``--engine hf`` in the registry (rankinv.validate.engines.ENGINES): HFEngine's options.
SPEC = EngineSpec(
    name="hf",
    label="transformers",
    factory=HFEngine,
    options=(
        EngineOption("batch_size", "Rows decoded at once (default: from free memory)."),
        EngineOption("device", "torch device (default: cuda when available, else cpu)."),
        EngineOption("dtype", "torch dtype of the weights (default: the model's)."),
        EngineOption("trust_remote_code", "Run the model directory's own modelling code."),
    ),
)
