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
    rows = sorted((r for r in res["stage1"] if r.get("rhos")), key=lambda r: r["median_rho"])
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(rows) + 1.6))
    ax.boxplot(
        [r["rhos"] for r in rows],
        orientation="horizontal",
        tick_labels=[
            f"{r['signal']} ({'+' if r['sign'] > 0 else '-'})"
            + (" [free answer]" if r.get("baseline") else "")
            for r in rows
        ],
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


def regret_figure(res: dict, out: Path) -> None:
    """Mean regret per chooser on each kind of held-out ladder, the free answers in grey:
    a signal is worth its cost only where its bar is shorter than every grey one."""
    kinds = res.get("stage1_by_kind") or {"all": res["stage1"]}
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.2 * len(kinds), 5.6), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], kinds.items(), strict=True):
        rows = sorted(rows, key=lambda r: r["regret"], reverse=True)
        colors = ["0.6" if r.get("baseline") else "tab:blue" for r in rows]
        ax.barh([r["signal"] for r in rows], [r["regret"] for r in rows], color=colors)
        ax.set_xlabel("mean regret: best rung's final held-out pass@10 minus the pick's")
        n = max((r["n_ladders"] for r in rows), default=0)
        ax.set_title(f"{kind} ladders (up to {n} held out)", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
    beat = sorted(
        r["signal"]
        for r in res["stage1"]
        if (v := (r.get("vs_baselines") or {}).get("shallowest"))
        and v["mean"] > 0
        and (v.get("p_holm") or 1.0) < 0.05
    )
    verdict = (
        "signals that beat the least-trained checkpoint (paired by setting, Holm p < 0.05): "
        + (", ".join(beat) if beat else "none")
    )
    fig.suptitle(
        "Stage 1: regret of each signal's pick (blue) beside the free answers (grey); "
        f"shorter is better.\n{verdict} (intervals: docs/results.md)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / "calibrate_stage1_regret.png", dpi=120)
    plt.close(fig)


def main(src: str, out: str) -> None:
    res = json.loads(Path(src).read_text())
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    roc_figure(res, out_dir)
    rho_figure(res, out_dir)
    regret_figure(res, out_dir)


if __name__ == "__main__":
    main(
        *(
            sys.argv[1:3]
            if len(sys.argv) >= 3
            else ("figures/data/calibrate/calibrate.json", "figures")
        )
    )
