"""Speed of the probe, measured in one run against transformers' generate() on the same
prompts and token budget (issue 26, item 7):

1. whole process against whole process: `rankinv validate` end to end (imports, model
   load, sampling with exact entropies, every sample run in the sandbox, prompt entropy,
   writing) against a plain generate() script (imports, model load, sampling; no entropy, no
   execution), each a fresh `python` process, tokens/s = generated tokens / wall seconds;
   the script runs at torch's default threads and at one thread, and the faster counts;
2. the engine alone, in this process: rankinv.validate.engines.hf.HFEngine (one queue, rows
   refilled as they end, entropy from its own sampling logits; and sampling then the
   teacher-forced scorer, the vLLM path) against generate() with output_scores and the
   entropy taken from the scores afterwards, exactly --tokens new tokens per row;
3. peak memory of the exact entropy scorer at the Qwen vocabulary size (V = 151,936).

Usage: python benchmarks/probe_bench.py [--prompts 64] [--samples 4] [--tokens 128]
       [--archs qwen2,llama] [--batch-sizes 64,256] [--threads 1] [--repeats 3]
       [--process-prompts 32 --process-samples 8 --process-tokens 128] [--skip-process]
       [--memory-only]

Models: random tiny Qwen2 / Llama (hidden 64, 2 layers, a 600-token BPE tokenizer trained
here). Ratios are medians over rounds of ratios measured in the same round (the machine is
shared: its load moves absolute tokens/s between rounds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEMORY_CASE = r"""
import sys, time, torch
torch.set_num_threads(int(sys.argv[4]))
from transformers import Qwen2Config, Qwen2ForCausalLM
from rankinv.validate.scoring import EntropyScorer
V, B, T, mode = 151_936, int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
m = Qwen2ForCausalLM(Qwen2Config(vocab_size=V, hidden_size=64, intermediate_size=128,
    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    tie_word_embeddings=True)).eval()
g = torch.Generator().manual_seed(1)
def status(key):  # kB, from /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
before = status("VmRSS")
try:  # reset the high-water mark so that model building does not hide the scorer's peak
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
t0 = time.perf_counter()
sc = EntropyScorer(m)
if mode == "prompt":
    ids = torch.randint(0, 600, (B, T), generator=g).tolist()
    h = sc.prompt_entropy(ids)
else:  # rollout: 128-token prompts, T - 128 generated tokens scored
    ids = torch.randint(0, 600, (B, T), generator=g).tolist()
    h = sc.rollout_entropies([x[:128] for x in ids], [x[128:] for x in ids])
