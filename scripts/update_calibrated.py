"""Write src/data/calibrated.json (the verdicts' defaults) from a saved calibrate run.

    python scripts/update_calibrated.py [figures/data/calibrate/calibrate.json]
    python scripts/update_calibrated.py --population DIR   # recalibrate first (one command)

With --population, calibrate runs on DIR's population.jsonl (choose half / report half, the
sensitivity check and the real back-test), writes figures/data/calibrate/calibrate.json, then
the defaults module from it: the one command to rerun when a new population lands.
"""

import json
import sys
from pathlib import Path

from rankinv._io import write_json
from rankinv.evaluation.calibrate import calibrate, calibrated_constants

ROOT = Path(__file__).resolve().parents[1]
SAVED = ROOT / "figures/data/calibrate/calibrate.json"
args = sys.argv[1:]
if args[:1] == ["--population"]:
    if len(args) != 2:
        sys.exit("usage: update_calibrated.py --population DIR")
    calibrate(args[1], out=SAVED.parent, with_sensitivity=True)
    print(f"wrote {SAVED} from {args[1]}")
    src = SAVED
else:
    src = Path(args[0]) if args else SAVED
target = ROOT / "src/data/calibrated.json"
write_json(target, calibrated_constants(json.loads(src.read_text())))
print(f"wrote {target} from {src}")
