"""How the CLI shows results: rich tables and lines for each command's result dict.

Only the CLI imports this module; every function takes a library result and prints it (or
returns a table), so the commands in cli/ stay parse -> call -> print.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from rankinv.render.base import PIPE_WIDTH, console, kv_table, make_console  # noqa: F401
from rankinv.render.compare import print_compare
from rankinv.render.monitor import print_monitor
from rankinv.render.rank import print_backtest, print_rank  # noqa: F401 (the CLI's names)
from rankinv.render.stage2 import print_default, print_label_tables
from rankinv.theory import outcomes, paper
from rankinv.verdicts.monitor_report import MonitorResult
from rankinv.verdicts.words.compare import rho_line


def sim_table(result: dict) -> Table:
    bd = result["by_depth"]
    table = Table(
        title=f"Simulated SFT depth sweep ({result['config']['name']}), "
        f"g = {result['work']['group_size']}, mean over {result['config']['seeds']} seeds"
    )
    for col in [
        "SFT epochs",
        "H pre (nats)",
        "pass@1 pre",
        f"pass@{result['k']} pre",
        f"peak pass@{result['k']} post",
        "all-fail",
        "all-pass",
    ]:
        table.add_column(col, justify="right")
    for i, d in enumerate(bd["depth"]):
        table.add_row(
            f"{d:g}",
            f"{bd['pre_entropy'][i]:.3f}",
            f"{bd['pre_pass_at_1'][i]:.3f}",
            f"{bd['pre_pass_at_k'][i]:.3f}",
            f"{bd['post_peak'][i]:.3f}",
            f"{bd['all_fail_pre'][i]:.2f}",
            f"{bd['all_pass_pre'][i]:.2f}",
        )
    return table


def seed_rho_lines(result: dict) -> list[str]:
    """Per seed, the within-ladder rho of pre-RL pass@k and pass@1 against the outcome the
    sweep names in ``seeds_outcome`` (the final post-RL pass@k, not the peak of the pooled
    lines)."""
    seeds = result.get("seeds") or []
    if not seeds:
        return []
    k = result["k"]
    outcome = result.get("seeds_outcome") or f"final post-RL pass@{k}"

    def f(v):
        return "undefined (constant)" if v is None else f"{v:+.2f}"

    lines = [f"per seed, within-ladder rho against the {outcome} (JSON: seeds):"]
    lines += [
        f"  seed {s['seed']}: pre-RL pass@{k} {f(s['rho_pass_at_k'])}, "
        f"pre-RL pass@1 {f(s['rho_pass_at_1'])}"
        for s in seeds
    ]
    return lines


def sim_inversion(result: dict) -> tuple[bool | None, str]:
    """The simulated inversion as (JSON value, words): see theory.outcomes.sweep_inversion."""
    return outcomes.sweep_inversion(result)


def print_simulation(result: dict, out: str | None = None) -> None:
    """The sweep's table and rho lines, the derivations when run, where the artifacts are."""
    console.print(sim_table(result))
    k = result["k"]
    pooled = f"peak post-RL pass@{k}, all runs seed-demeaned"
    console.print(
        rho_line(f"pre-RL pass@1 vs {pooled}", result["spearman_pre_pass1_vs_post"]),
        highlight=False,
    )
    console.print(
        rho_line(f"pre-RL entropy vs {pooled}", result["spearman_entropy_vs_post"]),
        highlight=False,
    )
    for line in seed_rho_lines(result):
        console.print(line, highlight=False)
    console.print(
        f"inversion: {sim_inversion(result)[1]};  p*(g) Monte Carlo "
        f"{result['p_star_numeric']:.4f} +- {result['p_star_numeric_se']:.4f} vs exact "
        f"{result['p_star_analytic']:.4f};  {result['elapsed_s']:.1f} s "
        f"(compile {result['compile_s']:.1f} s)"
    )
    if result.get("derive"):
        print_derive(result["derive"])
    if out:
        console.print(f"artifacts in {out}")


