"""`rankinv report DIR`: one Markdown report with PNG figures from the artifacts in DIR.

Artifacts read (any subset): simulate.json (rankinv simulate --out), compare.json
(rankinv compare --out), monitor*.json (rankinv monitor --out), validate_summary.json
(rankinv validate --out). Figures are drawn only from these files.
"""

from __future__ import annotations

import json
from pathlib import Path

from rankinv import theory
from rankinv.theory import paper
from rankinv.validate.compare import flag_word


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plane_figure(
    points: list[dict],
    group_size: int,
    out: Path,
    title: str,
    n_outcomes: int = 32,
    name: str = "plane.png",
    per_token: tuple[int, int] | None = None,
) -> Path:
    """Checkpoints on the pass@1-entropy plane with p*(g), 1 - p*, tau_H and H_low/H_high."""
    plt = _plt()
    ps = theory.p_star(group_size)
    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    xs = [p["pass_at_1"] for p in points]
    ys = [p["entropy"] for p in points]
    ax.scatter(xs, ys, c=[p.get("color", 0) for p in points], cmap="viridis", s=60, zorder=3)
    for p in points:
        ax.annotate(
            p["label"],
            (p["pass_at_1"], p["entropy"]),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.axvline(ps, color="tab:red", ls="--", label=f"p*({group_size}) = {ps:.3f}")
    ax.axhline(paper.TAU_H, color="tab:orange", ls=":", label=f"tau_H = {paper.TAU_H} nats (paper)")
    if per_token is None:  # bounds on the entropy of one answer among K
        low, high = theory.entropy_threshold(group_size, n_outcomes)
        what = f"per answer, K = {n_outcomes}"
    else:  # the same bounds per token, for answers of L tokens from V (chain rule)
        low, high = theory.entropy_threshold_per_token(group_size, *per_token)
        what = f"per token, V = {per_token[0]}, L = {per_token[1]}"
    ax.axhline(low, color="tab:gray", ls="-.", lw=1, label=f"H_low = {low:.3f} ({what})")
    ax.axhline(high, color="tab:gray", ls="--", lw=1, label=f"H_high = {high:.3f}")
    ax.set_xlabel("pre-RL pass@1 (T = 1)")
    ax.set_ylabel("mean token entropy (nats)")
    ax.set_title(title)
    ax.set_xlim(0, max(max(xs) * 1.15, ps * 1.3))
    ax.legend(fontsize=8, loc="best", framealpha=0.8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def probe_figure(problems: list[dict], summary: dict, out: Path) -> Path:
    """Per-problem pass rate p-hat against p*(g) and 1 - p*(g), and entropy against p-hat."""
    plt = _plt()
    g = summary["group_size"]
    ps = theory.p_star(g)
    p_hat = [p["p_hat"] for p in problems]
    h = [p["mean_token_entropy"] for p in problems]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.hist(p_hat, bins=20, range=(0, 1), color="tab:blue")
    for x, lab in ((ps, f"p*({g}) = {ps:.3f}"), (1 - ps, "1 - p*")):
        a1.axvline(x, color="tab:red", ls="--", label=lab)
    a1.set_xlabel("per-problem pass rate p-hat (T = 1)")
    a1.set_ylabel("problems")
    a1.set_title(f"{summary['frac_below_p_star']:.0%} of problems below p*")
    a1.legend(fontsize=8)
    a2.scatter(p_hat, h, s=14)
    a2.axvline(ps, color="tab:red", ls="--")
    a2.set_xlabel("p-hat")
    a2.set_ylabel("mean rollout token entropy (nats)")
    a2.set_title(f"risk: {summary['risk']}")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "probe.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def monitor_figure(rep: dict, out: Path, name: str) -> Path:
    plt = _plt()
    cfg = rep["config"]
    s = rep["series"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(s["step"], s["entropy"], color="tab:purple")
    if rep["entropy_ref"]:
        h0 = rep["entropy_ref"]["value"]
        a1.axhline(
            h0 * (1 - cfg["threshold"]),
            color="tab:red",
            ls="--",
            label=f"abort: {cfg['threshold']:.0%} below step-{cfg['ref_step']} value",
        )
    a1.axvline(cfg["ref_step"], color="gray", ls=":")
    a1.axvline(cfg["check_step"], color="gray", ls=":")
    a1.set_xlabel("RL step")
    a1.set_ylabel(rep["entropy_signal"].split(" (")[0])
    a1.set_title(f"{name}: verdict {rep['verdict']}")
    a1.legend(fontsize=8)
    inf = [(x, v) for x, v in zip(s["step"], s["informative"], strict=True) if v is not None]
    if inf:
        a2.plot([x for x, _ in inf], [v for _, v in inf], color="tab:green")
    a2.axhline(rep["informative_floor"], color="k", ls="--", label="1 - f_g(p*)")
    a2.set_xlabel("RL step")
    a2.set_ylabel("informative-group fraction")
    a2.set_ylim(0, 1)
    a2.legend(fontsize=8)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    path = out / f"monitor_{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ranks_figure(cmp: dict, out: Path) -> Path:
    """Observed outcome against each predictor's rank (1 = best)."""
    import numpy as np
    from scipy.stats import rankdata

    plt = _plt()
    rows = cmp["rows"]
    y = np.array([r[cmp["outcome"]] for r in rows])
    obs = rankdata(-y)
    keys = [
        k
        for k in ("entropy", "pre_pass_at_1")
        if k in cmp["predictors"] and cmp["predictors"][k]["rho"] is not None
    ]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(5 * max(1, len(keys)), 4))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, keys, strict=False):
        x = np.array([r[key] for r in rows])
        pred = rankdata(-x)
        ax.scatter(pred, obs, s=60)
        for r, a, b in zip(rows, pred, obs, strict=True):
            ax.annotate(
                str(r.get("name", "")),
                (a, b),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        n = len(rows)
        ax.plot([1, n], [1, n], "k:", lw=1, label="perfect ranking")
        pr = cmp["predictors"][key]
        ax.set_title(f"{key}: rho = {pr['rho']:+.2f} [{pr['ci_low']:+.2f}, {pr['ci_high']:+.2f}]")
        ax.set_xlabel(f"rank predicted by {key} (1 = highest)")
        ax.set_ylabel(f"observed rank of {cmp['outcome']}")
        ax.invert_xaxis()
        ax.invert_yaxis()
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "ranks.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fmt_rho(v: dict) -> str:
    if v.get("rho") is None:
        return "undefined"
    return f"{v['rho']:+.2f} [{v['ci_low']:+.2f}, {v['ci_high']:+.2f}], p = {v['p_value']:.3g}"


def build_report(directory: str | Path) -> Path:
    d = Path(directory)
    if not d.is_dir():
        raise NotADirectoryError(f"not a directory: {d}")
    lines = ["# rankinv report", ""]
    found = False
    cmp_path = d / "compare.json"
    if cmp_path.exists():
        found = True
        cmp = json.loads(cmp_path.read_text())
        lines += [
            f"## Predicted vs observed ({cmp.get('source', 'compare')})",
            "",
            f"n = {cmp['n']}, outcome `{cmp['outcome']}`, seed-demeaned: "
            f"{cmp['seed_demeaned']}. Inversion of the pre-RL pass@1 ranking: "
            f"**{'yes' if cmp['inversion'] else 'no'}**. Favoured predictor: "
            f"`{cmp['favoured_predictor']}`.",
            "",
            "| predictor | Spearman rho [95% CI], permutation p |",
            "|---|---|",
        ]
        lines += [f"| {k} | {_fmt_rho(v)} |" for k, v in cmp["predictors"].items()]
        lines += [
            "",
            "| checkpoint | H | stage 1 (H < tau_H) | stage-2 drop | stage 2 | "
            "headroom pass@1/p* | observed rank |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in cmp["stage"]:
            h = "-" if s["entropy"] is None else f"{s['entropy']:.3f}"
            drop = "-" if s["stage2_drop"] is None else f"{s['stage2_drop']:.0%}"
            head = "-" if s["headroom"] is None else f"{s['headroom']:.1f}x"
            lines.append(
                f"| {s['name']} | {h} | {flag_word(s['stage1_flag'])} | {drop} | "
                f"{flag_word(s['stage2_flag'])} | {head} | {s['observed_rank']} |"
            )
        pts = [
            {
                "pass_at_1": r["pre_pass_at_1"],
                "entropy": r["entropy"],
                "label": str(r.get("name", "")),
                "color": r.get("depth", 0) or 0,
            }
            for r in cmp["rows"]
            if r.get("pre_pass_at_1") is not None and r.get("entropy") is not None
        ]
        if pts:
            plane_figure(pts, cmp["group_size"], d, "Checkpoints on the pass@1-entropy plane")
            lines += ["", "![pass@1-entropy plane](plane.png)"]
        ranks_figure(cmp, d)
        lines += ["", "![predicted vs observed ranks](ranks.png)", ""]
    sim_path = d / "simulate.json"
    if sim_path.exists():
        found = True
        sim = json.loads(sim_path.read_text())
        bd = sim["by_depth"]
        lines += [
            "## Simulation",
            "",
            f"Preset `{sim['config']['name']}`: {sim['work']['runs']} runs x "
            f"{sim['work']['rl_steps']} GRPO steps, g = {sim['work']['group_size']}. "
            f"Inversion: **{'yes' if sim['inversion'] else 'no'}**.",
            "",
            f"- rho(pre-RL pass@1, post pass@{sim['k']}): "
            f"{_fmt_rho(sim['spearman_pre_pass1_vs_post'])}",
            f"- rho(pre-RL entropy, post pass@{sim['k']}): "
            f"{_fmt_rho(sim['spearman_entropy_vs_post'])}",
            f"- p*({sim['work']['group_size']}): Monte Carlo {sim['p_star_numeric']:.4f} vs "
            f"exact {sim['p_star_analytic']:.4f}",
            "",
            "| SFT epochs | H | pass@1 | peak post pass@k | all-fail | all-pass |",
            "|---|---|---|---|---|---|",
        ]
        for i, dep in enumerate(bd["depth"]):
            lines.append(
                f"| {dep:g} | {bd['pre_entropy'][i]:.3f} | {bd['pre_pass_at_1'][i]:.3f}"
                f" | {bd['post_peak'][i]:.3f} | {bd['all_fail_pre'][i]:.2f} | "
                f"{bd['all_pass_pre'][i]:.2f} |"
            )
        pts = [
            {"pass_at_1": p, "entropy": h, "label": f"{dep:g} ep", "color": dep}
            for dep, p, h in zip(bd["depth"], bd["pre_pass_at_1"], bd["pre_entropy"], strict=True)
        ]
        plane_figure(
            pts,
            sim["work"]["group_size"],
            d,
            "Simulated checkpoints (means over seeds)",
            per_token=(sim["config"]["n_answers"], sim["config"]["seq_len"]),
            name="plane_sim.png",
        )
        lines += ["", "![simulated checkpoints on the pass@1-entropy plane](plane_sim.png)"]
        lines.append("")
    for mpath in sorted(d.glob("monitor*.json")):
        found = True
        rep = json.loads(mpath.read_text())
        name = mpath.stem.replace("monitor_", "").replace("monitor", "run")
        monitor_figure(rep, d, name)
        lines += [
            f"## Stage-2 monitor: {name}",
            "",
            f"Verdict **{rep['verdict']}** (signal: {rep['entropy_signal']}).",
            "",
        ]
        lines += [f"- {r}" for r in rep["reasons"]]
        if rep.get("log_issues"):
            lines += [f"- log: {i}" for i in rep["log_issues"]]
        lines += ["", f"![monitor {name}](monitor_{name}.png)", ""]
    val = d / "validate_summary.json"
    if val.exists():
        found = True
        v = json.loads(val.read_text())
        lines += (
            ["## Checkpoint probe", "", f"Model `{v.get('model')}`, risk **{v.get('risk')}**.", ""]
            + [f"- {r}" for r in v.get("reasons", [])]
            + [""]
        )
        problems_path = d / "problems.jsonl"
        if problems_path.exists():
            problems = [json.loads(x) for x in problems_path.read_text().splitlines() if x]
            probe_figure(problems, v, d)
            lines += ["![per-problem pass rates against p*](probe.png)", ""]
    if not found:
        raise ValueError(
            f"{d} holds no rankinv artifacts (simulate.json, compare.json, "
            "monitor*.json, validate_summary.json)"
        )
    out = d / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out
