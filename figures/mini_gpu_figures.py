"""The miniature experiment's GPU-scale ladder (one seed, 1-16 epochs, one base), drawn
from its saved summary.

Usage: python figures/mini_gpu_figures.py [figures/data/mini/gpu_h200_seed0_ladder.json] [figures]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    default = "figures/data/mini/gpu_h200_seed0_ladder.json"
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(default)
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("figures")
    res = json.loads(src.read_text())
    runs = sorted(res["runs"], key=lambda r: int(r["name"].rsplit("-d", 1)[1]))
    depths = [int(r["name"].rsplit("-d", 1)[1]) for r in runs]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.3))
    cmap = plt.get_cmap("viridis")
    for i, (d, r) in enumerate(zip(depths, runs, strict=True)):
        steps = [e["step"] for e in r["evals"]]
        colour = cmap(i / max(1, len(runs) - 1))
        a1.plot(steps, [e["pass_at_10"] for e in r["evals"]], "o-", ms=3, color=colour,
                label=f"{d} epochs")  # fmt: skip
        a1.plot(steps, [e["pass_at_1"] for e in r["evals"]], ":", color=colour)
    base = res["base"]
    a1.axhline(base["pass_at_10"], color="grey", ls="--", lw=1, label="base pass@10")
    a1.set_xlabel("GRPO step")
    a1.set_ylabel("held-out pass@10 (solid), pass@1 (dotted)")
    a1.set_title("GRPO from each SFT depth (H200, gpu preset, seed 0)")
    a1.legend(fontsize=8, ncol=2)
    a1.grid(alpha=0.3)
    bd = res["by_depth"]
    x = [b["depth"] for b in bd]
    a2.plot(x, [b["pre.pass_at_1"] for b in bd], "s-", color="tab:blue", label="pre-RL pass@1")
    a2.plot(x, [b["peak_pass_at_k"] for b in bd], "^-", color="tab:red",
            label="peak post-RL pass@10")  # fmt: skip
    a2.plot(x, [r["peak_pass_at_1"] for r in runs], "v--", color="tab:blue", alpha=0.6,
            label="peak post-RL pass@1")  # fmt: skip
    a2.plot(x, [b["informative"] for b in bd], "d-", color="tab:green",
            label="informative groups (RL)")  # fmt: skip
    a2.set_xscale("log", base=2)
    a2.set_xlabel("SFT depth (epochs)")
    a2.set_ylabel("rate")
    a2.grid(alpha=0.3)
    ax2 = a2.twinx()
    ax2.plot(x, [b["pre.entropy"] for b in bd], "o-", color="tab:purple", label="rollout H")
    ax2.set_ylabel("pre-RL rollout entropy (nats)", color="tab:purple")
    lines = a2.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    a2.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper right")
    a2.set_title("Deeper SFT: pass@1 up, entropy and pass@10 down")
    fig.tight_layout()
    fig.savefig(out / "mini_gpu_ladder.png", dpi=120)
    print(f"figure written to {out / 'mini_gpu_ladder.png'}")


if __name__ == "__main__":
    main()