dt = time.perf_counter() - t0
after = status("VmHWM")
print(before / 1024, after / 1024, dt)
"""


def build(arch: str, root: Path, tokenizer) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny_models import build_model

    return build_model(arch, root / arch, tokenizer, seed=1, hidden=64, layers=2)


def bench_arch(model_dir: Path, prompts, args) -> dict:
    """tokens/s per engine: the best of --repeats interleaved rounds (the machine is shared)."""
    import torch

    from rankinv.validate.engines import Request, Sampling
    from rankinv.validate.engines.hf import HFEngine
    from rankinv.validate.scoring import full_entropy

    n_tok = args.tokens
    eng = HFEngine(model_dir, batch_size=64)
    model, tok = eng.model, eng.tokenizer
    rows = [p for p in prompts for _ in range(args.samples)]
    reqs = [Request(tuple(p), args.samples, 0) for p in eng.encode(prompts)]
    res: dict[str, float] = {}
    rounds: list[dict[str, float]] = []

    def record(name, n, secs):
        res[name] = max(res.get(name, 0.0), n / secs)
        rounds[-1][name] = n / secs

    for _ in range(args.repeats):
        rounds.append({})
        # transformers generate(), batches of 64 rows, scores -> entropy
        tok.padding_side = "left"
        t0 = time.perf_counter()
        n = 0
        with torch.inference_mode():
            for i in range(0, len(rows), 64):
                enc = tok(rows[i : i + 64], return_tensors="pt", padding=True)
                out = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=1.0,
                    top_k=0,
                    top_p=1.0,
                    max_new_tokens=n_tok,
                    min_new_tokens=n_tok,
                    output_scores=True,
                    return_dict_in_generate=True,
                    pad_token_id=tok.pad_token_id,
                )
                n += full_entropy(torch.stack(out.scores, 1)).numel()
        record("generate(), batch 64, scores", n, time.perf_counter() - t0)

        # the engine: sampling only, and with exact entropies by scoring
        for bs in args.batch_sizes:
            eng.batch_size = bs
            t0 = time.perf_counter()
            kw = dict(max_new_tokens=n_tok, ignore_eos=True)
            out = list(eng.sample(reqs, Sampling(**kw, entropy=True)))
            t_inline = time.perf_counter() - t0
            n = sum(g.n_tokens for _, g in out)
            assert n == len(rows) * n_tok and all(len(g.entropies) == n_tok for _, g in out)
            record(f"engine, batch {bs}, + exact entropy", n, t_inline)
            t0 = time.perf_counter()
            out = list(eng.sample(reqs, Sampling(**kw, entropy=False)))
            t_sample = time.perf_counter() - t0
            eng.scorer().rollout_entropies(  # the teacher-forced scorer (the vLLM path)
                [reqs[k].prompt_ids for k, _ in out], [g.token_ids for _, g in out]
            )
            t_all = time.perf_counter() - t0
            record(f"engine, batch {bs}, sampling only", n, t_sample)
            record(f"engine, batch {bs}, sampling + scorer", n, t_all)
    return res, rounds


GENERATE_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from rankinv.sandbox import tasks as task_sets
model_dir, n_prompts, n_samples, n_tok, threads = sys.argv[1], *map(int, sys.argv[2:6])
if threads:
    torch.set_num_threads(threads)
STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n```"]
tok = AutoTokenizer.from_pretrained(model_dir)
tok.padding_side = "left"
model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
prompts = [t.prompt for t in task_sets.load("humaneval")[:n_prompts]]
rows = [p for p in prompts for _ in range(n_samples)]
n = 0
with torch.inference_mode():
    for i in range(0, len(rows), 64):
        enc = tok(rows[i : i + 64], return_tensors="pt", padding=True)
        out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                             max_new_tokens=n_tok, stop_strings=STOP, tokenizer=tok,
                             pad_token_id=tok.pad_token_id)
        new = out[:, enc.input_ids.shape[1]:]
        # generated tokens up to and including the first end token (the rest is padding)
        for row in new.tolist():
            k = next((j for j, t in enumerate(row) if t == tok.eos_token_id), len(row) - 1)
            n += k + 1
print(n, time.perf_counter() - t0)
"""


def whole_process(model_dir: Path, args, root: Path) -> dict[str, float]:
    """tokens/s of `rankinv validate` and of the plain generate() script, each a fresh
    process timed from its start to its exit, on the same prompts x samples x tokens."""
    import json
    import os

    res = {}
    env = dict(os.environ)
    for threads, name in ((0, "generate() script, default threads"),
                          (1, "generate() script, 1 thread")):  # fmt: skip
        t0 = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-c", GENERATE_SCRIPT, str(model_dir), str(args.process_prompts),
             str(args.process_samples), str(args.process_tokens), str(threads)],
            capture_output=True, text=True, timeout=3600, env=env,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-2000:])
        n = int(run.stdout.split()[0])
        res[name] = n / wall
        res[name + " (tokens)"] = n
    out = root / f"probe-{time.monotonic_ns()}"
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "validate", "--model", str(model_dir),
         "--limit", str(args.process_prompts), "--samples", str(args.process_samples),
         "--max-new-tokens", str(args.process_tokens), "--group-size", "2",
         "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=3600, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    n = sum(r["n_tokens"] for r in recs)
    res["rankinv validate"] = n / wall
    res["rankinv validate (tokens)"] = n
    return res


def median_ratio(rounds, a: str, b: str) -> float:
    """Median over rounds of a/b measured in the same round (the load of a shared machine
    changes between rounds more than within one)."""
    import statistics

    return statistics.median(r[a] / r[b] for r in rounds)


