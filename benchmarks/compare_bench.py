"""Seconds per theory.spearman call (the work behind `rankinv compare`), against the former
loop implementation (scipy.stats.spearmanr once per permutation / bootstrap resample),
both timed in this run.

Usage: python benchmarks/compare_bench.py [--n 8 30]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from scipy import stats

from rankinv import theory


def _rho(x, y):
    return float(stats.spearmanr(x, y).statistic)


def loop_spearman(x, y, n_bootstrap=2000, n_perm=5000, seed=0):
    """The pre-vectorised algorithm (exact enumeration up to n = 8, then random
    permutations; percentile bootstrap in a Python loop), without seeds."""
    rng = np.random.default_rng(seed)
    n = len(x)
    rho = _rho(x, y)
    boots = []
    for _ in range(n_bootstrap):
        idx = rng.choice(n, size=n, replace=True)
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            boots.append(_rho(x[idx], y[idx]))
    if n <= 8:
        rhos = [_rho(x, y[list(p)]) for p in itertools.permutations(range(n))]
        p = float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))
    else:
        hits = sum(abs(_rho(x, y[rng.permutation(n)])) >= abs(rho) - 1e-12 for _ in range(n_perm))
        p = (hits + 1) / (n_perm + 1)
    return rho, np.quantile(boots, [0.025, 0.975]), p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[8, 30])
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    for n in args.n:
        x = rng.normal(size=n)
        y = -x + rng.normal(size=n)
        t0 = time.perf_counter()
        new = theory.spearman(x, y)
        t1 = time.perf_counter()
        old = loop_spearman(x, y)
        t2 = time.perf_counter()
        assert abs(new.rho - old[0]) < 1e-12
        print(
            f"n = {n:3d}: vectorised {t1 - t0:.3f} s (p = {new.p_value:.4f}, {new.p_method}), "
            f"loop {t2 - t1:.2f} s (p = {old[2]:.4f}); speed-up {(t2 - t1) / (t1 - t0):.0f}x"
        )


if __name__ == "__main__":
    main()
