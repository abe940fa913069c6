"""Time a simulated population: JAX (one compiled vmapped call per shape) vs the NumPy
reference (reference.FamilyReference, plain loops) on the same ladders, in the same run.

Usage: python benchmarks/population_bench.py [--population quick|full] [--numpy-every N]

The JAX time is the whole population from scratch (no resume), compilation included and
excluded; its runs count every learning rate of each ladder's sweep. The NumPy reference
trains every N-th ladder of the population (default every ladder) at every depth and every
rate of its sweep, in the same settings, and its time is scaled by the share of ladders
it ran; the printed ratios are NumPy / JAX per run. The NumPy loop computes only the
held-out pass@k per step (the JAX simulator also computes the trace), so the ratio is a lower
bound on the JAX speed-up for equal work.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from rankinv.simulate import population as P
from rankinv.simulate import settings as S
from rankinv.simulate.reference import FamilyReference
from rankinv.simulate.tasks import make_demonstrations, make_task


def numpy_population(design: S.Design, every: int) -> tuple[float, int]:
    """Seconds and runs of the NumPy reference over every ``every``-th ladder."""
    runs = 0
    t0 = time.perf_counter()
    for setting, seed in design.ladders[::every]:
        cfg = S.config_of(setting, seed)
        task = make_task(cfg)
        demo, _ = make_demonstrations(cfg, task, seed)
        for lr in cfg.rl_lr_grid or (cfg.rl_lr,):
            ref = FamilyReference(cfg.replace(rl_lr=lr), task)
            for n_steps in cfg.sft_step_counts:
                ref.train(np.random.default_rng(seed), n_steps, demo)
                runs += 1
    return time.perf_counter() - t0, runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", default="quick", choices=["quick", "full"])
    ap.add_argument("--numpy-every", type=int, default=1)
    args = ap.parse_args()
    # compile for real (not from the persistent cache) unless told otherwise
    os.environ.setdefault("RANKINV_JAX_CACHE", "off")
    design = S.design(args.population)
    with tempfile.TemporaryDirectory() as tmp:
        s = P.run_population(args.population, tmp, design_=design)
    jax_total, jax_compile = s["elapsed_s"], s["compile_s"]
    jax_run = jax_total - jax_compile
    n = s["runs_computed_with_sweep"]
    np_s, np_runs = numpy_population(design, args.numpy_every)
    np_per_run = np_s / np_runs
    print(
        f"population {args.population}: {s['n_ladders']} ladders (+ the lr study), {n} runs "
        f"with the learning-rate sweep, {s['n_compiles']} compiles"
    )
    print(
        f"  JAX   {jax_total:.1f} s total ({jax_compile:.1f} s compiling, {jax_run:.1f} s "
        f"running): {n / jax_total:.1f} runs/s, {n / jax_run:.1f} runs/s after compilation"
    )
    print(
        f"  NumPy {np_s:.1f} s for {np_runs} runs (every {args.numpy_every}. ladder): "
        f"{1 / np_per_run:.2f} runs/s"
    )
    print(
        f"  speed-up NumPy / JAX per run, compilation included: {np_per_run * n / jax_total:.1f}x"
    )
    print(f"  speed-up NumPy / JAX per run, after compilation:    {np_per_run * n / jax_run:.1f}x")


if __name__ == "__main__":
    main()