def memory_case(b: int, t: int, mode: str, threads: int) -> tuple[float, float]:
    run = subprocess.run(
        [sys.executable, "-c", MEMORY_CASE, str(b), str(t), mode, str(threads)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    before, after, secs = map(float, run.stdout.split())
    return before, after, secs


def print_process(arch: str, model_dir: Path, args, root: Path) -> None:
    rounds = [whole_process(model_dir, args, root) for _ in range(args.repeats)]
    print(f"\n{arch}: whole process, {args.process_prompts} HumanEval prompts x "
          f"{args.process_samples} samples x up to {args.process_tokens} tokens (HumanEval "
          f"stop strings and EOS), {args.repeats} rounds:")  # fmt: skip
    for r in rounds:
        best = max(r["generate() script, default threads"], r["generate() script, 1 thread"])
        print(f"  validate {r['rankinv validate']:7.0f} tokens/s ({r['rankinv validate (tokens)']}"
              f" tokens); generate() {r['generate() script, default threads']:7.0f} "
              f"(default threads), {r['generate() script, 1 thread']:7.0f} (1 thread) "
              f"({r['generate() script, 1 thread (tokens)']} tokens); "
              f"ratio vs the faster {r['rankinv validate'] / best:5.2f}x")  # fmt: skip
    import statistics

    med = statistics.median(
        r["rankinv validate"]
        / max(r["generate() script, default threads"], r["generate() script, 1 thread"])
        for r in rounds
    )
    print(f"  median ratio, validate vs the faster generate() script: {med:5.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--archs", default="qwen2,llama")
    ap.add_argument("--batch-sizes", default="64,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--skip-process", action="store_true")
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--process-prompts", type=int, default=32)
    ap.add_argument("--process-samples", type=int, default=8)
    ap.add_argument("--process-tokens", type=int, default=128)
    ap.add_argument("--memory-batch", type=int, default=64)
    ap.add_argument("--memory-tokens", type=int, default=512)
    args = ap.parse_args()
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",")]

    import os

    import torch

    torch.set_num_threads(args.threads)
    print(f"CPU: {os.cpu_count()} cores visible, torch threads {args.threads}; "
          f"torch {torch.__version__}")  # fmt: skip
    if not args.memory_only:
        from rankinv.sandbox import tasks as task_sets

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from tiny_models import train_tokenizer

        tasks = task_sets.load("humaneval")
        tok = train_tokenizer([t.prompt + t.canonical_solution for t in tasks])
        prompts = [t.prompt for t in tasks[: args.prompts]]
        n_rows = len(prompts) * args.samples
        print(f"rows: {len(prompts)} prompts x {args.samples} samples x {args.tokens} tokens")
        with tempfile.TemporaryDirectory() as root:
            for arch in args.archs.split(","):
                model_dir = build(arch, Path(root), tok)
                if not args.skip_process:
                    print_process(arch, model_dir, args, Path(root))
                if args.skip_engine:
                    continue
                res, rounds = bench_arch(model_dir, prompts, args)
                print(f"\n{arch} (hidden 64, 2 layers, V = {len(tok)}), {n_rows} rows, best of "
                      f"{args.repeats} rounds:")  # fmt: skip
                for k, v in res.items():
                    print(f"  {k:38s} {v:8.0f} tokens/s")
                gen = "generate(), batch 64, scores"
                print("  median over rounds of the same-round ratio:")
                for bs in args.batch_sizes:
                    for kind in ("+ exact entropy", "sampling + scorer"):
                        e = f"engine, batch {bs}, {kind}"
                        print(
                            f"    engine batch {bs:3d} {kind:18s} vs generate() "
                            f"{median_ratio(rounds, e, gen):5.2f}x"
                        )
    b, t = args.memory_batch, args.memory_tokens
    full_gib = b * t * 151_936 * 4 / 2**30
    print(
        f"\nentropy scorer at V = 151,936 (tiny Qwen2, hidden 64), batch {b} x {t} tokens "
        f"(fp32 logits alone would be {full_gib:.1f} GiB):"
    )
    for mode in ("prompt", "rollout"):
        before, after, secs = memory_case(b, t, mode, args.threads)
        print(
            f"  {mode:8s} entropy: peak RSS while scoring {after:6.0f} MiB (before: "
            f"{before:.0f} MiB, torch + model), {secs:6.1f} s"
        )


if __name__ == "__main__":
    main()
