#!/usr/bin/env bash
# The GPU check of issue 26, at most 10 minutes on one GPU: both sampling engines on a
# real-size Qwen2.5-Coder-style model (random weights, vocabulary 151,936), through the real
# probe (`run_probe`: sampling, sandbox, exact entropies), printing tokens/s, the device's
# peak memory and whether the two engines' pass rates and entropies agree.
#
# With two or more GPUs visible it then checks a ladder across them (issue 35), at most 10
# more minutes: 3 tiny checkpoints through `validate_many` on every GPU (idle workers take
# shards of a checkpoint), then, with vllm, the same at --tensor-parallel-size 2; it prints
# which worker ran which shard, each GPU's peak memory above idle (nvidia-smi) and whether
# every worker and every GPU was busy, and exits 1 if not.
#
# Needs: python3 with torch (CUDA), transformers, peft, tokenizers; vllm optional (absent:
# it says so and runs the HF engine only). Run from anywhere: bash scripts/gpu_check.sh
# [SIZE] with SIZE 1.5b (default: Qwen2.5-Coder-1.5B's shape) or 7b; "tiny" is a CPU dry run
# of this script itself (hidden 64, 2 layers, the same vocabulary; the ladder check on 4 CPU
# workers); "ladder" runs the ladder check alone.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHIM="$(mktemp -d)"
trap 'rm -rf "$SHIM"' EXIT
ln -s "$ROOT/src" "$SHIM/rankinv"
export PYTHONPATH="$SHIM:$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
SIZE="${1:-1.5b}"
if [ "$SIZE" != ladder ]; then
timeout 600 python3 - "$SIZE" "$SHIM" <<'EOF'
import json, sys, threading, time
from pathlib import Path

import torch

size, work = sys.argv[1], Path(sys.argv[2])
cuda = torch.cuda.is_available()
if not cuda and size != "tiny":
    sys.exit("gpu_check: no CUDA device visible (SIZE tiny is a CPU dry run)")
print(f"device: {torch.cuda.get_device_name(0) if cuda else 'cpu'}, torch {torch.__version__}",
      flush=True)
try:
    import vllm

    print(f"vllm {vllm.__version__}")
except ImportError:
    vllm = None
    print("vllm is not installed here: running the HF engine only")

from transformers import Qwen2Config, Qwen2ForCausalLM
from tiny_models import train_tokenizer
from rankinv.sandbox import tasks as task_sets
from rankinv.validate.config import ProbeConfig
from rankinv.validate.probe import run_probe

SHAPES = {  # Qwen2.5-Coder configs: hidden, layers, heads, kv heads, intermediate
    "1.5b": (1536, 28, 12, 2, 8960),
    "7b": (3584, 28, 28, 4, 18944),
    "tiny": (64, 2, 4, 2, 128),
}
V = 151_936
hidden, layers, heads, kv, inter = SHAPES[size]
tasks = task_sets.load("synthetic")
tok = train_tokenizer([t.prompt for t in tasks] + [t.canonical_solution for t in tasks])
# pad the BPE vocabulary (ordinary entries, never produced by encoding, decoded as "x<id>") to
# Qwen's 151,936: as many added tokens would take transformers minutes to load
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

spec = json.loads(tok.backend_tokenizer.to_str())
spec["model"]["vocab"].update({f"x{i}": i for i in range(len(tok), V)})
tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
                              eos_token="<|endoftext|>", pad_token="<|endoftext|>")
cfg = Qwen2Config(vocab_size=V, hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=kv, intermediate_size=inter,
                  max_position_embeddings=4096, tie_word_embeddings=size == "1.5b",
                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                  bos_token_id=tok.eos_token_id, torch_dtype="bfloat16")
t0 = time.perf_counter()
torch.manual_seed(0)
with torch.device("cuda" if cuda else "cpu"):
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16 if cuda else torch.float32)
model_dir = work / f"qwen2.5-coder-{size}-random"
model.save_pretrained(model_dir)
tok.save_pretrained(model_dir)
from peft import LoraConfig, get_peft_model

