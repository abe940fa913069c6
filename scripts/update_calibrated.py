"""Write src/verdicts/_calibrated.py (the verdicts' defaults) from a saved calibrate run.

python scripts/update_calibrated.py [figures/data/calibrate/calibrate.json]
"""

import json
import sys
from pathlib import Path

from rankinv.verdicts.calibrate import constants_module

ROOT = Path(__file__).resolve().parents[1]
src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "figures/data/calibrate/calibrate.json"
target = ROOT / "src/verdicts/_calibrated.py"
target.write_text(constants_module(json.loads(src.read_text())))
print(f"wrote {target} from {src}")
