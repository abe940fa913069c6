"""Time the quick preset's sweep: JAX (vmap + scan, after compilation) vs the NumPy loop.

Usage: python benchmarks/simulate_bench.py [--scaling]
Prints compile time separately, the ratio, and with --scaling how run time grows with
N (prompts), K (vocabulary), g and the number of runs. Times are the best of several
repeats (10 for JAX, 2 for NumPy): this machine's timings vary by +-30% run to run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rankinv.simulate import SimConfig, preset
from rankinv.simulate.reference import NumpyReference
from rankinv.simulate.sweep import run_batch
from rankinv.simulate.tasks import make_demonstrations, make_task


def numpy_sweep(cfg: SimConfig, repeats: int = 2) -> float:
    """Best of ``repeats`` wall times of the NumPy loop over every (depth, seed) run."""
    task = make_task(cfg)
    ref = NumpyReference(cfg, task)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for n_steps in cfg.sft_step_counts:
            for s in range(cfg.seeds):
                demo, _ = make_demonstrations(cfg, task, s)
                ref.train(np.random.default_rng(s), n_steps, demo)
        best = min(best, time.perf_counter() - t0)
    return best


def jax_sweep(cfg: SimConfig, repeats: int = 10) -> tuple[float, float]:
    """Compile time of the first call and the best of ``repeats`` run times after it."""
    best = float("inf")
    compile_s = None
    for _ in range(repeats):
        *_, c, r = run_batch(cfg)
        compile_s = c if compile_s is None else compile_s
        best = min(best, r)
    return compile_s, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scaling", action="store_true")
    args = ap.parse_args()
    cfg = preset("quick")
    compile_s, jax_s = jax_sweep(cfg)
    np_s = numpy_sweep(cfg)
    print(
        f"quick preset: {cfg.n_runs} runs x {cfg.rl_steps} steps, N={cfg.n_prompts}, "
        f"V={cfg.n_answers}, L={cfg.seq_len}, g={cfg.group_size}"
    )
    print(f"  JAX compile {compile_s:.2f} s, run {jax_s:.3f} s")
    print(f"  NumPy loop  {np_s:.2f} s")
    print(f"  speed-up (NumPy / JAX, after compilation): {np_s / jax_s:.1f}x")
    big = cfg.replace(seeds=cfg.seeds * 4)
    c_big, j_big = jax_sweep(big)
    n_big = numpy_sweep(big)
    print(
        f"  {big.n_runs} runs: JAX {j_big:.3f} s, NumPy {n_big:.2f} s, "
        f"speed-up {n_big / j_big:.1f}x"
    )
    if args.scaling:
        base = cfg.replace(rl_steps=100, eval_every=10)
        print("scaling of the JAX run time (after compilation):")
        for label, changes in [
            ("base", {}),
            ("N x4", {"n_prompts": base.n_prompts * 4}),
            ("K x4", {"n_answers": base.n_answers * 4}),
            ("g x4", {"group_size": base.group_size * 4}),
            ("runs x4", {"seeds": base.seeds * 4}),
        ]:
            c, r = jax_sweep(base.replace(**changes))
            print(f"  {label:8s} run {r:.3f} s (compile {c:.2f} s)")


if __name__ == "__main__":
    main()
