#!/usr/bin/env bash
# The package as a user installs it: build the wheel, install it (with the simulate extra the
# demo needs) into a fresh venv, and run the main commands from an empty directory, where no
# source tree or figures/ folder can help.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m pip wheel -q --no-deps -w "$work/dist" "$repo"
whl="$(ls "$work"/dist/rankinv-*.whl)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "${whl}[simulate]"
mkdir "$work/empty" && cd "$work/empty"
rk="$work/venv/bin/rankinv"
"$rk" threshold --group-size 8 --json > threshold.json
"$rk" demo --out demo > /dev/null
printf 'name,depth,pre_pass_at_1,entropy\na,1,0.30,0.40\nb,2,0.35,0.30\nc,4,0.40,0.20\n' > t.csv
"$rk" rank --table t.csv --json > rank.json
"$rk" monitor "$repo/tests/data/trl/stalled" --json > monitor.json
"$rk" calibrate --population "$repo/figures/data/population_quick" --out cal --json > cal.json
"$work/venv/bin/python" - <<'PY'
import json
cal = json.load(open("cal.json"))
ladders = [lad["ladder"] for lad in cal["real"]["ladders"]]
assert len(ladders) >= 15 and "mini-nomod-s2" in ladders, ladders  # the real back-test shipped
assert cal["real_stage2"]["n_runs"] == 40, cal["real_stage2"]
assert cal["real_stage2_v2"]["n_runs"] == 62, cal["real_stage2_v2"]  # corpus v2 ships too
assert json.load(open("rank.json"))["ranking"]
from rankinv.experiment import base  # the mini experiment's saved base ships, hashes intact
assert base.check().name == "mini_base" and "site-packages" in str(base.saved_dir())
n1, n2 = cal["real_stage2"]["n_runs"], cal["real_stage2_v2"]["n_runs"]
print(f"wheel check: ok ({len(ladders)} real ladders, {n1} + {n2} real runs in corpora v1, v2)")
PY
