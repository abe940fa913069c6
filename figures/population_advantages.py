"""Mean vs std advantages, each at the learning rate its own sweep chooses (tuning seeds),
compared on other seeds, on the population's base setting and on its clean-demonstration
setting. Writes DIR/advantage_comparison.json.

Usage: python figures/population_advantages.py figures/data/population_quick
"""

from __future__ import annotations

import sys
from pathlib import Path

from rankinv._io import write_json
from rankinv.simulate.advantages import compare_advantages


def main(out: str) -> None:
    result = {
        "base": compare_advantages(),
        "clean demos": compare_advantages({"demos": "clean"}),
    }
    write_json(Path(out) / "advantage_comparison.json", result)
    for name, r in result.items():
        for v, d in r["variants"].items():
            edge = " (edge)" if d["chosen_at_edge"] else ""
            print(
                f"{name:12s} {v:8s} lr {d['chosen_lr']:5g}{edge}"
                f"  test final pass@1 {d['test_final_pass_at_1']:.3f}"
                f"  pass@10 {d['test_final_pass_at_k']:.3f}"
                f"  inverted {d['test_inverted_share']:.2f}"
            )


if __name__ == "__main__":
    main(sys.argv[1])
