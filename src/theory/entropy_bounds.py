r"""Entropy thresholds that bound a prompt's distance from the GRPO dead zone.

Notation: a policy puts probability q_1 >= q_2 >= ... on K outcomes (answers), entropy H in
nats, eps = 1 - q_1 (the mass off the mode), h(x) = -x ln x - (1-x) ln(1-x).

Lower bound (minimum entropy for a given top probability). Among distributions with top
mass q_1 = 1 - eps >= 1/2, entropy is smallest when the remaining eps sits on one outcome,
so H >= h(eps). When eps > 1/2 every mass is <= q_1 < 1/2, hence H >= -ln q_1 > ln 2 >= h(p*).
h is increasing on [0, 1/2], so H < H_low := h(p*) forces eps < p*. Whatever set of answers
is correct, it either holds the mode (p >= 1 - eps > 1 - p*: all-pass zone) or not
(p <= eps < p*: all-fail zone): entropy below H_low puts the prompt in the dead zone.

Upper bound (Fano's inequality). H <= h(eps) + eps ln(K-1); the right side increases
strictly in eps on [0, 1/2] for K >= 2. So if eps < p* then H < h(p*) + p* ln(K-1) =: H_high.
Contrapositive: H >= H_high forces eps >= p*, and entropy no longer implies the dead zone.
Between H_low and H_high entropy alone cannot tell.

Per-token version. The paper reports the mean next-token entropy. For answers that are
sequences of L tokens from a vocabulary of V, the chain rule gives the sequence entropy as
the sum of the expected per-position conditional entropies along the policy's own samples,
H_seq = sum_t E[H(x_t | x_<t)] = L * bar h, where bar h is the mean token entropy measured
along rollouts. Applying the bounds to the V^L sequences:
bar h < h(p*) / L forces the dead zone, and bar h >= (h(p*) + p* ln(V^L - 1)) / L, which is
about h(p*)/L + p* ln V, forces eps >= p*. The lower per-token threshold shrinks like 1/L:
long answers can sit in the dead zone at token entropies far above h(p*), which is why the
paper's tau_H = 0.18 nats is an empirical calibration, not a bound.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rankinv.errors import UserError
from rankinv.theory import _checks
from rankinv.theory.groups import DEFAULT_LEVEL, advantage_variance, p_star, p_star_upper


def binary_entropy(x):
    r"""h(x) = -x ln x - (1-x) ln(1-x) in nats, with h(0) = h(1) = 0.

    >>> round(binary_entropy(0.5), 6)
    0.693147
    """
    x_arr = _checks.probability(x, "x")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -(
            np.where(x_arr > 0, x_arr * np.log(x_arr), 0.0)
            + np.where(x_arr < 1, (1 - x_arr) * np.log1p(-x_arr), 0.0)
        )
    return _checks.scalar_or_array(np.asarray(out, dtype=float), x)


def _outcomes(k, name: str) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 2:
        raise UserError(f"{name} must be an integer >= 2, got {k!r}")
    return int(k)


def entropy_threshold(g, n_outcomes: int = 32, level=DEFAULT_LEVEL):
    r"""The pair (H_low, H_high) in nats for group size g and K = n_outcomes answers.

    .. math:: H_{low} = h(p^*), \qquad H_{high} = h(p^*) + p^* \ln(K-1)

    H < H_low implies eps = 1 - max prob < p*(g) (the prompt is in the dead zone whichever
    answers are correct); H >= H_high implies eps >= p*(g). See the module docstring for
    the derivation (minimum-entropy bound and Fano's inequality).

    >>> low, high = entropy_threshold(8, 32)
    >>> round(low, 4), round(high, 4)
    (0.286, 0.571)
    """
    k = _outcomes(n_outcomes, "n_outcomes")
    ps = np.asarray(p_star(g, level))
    low = np.asarray(binary_entropy(ps))
    high = low + ps * np.log(k - 1)
    return _checks.scalar_or_array(low, g), _checks.scalar_or_array(high, g)


def entropy_threshold_per_token(g, vocab_size: int, length: int, level=DEFAULT_LEVEL):
    r"""Per-token version of :func:`entropy_threshold` for answers of ``length`` tokens.

    .. math:: \bar h_{low} = h(p^*)/L, \qquad
              \bar h_{high} = \big(h(p^*) + p^* \ln(V^L - 1)\big)/L

    bar h is the mean next-token entropy along the policy's own rollouts (chain rule).
    ln(V^L - 1) is evaluated as L ln V + ln(1 - V^-L) to avoid overflow.

    >>> low, high = entropy_threshold_per_token(8, vocab_size=2, length=1)
    >>> round(low, 4), round(high, 4)
    (0.286, 0.286)
    >>> low, high = entropy_threshold_per_token(8, vocab_size=32, length=4)
    >>> round(low, 4), round(high, 4)
    (0.0715, 0.3591)
    """
    v = _outcomes(vocab_size, "vocab_size")
    length_ = _checks.integer(length, "length", 1)
    if np.ndim(length_) != 0:
        raise UserError("length must be a single integer >= 1")
    L = int(length_)
    ps = np.asarray(p_star(g, level))
    hp = np.asarray(binary_entropy(ps))
    log_outcomes_minus_1 = L * np.log(v) + np.log1p(-(float(v) ** -L))
    low = hp / L
    high = (hp + ps * log_outcomes_minus_1) / L
    return _checks.scalar_or_array(low, g), _checks.scalar_or_array(high, g)


def entropy(probs, axis: int = -1):
    r"""Shannon entropy :math:`-\sum_i q_i \ln q_i` in nats along ``axis``.

    >>> round(entropy([0.5, 0.5]), 6)
    0.693147
    """
    q = np.asarray(probs, dtype=float)
    if np.any(np.isnan(q)) or np.any(q < 0):
        raise UserError("probs must be non-negative and not NaN")
    s = q.sum(axis=axis, keepdims=True)
    if np.any(np.abs(s - 1.0) > 1e-6):
        raise UserError("probs must sum to 1 along axis")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(q), 0.0)
    out = -terms.sum(axis=axis)
    return out.item() if np.ndim(out) == 0 else out


def threshold_summary(group_size: int, level: float = DEFAULT_LEVEL, n_outcomes: int = 32) -> dict:
    """Everything ``rankinv threshold`` reports for one group size: p*(g) and 1 - p*(g), the
    small-p approximation ln(1/L)/g beside it (ln2/g at the default level 1/2; the key keeps
    its historical name), E[sigma^2] at p*, and the entropy bounds (H_low, H_high)
    for ``n_outcomes`` distinct answers."""
    ps = p_star(group_size, level)
    low, high = entropy_threshold(group_size, n_outcomes, level)
    return {
        "group_size": group_size,
        "level": level,
        "p_star": ps,
        "p_star_upper": p_star_upper(group_size, level),
        "p_star_ln2_over_g": math.log(1.0 / level) / group_size,
        "advantage_variance_at_p_star": float(advantage_variance(ps, group_size)),
        "entropy_low_nats": low,
        "entropy_high_nats": high,
        "n_outcomes": n_outcomes,
    }
