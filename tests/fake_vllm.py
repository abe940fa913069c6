"""A test double of vLLM's offline API (``LLM``, ``SamplingParams``, ``RequestOutput``,
``LoRARequest``, ``cleanup_dist_env_and_memory``), installed into ``sys.modules`` by
:func:`install`: vLLM does not run on CPU machines.

It keeps vLLM's names and keyword-only signatures (an argument vLLM would not take is a
TypeError here too), samples uniformly random tokens from a per-request ``random.Random(seed)``
(``n`` distinct children per request), stops on ``stop_token_ids`` (unless ``ignore_eos``)
and on stop strings (the text cut before them, as vLLM does), and records every call. With
``LLM.engine_process`` set, it starts an engine process of its own, as vLLM's V1 engine
does, which shutdown() asks to stop and which takes a while to exit.
"""

from __future__ import annotations

import random
import subprocess
import sys
import types
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class SamplingParams:
    n: int = 1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    min_p: float = 0.0
    seed: int | None = None
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    ignore_eos: bool = False
    max_tokens: int | None = 16
    min_tokens: int = 0
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    detokenize: bool = True
    skip_special_tokens: bool = True
    include_stop_str_in_output: bool = False


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class RequestOutput:
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput] = field(default_factory=list)
    finished: bool = True


@dataclass
class LoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str = ""


class LLM:
    """Records its constructor arguments and every generate() call in ``LLM.log``."""

    instances: list[LLM] = []
    #: set to a chunk number to raise KeyboardInterrupt in that generate() call (Ctrl-C)
    interrupt_at: int | None = None
    #: draw tokens from ids [0, vocab_limit) (small: end tokens come up often)
    vocab_limit: int | None = None
    #: start a stand-in for vLLM's engine process (a child that exits 0.5 s after SIGTERM)
    engine_process: bool = False

    def __init__(self, model: str, **kwargs):
        from transformers import AutoTokenizer

        self.model, self.kwargs = model, kwargs
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.calls: list[dict] = []
        self.shut_down = False
        self.process = None
        if LLM.engine_process:
            self.process = subprocess.Popen([sys.executable, "-c", ENGINE_PROCESS])
        LLM.instances.append(self)

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, sampling_params=None, *, use_tqdm=True, lora_request=None):
        if self.shut_down:
            raise RuntimeError("generate() after shutdown()")
        if not isinstance(sampling_params, list):
            sampling_params = [sampling_params] * len(prompts)
        assert len(sampling_params) == len(prompts)
        if LLM.interrupt_at is not None and len(self.calls) == LLM.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append({"prompts": prompts, "params": sampling_params, "lora": lora_request})
        limit = LLM.vocab_limit or len(self.tokenizer)
        outs = []
        for i, (p, sp) in enumerate(zip(prompts, sampling_params, strict=True)):
            ids = p["prompt_token_ids"]
            rng = random.Random(sp.seed)
            children = []
            stops = [sp.stop] if isinstance(sp.stop, str) else list(sp.stop or [])
            ends = set() if sp.ignore_eos else set(sp.stop_token_ids or [])
            for j in range(sp.n):
                toks, text = [], None
                while len(toks) < sp.max_tokens:
                    t = rng.randrange(limit)
                    toks.append(t)
                    if t in ends:
                        break
                    if stops:
                        s = self._decode(toks, sp)
                        hit = [s.find(x) for x in stops if x in s]
                        if hit:
                            text = s[: min(hit)]
                            break
                text = self._decode(toks, sp) if text is None else text
                children.append(CompletionOutput(j, text, toks))
            outs.append(RequestOutput(str(i), list(ids), children))
        return outs

    def _decode(self, toks, sp):
        return self.tokenizer.decode(toks, skip_special_tokens=sp.skip_special_tokens)

    def shutdown(self):
        self.shut_down = True
        if self.process is not None:
            self.process.terminate()  # asked to stop, not waited for


ENGINE_PROCESS = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.5), sys.exit(0)))
time.sleep(120)
"""


def cleanup_dist_env_and_memory(shutdown_ray: bool = False) -> None:
    """vllm.distributed's cleanup: nothing to free here."""


def install(monkeypatch) -> type[LLM]:
    """Put the double in sys.modules as vllm (and its submodules) for one test."""
    LLM.instances = []
    LLM.interrupt_at = None
    LLM.vocab_limit = None
    LLM.engine_process = False
    root = types.ModuleType("vllm")
    root.LLM, root.SamplingParams = LLM, SamplingParams
    root.RequestOutput, root.CompletionOutput = RequestOutput, CompletionOutput
    lora = types.ModuleType("vllm.lora")
    lora_request = types.ModuleType("vllm.lora.request")
    lora_request.LoRARequest = LoRARequest
    dist = types.ModuleType("vllm.distributed")
    dist.cleanup_dist_env_and_memory = cleanup_dist_env_and_memory
    for name, mod in (
        ("vllm", root),
        ("vllm.lora", lora),
        ("vllm.lora.request", lora_request),
        ("vllm.distributed", dist),
    ):
        monkeypatch.setitem(sys.modules, name, mod)
    return LLM
