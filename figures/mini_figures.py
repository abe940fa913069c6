"""Figures of the miniature experiment from its saved summary (mini.json).

Usage: python figures/mini_figures.py [figures/data/mini/mini_ci.json] [figures]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("figures/data/mini/mini_ci.json")
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("figures")
    res = json.loads(src.read_text())
    k = max(res["config"]["ks"])
    runs = [r for r in res["runs"] if r["variant"] == "teacher"]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.3))
    depths = np.array([r["depth"] for r in runs])
    sc = a1.scatter(
        [r["pre"]["pass_at_1"] for r in runs],
        [r["peak_pass_at_k"] for r in runs],
        c=np.log2(depths),
        cmap="viridis",
        s=55,
    )
    fig.colorbar(sc, ax=a1).set_label("log2 SFT epochs")
    rho = res["rho_pass1_vs_post"]
    a1.set_title(
        f"Qwen2 mini: rho = {rho['rho']:+.2f} [{rho['ci_low']:+.2f}, {rho['ci_high']:+.2f}]"
    )
    a1.set_xlabel("pre-RL pass@1 (held-out, T = 1)")
    a1.set_ylabel(f"peak post-RL pass@{k}")
    for variant, style in (("teacher", "o-"), ("clean", "s--")):
        bd = [b for b in res["by_depth"] if b["variant"] == variant]
        if not bd:
            continue
        d = [b["depth"] for b in bd]
        a2.plot(
            d,
            [b["peak_pass_at_k"] for b in bd],
            style,
            color="tab:red",
            label=f"{variant}: post pass@{k}",
        )
        a2.plot(
            d,
            [b["peak_nonlinear"] for b in bd],
            style,
            color="tab:orange",
            label=f"{variant}: post pass@{k}, nonlinear",
        )
        a2.plot(
            d,
            [b["pre.entropy"] for b in bd],
            style,
            color="tab:purple",
            label=f"{variant}: rollout entropy",
        )
        a3.plot(
            d,
            [b["all_fail"] for b in bd],
            style,
            color="tab:blue",
            label=f"{variant}: all-fail groups",
        )
        a3.plot(
            d,
            [b["all_pass"] for b in bd],
            style,
            color="tab:green",
            label=f"{variant}: all-pass groups",
        )
    for a in (a2, a3):
        a.set_xscale("log", base=2)
        a.set_xlabel("SFT epochs")
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    a2.set_title("Outcome and entropy by depth")
    a3.set_title("Why: stranded (all-fail) vs sharpened (all-pass)")
    a3.set_ylabel("share of groups, first 5 GRPO steps")
    a1.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "mini_experiment.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'mini_experiment.png'}")


if __name__ == "__main__":
    main()
