"""Samplers: completions plus, for every generated token, the entropy of the full

Over 400 lines: the HF and vLLM backends behind one Sampler interface and the model-
directory resolution (full checkpoints, LoRA adapters) with its one-line errors.
next-token distribution at temperature 1.0, from the logits computed while sampling.

HFSampler (default, torch + transformers) runs its own decoding loop over the model's KV
cache so that the entropy comes from the very logits the token was sampled from (no
second forward pass) and is the entropy of the distribution at T = 1, whatever the
sampling temperature; it is never the surprisal of the sampled token. VLLMSampler (optional
extra) can only see the top-k logprobs vLLM returns; see its docstring for the error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rankinv.errors import InputNotFound, UserError

#: Stop sequences for HumanEval-style function completion (Chen et al. 2021).
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n```")


@dataclass
class Generation:
    """One sampled completion."""

    text: str
    n_tokens: int  # generated tokens up to and including the stop / EOS token
    entropies: list[float] = field(default_factory=list)  # nats, one per counted token
    token_ids: list[int] = field(default_factory=list)  # the counted generated tokens

    @property
    def mean_entropy(self) -> float:
        return float(sum(self.entropies) / len(self.entropies)) if self.entropies else 0.0


class Sampler(Protocol):
    def generate(
        self,
        prompts: list[str],
        n: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        stop: tuple[str, ...] = HUMANEVAL_STOP,
        seed: int = 0,
    ) -> list[list[Generation]]:
        """For each prompt, n generations."""
        ...


def _check_sampling_args(n, temperature, top_p, max_new_tokens):
    if not isinstance(n, int) or n < 1:
        raise UserError(f"n must be an integer >= 1, got {n!r}")
    if not temperature >= 0:
        raise UserError(f"temperature must be >= 0, got {temperature!r}")
    if not 0 < top_p <= 1:
        raise UserError(f"top_p must be in (0, 1], got {top_p!r}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise UserError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")


def resolve_model_dir(path: str | Path) -> tuple[Path, Path | None]:
    """Return (base model dir, adapter dir or None); clear errors for non-model dirs."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"model directory not found: {p}")
    if not p.is_dir():
        raise UserError(f"--model must be a directory saved with save_pretrained, got file {p}")
    if (p / "adapter_config.json").exists():
        cfg = json.loads((p / "adapter_config.json").read_text())
        base = cfg.get("base_model_name_or_path")
        if not base or not Path(base).is_dir():
            raise UserError(
                f"LoRA adapter {p} names base model {base!r}, which is not a local "
                "directory (weights cannot be downloaded here)"
            )
        _check_model_files(Path(base))
        return Path(base), p
    if not (p / "config.json").exists():
        raise UserError(f"{p} is not a model directory (no config.json or adapter_config.json)")
    _check_model_files(p)
    return p, None


#: Files any one of which makes a directory's tokenizer loadable.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model")


