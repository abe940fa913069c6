"""Figures of the verdicts' calibration, drawn from a saved calibrate.json.

Usage:
  rankinv calibrate --population quick --out figures/data/calibrate
  python figures/calibrate_figures.py figures/data/calibrate/calibrate.json figures
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def roc_figure(res: dict, out: Path) -> None:
    frac = res["chosen"]["stage2_check_fraction"]
    rows = [r for r in res["stage2"] if r["check_fraction"] == frac and r["roc"]]
    fig, ax = plt.subplots(figsize=(8.8, 5.4))
    for r in sorted(rows, key=lambda r: -(r["auc"] or 0)):
        style = "--" if r["rule"].startswith("paper") else "-"
        width = 2.6 if r["rule"] == res["chosen"]["stage2"] else 1.4
        ax.plot(
            r["roc"]["fpr"],
            r["roc"]["tpr"],
            style,
            lw=width,
            label=f"{r['rule']} (AUC {r['auc']:.2f})",
        )
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1, label="chance")
    ax.set_xlabel("false-positive rate (runs that went on to gain, stopped)")
    ax.set_ylabel("true-positive rate (runs not worth continuing, stopped)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    n = rows[0]["n_runs"] if rows else 0
    ax.set_title(
        f"Stage 2 at {frac:g} of the run: which rule flags runs not worth continuing\n"
        f"({n} held-out simulated runs; dashed: the paper's entropy-drop rules)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / "calibrate_stage2_roc.png", dpi=120)
    plt.close(fig)


def rho_figure(res: dict, out: Path) -> None:
    rows = sorted(res["stage1"], key=lambda r: r["median_rho"])
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(rows) + 1.6))
    ax.boxplot(
        [r["rhos"] for r in rows],
        orientation="horizontal",
        tick_labels=[f"{r['signal']} ({'+' if r['sign'] > 0 else '-'})" for r in rows],
        showfliers=False,
    )
    ax.axvline(0, color="grey", lw=1, ls=":")
    ax.set_xlabel("within-ladder Spearman rho with the final post-RL pass@k (sign-oriented)")
    ax.set_xlim(-1.05, 1.05)
    ax.set_title(
        f"Stage 1: how well each signal orders a ladder's rungs\n"
        f"({rows[0]['n_ladders'] if rows else 0} held-out ladders; (+/-): the sign chosen on "
        "the other settings)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / "calibrate_stage1_rho.png", dpi=120)
    plt.close(fig)


def main(src: str, out: str) -> None:
    res = json.loads(Path(src).read_text())
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    roc_figure(res, out_dir)
    rho_figure(res, out_dir)


if __name__ == "__main__":
    main(
        *(
            sys.argv[1:3]
            if len(sys.argv) >= 3
            else ("figures/data/calibrate/calibrate.json", "figures")
        )
    )
