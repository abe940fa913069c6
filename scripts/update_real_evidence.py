"""Write src/data/real_evidence.json (the real back-test's data, shipped in the package) from
the saved artifacts under figures/data.

    python scripts/update_real_evidence.py
"""

from pathlib import Path

from rankinv._io import write_json
from rankinv.evaluation import real_data

ROOT = Path(__file__).resolve().parents[1]
target = ROOT / "src" / Path(*real_data.SHIPPED)
write_json(target, real_data.build(ROOT / "figures" / "data"), indent=None)
print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
