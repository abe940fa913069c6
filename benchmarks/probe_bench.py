"""Tokens per second of the probe's sampling engine against transformers' generate() and
the previous HFSampler, on the same rows in the same run; peak memory of the exact entropy
scorer at the Qwen vocabulary size (V = 151,936).

Usage: python benchmarks/probe_bench.py [--prompts 64] [--samples 4] [--tokens 128]
       [--archs qwen2,llama] [--batch-sizes 64,256] [--threads 1] [--repeats 3]
       [--memory-only]

Rows: the first --prompts HumanEval prompts x --samples, exactly --tokens new tokens each
(EOS ignored, no stop strings, so every engine does the same work), T = 1. Models: random
tiny Qwen2 / Llama (hidden 64, 2 layers, a 600-token BPE tokenizer trained here). Every
engine gives the per-token T = 1 entropy:
  generate():  output_scores, entropy from the stacked scores afterwards;
  HFSampler:   the previous rankinv sampler (entropy from its own logits, fixed batches),
               once as `rankinv validate` called it (one problem's samples per call) and
               once given all rows (batches of 64);
  engine:      rankinv.validate.engine.HFEngine (one queue, rows refilled as they end),
               entropy from its own sampling logits ("+ exact entropy"), and sampling
               alone then the teacher-forced scorer ("sampling + scorer", the vLLM path).
Memory: a subprocess per case: RSS before scoring, and the peak RSS (VmHWM, reset after
the model is built) while scoring.
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

    from rankinv.validate.engine import HFEngine
    from rankinv.validate.sampler import HFSampler
    from rankinv.validate.scoring import full_entropy

    n_tok = args.tokens
    eng = HFEngine(model_dir, batch_size=64)
    model, tok = eng.model, eng.tokenizer
    rows = [p for p in prompts for _ in range(args.samples)]
    ids = eng.encode(rows)
    old = HFSampler.from_model(model, tok, batch_size=64)
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

        # the previous HFSampler as `rankinv validate` called it: one problem per call
        t0 = time.perf_counter()
        n = 0
        for p in prompts:
            gens = old.generate([p], n=args.samples, max_new_tokens=n_tok, stop=(), seed=0)
            n += sum(g.n_tokens for g in gens[0])
        record("previous HFSampler, per problem", n, time.perf_counter() - t0)
        # ... and given all rows at once (batches of 64)
        t0 = time.perf_counter()
        gens = old.generate(prompts, n=args.samples, max_new_tokens=n_tok, stop=(), seed=0)
        n = sum(g.n_tokens for r in gens for g in r)
        record("previous HFSampler, all rows", n, time.perf_counter() - t0)

        # the engine: sampling only, and with exact entropies by scoring
        for bs in args.batch_sizes:
            eng.batch_size = bs
            t0 = time.perf_counter()
            kw = dict(max_new_tokens=n_tok, stop=(), seed=0, ignore_eos=True)
            out = dict(eng.stream(ids, **kw, entropy=True))
            t_inline = time.perf_counter() - t0
            n = sum(g.n_tokens for g in out.values())
            assert n == len(rows) * n_tok and all(len(g.entropies) == n_tok for g in out.values())
            record(f"engine, batch {bs}, + exact entropy", n, t_inline)
            t0 = time.perf_counter()
            out = dict(eng.stream(ids, **kw, entropy=False))
            t_sample = time.perf_counter() - t0
            gens = [out[k] for k in range(len(ids))]
            eng.add_entropies(ids, gens)  # the teacher-forced scorer (the vLLM path)
            t_all = time.perf_counter() - t0
            record(f"engine, batch {bs}, sampling only", n, t_sample)
            record(f"engine, batch {bs}, sampling + scorer", n, t_all)
    return res, rounds


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
                res, rounds = bench_arch(build(arch, Path(root), tok), prompts, args)
                print(f"\n{arch} (hidden 64, 2 layers, V = {len(tok)}), {n_rows} rows, best of "
                      f"{args.repeats} rounds:")  # fmt: skip
                for k, v in res.items():
                    print(f"  {k:38s} {v:8.0f} tokens/s")
                gen, per, allr = (
                    "generate(), batch 64, scores",
                    "previous HFSampler, per problem",
                    "previous HFSampler, all rows",
                )
                print("  median over rounds of the same-round ratio:")
                for bs in args.batch_sizes:
                    for kind in ("+ exact entropy", "sampling + scorer"):
                        e = f"engine, batch {bs}, {kind}"
                        print(
                            f"    engine batch {bs:3d} {kind:18s} vs generate() "
                            f"{median_ratio(rounds, e, gen):5.2f}x, vs previous HFSampler per "
                            f"problem {median_ratio(rounds, e, per):5.2f}x, all rows "
                            f"{median_ratio(rounds, e, allr):5.2f}x"
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
