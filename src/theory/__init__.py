"""Closed forms for GRPO with binary rewards (numpy/scipy only; no jax, no torch).

Every function is vectorised over p, validates its arguments at the boundary and raises a
one-line ValueError naming the argument and its allowed range.
"""

from rankinv.theory.entropy_bounds import (
    binary_entropy,
    entropy,
    entropy_threshold,
    entropy_threshold_per_token,
    threshold_summary,
)
from rankinv.theory.estimators import (
    degenerate_probability_plugin,
    degenerate_probability_unbiased,
    informative_fraction_unbiased,
    pass_at_k,
)
from rankinv.theory.groups import (
    DEFAULT_LEVEL,
    advantage_variance,
    degenerate_probability,
    escape_probability,
    informative_probability,
    min_group_size,
    p_star,
    p_star_upper,
)
from rankinv.theory.ranks import SpearmanResult, demean, spearman

__all__ = [
    "DEFAULT_LEVEL",
    "SpearmanResult",
    "advantage_variance",
    "binary_entropy",
    "degenerate_probability",
    "degenerate_probability_plugin",
    "degenerate_probability_unbiased",
    "demean",
    "entropy",
    "entropy_threshold",
    "entropy_threshold_per_token",
    "escape_probability",
    "informative_fraction_unbiased",
    "informative_probability",
    "min_group_size",
    "p_star",
    "p_star_upper",
    "pass_at_k",
    "spearman",
    "threshold_summary",
]
