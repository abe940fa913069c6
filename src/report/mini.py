"""The report's section for a `rankinv experiment mini --out DIR` folder: its outcome table
(mini.json's by_depth, the table `experiment mini` prints), the rho lines and the inversion,
the simulator beside it, then its predicted-vs-observed section, built as compare.json's
(mini.json's compare with the rows of compare_rows.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rankinv.verdicts.words import report as words
from rankinv.verdicts.words.compare import rho_line

#: The experiment's files in its --out folder: the summary, and the rows compare read.
MINI = "mini.json"
ROWS = "compare_rows.json"


_PRE_K = re.compile(r"pre\.pass_at_(\d+)$")

#: The parts of a mini.json the section reads; an older layout lacks some (``runs``, say).
PARTS = ("config", "by_depth", "runs", "compare", "simulator")


def _f(b: dict, key: str, spec: str) -> str:
    """One cell of the outcome table; "-" where this mini.json's row lacks the number."""
    v = b.get(key)
    return "-" if not isinstance(v, int | float) else format(v, spec)


def outcome_table(mini: dict, k) -> list[str]:
    """mini.json's by_depth as a Markdown table (means over seeds)."""
    lines = [
        f"| demos | SFT epochs | H rollout | H prompt | pass@1 | pass@{k} | peak post pass@{k} "
        "| nonlinear | all-fail | all-pass | stage-2 stops |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in mini["by_depth"]:
        stops = f"{b.get('stage2_stop', '-')}/{b.get('runs', '-')}"
        lines.append(
            f"| {b.get('recipe') or b.get('variant', '-')} | {_f(b, 'depth', 'g')} | "
            f"{_f(b, 'pre.entropy', '.3f')} | {_f(b, 'pre.entropy_prompt', '.3f')} | "
            f"{_f(b, 'pre.pass_at_1', '.3f')} | {_f(b, f'pre.pass_at_{k}', '.3f')} | "
            f"{_f(b, 'peak_pass_at_k', '.3f')} | {_f(b, 'peak_nonlinear', '.3f')} | "
            f"{_f(b, 'all_fail', '.2f')} | {_f(b, 'all_pass', '.2f')} | {stops} |"
        )
    return lines


def _config(mini: dict, d: Path) -> dict:
    """The experiment's configuration: mini.json's, else the config.json beside it."""
    if isinstance(mini.get("config"), dict):
        return mini["config"]
    f = d / "config.json"
    try:
        cfg = json.loads(f.read_text()) if f.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def _k(cfg: dict, mini: dict):
    """The k of pass@k: the largest of the config's, else of by_depth's pre.pass_at_<k>."""
    if cfg.get("ks"):
        return max(cfg["ks"])
    ks = [int(m.group(1)) for b in mini.get("by_depth") or [] for c in b if (m := _PRE_K.match(c))]
    return max(ks, default="k")


def _runs(mini: dict) -> str:
    """How many GRPO runs: mini.json's runs, else the sum of by_depth's per-rung counts."""
    if isinstance(mini.get("runs"), list):
        return str(len(mini["runs"]))
    counts = [b.get("runs") for b in mini.get("by_depth") or []]
    return str(sum(counts)) if counts and all(isinstance(c, int) for c in counts) else "?"


def mini_section(mini: dict, d: Path, compare_section) -> list[str]:
    """The miniature experiment's section; ``compare_section`` builds the compare part (the
    report's own, so it reads as a compare.json's). A mini.json of an older layout is
    reported from the parts it has, a line naming those it lacks."""
    cfg = _config(mini, d)
    k = _k(cfg, mini)
    lines = [
        f"## Miniature experiment (preset `{cfg.get('name', '?')}`)",
        "",
        f"{_runs(mini)} GRPO runs of {cfg.get('rl_steps', '?')} steps, g = "
        f"{cfg.get('group_size', '?')}; means over {cfg.get('seeds', '?')} seeds: pre-RL "
        f"rollout and prompt entropy, pass@k, peak post-RL pass@{k} (all, the nonlinear "
        "family), all-fail / all-pass groups, stage-2 stops.",
        "",
    ]
    missing = [p for p in PARTS if p not in mini]
    if missing:
        lines += [words.mini_lacks(MINI, missing), ""]
    if mini.get("by_depth"):
        lines += [*outcome_table(mini, k), ""]
    if mini.get("compare"):
        rhos = (("pre-RL pass@1", "rho_pass1_vs_post"), ("rollout entropy", "rho_entropy_vs_post"))
        for what, key in rhos:
            if mini.get(key):
                lines.append("- " + rho_line(f"rho({what}, final pass@{k})", mini[key]))
        if "inversion" in mini:
            lines.append(f"- inversion: **{'yes' if mini['inversion'] else 'no'}**")
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
