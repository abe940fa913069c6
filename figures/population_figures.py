"""Figures of the simulated population, drawn from its saved summary and ladders.

Usage:
  rankinv simulate --population quick --out figures/data/population_quick
  python figures/population_figures.py figures/data/population_quick figures

Writes population_inversion.png: per setting axis and value, the share of ladders whose
best pre-RL rung (stage-1 pass@1) is not the best post-RL rung (final held-out pass@10),
for the base setting with only that axis changed (one-at-a-time design) and for settings
drawn at random (that value, the other axes averaged over), with the number of ladders.
Also population_depth.png: mean held-out pass@10 before RL (step 0) and after it by SFT
depth for the base setting, clean demonstrations and the Qwen-like and DeepSeek-like
regimes; and population_coverage.png: per run, the change of held-out pass@10 through RL
(final minus step 0), tuned ladders against each rate of the untuned learning-rate study.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LABELS = {
    "difficulty": "difficulty",
    "demos": "demos",
    "capacity": "capacity (features)",
    "vocab": "vocab x length",
    "group_size": "group size g",
    "batch": "batch",
    "rl_steps": "RL steps",
    "variant": "GRPO variant",
    "modes": "strategies",
    "regime": "regime",
}


def inversion_panel(summary: dict, out: Path) -> None:
    axes = list(summary["by_axis"])
    rows = [(a, v) for a in axes for v in summary["by_axis"][a]]
    base = summary["base_setting"]
    fig, ax = plt.subplots(figsize=(8.0, 0.32 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    one = [summary["by_axis_vs_base"][a][v] for a, v in rows]
    rnd = [summary["by_axis"][a][v] for a, v in rows]

    def vals(ds):
        return np.array(
            [np.nan if d["inverted_share"] is None else d["inverted_share"] for d in ds]
        )

    ax.barh(
        y + 0.2, vals(one), height=0.38, color="tab:red", label="base setting, one axis changed"
    )
    ax.barh(y - 0.2, vals(rnd), height=0.38, color="tab:gray", label="random settings")
    for yi, d1, d2 in zip(y, one, rnd, strict=True):
        for off, d in ((0.2, d1), (-0.2, d2)):
            x = d["inverted_share"] or 0.0
            ax.text(x + 0.01, yi + off, f"n={d['n_ladders']}", va="center", fontsize=6.5)
    labels = []
    for a, v in rows:
        mark = " (base)" if str(base[a]) == v else ""
        labels.append(f"{LABELS.get(a, a)}: {v}{mark}")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7.5)
    for i in range(1, len(axes)):  # separators between axes
        n_before = sum(len(summary["by_axis"][a]) for a in axes[:i])
        ax.axhline(len(rows) - n_before - 0.5, color="0.85", lw=0.8)
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share of ladders inverted (best pre-RL pass@1 rung not best post-RL)")
    ax.set_title(
        f"Which settings invert the SFT ladder? Simulated population '{summary['population']}'"
        f"\n{summary['n_ladders']} depth ladders x {len(summary['depths'])} SFT depths, "
        "family policy, RL lr tuned per ladder,"
        f"\noutcome: final held-out pass@{summary['k']}",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "population_inversion.png", dpi=120)
    plt.close(fig)


def depth_panel(records: list[dict], summary: dict, out: Path) -> None:
    base = summary["base_setting"]
    groups = {
        "base (3 strategies, 1 family taught wrong)": base,
        "clean demonstrations": {**base, "demos": "clean"},
        "Qwen-like regime": {**base, "regime": "qwen-like"},
        "DeepSeek-like regime": {**base, "regime": "deepseek-like"},
    }
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.6), sharey=True)
    colours = ["tab:red", "tab:blue", "tab:purple", "tab:green"]
    k = summary["k"]
    for ax, (key, title) in zip(
        axes,
        [
            ("start_pass_at_k", f"before RL (step 0): held-out pass@{k}"),
            ("final_pass_at_k", f"after RL (final): held-out pass@{k}"),
        ],
        strict=True,
    ):
        for (label, setting), c in zip(groups.items(), colours, strict=True):
            recs = [r for r in records if r["setting"] == setting]
            if not recs:
                continue
            depths = [run["depth"] for run in recs[0]["runs"]]
            y = np.array([[run["outcome"][key] for run in r["runs"]] for r in recs])
            ax.plot(depths, y.mean(0), "o-", color=c, label=f"{label} (n={len(recs)} ladders)")
            for row in y:
                ax.plot(depths, row, "-", color=c, alpha=0.15, lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(summary["depths"])
        ax.set_xticklabels([f"{d:g}" for d in summary["depths"]])
        ax.set_xlabel("SFT depth (epochs)")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("pass rate (held-out prompts)")
    axes[1].legend(fontsize=7.5, loc="lower left")
    fig.suptitle(
        "Deeper SFT before and after GRPO (tuned learning rate; thin lines: seeds)", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(out / "population_depth.png", dpi=120)
    plt.close(fig)


def coverage_panel(records: list[dict], summary: dict, out: Path) -> None:
    def deltas(recs):
        return [
            run["outcome"]["final_pass_at_k"] - run["outcome"]["start_pass_at_k"]
            for r in recs
            for run in r["runs"]
        ]

    tuned = [r for r in records if "rl_lr" not in r["setting"]]
    groups = [(f"tuned ladders (n={len(deltas(tuned))} runs)", deltas(tuned))]
    for lr in sorted({r["setting"]["rl_lr"] for r in records if "rl_lr" in r["setting"]}):
        recs = [r for r in records if r["setting"].get("rl_lr") == lr]
        groups.append((f"base setting, fixed lr {lr:g} (n={len(deltas(recs))})", deltas(recs)))
    fig, ax = plt.subplots(figsize=(8.0, 4.2))
    ax.boxplot([g for _, g in groups], orientation="horizontal", whis=(5, 95), showfliers=False)
    ax.set_yticks(range(1, len(groups) + 1))
    ax.set_yticklabels([lab for lab, _ in groups], fontsize=8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.axvline(-0.01, color="tab:red", lw=0.8, ls="--", label="coverage loss (< -0.01)")
    k = summary["k"]
    ax.set_xlabel(f"held-out pass@{k}: final minus step 0 (box: quartiles, whiskers 5-95%)")
    share = summary.get("coverage_loss_share")
    ax.set_title(
        f"Does GRPO lose coverage? Share of tuned runs that lose held-out pass@{k}: {share:.2f}"
        if share is not None
        else "held-out pass@k through RL",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "population_coverage.png", dpi=120)
    plt.close(fig)


def main(data: str, out: str) -> None:
    d, o = Path(data), Path(out)
    summary = json.loads((d / "population.json").read_text())
    inversion_panel(summary, o)
    from rankinv._io import read_jsonl

    records = [
        r for r in read_jsonl(d / "population.jsonl") if r.get("revision") == summary["revision"]
    ]
    depth_panel(records, summary, o)
    coverage_panel(records, summary, o)


if __name__ == "__main__":
    main(*sys.argv[1:3])
