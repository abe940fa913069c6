"""Score the coverage rule (rankinv.verdicts.coverage) on simulated runs where held-out pass@k
is known exactly, against "never stop" and "stop at the first drop".

Each run evaluates P held-out prompts with n samples each at L looks (every `every` steps).
Prompt i has a success probability p_i(t) = sigmoid(a_i + b_i * t / T); its exact pass@k is
1 - (1 - p_i)^k, and the evaluation draws c_i ~ Binomial(n, p_i), estimates pass@k per prompt
without bias (rankinv.theory.pass_at_k) and logs the mean over prompts and its standard error.
- keep runs (the null): every b_i >= 0, so each prompt's pass@k, and the run's, never falls;
  a stop there is a false stop; flat runs: every b_i = 0 (every look has the same true
  pass@k); fresh runs: flat, with a fresh draw of the P prompts at every look, so the looks
  are independent and the logged SE is the whole noise of a difference (on a fixed prompt
  set the looks are positively correlated and the test is conservative).
- sharpen runs: easy prompts (a_i > 0) rise, hard ones fall (b_i < 0): pass@1 rises while
  pass@k peaks and falls, the failure the rule must catch.

Reported per policy: the false-stop rate on keep runs (over all looks), the stop rate on
sharpen runs, the mean regret (true best pass@k of the run minus true pass@k at the kept
step), and the mean share of looks saved.

    python scripts/coverage_rule_score.py [--runs 400] [--seed 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from rankinv.theory import pass_at_k
from rankinv.verdicts import coverage

P, N, K, LOOKS, EVERY = 64, 16, 8, 21, 10  # prompts, samples, k, looks (steps 0..200), interval
KINDS = ("fresh", "flat", "keep", "sharpen")


def simulate_run(rng: np.random.Generator, kind: str) -> dict:
    """One run's looks: steps, estimated pass@k and its SE, exact pass@k, pass@1."""
    a = rng.normal(-0.5, 1.5, P)
    if kind == "keep":
        b = rng.uniform(0.0, 1.5, P) * rng.binomial(1, 0.5, P)  # some rise, the rest stay
    elif kind == "flat":
        b = np.zeros(P)
    else:
        b = np.where(a > 0, rng.uniform(0.5, 2.0, P), -rng.uniform(1.0, 3.0, P))
    steps = np.arange(LOOKS) * EVERY
    t = steps / steps[-1]
    p = 1 / (1 + np.exp(-(a[None, :] + b[None, :] * t[:, None])))  # looks x prompts
    if kind == "fresh":
        p = 1 / (1 + np.exp(-rng.normal(-0.5, 1.5, (LOOKS, P))))
    c = rng.binomial(N, p)
    est = pass_at_k(np.full(c.shape, N), c, K)
    return {
        "steps": steps,
        "x": est.mean(axis=1),
        "se": est.std(axis=1, ddof=1) / np.sqrt(P),
        # exact pass@k of the run (of the prompt population for fresh runs: E over a)
        "true": np.full(LOOKS, (1 - (1 - p) ** K).mean())
        if kind == "fresh"
        else (1 - (1 - p) ** K).mean(axis=1),
        "pass1": p.mean(axis=1),
    }


def policies(run: dict, z_crit: float) -> dict[str, tuple[int, int]]:
    """(look stopped at, look kept) per policy."""
    x, se, last = run["x"], run["se"], len(run["x"]) - 1
    fired, _ = coverage.first_fall(x, se, z_crit)
    seq = (last, int(np.argmax(x))) if fired is None else (fired, int(np.argmax(x[: fired + 1])))
    drop = next((t for t in range(1, x.size) if x[t] < x[:t].max()), None)
    first = (last, int(np.argmax(x))) if drop is None else (drop, int(np.argmax(x[: drop + 1])))
    return {"never stop": (last, last), "first drop": first, "coverage rule": seq}


def score(runs: int = 400, seed: int = 0, alpha: float = coverage.COVERAGE_ALPHA) -> dict:
    rng = np.random.default_rng(seed)
    z_crit = coverage.critical_z(LOOKS, alpha)
    out: dict = {"alpha": alpha, "z_crit": z_crit, "looks": LOOKS, "runs_per_kind": runs}
    for kind in KINDS:
        rows = {name: [] for name in ("never stop", "first drop", "coverage rule")}
        for _ in range(runs):
            run = simulate_run(rng, kind)
            last = len(run["x"]) - 1
            for name, (stop, keep) in policies(run, z_crit).items():
                rows[name].append(
                    (stop < last, run["true"].max() - run["true"][keep], (last - stop) / last)
                )
        out[kind] = {
            name: {
                "stop_rate": float(np.mean([r[0] for r in v])),
                "regret": float(np.mean([r[1] for r in v])),
                "looks_saved": float(np.mean([r[2] for r in v])),
            }
            for name, v in rows.items()
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    res = score(args.runs, args.seed)
    print(json.dumps(res, indent=1))
    print(f"\n{coverage.TEST_NAME}, alpha {res['alpha']}, z* {res['z_crit']:.2f}")
    for kind in KINDS:
        for name, v in res[kind].items():
            print(
                f"{kind:8s} {name:14s} stop rate {v['stop_rate']:6.1%}  regret "
                f"{v['regret']:.4f}  looks saved {v['looks_saved']:6.1%}"
            )


if __name__ == "__main__":
    main()
