"""The report's figures, each drawn from a saved artifact: checkpoints on the pass@1-entropy
plane, a probe's per-problem pass rates, a monitor report's deciding signal, and predicted
against observed ranks."""

from __future__ import annotations

from pathlib import Path

from rankinv import theory
from rankinv.theory import paper
from rankinv.verdicts.panels import signal_source


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _place_labels(ax, fig, points: list[tuple[float, float, str]], fontsize: int = 7) -> None:
    """Annotate points so that no two labels overlap: each label tries offsets around its
    point (right, left, above, below, then further out) and takes the first whose box
    overlaps neither a placed label nor a marker."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = []
    for x, y, _ in points:  # the markers themselves (about 8 px across)
        px, py = ax.transData.transform((x, y))
        taken.append((px - 5, py - 5, px + 5, py + 5))
    offsets = [(5, 3), (5, -10), (-5, 3), (-5, -10), (0, 8), (0, -14)]
    offsets += [(dx * k, dy * k) for k in (2, 3, 4) for dx, dy in offsets]
    for x, y, label in points:
        best = None
        for dx, dy in offsets:
            ha = "left" if dx >= 0 else "right"
            ann = ax.annotate(
                label,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=fontsize,
                ha=ha,
                arrowprops=None if abs(dx) <= 5 else {"arrowstyle": "-", "lw": 0.5},
            )
            bb = ann.get_window_extent(renderer)
            box = (bb.x0, bb.y0, bb.x1, bb.y1)
            clash = any(
                box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken
            )
            if not clash:
                best = box
                break
            ann.remove()
        if best is None:  # nowhere free: keep the first position
            ann = ax.annotate(
                label, (x, y), xytext=offsets[0], textcoords="offset points", fontsize=fontsize
            )
            bb = ann.get_window_extent(renderer)
            best = (bb.x0, bb.y0, bb.x1, bb.y1)
        taken.append(best)


def plane_figure(
    points: list[dict],
    group_size: int,
    out: Path,
    title: str,
    n_outcomes: int = 32,
    name: str = "plane.png",
    per_token: tuple[int, int] | None = None,
    post_label: str | None = None,
) -> Path:
    """Checkpoints on the pass@1-entropy plane with p*(g), tau_H and, for the simulator
    (``per_token`` = (V, L)), the per-token entropy bounds H_low/H_high. The y axis is a mean
    token entropy, so whole-answer bounds (over K outcomes) are not drawn on it. Colour is
    SFT depth, with a colour bar; the legend sits outside the axes. With ``post_label`` and a
    "post" value per point, a second panel plots the post-RL outcome against pre-RL pass@1,
    so an inversion is visible."""
    plt = pyplot()
    ps = theory.p_star(group_size)
    with_post = post_label is not None and all(p.get("post") is not None for p in points)
    if with_post:
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.8), width_ratios=(1.25, 1))
    else:
        fig, ax = plt.subplots(figsize=(8.4, 4.8))
    xs = [p["pass_at_1"] for p in points]
    ys = [p["entropy"] for p in points]
    depths = [p.get("color", 0) for p in points]
    sc = ax.scatter(xs, ys, c=depths, cmap="viridis", s=60, zorder=3, edgecolors="k", lw=0.4)
    if len(set(depths)) > 1:
        fig.colorbar(sc, ax=ax, label="SFT depth (epochs)", pad=0.02)
    ax.axvline(ps, color="tab:red", ls="--", label=f"p*({group_size}) = {ps:.3f}")
    ax.axhline(paper.TAU_H, color="tab:orange", ls=":", label=f"tau_H = {paper.TAU_H} nats (paper)")
    if per_token is not None:  # Fano bounds per token, for answers of L tokens from V
        low, high = theory.entropy_threshold_per_token(group_size, *per_token)
        what = f"per token, V = {per_token[0]}, L = {per_token[1]}"
        ax.axhline(low, color="tab:gray", ls="-.", lw=1, label=f"H_low {what}: {low:.3f}")
        ax.axhline(high, color="tab:gray", ls="--", lw=1, label=f"H_high {what}: {high:.3f}")
    ax.set_xlabel("pre-RL pass@1 (T = 1)")
    ax.set_ylabel("mean token entropy (nats per token)")
    ax.set_title(title)
    ax.set_xlim(0, max(max(xs) * 1.15, ps * 1.3))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    if with_post:  # the outcome: a falling line here is the inversion
        posts = [p["post"] for p in points]
        bx.plot(xs, posts, color="tab:gray", lw=0.8, zorder=2)
        bx.scatter(xs, posts, c=depths, cmap="viridis", s=60, zorder=3, edgecolors="k", lw=0.4)
        bx.set_xlabel("pre-RL pass@1 (T = 1)")
        bx.set_ylabel(post_label)
        bx.set_title("The outcome: falling left to right is a rank inversion", fontsize=10)
        bx.grid(alpha=0.3)
    fig.tight_layout()
    _place_labels(ax, fig, [(p["pass_at_1"], p["entropy"], p["label"]) for p in points])
    if with_post:
        _place_labels(bx, fig, [(p["pass_at_1"], p["post"], p["label"]) for p in points])
    path = out / name
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def probe_figure(problems: list[dict], summary: dict, out: Path) -> Path:
    """Per-problem pass rate p-hat against p*(g) and 1 - p*(g), and entropy against p-hat."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    g = summary["group_size"]
    ps = theory.p_star(g)
    p_hat = [p["p_hat"] for p in problems]
    h = [p["mean_token_entropy"] for p in problems]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    a1.hist(p_hat, bins=20, range=(0, 1), color="tab:blue")
    lines = (
        (ps, f"p*({g}) = {ps:.3f}: below, groups of {g} mostly all fail", "tab:red", "--"),
        (1 - ps, f"1 - p* = {1 - ps:.3f}: above, mostly all pass", "tab:purple", ":"),
    )
    for a in (a1, a2):
        for x, lab, colour, style in lines:
            a.axvline(x, color=colour, ls=style, lw=1.5, label=lab if a is a1 else None)
    a1.set_xlabel("per-problem pass rate p-hat (T = 1)")
    a1.set_ylabel("problems")
    a1.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole problems only
    a1.set_title(
        f"Pass rates: {summary['frac_below_p_star']:.0%} of problems below p*", fontsize=10
    )
    a1.legend(fontsize=7)
    a2.scatter(p_hat, h, s=14)
    a2.set_xlabel("per-problem pass rate p-hat (T = 1)")
    a2.set_ylabel("mean rollout token entropy (nats per token)")
    a2.ticklabel_format(axis="y", useOffset=False, style="plain")
    a2.set_xlim(-0.02, 1.02)
    a2.set_title("Rollout entropy against pass rate, one point per problem", fontsize=10)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.suptitle(
        f"Stage-1 probe of {summary.get('model', 'the checkpoint')} "
        f"(g = {g}; stage-1 risk: {summary['risk']})",
        fontsize=11,
    )
    fig.tight_layout()
    path = out / "probe.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def monitor_figure(rep: dict, out: Path, name: str) -> Path:
    """Left: the signal the verdict rests on (the no-signal state's zero-std share, or the
    series the rule read) with its threshold over the judged window; right: entropy beside
    it (or, when the rule read entropy, the informative-group fraction)."""
    plt = pyplot()
    cfg = rep["config"]
    s = rep["series"]
    colour = {"continue": "tab:gray", "watch": "tab:orange", "stop": "tab:red"}[rep["verdict"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.8))
    sig = rep.get("signal")
    nosig = rep.get("no_signal")
    units = {
        "reward": "mean reward",
        "entropy": "mean token entropy (nats)",
        "min_entropy": "worst-token entropy (nats)",
        "informative": "informative-group fraction",
        "all_fail": "all-fail group share",
    }
    if nosig is not None:
        pts = [
            (x, 1 - v) for x, v in zip(s["step"], s["informative"], strict=True) if v is not None
        ]
        a1.plot([x for x, _ in pts], [v for _, v in pts], color="tab:blue", label="measured")
        rw = [
            (x, v) for x, v in zip(s["step"], s.get("reward") or [], strict=False) if v is not None
        ]
        if rw:  # the reward level names the state: at its maximum saturated, minimum stranded
            a1.plot(
                [x for x, _ in rw], [v for _, v in rw], color="tab:green", lw=1, label="mean reward"
            )
        a1.axhline(nosig["level"], color=colour, ls="--", label=f"no-signal level {nosig['level']}")
        a1.axvspan(*nosig["window"], color=colour, alpha=0.12, label="judged window")
        a1.set_ylabel("zero-std group share (frac_reward_zero_std)")
        a1.set_ylim(0, 1.05)
        deciding = f"no signal ({nosig['state']})"
    elif sig is not None:
        label = f"measured ({signal_source(sig)})"
        a1.plot(sig["step"], sig["values"], color="tab:blue", label=label)
        line = sig.get("threshold_line")
        if line:
            a1.plot(line["steps"], line["values"], color=colour, ls="--", label=line["label"])
        a1.axvspan(*sig["window"], color="tab:gray", alpha=0.1, label="judged window")
        a1.set_ylabel(units.get(sig["name"], sig["name"]))
        deciding = f"rule {rep['rule_used']}"
    else:
        a1.text(0.5, 0.5, "no rule computable on this log", ha="center", transform=a1.transAxes)
        deciding = "nothing"
    floor_decided = rep.get("decided_by") == "informative_floor"
    if floor_decided:  # the rule said continue; the informative floor (right) raised it
        deciding = "the informative floor (right panel)"
        a1.set_title(f"The rule ({rep['rule_used']}): continue on its own", fontsize=10)
    else:
        a1.set_title(f"What decided: {deciding}", fontsize=10)
    if sig is not None and (sig["name"] in ("entropy", "min_entropy") or floor_decided):
        vals = [(x, v) for x, v in zip(s["step"], s["informative"], strict=True) if v is not None]
        ylabel, title = "informative-group fraction", "Groups carrying a learning signal"
        g = rep.get("group_size", cfg["group_size"])
        a2.axhline(
            rep["informative_floor"],
            color="k",
            ls=":",
            label=f"1 - f_g(p*) = {rep['informative_floor']:.2f} (g = {g})",
        )
    else:
        vals = [(x, v) for x, v in zip(s["step"], s["entropy"], strict=True) if v is not None]
        ylabel, title = "mean token entropy (nats)", "Entropy, beside it (for reference)"
    if vals:
        a2.plot([x for x, _ in vals], [v for _, v in vals], color="tab:purple", label="measured")
        a2.legend(fontsize=7)
    else:
        a2.text(0.5, 0.5, "not in the log", ha="center", transform=a2.transAxes)
    a2.set_ylabel(ylabel)
    a2.set_title(title, fontsize=10)
    for a in (a1, a2):
        a.set_xlabel("RL step")
        a.grid(alpha=0.3)
    # below the axes: inside, it hid part of a noisy series
    a1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=3, frameon=False)
    prov = " (provisional)" if rep.get("provisional") else ""
    where = "" if floor_decided else " (left)"
    fig.suptitle(
        f"{name}: verdict {rep['verdict']}{prov}, decided by {deciding}{where}", fontsize=11
    )
    fig.tight_layout()
    path = out / f"monitor_{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ranks_figure(cmp: dict, out: Path) -> Path:
    """Observed rank of the outcome against each predictor's rank (1 = highest value; ties
    share the better rank, as in the table). With seeds the ranks are of the seed-demeaned
    values, the quantity the rho in the title is computed on."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    from scipy.stats import rankdata

    plt = pyplot()
    rows = cmp["rows"]
    keys = [
        k
        for k in ("entropy", "pre_pass_at_1")
        if k in cmp["predictors"] and cmp["predictors"][k]["rho"] is not None
    ]
    demeaned = bool(cmp.get("seed_demeaned"))
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(5.6 * max(1, len(keys)), 5.0))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, keys, strict=False):
        sub = [r for r in rows if isinstance(r.get(key), int | float)]
        x = np.array([r[key] for r in sub], dtype=float)
        y = np.array([r[cmp["outcome"]] for r in sub], dtype=float)
        if demeaned:
            seeds = [r.get("seed") for r in sub]
            x, y = theory.demean(x, seeds), theory.demean(y, seeds)
        pred = rankdata(-x, method="min")
        obs = rankdata(-y, method="min")
        ax.scatter(pred, obs, s=60, zorder=3)
        n = len(sub)
        ax.plot([1, n], [1, n], "k:", lw=1, label="predicted = observed")
        pr = cmp["predictors"][key]
        what = "seed-demeaned " if demeaned else ""
        ax.set_title(
            f"{key}: {what}rho = {pr['rho']:+.2f}\n"
            f"95% CI [{pr['ci_low']:+.2f}, {pr['ci_high']:+.2f}] (approx.), "
            f"permutation p = {pr['p_value']:.2g}, "
            f"n = {n}",
            fontsize=9,
        )
        ax.set_xlabel(f"rank by {what}{key} (1 = highest)", fontsize=9)
        ax.set_ylabel(f"observed rank, {what}{cmp['outcome']} (1 = best)", fontsize=9)
        for a in (ax.xaxis, ax.yaxis):
            a.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(n + 0.5, 0.5)
        ax.set_ylim(n + 0.5, 0.5)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        labels = [str(r.get("name") or f"row {rows.index(r) + 1}") for r in sub]
        _place_labels(ax, fig, list(zip(pred, obs, labels, strict=True)))
    path = out / "ranks.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
