"""Exact next-token entropy (nats, T = 1) by teacher forcing, with bounded memory.

Sampling and entropy can be decoupled: any engine samples the completions, then one batched
forward pass over prompt + completion gives the hidden state at every position, and the
entropy of the full next-token distribution there is taken with the log-softmax computed in
vocabulary chunks (an online log-sum-exp), so peak memory grows with rows x chunk, never
with batch x T x V. At V = 151,936 a [64, 400, V] fp32 logit tensor is ~16 GB; here the
largest temporary is ``row_chunk x vocab_chunk`` floats (32 MiB at the defaults).

The scorer gives the prompt entropy (the paper's stage-1 measurement), and the rollout
entropy of every generated token for engines that never see full logits (vLLM), so that it
is exact there too; the HF engine takes the same quantity from its sampling logits.
"""

from __future__ import annotations

from collections.abc import Sequence

from rankinv.errors import UserError
from rankinv.validate.engines.base import encode

#: Defaults: 1,024 positions x 8,192 vocabulary entries x 4 bytes = 32 MiB per temporary.
ROW_CHUNK = 1024
VOCAB_CHUNK = 8192
#: Tokens per teacher-forced forward pass (batch x padded length); halves on out-of-memory.
TOKEN_BUDGET = 16384


def chunked_entropy(
    hidden,
    weight,
    bias=None,
    vocab_chunk: int = VOCAB_CHUNK,
    row_chunk: int = ROW_CHUNK,
    logit_scale: float | None = None,
    softcap: float | None = None,
):
    """Entropy of softmax(hidden @ weight.T + bias) per row, in fp32, never materialising
    more than ``row_chunk x vocab_chunk`` logits.

    Online over vocabulary chunks: with running max m, s = sum exp(l - m) and
    t = sum exp(l - m) * (l - m), the entropy is H = ln s - t / s (both kept relative to
    the running max, so a peaked distribution loses no precision).
    hidden: [N, H]; weight: [V, H]; returns a float32 tensor [N].
    """
    import torch

    if vocab_chunk < 1 or row_chunk < 1:
        raise UserError(f"chunks must be >= 1, got vocab {vocab_chunk}, rows {row_chunk}")
    n, v = hidden.shape[0], weight.shape[0]
    out = torch.empty(n, dtype=torch.float32, device=hidden.device)
    for r0 in range(0, n, row_chunk):
        h = hidden[r0 : r0 + row_chunk]
        m = torch.full((h.shape[0],), -float("inf"), dtype=torch.float32, device=h.device)
        s = torch.zeros_like(m)
        t = torch.zeros_like(m)
        for c0 in range(0, v, vocab_chunk):
            w = weight[c0 : c0 + vocab_chunk]
            logits = h @ w.T
            if bias is not None:
                logits = logits + bias[c0 : c0 + vocab_chunk]
            logits = logits.float()
            if logit_scale is not None:
                logits = logits * logit_scale
            if softcap is not None:
                logits = torch.tanh(logits / softcap) * softcap
            m_new = torch.maximum(m, logits.max(-1).values)
            scale = torch.exp(m - m_new)
            shift = torch.where(s > 0, m - m_new, torch.zeros_like(m))
            z = logits - m_new[:, None]
            e = torch.exp(z)
            t = (t + s * shift) * scale + (e * z).sum(-1)
            s = s * scale + e.sum(-1)
            m = m_new
            del logits, e, z
        out[r0 : r0 + h.shape[0]] = torch.log(s) - t / s
    return out


def full_entropy(logits):
    """Reference: entropy of softmax(logits) over the last axis, materialising it all."""
    import torch

    x = logits if logits.dtype == torch.float64 else logits.float()
    logp = torch.log_softmax(x, -1)
    return -(logp.exp() * logp).sum(-1)


