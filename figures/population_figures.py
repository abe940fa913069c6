"""Figures of the simulated population, drawn from its saved summary and ladders.

Usage:
  rankinv simulate --population quick --out figures/data/population_quick
  python figures/population_figures.py figures/data/population_quick figures

Writes population_inversion.png: per setting axis and value, the share of ladders whose
best pre-RL rung (stage-1 pass@1) is not the best post-RL rung (final held-out pass@10),
for the base setting with only that axis changed (one-at-a-time design) and for settings
drawn at random (that value, the other axes averaged over), with the number of ladders.
Also population_depth.png: mean held-out pass@10 before and after RL by SFT depth for the
base setting and the clean-demonstration setting.
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
    "rl_lr": "RL lr",
    "variant": "GRPO variant",
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
        f"\n{summary['n_ladders']} ladders x {len(summary['depths'])} SFT depths, "
        f"family policy, outcome: final held-out pass@{summary['k']}",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "population_inversion.png", dpi=120)
    plt.close(fig)


def depth_panel(records: list[dict], summary: dict, out: Path) -> None:
    base = summary["base_setting"]
    groups = {
        "base (demos 80% right, 1 family all wrong)": base,
        "clean demonstrations": {**base, "demos": "clean"},
    }
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    colours = ["tab:red", "tab:blue"]
    for (label, setting), c in zip(groups.items(), colours, strict=True):
        recs = [r for r in records if r["setting"] == setting]
        if not recs:
            continue
        depths = [run["depth"] for run in recs[0]["runs"]]
        pre = np.mean([[run["stage1"]["pass_at_1"] for run in r["runs"]] for r in recs], 0)
        post = np.mean([[run["outcome"]["final_pass_at_k"] for run in r["runs"]] for r in recs], 0)
        ax.plot(depths, pre, "s--", color=c, label=f"{label}: pre-RL pass@1 (train)")
        ax.plot(depths, post, "o-", color=c, label=f"{label}: final held-out pass@{summary['k']}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(summary["depths"])
    ax.set_xticklabels([f"{d:g}" for d in summary["depths"]])
    ax.set_xlabel("SFT depth (epochs)")
    ax.set_ylabel("pass rate")
    ax.set_title("Family policy: deeper SFT, before and after GRPO (mean over seeds)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1)
    fig.tight_layout()
    fig.savefig(out / "population_depth.png", dpi=120)
    plt.close(fig)


def main(data: str, out: str) -> None:
    d, o = Path(data), Path(out)
    summary = json.loads((d / "population.json").read_text())
    inversion_panel(summary, o)
    from rankinv._io import read_jsonl

    depth_panel(read_jsonl(d / "population.jsonl"), summary, o)


if __name__ == "__main__":
    main(*sys.argv[1:3])
