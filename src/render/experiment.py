"""`rankinv experiment mini`, `report` and `demo`: their tables and lines."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console
from rankinv.verdicts.ladders import LadderSearch
from rankinv.verdicts.words import report as report_words
from rankinv.verdicts.words.compare import rho_line

MINI_COLUMNS = ("demos", "ep", "H roll", "H prm", "p@1", "p@{k}", "post p@{k}")


def print_mini(res: dict, k: int, preset: str, out: str) -> None:
    t = Table(
        title=f"Miniature experiment ({preset}), means over seeds: pre-RL rollout and "
        f"prompt entropy, pass@k, peak post-RL pass@{k} (all, nonlinear family), "
        "all-fail / all-pass groups, stage-2 stops"
    )
    for col in [c.format(k=k) for c in MINI_COLUMNS] + ["nonlin", "fail", "pass", "stop"]:
        t.add_column(col, justify="right")
    for b in res["by_depth"]:
        t.add_row(
            b.get("recipe") or b["variant"],
            f"{b['depth']:g}",
            f"{b['pre.entropy']:.3f}",
            f"{b['pre.entropy_prompt']:.3f}",
            f"{b['pre.pass_at_1']:.3f}",
            f"{b[f'pre.pass_at_{k}']:.3f}",
            f"{b['peak_pass_at_k']:.3f}",
            f"{b['peak_nonlinear']:.3f}",
            f"{b['all_fail']:.2f}",
            f"{b['all_pass']:.2f}",
            f"{b['stage2_stop']}/{b['runs']}",
        )
    console.print(t)
    if res["compare"]:
        console.print(rho_line(f"rho(pre-RL pass@1, final pass@{k})", res["rho_pass1_vs_post"]))
        console.print(rho_line(f"rho(rollout entropy, final pass@{k})", res["rho_entropy_vs_post"]))
        console.print(f"inversion: {'yes' if res['inversion'] else 'no'}")
    sim = res["simulator"]
    if sim is not None:  # None on a recipe ladder (the simulator's sweep is over depths)
        console.print(rho_line("simulator rho(pass@1, post)", sim["rho_pass1_vs_post"]))
        console.print(rho_line("simulator rho(entropy, post)", sim["rho_entropy_vs_post"]))
    console.print(f"{res['seconds']['total']:.0f} s; artifacts in {out}")


def mini_logger(status):
    """Print every message of the mini experiment; the spinner names the stage it is in."""
    stage = [""]

    def log(m: str) -> None:
        console.print(m, highlight=False)
        if m.startswith("stage "):
            stage[0] = m
        status.update(f"{stage[0]} | {m}" if stage[0] and m != stage[0] else m)

    return log


def print_report_paths(path, figures: list[str], search: LadderSearch | None = None) -> None:
    """Where the report and its figures went; what the search for probe folders found and
    skipped, and one line per ladder (rank's recommendation, or why none)."""
    console.print(f"report: {path}\nfigures: {', '.join(figures) or 'none'}", highlight=False)
    if search is None or not search.probes:
        return
    for line in report_words.search_lines(search):
        console.print(line, highlight=False)
    for lad in search.ladders:
        console.print(report_words.ladder_line(lad, search), highlight=False)


def print_demo_start(out_dir) -> None:
    console.print(f"outputs (artifacts, report.md, figures) go to {out_dir}", highlight=False)
