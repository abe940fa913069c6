"""`rankinv validate`: the stage-1 probe's table, its verdict and the pre-RL report."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console, kv_table

#: The summary keys shown in the probe's table, in order.
PROBE_KEYS = (
    "pass_at_1",
    "pass_at_64",
    "entropy_prompt",
    "entropy_rollout",
    "informative_fraction",
    "frac_below_p_star",
    "headroom",
    "diversity_ratio",
)
RISK_COLOUR = {"low": "green", "medium": "yellow", "high": "red"}
#: Table labels that differ from the summary's keys: the names the reasons use.
LABELS = {"frac_below_p_star": "share_below_p_star", "headroom": "headroom (pass@1 / p*)"}


def probe_rows(summary: dict) -> list[tuple[str, str]]:
    """The probe table's rows: pass@k named with its k (pass@1, the pass@k that `rank`
    reads, pass@64), every number to 3 decimals, "-" where not measured."""
    from rankinv.records import DEFAULT_K

    rows = []
    for key in PROBE_KEYS:
        label, v = LABELS.get(key, key), summary.get(key)
        if key.startswith("pass_at_"):
            label = "pass@" + key.removeprefix("pass_at_")
        shown = "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
        if key == "headroom" and isinstance(v, float):
            shown = f"{v:.1f}x"  # as compare shows it
        rows.append((label, shown))
        if key == "pass_at_1":
            pk = (summary.get("signals") or {}).get("pass_at_k")
            rows.append((f"pass@{DEFAULT_K}", "-" if pk is None else f"{pk:.3f}"))
    return rows


def probe_notes(summary: dict) -> list[str]:
    """Under the probe's table: why a pass@k is '-', and the planned run where the verdict's
    signal reads it (its budget, or its g alone)."""
    from rankinv.records import DEFAULT_K
    from rankinv.verdicts.words.plan import BUDGET_SIGNALS, G_SIGNALS, plan_line, plan_sources
    from rankinv.verdicts.words.probe import pass_at_k_note

    out = []
    if (summary.get("signals") or {}).get("pass_at_k") is None:
        k_note = pass_at_k_note(DEFAULT_K, summary.get("samples_per_problem"))
        out.append(f"pass@{DEFAULT_K} '-': {k_note}")
    if summary.get("pass_at_64_note"):
        out.append(f"pass@64 '-': {summary['pass_at_64_note']}")
    signal, plan = summary.get("signal"), summary.get("plan")
    if plan and signal in (*BUDGET_SIGNALS, *G_SIGNALS):
        out.append(plan_line(plan, plan_sources(summary), signal in BUDGET_SIGNALS))
    return out


def print_probe(summary: dict, model: str, out: str) -> None:
    console.print(kv_table(f"Stage-1 probe of {model}", probe_rows(summary)))
    for line in probe_notes(summary):
        console.print(line, highlight=False)
    colour = RISK_COLOUR.get(summary["risk"], "white")
    console.print(f"risk: [bold {colour}]{summary['risk']}[/]")
    for r in summary["reasons"]:
        console.print(f"  - {r}", highlight=False)
    if summary.get("pre_rl"):
        print_pre_rl(summary["pre_rl"], out)
    console.print(f"samples in {out}/samples.jsonl; summary in {out}/validate_summary.json")


def draws_words(rep: dict) -> str:
    """How often the planned run draws each prompt: T x min(P, N) / N groups of g, the cap
    said where the prompts per step exceed the N prompts (a step cannot draw more)."""
    t, p, n, g = rep["steps"], rep["prompts_per_step"], rep["n_prompts"], rep["group_size"]
    d = rep["draws_per_prompt"]
    if p > n:
        return (
            f"{t} steps x {p} prompts per step, capped at the {n} prompts probed (a step "
            f"draws each prompt at most once), x g = {g}: each prompt is drawn {d:.2f} times "
            f"(T x min(P, N) / N = {t} x {n} / {n})"
        )
    return (
        f"{t} steps x {p} prompts x g = {g} of {n} prompts draws each {d:.2f} times "
        f"(T x P / N = {t} x {p} / {n})"
    )


def print_pre_rl(rep: dict, out: str) -> None:
    probed = sum(row["count"] for row in rep["histogram"])
    hist = Table(title=f"p-hat of the {probed} problems probed (samples passed / drawn)")
    hist.add_column("p-hat")
    hist.add_column("prompts", justify="right")
    for row in rep["histogram"]:
        hist.add_row(row["bin"], str(row["count"]))
    console.print(hist)
    g = rep["group_size"]
    console.print(
        f"before RL: {draws_words(rep)}; expected share stranded "
        f"(every group degenerate, no signal): {rep['expected_stranded_share']:.1%} with each "
        "prompt's p as uncertain as its samples allow (Jeffreys posterior: a prompt never "
        f"solved may still have a small p), {rep['expected_stranded_share_plugin']:.1%} if p "
        "were exactly the probe's p-hat (never solved = always stranded); "
        f"{rep['frac_below_p_star']:.1%} below p*({g}) = {rep['p_star']:.3f}, "
        f"{rep['frac_never_solved']:.1%} never solved",
        highlight=False,
    )
    lift = rep["group_size_to_lift_all_below"]
    if lift:
        console.print(
            f"g = {lift} lifts every prompt seen solved above p*; per-prompt g in "
            f"{out}/pre_rl.json",
            highlight=False,
        )


def print_interrupted(message: str) -> None:
    import sys

    print(f"rankinv: {message}", file=sys.stderr)


def print_probes(summaries: list[dict], out: str) -> None:
    """Several checkpoints probed by one `validate`: one row each, then how to rank them."""
    t = Table(title=f"Stage-1 probes in {out}")
    for col in ("checkpoint", "pass@1", "entropy (rollout)", "below p*", "risk"):
        t.add_column(col, justify="left" if col == "checkpoint" else "right")
    for s in summaries:
        t.add_row(
            s["out"],
            f"{s['pass_at_1']:.3f}",
            f"{s['entropy_rollout']:.3f}",
            f"{s['frac_below_p_star']:.0%}",
            f"[{RISK_COLOUR.get(s['risk'], 'white')}]{s['risk']}[/]",
        )
    console.print(t)
    from rankinv.verdicts.words.probe import constant_value, same_everywhere

    signal = summaries[0].get("signal") if summaries else None
    same = constant_value([(s.get("signals") or {}).get(signal) for s in summaries])
    if signal and same is not None:
        line = same_everywhere(signal, same, len(summaries))
        console.print(f"{line}, so its risk is the same for each", highlight=False)
    for line in probes_notes(summaries, out):
        console.print(line, highlight=False)


def probes_notes(summaries: list[dict], out: str) -> list[str]:
    """Under the table of several probes: what the risk column measures (its threshold, as
    single-model validate says it), the small-probe caveat, and that choosing between the
    checkpoints is `rankinv rank`'s, with the command (in the --model order)."""
    from rankinv.verdicts.ladders import rank_command
    from rankinv.verdicts.probe_verdict import is_small
    from rankinv.verdicts.signals import stage1_verdict
    from rankinv.verdicts.words.probe import risk_column, risk_vs_rank, small_probe

    lines = []
    first = summaries[0] if summaries else {}
    if first.get("signal"):
        lines.append(risk_column(stage1_verdict(first.get("signals") or {}, first["signal"])))
    sizes = {(s.get("n_problems"), s.get("samples_per_problem")) for s in summaries}
    for n_problems, samples in sorted(x for x in sizes if None not in x):
        if is_small(n_problems, samples):
            lines.append(small_probe(n_problems, samples, "these verdicts"))
    lines.append(risk_vs_rank(rank_command(out, [s["out"] for s in summaries])))
    return lines