def _check_model_files(p: Path) -> None:
    """One-line errors, before loading anything, for a config.json that is not JSON or
    names no model type, and for a directory without tokenizer files (which transformers
    reports as a reshape error from inside the model, or a cut-off tokenizer message)."""
    try:
        cfg = json.loads((p / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot load model from {p}: config.json is not valid JSON ({exc})"
        ) from None
    if not isinstance(cfg, dict) or not cfg.get("model_type"):
        raise UserError(
            f'cannot load model from {p}: config.json has no "model_type" '
            "(save the model with save_pretrained)"
        )
    if not any((p / f).exists() for f in TOKENIZER_FILES):
        raise UserError(
            f"cannot load model from {p}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); "
            "save them next to the weights with tokenizer.save_pretrained(dir)"
        )


def load_model(model_path: str | Path, device: str | None = None, dtype=None):
    """(model in eval mode, tokenizer, device, revision) from a local model or LoRA adapter
    directory; every load failure is one ValueError naming the directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir, adapter_dir = resolve_model_dir(model_path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = dtype or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_dir)
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
        if adapter_dir is not None:
            try:
                from peft import PeftModel
            except ImportError:
                raise UserError(
                    "loading a LoRA adapter needs peft: pip install 'rankinv[validate]'"
                ) from None
            model = PeftModel.from_pretrained(model, adapter_dir)
    except Exception as exc:  # noqa: BLE001 - any load failure (corrupt safetensors
        # raises SafetensorError) becomes one line naming the directory
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot load model from {model_path}: {first}") from None
    if not tokenizer("def f():").input_ids:
        raise UserError(
            f"cannot load model from {model_path}: its tokenizer encodes text to no tokens"
        )
    return model.to(device).eval(), tokenizer, device, _revision(base_dir, adapter_dir)


class HFSampler:
    """AutoModelForCausalLM from a local directory (Qwen2, Llama, ...), or a PEFT LoRA
    adapter directory on top of its base; batched, left-padded, KV-cached decoding."""

    def __init__(
        self, model_path: str | Path, device: str | None = None, dtype=None, batch_size: int = 64
    ):
        self.model, self.tokenizer, self.device, self.revision = load_model(
            model_path, device, dtype
        )
        self.dtype = next(self.model.parameters()).dtype
        model = self.model
        self._cache_kw = _cache_keyword(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = batch_size
        self.model_path = str(model_path)

    @classmethod
    def from_model(cls, model, tokenizer, batch_size: int = 64, model_path: str = "<memory>"):
        """Wrap a model already in memory (e.g. during training) without reloading it."""
        self = cls.__new__(cls)
        self.model, self.tokenizer = model, tokenizer
        self.device = str(next(model.parameters()).device)
        self.dtype = next(model.parameters()).dtype
        self._cache_kw = _cache_keyword(model)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.batch_size, self.model_path, self.revision = batch_size, model_path, None
        return self

    # ------------------------------------------------------------ prompt entropy
    def prompt_entropy(self, prompts: list[str]) -> list[float]:
        """See :func:`prompt_entropy`."""
        return prompt_entropy(self.model, self.tokenizer, prompts, self.batch_size)

    # ------------------------------------------------------------ sampling
    def generate(
        self,
        prompts: list[str],
        n: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        stop: tuple[str, ...] = HUMANEVAL_STOP,
        seed: int = 0,
    ) -> list[list[Generation]]:
        _check_sampling_args(n, temperature, top_p, max_new_tokens)
        flat = [p for p in prompts for _ in range(n)]
        gens: list[Generation] = []
        bs = self.batch_size
        i = 0
        while i < len(flat):
            chunk = flat[i : i + bs]
            try:
                gens.extend(
                    self._generate_batch(chunk, temperature, top_p, max_new_tokens, stop, seed + i)
                )
            except _oom_errors() as exc:
                bs = _backoff(bs, exc)
                continue
            i += len(chunk)
        return [gens[k * n : (k + 1) * n] for k in range(len(prompts))]

    def _generate_batch(self, prompts, temperature, top_p, max_new_tokens, stop, seed):
        import torch

        tok = self.tokenizer
        eos = tok.eos_token_id
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        with torch.inference_mode():
            enc = tok(prompts, return_tensors="pt", padding=True).to(self.device)
            mask = enc.attention_mask
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(
                input_ids=enc.input_ids, attention_mask=mask, position_ids=pos, use_cache=True
            )
            b = len(prompts)
            tokens = torch.zeros((b, 0), dtype=torch.long, device=self.device)
            entropies = torch.zeros((b, 0), device=self.device)
            done = torch.zeros(b, dtype=torch.bool, device=self.device)
            lengths = torch.full((b,), max_new_tokens, dtype=torch.long, device=self.device)
            last_pos = pos[:, -1]
            for t in range(max_new_tokens):
                logits = out.logits[:, -1, :].float()
                logp = torch.log_softmax(logits, -1)
                h = -(logp.exp() * logp).sum(-1)  # entropy at T = 1
                nxt = _sample(logits, temperature, top_p, gen)
                nxt = torch.where(done, torch.full_like(nxt, tok.pad_token_id), nxt)
                tokens = torch.cat([tokens, nxt[:, None]], 1)
                entropies = torch.cat([entropies, h[:, None]], 1)
                newly = (~done) & (nxt == eos) if eos is not None else torch.zeros_like(done)
                for r in torch.nonzero(newly).flatten().tolist():
                    lengths[r] = t + 1
                if stop:
                    for r in torch.nonzero(~done & ~newly).flatten().tolist():
                        text = tok.decode(tokens[r], skip_special_tokens=True)
                        if any(s in text for s in stop):
                            lengths[r] = t + 1
                            newly[r] = True
                done = done | newly
                if bool(done.all()):
                    break
                mask = torch.cat(
                    [mask, torch.ones((b, 1), dtype=mask.dtype, device=self.device)], 1
                )
                last_pos = last_pos + 1
                out = self.model(
                    input_ids=nxt[:, None],
                    attention_mask=mask,
                    position_ids=last_pos[:, None],
                    use_cache=True,
                    **{self._cache_kw: _cache_of(out)},
                )
        result = []
        for r in range(len(prompts)):
            n_tok = int(lengths[r])
            ids = tokens[r, :n_tok].tolist()
            text = tok.decode(ids, skip_special_tokens=True)
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
            result.append(Generation(text, n_tok, entropies[r, :n_tok].tolist(), ids))
        return result


def _cache_keyword(model) -> str:
    """transformers >= 5.2x calls the KV cache argument ``cache``; older ones
    ``past_key_values``."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def prompt_entropy(model, tokenizer, prompts: list[str], batch_size: int = 16) -> list[float]:
    """Mean next-token entropy (nats, T = 1) over each prompt's positions, no sampling: the
    paper's stage-1 measurement. Computed by :class:`rankinv.validate.scoring.EntropyScorer`
    (teacher forcing, log-softmax in vocabulary chunks), so memory stays bounded at any
    vocabulary size; ``batch_size`` x 512 tokens is the forward pass's token budget, which
    halves on out-of-memory."""
    from rankinv.validate.scoring import EntropyScorer

    ids = tokenizer(list(prompts)).input_ids
    for p, x in zip(prompts, ids, strict=True):
        if not x:
            raise UserError(f"prompt {p[:40]!r} encodes to no tokens")
    return EntropyScorer(model, token_budget=max(1, batch_size) * 512).prompt_entropy(ids)


def _sample(logits, temperature: float, top_p: float, gen):
    import torch

    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, -1)
    if top_p < 1.0:
        sp, si = probs.sort(-1, descending=True)
        keep = sp.cumsum(-1) - sp < top_p
        sp = sp * keep
        probs = torch.zeros_like(probs).scatter(-1, si, sp)
        probs = probs / probs.sum(-1, keepdim=True)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


