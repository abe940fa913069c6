#!/usr/bin/env bash
# The miniature experiment's gpu preset on a lent GPU machine (torch, transformers,
# tokenizers, jax preinstalled there; rankinv itself is put on PYTHONPATH from the tree).
# A 20-second smoke run first, so that a broken environment costs little device time.
set -uo pipefail
export PYTHONUNBUFFERED=1 JAX_PLATFORMS=cpu TOKENIZERS_PARALLELISM=false
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/pkg
ln -sfn "$PWD/src" /tmp/pkg/rankinv
export PYTHONPATH=/tmp/pkg
nvidia-smi -L
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, torch.cuda.get_device_name(0), 'cpus', __import__('os').cpu_count())"
python3 - <<'PY' 2>&1 | grep -v "Loading\|Writing" | tee "$OUT/smoke.txt" || exit 1
import dataclasses, time
from rankinv.experiment.mini import preset, run_mini
from rankinv.validate.executor import Sandbox
with Sandbox(2) as s:
    print("sandbox isolation:", s.isolation)
cfg = dataclasses.replace(preset("gpu"), pretrain_steps=20, depths=(1,), seeds=1, rl_steps=2,
                          eval_every=1, control_depths=())
t = time.time()
run_mini(cfg, "/tmp/smoke", log=print)
print("smoke ok", round(time.time() - t, 1), "s")
PY
grep -q "smoke ok" "$OUT/smoke.txt" || exit 1
timeout "${BUDGET_S:-470}" python3 -m rankinv.cli experiment mini --preset gpu --out /tmp/mini_gpu 2>&1 \
  | grep -v "Loading\|Writing" | tee "$OUT/gpu_log.txt"
cp /tmp/mini_gpu/mini.json "$OUT/" 2>/dev/null
python3 - <<'PY'
import glob, json, os
runs = [json.load(open(p)) for p in sorted(glob.glob("/tmp/mini_gpu/runs/*.json"))]
json.dump(runs, open(os.path.join(os.environ.get("OUT", "/tmp/out"), "runs.json"), "w"), indent=1)
print(len(runs), "runs saved")
PY