def _unwrap(model):
    """The transformers CausalLM inside a PEFT wrapper (LoRA layers stay in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _head_params(model):
    """(weight, bias, logit_scale, softcap) of the output head, or None when the head is not
    a plain linear map (e.g. LoRA on lm_head): then logits are taken from the module in row
    chunks instead."""
    import torch

    base = _unwrap(model)
    head = base.get_output_embeddings()
    cfg = base.config
    if type(head) is not torch.nn.Linear:
        return None
    scale = getattr(cfg, "logit_scale", None)
    softcap = getattr(cfg, "final_logit_softcapping", None)
    return head.weight, head.bias, scale, softcap


class EntropyScorer:
    """Teacher-forced exact entropies for a causal LM (transformers, optionally PEFT)."""

    def __init__(
        self,
        model,
        token_budget: int = TOKEN_BUDGET,
        vocab_chunk: int = VOCAB_CHUNK,
        row_chunk: int = ROW_CHUNK,
    ):
        if token_budget < 1:
            raise UserError(f"token_budget must be >= 1, got {token_budget}")
        self.model = model
        self.token_budget = token_budget
        self.vocab_chunk = vocab_chunk
        self.row_chunk = row_chunk
        self.device = next(model.parameters()).device

    # ------------------------------------------------------------ hidden states
    def _hidden(self, input_ids, attention_mask):
        """Final (normed) hidden states [B, T, H] without computing any logits."""
        base = _unwrap(self.model)
        pos = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        try:
            decoder = base.get_decoder()
        except (AttributeError, ValueError, NotImplementedError):
            decoder = None
        if decoder is not None:
            out = decoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=pos,
                use_cache=False,
            )
            return out.last_hidden_state
        out = self.model(  # generic fallback: the last hidden state, one logit per row
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=pos,
            output_hidden_states=True,
            logits_to_keep=1,
            use_cache=False,
        )
        return out.hidden_states[-1]

    def _entropy_rows(self, hidden):
        import torch

        params = _head_params(self.model)
        if params is not None:
            w, b, scale, cap = params
            return chunked_entropy(hidden, w, b, self.vocab_chunk, self.row_chunk, scale, cap)
        head = _unwrap(self.model).get_output_embeddings()
        rows = max(1, self.row_chunk * self.vocab_chunk // max(1, head.out_features))
        return torch.cat(
            [full_entropy(head(hidden[i : i + rows])) for i in range(0, len(hidden), rows)]
        )

    # ------------------------------------------------------------ public
    def score(
        self, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]] | None = None
    ) -> tuple[list[list[float]], list[list[float]]]:
        """Teacher-forced entropies.

        Returns (prompt_h, completion_h): prompt_h[i][j] is the entropy of the next-token
        distribution after prompt tokens 0..j (j = 0..P-1, the stage-1 prompt entropy averages
        these); completion_h[i][j] that of the distribution completion token j was drawn from
        (after the prompt and completion tokens 0..j-1): exactly the per-token rollout
        entropy the sampler's own logits give, whatever the sampling temperature.
        """
        import torch

        if completions is None:
            completions = [[] for _ in prompts]
        if len(completions) != len(prompts):
            raise UserError(f"{len(prompts)} prompts but {len(completions)} completions")
        for i, p in enumerate(prompts):
            if len(p) == 0:
                raise UserError(f"prompt {i} has no tokens")
        # the last completion token's successor distribution is never needed
        seqs = [
            list(p) + list(c[:-1]) if c else list(p)
            for p, c in zip(prompts, completions, strict=True)
        ]
        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]))
        flat_h: list[list[float] | None] = [None] * len(seqs)
        budget = self.token_budget
        i = 0
        pad = 0
        while i < len(order):
            j = i + 1
            while j < len(order) and (j - i + 1) * len(seqs[order[j]]) <= budget:
                j += 1
            idx = order[i:j]
            longest = len(seqs[idx[-1]])
            ids = torch.full((len(idx), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), longest), dtype=torch.long)
            for r, k in enumerate(idx):
                ids[r, : len(seqs[k])] = torch.tensor(seqs[k])
                mask[r, : len(seqs[k])] = 1
            try:
                with torch.inference_mode():
                    hidden = self._hidden(ids.to(self.device), mask.to(self.device))
                    sel = mask.to(self.device).bool()
                    h = self._entropy_rows(hidden[sel]).cpu()
            except (RuntimeError, MemoryError) as exc:
                if not is_oom(exc) or budget <= longest:
                    raise
                budget = max(longest, budget // 2)
                _empty_cache()
                del exc
                continue
            offs = 0
            for k in idx:
                n = len(seqs[k])
                flat_h[k] = h[offs : offs + n].tolist()
                offs += n
            i = j
        prompt_h, comp_h = [], []
        for k, (p, c) in enumerate(zip(prompts, completions, strict=True)):
            hk = flat_h[k]
            prompt_h.append(hk[: len(p)])
            comp_h.append(hk[len(p) - 1 : len(p) - 1 + len(c)] if c else [])
        return prompt_h, comp_h

    def prompt_entropy(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        """Mean next-token entropy over each prompt's positions (the stage-1 screen)."""
        ph, _ = self.score(prompts)
        return [sum(h) / len(h) for h in ph]

    def rollout_entropies(
        self, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
    ) -> list[list[float]]:
        """Per generated token, the T = 1 entropy of the distribution it was drawn from."""
        _, ch = self.score(prompts, completions)
        return ch


def is_oom(exc: BaseException) -> bool:
    """Out of memory on any device: CUDA's OutOfMemoryError, the CPU allocator's
    RuntimeError ("can't allocate memory"), or Python's MemoryError."""
    msg = str(exc).lower()
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError)
        and ("out of memory" in msg or "can't allocate memory" in msg or "not enough memory" in msg)
    )


def _empty_cache():
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def prompt_entropy(model, tokenizer, prompts: Sequence[str], batch_size: int = 16) -> list[float]:
    """Mean next-token entropy (nats, T = 1) over each prompt's positions, no sampling: the
    paper's stage-1 measurement, by :class:`EntropyScorer`; ``batch_size`` x 512 tokens is the
    forward pass's token budget (halved on out-of-memory)."""
    ids = encode(tokenizer, prompts)
    return EntropyScorer(model, token_budget=max(1, batch_size) * 512).prompt_entropy(ids)