def _oom_errors():
    import torch

    errs = [torch.cuda.OutOfMemoryError] if hasattr(torch.cuda, "OutOfMemoryError") else []
    return tuple(errs) or (MemoryError,)


def _backoff(bs: int, exc) -> int:
    import torch

    if bs <= 1:
        raise exc
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return max(1, bs // 2)


def _revision(base_dir: Path, adapter_dir: Path | None) -> str:
    """A content hash of the weight files' names, sizes and mtimes (cheap, no full read)."""
    import hashlib

    h = hashlib.sha256()
    for d in filter(None, (base_dir, adapter_dir)):
        for f in sorted(Path(d).glob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def entropy_from_top_logprobs(top_logprobs: list[float], vocab_size: int) -> tuple[float, float]:
    """Bounds on the full next-token entropy from the top-k logprobs vLLM returns.

    With top-k masses q_1..q_k and residual r = 1 - sum q_i spread over V - k tokens:
    lower bound: the residual on a single token, H_lo = -sum q_i ln q_i - r ln r;
    upper bound: the residual spread uniformly, H_hi = H_lo + r ln(V - k).
    The error of either is at most r ln(V - k): small when the top-k hold most of the mass,
    large exactly when entropy is high.
    """
    qs = [math.exp(x) for x in top_logprobs]
    r = max(0.0, 1.0 - sum(qs))
    h_lo = -sum(q * math.log(q) for q in qs if q > 0) - (r * math.log(r) if r > 0 else 0.0)
    k = len(qs)
    h_hi = h_lo + (r * math.log(vocab_size - k) if r > 0 and vocab_size > k else 0.0)
    return h_lo, h_hi


class VLLMSampler:
    """vLLM backend (``pip install 'rankinv[vllm]'``), imported lazily.

    vLLM returns only the top-k logprobs of each step (``SamplingParams(logprobs=k)``,
    k <= 20 by default), not the full distribution, so the per-token entropy is reported
    as the lower bound of :func:`entropy_from_top_logprobs` (residual mass lumped on one
    token); the gap to the true entropy is at most r ln(V - k), with r the mass outside the
    top k. Use HFSampler when exact entropies matter (the stage-1 screen).
    """

    def __init__(self, model_path: str | Path, top_logprobs: int = 20, **llm_kwargs):
        try:
            from vllm import LLM
        except ImportError:
            raise UserError(
                "the vLLM sampler needs vllm: pip install 'rankinv[vllm]' "
                "(or use the default transformers backend)"
            ) from None
        base, adapter = resolve_model_dir(model_path)
        self.llm = LLM(model=str(base), enable_lora=adapter is not None, **llm_kwargs)
        self.adapter = adapter
        self.top_logprobs = top_logprobs
        self.vocab_size = self.llm.get_tokenizer().vocab_size
        self.model_path = str(model_path)
        self.revision = _revision(base, adapter)

    def generate(
        self,
        prompts,
        n,
        temperature=1.0,
        top_p=1.0,
        max_new_tokens=256,
        stop=HUMANEVAL_STOP,
        seed=0,
    ):
        from vllm import SamplingParams

        _check_sampling_args(n, temperature, top_p, max_new_tokens)
        params = SamplingParams(
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_new_tokens,
            stop=list(stop),
            seed=seed,
            logprobs=self.top_logprobs,
        )
        lora = None
        if self.adapter is not None:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, str(self.adapter))
        outs = self.llm.generate(prompts, params, lora_request=lora)
        result = []
        for o in outs:
            row = []
            for c in o.outputs:
                ents = [
                    entropy_from_top_logprobs(
                        [lp.logprob for lp in step.values()], self.vocab_size
                    )[0]
                    for step in (c.logprobs or [])
                ]
                row.append(Generation(c.text, len(c.token_ids), ents, list(c.token_ids)))
            result.append(row)
        return result
