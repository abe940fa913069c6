"""Boundary checks shared by the theory functions: clear one-line ValueErrors."""

from __future__ import annotations

import numbers

import numpy as np

from rankinv.errors import UserError


def probability(p, name: str = "p") -> np.ndarray:
    """Return ``p`` as a float array, raising if any entry is NaN or outside [0, 1]."""
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise UserError(
            f"{name} must be a number or array of numbers in [0, 1], got {p!r}"
        ) from None
    if np.any(np.isnan(arr)):
        raise UserError(f"{name} must be in [0, 1], got NaN")
    if np.any((arr < 0.0) | (arr > 1.0)):
        bad = arr[(arr < 0.0) | (arr > 1.0)].ravel()[0].item()
        raise UserError(f"{name} must be in [0, 1], got {bad!r}")
    return arr


def open_level(level, name: str = "level") -> float:
    """A level strictly inside (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < level < 1.0:
        raise UserError(f"{name} must be a number in (0, 1), got {level!r}")
    return float(level)


def integer(x, name: str, minimum: int) -> np.ndarray:
    """Return ``x`` as an int64 array, raising unless every entry is an integer >= minimum."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be an integer >= {minimum}, got {x!r}") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise UserError(f"{name} must be an integer >= {minimum}, got {x!r}")
    if np.issubdtype(arr.dtype, np.floating):
        if np.any(~np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise UserError(f"{name} must be an integer >= {minimum}, got {x!r}")
    if np.any(arr < minimum):
        bad = arr[arr < minimum].ravel()[0].item()
        raise UserError(f"{name} must be an integer >= {minimum}, got {bad!r}")
    return arr.astype(np.int64)


def nonnegative(x, name: str) -> np.ndarray:
    """Return ``x`` as a float array, raising unless every entry is a finite number >= 0."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number >= 0, got {x!r}") from None
    if isinstance(x, bool) or np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise UserError(f"{name} must be a finite number >= 0, got {x!r}")
    return arr


def group_size(g, name: str = "g") -> np.ndarray:
    """A GRPO group size: an integer >= 2."""
    return integer(g, name, 2)


def scalar_or_array(result: np.ndarray, *inputs):
    """Return a Python float when every input was a scalar, else the array."""
    if all(np.ndim(x) == 0 for x in inputs):
        return result.item()
    return result
