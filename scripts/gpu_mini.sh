#!/usr/bin/env bash
# The miniature experiment's gpu preset on a lent GPU machine (torch, transformers,
# tokenizers, jax preinstalled there; rankinv itself is put on PYTHONPATH from the tree).
# A 20-second smoke run first, so that a broken environment costs little device time.
set -uo pipefail
export PYTHONUNBUFFERED=1 JAX_PLATFORMS=cpu TOKENIZERS_PARALLELISM=false
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/pkg
ln -sfn "$PWD/src" /tmp/pkg/rankinv
export PYTHONPATH=/tmp/pkg MINI_OUT=${MINI_OUT:-/tmp/mini_gpu}
nvidia-smi -L
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, torch.cuda.get_device_name(0), 'cpus', __import__('os').cpu_count())"
python3 - <<'PY' 2>&1 | grep -v "Loading\|Writing" | tee "$OUT/smoke.txt" || exit 1
import dataclasses, time
from rankinv.experiment.mini import preset, run_mini
from rankinv.sandbox.executor import Sandbox
with Sandbox(2) as s:
    print("sandbox isolation:", s.isolation)
cfg = dataclasses.replace(preset("gpu"), pretrain_steps=20, depths=(1,), seeds=1, rl_steps=2,
                          eval_every=1, control_depths=())
t = time.time()
run_mini(cfg, "/tmp/smoke", log=print)
print("smoke ok", round(time.time() - t, 1), "s")
PY
grep -q "smoke ok" "$OUT/smoke.txt" || exit 1
# A part of the ladder when device time is short: MINI_DEPTHS="4,8" MINI_SEEDS=1
# MINI_CONTROL="" (comma lists; empty control = none). Same seeds, same data order.
timeout "${BUDGET_S:-470}" python3 - <<'PY' 2>&1 | grep -v "Loading\|Writing" | tee "$OUT/gpu_log.txt"
import dataclasses, os
from rankinv.experiment.mini import preset, run_mini
cfg = preset("gpu")
ints = lambda s: tuple(int(x) for x in s.split(",") if x)
if os.environ.get("MINI_DEPTHS"):
    cfg = dataclasses.replace(cfg, depths=ints(os.environ["MINI_DEPTHS"]))
if os.environ.get("MINI_SEEDS"):
    cfg = dataclasses.replace(cfg, seeds=int(os.environ["MINI_SEEDS"]))
if "MINI_CONTROL" in os.environ:
    cfg = dataclasses.replace(cfg, control_depths=ints(os.environ["MINI_CONTROL"]))
print("config:", cfg.depths, cfg.seeds, cfg.control_depths, flush=True)
run_mini(cfg, os.environ["MINI_OUT"], log=lambda m: print(m, flush=True))
PY
cp "$MINI_OUT/mini.json" "$OUT/" 2>/dev/null
python3 - <<'PY'
import glob, json, os
out = os.environ["MINI_OUT"]
runs = [json.load(open(p)) for p in sorted(glob.glob(out + "/runs/*.json"))]
json.dump(runs, open(os.path.join(os.environ.get("OUT", "/tmp/out"), "runs.json"), "w"), indent=1)
print(len(runs), "runs saved")
PY
