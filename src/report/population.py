"""Report sections for a population folder (population.json) and a calibrate folder
(calibrate.json): the tables a reader needs and one figure each."""

from __future__ import annotations

from pathlib import Path

from rankinv.report.figures import pyplot


def population_figure(pop: dict, out: Path) -> Path:
    """Inverted share of ladders per value of each axis (random settings), with its n."""
    plt = pyplot()
    rows = [
        (axis, value, d["inverted_share"], d["n_ladders"])
        for axis, values in pop["by_axis"].items()
        for value, d in values.items()
        if d.get("inverted_share") is not None
    ]
    fig, ax = plt.subplots(figsize=(8.5, 0.28 * len(rows) + 1.6))
    labels = [f"{a} = {v} (n={n})" for a, v, _, n in rows]
    ax.barh(range(len(rows)), [s for _, _, s, _ in rows], color="tab:blue")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    # the bars are random settings: compare them with the random settings' share, not with
    # the share over all ladders (which counts the base settings built to invert)
    ref = pop.get("inverted_share_random", pop["inverted_share"])
    what = "random settings" if "inverted_share_random" in pop else "all ladders"
    ax.axvline(ref, color="tab:red", ls="--", lw=1, label=f"{what}: {ref:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of ladders inverted (final held-out pass@k)")
    ax.set_title(
        f"Simulated population '{pop['population']}': where ladders invert\n"
        f"(random settings, by axis value; {pop['n_ladders']} ladders in all)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    path = out / "population.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def population_section(pop: dict, d: Path) -> list[str]:
    lines = [
        "## Simulated population",
        "",
        f"Population `{pop['population']}`: {pop['n_ladders']} ladders, {pop['n_runs']} runs; "
        f"outcome: {pop.get('outcome', 'final held-out pass@k')}.",
        "",
        f"- inverted share, all ladders: {pop['inverted_share']:.3f}",
    ]
    if pop.get("inverted_share_random") is not None:
        lines.append(
            f"- inverted share, random settings only: {pop['inverted_share_random']:.3f} "
            f"(n = {pop.get('n_ladders_random', '?')} ladders; the rest vary one axis of a "
            "base setting)"
        )
    for key, what in (
        ("coverage_loss_share", "runs whose held-out pass@k fell through RL by > 0.01"),
        ("cui_fit_r2", "median R^2 of reward = -a exp(H) + b (Cui et al. 2025)"),
    ):
        if pop.get(key) is not None:
            lines.append(f"- {key}: {pop[key]:.3f} ({what})")
    population_figure(pop, d)
    return lines + ["", "![inverted share per setting](population.png)", ""]


def calibrate_figure(cal: dict, out: Path) -> Path:
    """Stage 1: within-ladder rho of each signal over held-out ladders (box per signal);
    stage 2: held-out AUC of each rule at its check step."""
    plt = pyplot()
    s1 = [r for r in cal["stage1"] if r.get("rhos")]
    s2 = [r for r in cal["stage2"] if r.get("auc") is not None]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    a1.boxplot([r["rhos"] for r in s1], orientation="horizontal")
    a1.set_yticks(range(1, len(s1) + 1), [r["signal"] for r in s1], fontsize=8)
    a1.axvline(0, color="k", lw=0.8)
    a1.set_xlabel("within-ladder Spearman rho with the post-RL outcome")
    a1.set_title("Stage 1 on held-out ladders (sign chosen on the other half)", fontsize=10)
    a1.grid(alpha=0.3, axis="x")
    labels = [f"{r['rule']} @ {r.get('check_fraction', r.get('check_step'))}" for r in s2]
    a2.barh(range(len(s2)), [r["auc"] for r in s2], color="tab:green")
    a2.set_yticks(range(len(s2)), labels, fontsize=7)
    a2.invert_yaxis()
    a2.axvline(0.5, color="tab:red", ls="--", lw=1, label="chance (AUC 0.5)")
    a2.set_xlim(0, 1)
    a2.set_xlabel("held-out ROC AUC")
    a2.set_title("Stage 2 rules on held-out runs", fontsize=10)
    a2.legend(fontsize=8, loc="lower right")
    a2.grid(alpha=0.3, axis="x")
    fig.suptitle(
        f"Calibration on {cal.get('n_ladders', '?')} ladders / {cal.get('n_runs', '?')} runs "
        "(scored on the report half of the settings)",
        fontsize=11,
    )
    fig.tight_layout()
    path = out / "calibrate.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _f(v, fmt=".3f") -> str:
    return "n/a" if v is None else format(v, fmt)


def calibrate_section(cal: dict, d: Path) -> list[str]:
    chosen = cal.get("chosen") or {}
    lines = [
        "## Calibration",
        "",
        f"Chosen: {', '.join(f'{k} = `{v}`' for k, v in chosen.items()) or 'n/a'}.",
        "",
        "| stage-1 signal | median rho | IQR | top-1 rate | regret | n ladders |",
        "|---|---|---|---|---|---|",
    ]
    for r in cal["stage1"]:
        iqr = r.get("iqr") or [None, None]
        lines.append(
            f"| {r['signal']} | {_f(r.get('median_rho'), '+.2f')} | "
            f"[{_f(iqr[0], '+.2f')}, {_f(iqr[1], '+.2f')}] | {_f(r.get('top1_rate'), '.2f')} | "
            f"{_f(r.get('regret'))} | {r.get('n_ladders', '?')} |"
        )
    lines += [
        "",
        "| stage-2 rule | check | AUC | precision | recall | compute saved |",
        "|---|---|---|---|---|---|",
    ]
    for r in cal["stage2"]:
        lines.append(
            f"| {r['rule']} | {r.get('check_step')} | {_f(r.get('auc'), '.2f')} | "
            f"{_f(r.get('precision'), '.2f')} | {_f(r.get('recall'), '.2f')} | "
            f"{_f(r.get('compute_saved'), '.1%')} |"
        )
    calibrate_figure(cal, d)
    return lines + ["", "![held-out scores of the verdicts](calibrate.png)", ""]