def print_derive(d: dict) -> None:
    t = Table(title="p*(g): analytic vs numeric")
    for col in ["g", "exact", "Monte Carlo", "z", "dynamic (T steps)", "first signal 1/2"]:
        t.add_column(col, justify="right")
    for r in d["p_star"]:
        t.add_row(
            str(r["g"]),
            f"{r['p_star_analytic']:.4f}",
            f"{r['p_star_monte_carlo']:.4f}",
            f"{r['monte_carlo_z']:+.1f}",
            f"{r['p_star_dynamic']:.4f} ({r['dynamic_steps']})",
            f"{r['p_first_signal_half']:.4f}",
        )
    console.print(t)
    e = d["entropy_threshold"]
    onset = "none" if e["onset_nats"] is None else f"{e['onset_nats']:.3f}"
    console.print(
        f"entropy: inversion onset at {onset} nats (mean token entropy); theory per "
        f"token H_low {e['theory_low_per_token']:.3f}, H_high "
        f"{e['theory_high_per_token']:.3f}"
    )
    m = Table(title="Mitigations on the deepest checkpoint (peak pass@k after RL)")
    for col in ["mitigation", "shallow", "deep", "deep vs none", "rescues"]:
        m.add_column(col, justify="right")
    for r in d["mitigations"]:
        m.add_row(
            r["mitigation"],
            f"{r['shallow_post_peak']:.3f}",
            f"{r['deep_post_peak']:.3f}",
            f"{r['deep_gain_vs_none']:+.3f}",
            "yes" if r["rescues"] else "no",
        )
    console.print(m)


def demo_payload(name: str, result):
    if name == "simulation":
        return {k: v for k, v in result.items() if k != "trajectories"}
    if name == "monitor":
        return {
            run: {
                rule: {k: v for k, v in rep.to_json().items() if k != "series"}
                for rule, rep in r.items()
            }
            for run, r in result.items()
        }
    if name == "paper":
        return {
            key: {k: v for k, v in r.to_json().items() if k != "rows"} for key, r in result.items()
        }
    if name == "report":
        return str(result)
    return result


def demo_rule_label(rule: str, rep: MonitorResult) -> str:
    """Which rule the demo ran and on which steps: the demo judges both rules at the same
    fraction of its short runs, so the paper's rule is scaled, not at its own steps."""
    ref, check = rep.window
    steps = f"steps {ref}-{check} of {rep.planned_steps}"
    if rule != "paper":
        return f"the calibrated rule ({rule}), judged on {steps}"
    return (
        f"the paper's rule with its window scaled to this run ({steps}; the paper's own: "
        f"steps {paper.REF_STEP}-{paper.CHECK_STEP} of {paper.RL_STEPS}, which "
        "`rankinv monitor --rule paper` uses)"
    )


def print_demo_step(name: str, result, out_dir: Path) -> None:
    if name == "thresholds":
        table = Table(title="1. Dead zone of GRPO with binary rewards (level 1/2, K = 32)")
        for col in ["g", "p*(g)", "ln2/g", "1-p*", "E\\[s2] at p*", "H_low", "H_high"]:
            table.add_column(col, justify="right")
        for r in result:
            table.add_row(
                str(r["group_size"]),
                f"{r['p_star']:.4f}",
                f"{r['p_star_ln2_over_g']:.4f}",
                f"{r['p_star_upper']:.4f}",
                f"{r['advantage_variance_at_p_star']:.4f}",
                f"{r['entropy_low_nats']:.4f}",
                f"{r['entropy_high_nats']:.4f}",
            )
        console.print(table)
        console.print(
            "\n[bold]2. Simulation[/]: SFT to 6 depths x 3 seeds, then GRPO, on the "
            "generalising (family) policy (JAX)"
        )
    elif name == "simulation":
        print_simulation(result)
    elif name == "monitor":
        for run, reps in result.items():
            for rule, rep in reps.items():
                console.print(
                    f"\nstage-2 monitor on the simulated {run} run, {demo_rule_label(rule, rep)}:",
                    highlight=False,
                )
                print_monitor(rep)
    elif name == "paper":
        console.print("\n[bold]3. The paper's Qwen2.5-Coder-3B ladder[/] (Table 1)")
        print_compare(result["table1"])
        console.print("\nTable 3 (seed 42), two-stage diagnostic:")
        print_compare(result["diagnostic"])
    elif name == "report":
        console.print(
            f"\n[bold]4. Report[/]: {result}\n   figures, simulate.json, compare.json, monitor "
            f"JSONs and per-run logs (logs/) are in {out_dir}",
            highlight=False,
        )


def versus_cell(cmp: dict | None) -> str:
    """A paired comparison with a free answer: the mean regret saved per setting, its 95%
    interval, the Holm-adjusted Wilcoxon-Pratt p and the settings won / lost."""
    if not cmp:
        return "-"
    p = cmp.get("p_holm", cmp.get("p_wilcoxon_pratt"))
    ptxt = "n/a" if p is None else f"{p:.2g}"
    lo, hi = cmp["ci"]
    return f"{cmp['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}] p={ptxt} ({cmp['wins']}/{cmp['losses']})"


