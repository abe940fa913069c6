"""Draw the theory layer's curves: p*(g) exact vs ln2/g, f_g(p), and E[sigma^2].

Usage: python figures/theory_curves.py [OUTDIR]   (default: figures/)
Writes theory_p_star.png and theory_group_curves.png. Pure closed forms: the saved
artifact is theory_curves.json beside the PNGs, drawn from in the same run.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rankinv import theory  # noqa: E402


def compute() -> dict:
    gs = list(range(2, 65))
    ps = np.linspace(0, 1, 401)
    return {
        "g": gs,
        "p_star": [theory.p_star(g) for g in gs],
        "ln2_over_g": [math.log(2) / g for g in gs],
        "one_minus_half_pow": [1 - 2 ** (-1 / g) for g in gs],
        "p": ps.tolist(),
        "curves": {
            str(g): {
                "f": theory.degenerate_probability(ps, g).tolist(),
                "var": theory.advantage_variance(ps, g).tolist(),
                "p_star": theory.p_star(g),
            }
            for g in (4, 8, 16, 32)
        },
    }


def draw(data: dict, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(data["g"], data["p_star"], "k-", lw=2, label="exact root of $f_g(p)=1/2$")
    ax.plot(data["g"], data["ln2_over_g"], "r--", label=r"$\ln 2/g$ (paper headline)")
    ax.plot(data["g"], data["one_minus_half_pow"], "b:", label=r"$1-2^{-1/g}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("group size g")
    ax.set_ylabel("p*(g)")
    ax.set_title("Critical success probability p*(g)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "theory_p_star.png", dpi=120)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    p = np.array(data["p"])
    for g, c in data["curves"].items():
        (line,) = a1.plot(p, c["f"], label=f"g = {g}")
        a1.axvline(c["p_star"], color=line.get_color(), ls=":", lw=1)
        a2.plot(p, c["var"], color=line.get_color(), label=f"g = {g}")
    a1.axhline(0.5, color="k", lw=0.8)
    a1.set_xlabel("p")
    a1.set_ylabel(r"$f_g(p) = p^g + (1-p)^g$")
    a1.set_title("Degenerate-group probability (dotted: p*)")
    a1.legend()
    a2.set_xlabel("p")
    a2.set_ylabel(r"$E[\sigma^2] = p(1-p)(g-1)/g$")
    a2.set_title("Expected within-group reward variance")
    a2.legend()
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "theory_group_curves.png", dpi=120)
    plt.close(fig)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    data = compute()
    (out / "theory_curves.json").write_text(json.dumps(data))
    draw(json.loads((out / "theory_curves.json").read_text()), out)
    print(f"wrote {out}/theory_p_star.png, {out}/theory_group_curves.png")


if __name__ == "__main__":
    main()
