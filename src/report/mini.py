"""The report's section for a `rankinv experiment mini --out DIR` folder: its outcome table
(mini.json's by_depth, the table `experiment mini` prints), the rho lines and the inversion,
the simulator beside it, then its predicted-vs-observed section, built as compare.json's
(mini.json's compare with the rows of compare_rows.json)."""

from __future__ import annotations

import json
from pathlib import Path

from rankinv.verdicts.words.compare import rho_line

#: The experiment's files in its --out folder: the summary, and the rows compare read.
MINI = "mini.json"
ROWS = "compare_rows.json"


def outcome_table(mini: dict, k: int) -> list[str]:
    """mini.json's by_depth as a Markdown table (means over seeds)."""
    lines = [
        f"| demos | SFT epochs | H rollout | H prompt | pass@1 | pass@{k} | peak post pass@{k} "
        "| nonlinear | all-fail | all-pass | stage-2 stops |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in mini["by_depth"]:
        lines.append(
            f"| {b.get('recipe') or b['variant']} | {b['depth']:g} | {b['pre.entropy']:.3f} | "
            f"{b['pre.entropy_prompt']:.3f} | {b['pre.pass_at_1']:.3f} | "
            f"{b[f'pre.pass_at_{k}']:.3f} | {b['peak_pass_at_k']:.3f} | "
            f"{b['peak_nonlinear']:.3f} | {b['all_fail']:.2f} | {b['all_pass']:.2f} | "
            f"{b['stage2_stop']}/{b['runs']} |"
        )
    return lines


def mini_section(mini: dict, d: Path, compare_section) -> list[str]:
    """The miniature experiment's section; ``compare_section`` builds the compare part (the
    report's own, so it reads as a compare.json's)."""
    cfg = mini["config"]
    k = max(cfg["ks"])
    lines = [
        f"## Miniature experiment (preset `{cfg['name']}`)",
        "",
        f"{len(mini['runs'])} GRPO runs of {cfg['rl_steps']} steps, g = {cfg['group_size']}; "
        f"means over {cfg['seeds']} seeds: pre-RL rollout and prompt entropy, pass@k, peak "
        f"post-RL pass@{k} (all, the nonlinear family), all-fail / all-pass groups, stage-2 "
        "stops.",
        "",
        *outcome_table(mini, k),
        "",
    ]
    if mini.get("compare"):
        lines += [
            "- " + rho_line(f"rho(pre-RL pass@1, final pass@{k})", mini["rho_pass1_vs_post"]),
            "- " + rho_line(f"rho(rollout entropy, final pass@{k})", mini["rho_entropy_vs_post"]),
            f"- inversion: **{'yes' if mini['inversion'] else 'no'}**",
        ]
    sim = mini.get("simulator")
    if sim is not None:  # None on a recipe ladder (the simulator sweeps depths)
        lines += [
            "- " + rho_line("simulator rho(pass@1, post)", sim["rho_pass1_vs_post"]),
            "- " + rho_line("simulator rho(entropy, post)", sim["rho_entropy_vs_post"]),
        ]
    lines.append("")
    rows = d / ROWS
    if mini.get("compare") and rows.is_file():
        cmp = {"source": "rankinv experiment mini", **mini["compare"]}
        lines += compare_section(cmp | {"rows": json.loads(rows.read_text())}, d)
    elif mini.get("compare"):
        lines += [f"(no {ROWS} beside {MINI}: the predicted-vs-observed tables are not drawn)", ""]
    return lines