adapter_dir = work / "lora-r64"
get_peft_model(model, LoraConfig(r=64, target_modules=["q_proj", "v_proj"])).save_pretrained(adapter_dir)
n_params = sum(p.numel() for p in model.parameters())
del model
if cuda:
    torch.cuda.empty_cache()
print(f"built {size} ({n_params / 1e9:.2f} B parameters, V = {V}) in {time.perf_counter() - t0:.0f} s",
      flush=True)


class Peak:
    """Device-wide peak memory in use (every process, vLLM's engine process too)."""

    def __enter__(self):
        if not cuda:
            self.peak_gib = float("nan")
            return self
        free, self.total = torch.cuda.mem_get_info()
        self.base, self.low, self.run = self.total - free, free, True
        self.t = threading.Thread(target=self.poll, daemon=True)
        self.t.start()
        return self

    def poll(self):
        while self.run:
            self.low = min(self.low, torch.cuda.mem_get_info()[0])
            time.sleep(0.05)

    def __exit__(self, *exc):
        if not cuda:
            return
        self.run = False
        self.t.join()
        self.peak_gib = (self.total - self.low) / 2**30


small = size == "tiny"
probe = ProbeConfig(benchmark="synthetic", limit=4 if small else 64, samples=8 if small else 16,
                    group_size=8, max_new_tokens=16 if small else 128, workers=2 if small else 8)
results = {}
for engine, model in [("hf", model_dir), ("vllm", model_dir), ("vllm", adapter_dir)]:
    if engine == "vllm" and vllm is None:
        continue
    label = f"{engine}{' + LoRA r64' if model == adapter_dir else ''}"
    out = work / f"probe-{label.replace(' ', '')}"
    cfg = probe if model == model_dir else ProbeConfig(**{**probe.__dict__, "limit": 4})
    opts = {"gpu_memory_utilization": 0.5} if engine == "vllm" else {}
    t0 = time.perf_counter()
    with Peak() as peak:
        s = run_probe(str(model), cfg, out, engine=engine, engine_options=opts, progress=False)
    wall = time.perf_counter() - t0
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    n_tok = sum(r["n_tokens"] for r in recs if r.get("kind") != "entropy")
    results[label] = s
    print(f"{label:16s} {n_tok:7d} tokens in {wall:6.1f} s (load, sample, sandbox, score): "
          f"{n_tok / wall:8.0f} tokens/s; peak device memory {peak.peak_gib:6.1f} GiB; "
          f"pass@1 {s['pass_at_1']:.4f}; rollout entropy {s['entropy_rollout']:.4f}; "
          f"end tokens {s['setup']['end_tokens']}", flush=True)
    if cuda:
        torch.cuda.empty_cache()

if "vllm" in results:
    a, b = results["hf"], results["vllm"]
    n = a["n_problems"] * a["samples_per_problem"]
    se = max(1e-9, ((a["pass_at_1"] * (1 - a["pass_at_1"]) + b["pass_at_1"] * (1 - b["pass_at_1"])) / n) ** 0.5)
    agree = abs(a["pass_at_1"] - b["pass_at_1"]) <= 3 * se
    print(f"pass-rate agreement: hf {a['pass_at_1']:.4f} vs vllm {b['pass_at_1']:.4f} "
          f"({'within' if agree else 'NOT within'} 3 standard errors, n = {n} each); "
          f"end tokens {'equal' if a['setup']['end_tokens'] == b['setup']['end_tokens'] else 'DIFFER'}; "
          f"rollout entropy hf {a['entropy_rollout']:.4f} vs vllm {b['entropy_rollout']:.4f}")
EOF
fi

GPUS="$(python3 -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')"
if [ "$GPUS" -lt 2 ] && [ "$SIZE" != tiny ]; then
    echo "ladder check: $GPUS GPU(s) visible, it needs 2 or more: skipped"
    exit 0
fi
# a file, not stdin: the local backend's worker processes start by spawn, which re-imports
# the main module (everything below runs under the __main__ guard)
cat > "$SHIM/ladder_check.py" <<'EOF'
import subprocess
import sys
import threading
import time
from pathlib import Path


