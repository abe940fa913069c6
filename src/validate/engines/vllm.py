"""The vLLM engine (``--engine vllm``, ``pip install 'rankinv[vllm]'``, a GPU): sampling only.

vLLM returns sampled tokens, not full next-token distributions, so the exact T = 1 entropies
are scored afterwards by teacher forcing (:mod:`rankinv.validate.scoring`) on a transformers
copy of the model, loaded by :meth:`VLLMEngine.scorer` only after :meth:`VLLMEngine.close`
has freed vLLM's weights and KV cache and vLLM's processes have exited, in a process of its
own (:mod:`rankinv.validate.scorer_process`): no phase holds two copies of a model on one
device, and no process holds two engines.

Written against vLLM's offline API: ``LLM(model=..., tensor_parallel_size, gpu_memory_utilization,
max_model_len, trust_remote_code, enable_lora, max_lora_rank, max_loras)``, ``LLM.generate(
prompts, sampling_params, use_tqdm=..., lora_request=...)`` with prompts as
``{"prompt_token_ids": [...]}``, one ``SamplingParams(n=N, seed=S, stop_token_ids=...)`` per
prompt (its N children are distinct draws from one request: no per-row seeds, which would send
every row down vLLM's per-seed slow path), ``RequestOutput.outputs[i].text / .token_ids`` and
``LoRARequest(name, int_id, path)``. So a resumed probe's missing samples, asked for with a
seed of their own, are other draws than an uninterrupted run's (unlike the HF engine's, which
are the same). It is unit tested against a test double of that API
(tests/test_validate_vllm.py) and run for real by scripts/gpu_check.sh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from rankinv.errors import UserError
from rankinv.validate.engines.base import (
    EngineOption,
    EngineSpec,
    Generation,
    Request,
    Sampling,
    check_batch_size,
    config_eos,
    encode,
    end_token_ids,
)
from rankinv.validate.engines.draws import row_key
from rankinv.validate.models import adapter_rank, resolve_model_dir, revision
from rankinv.validate.scorer_process import ScorerProcess, child_pids, wait_exited

#: The LoRA ranks vLLM's ``max_lora_rank`` accepts; an adapter's rank is rounded up to one.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
#: Samples per ``generate`` call: results are written (and checked) chunk by chunk.
CHUNK_ROWS = 1024


def vllm_lora_rank(rank: int | None) -> int:
    """The smallest rank vLLM accepts that holds an adapter of ``rank`` (16 when unknown)."""
    if rank is None:
        return 16
    for r in VLLM_LORA_RANKS:
        if r >= rank:
            return r
    raise UserError(f"LoRA rank {rank} is above vLLM's largest max_lora_rank {VLLM_LORA_RANKS[-1]}")


def llm_kwargs(
    base: Path,
    adapter: Path | None,
    batch_size: int | None = None,
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.9,
    max_model_len: int | None = None,
    trust_remote_code: bool = False,
    max_loras: int = 1,
) -> dict:
    """The ``vllm.LLM`` arguments for a model directory (and its LoRA adapter)."""
    if tensor_parallel_size < 1:
        raise UserError(f"--tensor-parallel-size must be >= 1, got {tensor_parallel_size}")
    if not 0 < gpu_memory_utilization <= 1:
        raise UserError(f"--gpu-memory-utilization must be in (0, 1], got {gpu_memory_utilization}")
    if max_model_len is not None and max_model_len < 1:
        raise UserError(f"--max-model-len must be >= 1, got {max_model_len}")
    kw = {
        "model": str(base),
        "tensor_parallel_size": tensor_parallel_size,
        "gpu_memory_utilization": gpu_memory_utilization,
        "trust_remote_code": trust_remote_code,
    }
    if max_model_len is not None:
        kw["max_model_len"] = max_model_len
    if batch_size:
        kw["max_num_seqs"] = batch_size
    if adapter is not None:
        kw.update(
            enable_lora=True,
            max_lora_rank=vllm_lora_rank(adapter_rank(adapter)),
            max_loras=max(1, max_loras),
        )
    return kw


class VLLMEngine:
    """The :class:`rankinv.validate.engines.Engine` of ``--engine vllm``."""

    name = "vllm"
    exact_entropy = False

    def __init__(
        self,
        model_path: str | Path,
        batch_size: int | None = None,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        trust_remote_code: bool = False,
        max_loras: int = 1,
        chunk_rows: int = CHUNK_ROWS,
    ):
        try:
            from vllm import LLM
        except ImportError:
            raise UserError(
                "--engine vllm needs vllm: pip install 'rankinv[vllm]' "
                "(or use --engine hf, the default)"
            ) from None
        base, adapter = resolve_model_dir(model_path)
        self.kwargs = llm_kwargs(
            base, adapter, batch_size, tensor_parallel_size, gpu_memory_utilization,
            max_model_len, trust_remote_code, max_loras,
        )  # fmt: skip
        before = child_pids()
        self.llm = LLM(**self.kwargs)
        self._engine_pids = child_pids() - before  # vLLM's engine (and workers') processes
        self.model_path, self.base, self.adapter = str(model_path), base, adapter
        self.trust_remote_code = trust_remote_code
        self.chunk_rows = max(1, chunk_rows)
        self.tokenizer = self.llm.get_tokenizer()
        self.revision = revision(base, adapter)
        self.end_tokens = end_token_ids(self.tokenizer, *config_eos(base))
        cfg = json.loads((base / "config.json").read_text())
        self._vocab = int(cfg.get("vocab_size") or len(self.tokenizer))
        self._scorer = None

    @property
    def vocab_size(self) -> int:
        return self._vocab

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, prompts)

    def _params(self, req: Request, sampling: Sampling):
        from vllm import SamplingParams

        return SamplingParams(
            n=req.n,
            seed=req.seed if req.first_draws else row_key(req.seed, req.numbers[0]) >> 33,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            stop=list(sampling.stop) or None,
            stop_token_ids=[] if sampling.ignore_eos else list(self.end_tokens),
            ignore_eos=sampling.ignore_eos,
            skip_special_tokens=True,
        )

    def sample(
        self, requests: Sequence[Request], sampling: Sampling
    ) -> Iterator[tuple[int, Generation]]:
        """One vLLM request per prompt (n children, one seed), sent in chunks of about
        ``chunk_rows`` samples; each chunk's samples are yielded when it returns."""
        if self.llm is None:
            raise RuntimeError("VLLMEngine.sample after close()")
        lora = None
        if self.adapter is not None:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, str(self.adapter))
        start = 0
        while start < len(requests):
            end, rows = start, 0
            while end < len(requests) and (
                end == start or rows + requests[end].n <= self.chunk_rows
            ):
                rows += requests[end].n
                end += 1
            chunk = requests[start:end]
            outs = self.llm.generate(
                [{"prompt_token_ids": list(r.prompt_ids)} for r in chunk],
                [self._params(r, sampling) for r in chunk],
                use_tqdm=False,
                lora_request=lora,
            )
            for k, out in enumerate(outs, start):
                numbers = requests[k].sample_numbers
                for i, c in enumerate(out.outputs):
                    ids = list(c.token_ids)
                    yield k, Generation(c.text, len(ids), [], ids, numbers[i])
            start = end

    def close(self) -> None:
        """Free vLLM's weights and KV cache (its engine process, its distributed state);
        return once vLLM's processes have exited. A second call ends the scorer's process."""
        scorer, self._scorer = self._scorer, None
        if scorer is not None:
            scorer.close()
        llm, self.llm = self.llm, None
        if llm is None:
            return
        shutdown = getattr(llm, "shutdown", None)  # newer vLLM; older ones free on delete
        if callable(shutdown):
            shutdown()
        del llm
        try:
            from vllm.distributed import cleanup_dist_env_and_memory
        except ImportError:
            cleanup_dist_env_and_memory = None
        import gc

        gc.collect()
        if cleanup_dist_env_and_memory is not None:
            cleanup_dist_env_and_memory()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        wait_exited(self._engine_pids)

    def scorer(self):
        """The teacher-forced scorer on a transformers copy, loaded after :meth:`close` by a
        process of its own (:class:`ScorerProcess`)."""
        if self.llm is not None:
            raise RuntimeError("VLLMEngine.scorer before close(): two copies of the model")
        if self._scorer is None:
            self._scorer = ScorerProcess(self.model_path, self.trust_remote_code)
        return self._scorer


def check_options(options: dict) -> None:
    """The pass-through options' ranges, checked before any model loads."""
    check_batch_size(options)
    llm_kwargs(Path("."), None, **{k: v for k, v in options.items() if k != "chunk_rows"})


#: ``--engine vllm`` in the registry (rankinv.validate.engines.ENGINES): VLLMEngine's options.
SPEC = EngineSpec(
    name="vllm",
    label="vLLM",
    factory=VLLMEngine,
    options=(
        EngineOption("batch_size", "vLLM's max_num_seqs: sequences decoded at once."),
        EngineOption("tensor_parallel_size", "vLLM: GPUs per model (tensor parallelism)."),
        EngineOption("gpu_memory_utilization", "vLLM: share of GPU memory it may take (0.9)."),
        EngineOption("max_model_len", "vLLM: longest prompt + completion (default: the model's)."),
        EngineOption("trust_remote_code", "Run the model directory's own modelling code."),
        EngineOption("max_loras", "vLLM: LoRA adapters held at once."),
        EngineOption("chunk_rows", "Samples per generate call (results are written per chunk)."),
    ),
    check=check_options,
)