def print_kinds(res: dict) -> None:
    """Per kind of ladder (depth, recipe): what the default signal adds over each free
    answer on the held-out settings, and the free answers' own numbers."""
    chosen = res["chosen"]["stage1"]
    for kind, rows in (res.get("stage1_by_kind") or {}).items():
        mine = next((r for r in rows if r["signal"] == chosen), None)
        free = [r for r in rows if r.get("baseline")]
        if mine is None:
            continue
        console.print(
            f"{kind} ladders ({mine['n_ladders']} held out): {chosen} regret "
            f"{mine['regret']:.3f}, top-1 "
            + ("-" if mine["top1_rate"] is None else f"{mine['top1_rate']:.0%}")
            + "; free answers: "
            + "; ".join(
                f"{r['signal']} {r['regret']:.3f}"
                + ("" if r["top1_rate"] is None else f" / {r['top1_rate']:.0%}")
                for r in free
            ),
            highlight=False,
        )
        for b, cmp in mine.get("vs_baselines", {}).items():
            console.print(f"   vs {b}: {versus_cell(cmp)}", highlight=False)


def print_calibrate(res: dict) -> None:
    n_rep = max((r["n_ladders"] for r in res["stage1"]), default=0)
    t = Table(
        title=f"Stage 1 on {n_rep} held-out ladders ({res['held_out']['report_settings']} "
        f"settings not used to choose; {res['n_ladders']} ladders in all); free answers last"
    )
    cols = ("signal", "sign", "median rho", "IQR", "top-1", "regret", "AUC poor start")
    for col in (*cols, "vs shallowest", "vs best pass@1"):
        t.add_column(col)
    for r in res["stage1"]:
        vs = r.get("vs_baselines") or {}
        auc = r.get("auc_poor_start")
        t.add_row(
            r["signal"] + (" (free answer)" if r.get("baseline") else ""),
            f"{r['sign']:+d}",
            f"{r['median_rho']:+.2f}",
            f"[{r['iqr'][0]:+.2f}, {r['iqr'][1]:+.2f}]",
            "-" if r["top1_rate"] is None else f"{r['top1_rate']:.0%} of {r.get('top1_n', '?')}",
            f"{r['regret']:.3f}",
            "-" if auc is None else f"{auc:.2f}",
            versus_cell(vs.get("shallowest")),
            versus_cell(vs.get("best_pass_at_1")),
        )
    console.print(t)
    console.print(
        "vs: the free answer's regret minus the signal's, mean over held-out settings (each "
        "setting's ladders averaged), 95% bootstrap interval over settings, Wilcoxon-Pratt p "
        "Holm-adjusted across signals, settings won/lost",
        highlight=False,
    )
    print_kinds(res)
    if res.get("real"):
        print_backtest(res["real"])
    frac = res["chosen"]["stage2_check_fraction"]
    for w in res.get("warnings", []):
        console.print(f"warning: {w}", highlight=False)
    if frac is None:
        console.print(f"chosen on the other half: stage 1 {res['chosen']['stage1']}")
        return
    held = next((r["n_runs"] for r in res["stage2"] if r["check_fraction"] == frac), 0)
    t2 = Table(title=f"Stage 2 judged at {frac:g} of the run ({held} held-out runs)")
    for col in ("rule", "AUC", "precision", "base rate", "recall", "compute saved", "threshold"):
        t2.add_column(col)
    for r in res["stage2"]:
        if r["check_fraction"] != frac:
            continue
        t2.add_row(
            r["rule"],
            "-" if r["auc"] is None else f"{r['auc']:.2f}",
            "-" if r["precision"] is None else f"{r['precision']:.0%}",
            "-" if r.get("prevalence") is None else f"{r['prevalence']:.0%}",
            "-" if r["recall"] is None else f"{r['recall']:.0%}",
            f"{r['compute_saved']:.0%}",
            f"{r['threshold']:.3f}",
        )
    console.print(t2)
    console.print(
        "base rate: the share of the held-out runs that the rule's stop claims (stopping at "
        "random is that precise)",
        highlight=False,
    )
    print_label_tables(res)
    print_default(res)
    console.print(
        f"chosen on the other half: stage 1 {res['chosen']['stage1']}, stage 2 "
        f"{res['chosen']['stage2']}",
        highlight=False,
    )