class GpuMemory:
    """Each GPU's peak memory in use (MiB, nvidia-smi: every process) while a ladder runs."""

    def __enter__(self):
        self.peak, self.base, self.run = {}, self.poll(), True
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()
        return self

    def poll(self):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=index,memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True,
                                 text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        return {int(i): int(m) for i, m in (x.split(",") for x in out.strip().splitlines())}

    def loop(self):
        while self.run:
            for i, m in self.poll().items():
                self.peak[i] = max(self.peak.get(i, 0), m)
            time.sleep(0.5)

    def __exit__(self, *exc):
        self.run = False
        self.t.join()


def main(work: Path) -> int:
    import torch
    from tiny_models import build_model, train_tokenizer

    from rankinv.sandbox import tasks as task_sets
    from rankinv.validate.config import ProbeConfig
    from rankinv.validate.fanout import ProbeJob, validate_many
    from rankinv.validate.slots import visible_devices

    cuda = torch.cuda.is_available()
    devices = visible_devices() if cuda else ["", "", "", ""]  # the dry run: 4 CPU workers
    print(f"ladder check: {len(devices)} {'GPUs' if cuda else 'CPU workers (dry run)'}",
          flush=True)
    tasks = task_sets.load("synthetic")
    tok = train_tokenizer([t.prompt + t.canonical_solution for t in tasks])
    models = [str(build_model("qwen2", work / f"step-{i}00", tok, seed=i)) for i in (1, 2, 3)]
    try:
        import vllm  # noqa: F401

        engines = [("hf", {}), ("vllm", {"tensor_parallel_size": 2,
                                         "gpu_memory_utilization": 0.3})]
    except ImportError:
        engines = [("hf", {})]
        print("vllm is not installed here: the ladder runs the HF engine only")
    cfg = ProbeConfig(benchmark="synthetic", limit=16, samples=8, group_size=8,
                      max_new_tokens=32)
    failed = False
    for engine, opts in engines:
        if engine == "vllm" and (not cuda or len(devices) % 2):
            continue
        tp = opts.get("tensor_parallel_size", 1)
        job = ProbeJob(model="", out="", cfg=cfg, engine=engine, engine_options=opts,
                       progress=True)
        t0 = time.perf_counter()
        with GpuMemory() as mem:
            sums = validate_many(models, work / f"out-{engine}", job,
                                 devices=None if cuda else devices, every_s=10)
        wall = time.perf_counter() - t0
        runs = sorted((w["where"], w["job"], w["shard"], w["of"])
                      for s in sums for w in s["workers"])
        for where, j, k, of in runs:
            print(f"  {engine}: {where} ran step-{j + 1}00"
                  + (f" shard {k + 1}/{of}" if of > 1 else ""))
        slots = len(devices) // tp
        used = {r[0].split(" (")[0] for r in runs}
        # nvidia-smi numbers every GPU; keep the visible ones where their ids are numbers
        shown = {int(d) for d in devices if d.isdigit()} or set(mem.peak)
        above = {i: mem.peak[i] - mem.base.get(i, 0) for i in sorted(mem.peak) if i in shown}
        busy = [i for i, m in above.items() if m >= 100]
        ok = len(used) == slots and all(
            s["n_problems"] == 16 and s["samples_per_problem"] == 8 for s in sums
        )
        if cuda:
            ok = ok and len(busy) == len(devices)
        failed |= not ok
        gpu = (f"GPUs busy (peak MiB above idle >= 100): {len(busy)} of {len(devices)} {above}"
               if cuda else "no GPU (dry run)")
        print(f"ladder {engine} (tensor parallel {tp}): {len(runs)} units on {len(used)} of "
              f"{slots} workers in {wall:.0f} s; every worker used: "
              f"{'yes' if len(used) == slots else 'NO'}; {gpu}; {'ok' if ok else 'FAILED'}",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) / "ladder"))
EOF
timeout 600 python3 "$SHIM/ladder_check.py" "$SHIM"
