"""The HF engine's draws: one uniform per row and token from a counter-based stream keyed by
the row, and the token it picks by inverse CDF.

A row (one sample of one prompt) is keyed by :func:`row_key` (its prompt's seed, its sample
number); its t-th token is drawn with :func:`row_uniforms` (key, t): a pure function, with no
generator state shared between rows. A sample's draws therefore do not depend on which other
rows share its call or its batch, nor on when it was refilled: a probe that resumes and asks
only for the missing samples draws exactly what an uninterrupted run drew (up to the floating
point of a differently padded batch, which the tests find bitwise equal on tiny models).
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def row_key(seed: int, sample: int) -> int:
    """The 64-bit key of sample number ``sample`` of the prompt seeded ``seed``."""
    h = hashlib.blake2b(f"{int(seed)}:{int(sample)}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


def row_uniforms(keys, steps) -> np.ndarray:
    """One uniform in [0, 1) per row: splitmix64 of (key, token number), its top 24 bits
    (float32's precision, exactly representable). ``keys`` and ``steps``: sequences of ints."""
    k = np.asarray(keys, dtype=np.uint64)
    t = np.asarray(steps, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = k + (t + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)


def inverse_cdf(weights, u):
    """The token each row's uniform ``u`` ([B], in [0, 1)) picks from its unnormalised
    non-negative ``weights`` ([B, V]; overwritten): the first index whose cumulative weight
    exceeds u times the row's total, so a zero-weight token is never picked."""
    import torch

    c = weights.cumsum_(-1)
    total = c[:, -1:]
    target = u.to(device=c.device, dtype=c.dtype)[:, None] * total
    target = torch.minimum(target, torch.nextafter(total, torch.zeros_like(total)))
    return torch.searchsorted(c, target, right=True).squeeze(-1).clamp_(max=c.shape[-1] - 1)


def logits_entropy(logits):
    """Entropy (nats) of softmax(logits) per row at T = 1, without a [B, V] log-softmax
    copy: H = ln s - sum e (z - m) / s with e = exp(z - m), m the row max."""
    import torch

    z = logits - logits.max(-1, keepdim=True).values
    e = torch.exp(z)
    s = e.sum(-1)
    return torch.log(s) - (e * z).sum(-1) / s


def sample_with_entropy(logits, temperature: float, top_p: float, u):
    """(tokens, T = 1 entropies) in one pass over the [B, V] logits where possible: at
    T = 1 without nucleus the draw reuses the entropy's exp(z - m) (5 passes over [B, V]
    instead of 12, which matters at V = 151,936 on a CPU); otherwise :func:`sample_tokens`
    draws. ``u``: one uniform per row (:func:`row_uniforms`)."""
    import torch

    z = logits - logits.max(-1, keepdim=True).values
    e = torch.exp(z)
    s = e.sum(-1)
    h = torch.log(s) - (e * z).sum(-1) / s
    if temperature != 1.0 or top_p < 1.0:
        return sample_tokens(logits, temperature, top_p, u), h
    return inverse_cdf(e, u), h  # e is not needed after this


def sample_tokens(logits, temperature: float, top_p: float, u):
    """One token per row from softmax(logits / T), nucleus-filtered when top_p < 1, by
    inverse CDF with one uniform per row (``u``); T = 0 is the argmax."""
    import torch

    if temperature == 0:
        return logits.argmax(-1)
    z = logits / temperature
    e = torch.exp(z - z.max(-1, keepdim=True).values)
    if top_p < 1.0:
        se, si = e.sort(-1, descending=True)
        sp = se / se.sum(-1, keepdim=True)
        drop = sp.cumsum(-1) - sp >= top_p
        e = e.scatter(-1, si, se.masked_fill(drop, 0.0))
    return inverse_cdf(e, u)
