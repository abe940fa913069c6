"""Figures of the simulator, drawn from saved artifacts (simulate.json, derive.json).

Usage:
  rankinv simulate --preset quick --derive --out figures/data/simulate
  python figures/simulate_figures.py figures/data/simulate figures
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def depth_panel(sim: dict, out: Path) -> None:
    bd = sim["by_depth"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(bd["depth"], bd["pre_entropy"], "o-", color="tab:purple", label="pre-RL entropy")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("SFT depth (epochs)")
    ax.set_ylabel("mean token entropy (nats)", color="tab:purple")
    ax2 = ax.twinx()
    ax2.plot(bd["depth"], bd["pre_pass_at_1"], "s-", color="tab:blue", label="pre-RL pass@1")
    ax2.plot(
        bd["depth"], bd["post_peak"], "^-", color="tab:red", label=f"post-RL peak pass@{sim['k']}"
    )
    ax2.set_ylabel("pass rate")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center left")
    ax.set_title("Deeper SFT: higher pass@1, lower entropy, worse after RL")
    fig.tight_layout()
    fig.savefig(out / "sim_depth.png", dpi=120)
    plt.close(fig)


def inversion_panel(sim: dict, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    depths = np.asarray(sim["depths"])
    sc = ax.scatter(
        sim["pre"]["pass_at_1"], sim["post"]["pass_at_k"], c=np.log2(depths), cmap="viridis", s=50
    )
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label("log2 SFT epochs")
    r = sim["spearman_pre_pass1_vs_post"]
    ax.set_xlabel("pre-RL pass@1")
    ax.set_ylabel(f"post-RL peak pass@{sim['k']}")
    ax.set_title(
        f"Rank inversion: seed-demeaned rho = {r['rho']:+.2f} "
        f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "sim_inversion.png", dpi=120)
    plt.close(fig)


def trajectories_panel(sim: dict, out: Path) -> None:
    tr = sim["trajectories"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for d, h, inf in zip(sim["by_depth"]["depth"], tr["entropy"], tr["informative"], strict=True):
        (line,) = a1.plot(h, label=f"{d:g} epochs")
        a2.plot(inf, color=line.get_color())
    g = sim["work"]["group_size"]
    from rankinv import theory

    a2.axhline(
        theory.informative_probability(theory.p_star(g), g),
        color="k",
        ls="--",
        lw=1,
        label="1 - f_g(p*) = 1/2",
    )
    a1.set_xlabel("GRPO step")
    a1.set_ylabel("mean token entropy (nats)")
    a1.set_title("Entropy during RL, by SFT depth")
    a1.legend()
    a2.set_xlabel("GRPO step")
    a2.set_ylabel("informative-group fraction")
    a2.set_title("Groups that carry signal")
    a2.legend()
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "sim_trajectories.png", dpi=120)
    plt.close(fig)


def p_star_panel(derive: dict, out: Path) -> None:
    rows = derive["p_star"]
    g = [r["g"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(g, [r["p_star_analytic"] for r in rows], "k-", lw=2, label="exact p*(g)")
    ax.errorbar(
        g,
        [r["p_star_monte_carlo"] for r in rows],
        yerr=[5 * r["monte_carlo_se"] for r in rows],
        fmt="o",
        color="tab:blue",
        label="Monte Carlo (half the groups degenerate), 5 SE",
    )
    ax.plot(
        g,
        [r["p_star_dynamic"] for r in rows],
        "s--",
        color="tab:red",
        label=f"dynamic: fails to reach p=0.5 in {rows[0]['dynamic_steps']} steps",
    )
    ax.plot(
        g,
        [r["p_first_signal_half"] for r in rows],
        "v:",
        color="tab:gray",
        label="even odds of any signal in T steps",
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("group size g")
    ax.set_ylabel("critical p")
    ax.set_title("p*(g): analytic vs numeric")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(out / "sim_p_star.png", dpi=120)
    plt.close(fig)


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("figures/data/simulate")
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("figures")
    out.mkdir(parents=True, exist_ok=True)
    sim = json.loads((src / "simulate.json").read_text())
    depth_panel(sim, out)
    inversion_panel(sim, out)
    trajectories_panel(sim, out)
    if (src / "derive.json").exists():
        p_star_panel(json.loads((src / "derive.json").read_text()), out)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
