"""Print the README's measured-results tables (Markdown) from the saved artifacts.

    python scripts/readme_tables.py > /tmp/tables.md
    python scripts/readme_tables.py --write docs/results.md   # between its generated markers

Reads figures/data/calibrate/calibrate.json and the mini experiment's summaries under
figures/data/mini (recomputed by rankinv.experiment.evidence, saved to
figures/data/evidence/mini_evidence.json); every number the README quotes comes from here.
"""

import json
import sys
from pathlib import Path

from rankinv._io import write_json
from rankinv.experiment.evidence import mini_evidence, mini_log_evidence
from rankinv.render.rank import backtest_cell

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "figures" / "data"


def pct(x):
    return "-" if x is None else f"{x:.0%}"


def num(x, fmt="+.2f"):
    return "-" if x is None else format(x, fmt)


def calibrate_tables(res: dict) -> list[str]:
    out = [
        f"Held out by setting: {res['held_out']['choose_settings']} settings to choose on, "
        f"{res['held_out']['report_settings']} to report on; {res['n_ladders']} ladders, "
        f"{res['n_runs']} runs. Doomed: {res['held_out']['doomed']}.",
        "",
        "| stage-1 signal | sign (paper's) | median rho [IQR] | top-1 (of ladders that differ "
        "by > 0.02) | regret | AUC poor start |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["stage1"]:
        paper = "free answer" if r.get("baseline") else f"{r['expected_sign']:+d}"
        out.append(
            f"| {r['signal']} | {r['sign']:+d} ({paper}) | "
            f"{num(r['median_rho'])} [{num(r['iqr'][0])}, {num(r['iqr'][1])}] | "
            f"{pct(r['top1_rate'])} of {r['top1_n']} | {r['regret']:.3f} | "
            f"{num(r.get('auc_poor_start'), '.2f')} |"
        )
    frac = res["chosen"]["stage2_check_fraction"]
    real = {r["rule"]: r for r in ((res.get("real_stage2") or {}).get("rules") or [])}
    rs = res.get("real_stage2") or {}
    out += [
        "",
        f"Stage 2, judged at {frac:g} of the run. Simulated: the report half "
        f"({next((r['n_runs'] for r in res['stage2'] if r['check_fraction'] == frac), 0)} runs). "
        f"Real: {rs.get('n_runs', 0)} TRL GRPOTrainer runs (figures/data/trl_corpus; whole-run "
        "labels "
        + ", ".join(f"{v} {k}" for k, v in (rs.get("labels") or {}).items())
        + "), never used to choose. Positive: a run the rule should stop (its label from the "
        "check step on is one the rule claims). P@10%: the precision were 10% of runs such.",
        "",
        "| stage-2 rule | scale-free | sim AUC | sim precision (base rate; P@10%) | sim recall "
        "| sim stopped | real AUC | real precision (base rate; P@10%) | real recall "
        "| real stopped |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        (r for r in res["stage2"] if r["check_fraction"] == frac), key=lambda r: -(r["auc"] or 0)
    ):
        q = real.get(r["rule"], {})
        p10 = (r.get("precision_at_prevalence") or {}).get("0.1")
        q10 = (q.get("precision_at_prevalence") or {}).get("0.1")
        out.append(
            f"| {r['rule']} | {'yes' if r.get('scale_free', True) else 'no'} | "
            f"{num(r['auc'], '.2f')} | {pct(r['precision'])} ({pct(r['prevalence'])}; "
            f"{pct(p10)}) | "
            f"{pct(r['recall'])} | {pct(r['stop_rate'])} | {num(q.get('auc'), '.2f')} | "
            f"{pct(q.get('precision'))} ({pct(q.get('prevalence'))}; {pct(q10)}) | "
            f"{pct(q.get('recall'))} | "
            f"{pct(q.get('stop_rate'))} |"
        )
    out += ["", f"chosen: {res['chosen']}", f"sensitivity: {res.get('sensitivity')}"]
    return out


def versus_text(v: dict | None) -> str:
    """A setting-clustered paired comparison: regret saved, interval, Holm p, won/lost."""
    if not v:
        return "-"
    p = v.get("p_holm", v.get("p_wilcoxon_pratt"))
    ptxt = "n/a" if p is None else f"{p:.2g}"
    return (
        f"{v['mean']:+.4f} [{v['ci'][0]:+.4f}, {v['ci'][1]:+.4f}], p = {ptxt}, "
        f"{v['wins']}/{v['losses']}/{v['ties']} of {v['n_settings']}"
    )


def stage1_headline(res: dict) -> list[str]:
    """What the default ranking signal adds over the free answers, per kind of ladder, on
    the simulated report half; then rank's decision against them on the real ladders."""
    chosen = res["chosen"]["stage1"]
    out = [
        f"Simulated report half; the default ranking signal is `{chosen}` (chosen on the other "
        "half). Regret: the best rung's final held-out pass@10 minus the pick's, mean over "
        "ladders. vs: the free answer's regret minus the signal's, mean over settings (each "
        "setting's ladders averaged), 95% bootstrap interval over settings, Wilcoxon-Pratt p "
        "Holm-adjusted across signals, settings won/lost/tied.",
        "",
        "| ladders | chooser | regret | top-1 | vs least-trained | vs best pre-RL pass@1 "
        "| vs random |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, rows in (res.get("stage1_by_kind") or {"all": res["stage1"]}).items():
        mine = next((r for r in rows if r["signal"] == chosen), None)
        if mine is None:
            continue
        vs = mine.get("vs_baselines", {})
        out.append(
            f"| {kind} ({mine['n_ladders']}) | {chosen} | {mine['regret']:.4f} | "
            f"{pct(mine['top1_rate'])} | {versus_text(vs.get('shallowest'))} | "
            f"{versus_text(vs.get('best_pass_at_1'))} | {versus_text(vs.get('random'))} |"
        )
        for r in rows:
            if r.get("baseline"):
                out.append(
                    f"| {kind} | {r['signal']} (free) | {r['regret']:.4f} | "
                    f"{pct(r['top1_rate'])} | | | |"
                )
    real = res.get("real") or {}
    if real.get("versus"):
        out += [
            "",
            "Real ladders (never used to choose): against each free answer, ladder by ladder "
            "(won/lost/tied, two-sided sign test over the ladders that differ), `rank` (what it "
            "recommends: the free answer where its signal did not beat that answer on held-out "
            "simulated ladders) and `rank_signal` (the signal's own decision). Held out: the "
            "ladders nothing was chosen after.",
            "",
            "| real ladders | chooser | free answer | won / lost / tied | regret saved (mean) "
            "| sign p |",
            "|---|---|---|---|---|---|",
        ]
        for label, v in (("all", real["versus"]), ("held out", real["held_out"]["versus"])):
            for chooser in ("rank", "rank_signal"):
                for b, c in v.get(chooser, {}).items():
                    out.append(
                        f"| {label} ({c['n_ladders']}) | {chooser} | {b} | {c['wins']} / "
                        f"{c['losses']} / {c['ties']} | {c['mean_regret_saved']:+.3f} | "
                        f"{c['p_sign']:.2g} |"
                    )
    return out


def false_stops(f: dict | None, ci: bool = True, none: str = "-") -> str:
    """A false-stop rate {rate, k, n, ci} as "8% (3/36; 2%-22%)" (``ci``: with the interval);
    ``none`` where no improving run was there to stop."""
    if not f or f.get("rate") is None:
        return none
    tail = f"; {f['ci'][0]:.0%}-{f['ci'][1]:.0%}" if ci else ""
    return f"{f['rate']:.0%} ({f['k']}/{f['n']}{tail})"


def stage2_headline(res: dict) -> list[str]:
    """The README's stage-2 lead: what a stop adds over watching the reward, in both worlds.
    Each row: "no signal, or the rule stops" at the default's check fraction."""
    d = res.get("stage2_default")
    if not d:
        return []

    names = {
        "mechanical": "no signal only (never stop otherwise)",
        "baseline": "no signal + reward at an edge (<5% / >95%)",
        "best_rule": "no signal + best rule",
        "paper": "no signal + the paper's entropy-drop rule",
    }
    out = [
        "| stop rule | world | Youden J | recall of runs worth stopping | precision "
        "| false stops of improving runs (95% CI) |",
        "|---|---|---|---|---|---|",
    ]
    for role in ("mechanical", "baseline", "best_rule", "paper"):
        for half in ("choose", "report", "real", "real_v2"):
            v = d["transfer"].get(role, {}).get(half)
            if v is None:
                continue
            world = {
                "choose": "sim, choose half",
                "report": "sim, report half",
                "real": "real TRL corpus v1",
                "real_v2": "real TRL corpus v2",
            }[half]
            name = names[role] + (f" ({v['rule']})" if role == "best_rule" else "")
            fs = false_stops(v["false_stop"], none="- (no improving run)")
            out.append(
                f"| {name} | {world} | {num(v['youden'])} | {pct(v['recall'])} | "
                f"{pct(v['precision'])} | {fs} |"
            )
    out.append(
        f"\nDefault: {res['chosen']['stage2']} at {res['chosen']['stage2_check_fraction']:g} "
        f"of the run; a rule beat the reward-edge baseline on the choose half: "
        f"{d['beat_baseline']}."
    )
    return out


def stage2_compact(res: dict) -> list[str]:
    """The README's stage-2 table: each stop (the no-signal stop first) as recall of runs
    worth stopping / false stops of improving runs, per world."""
    d = res.get("stage2_default")
    if not d:
        return []
    worlds = [("report", "sim (report half)"), ("real", "real v1"), ("real_v2", "real v2")]
    names = {
        "mechanical": "no-signal facts only",
        "baseline": "+ reward at an edge (default)",
        "best_rule": "+ best rule",
        "paper": "+ paper's entropy-drop rule",
    }
    head = " | ".join(f"{w}: J, recall, false stops" for _, w in worlds)
    out = [f"| stop | {head} |", "|---" * (len(worlds) + 1) + "|"]

    def cell(v):
        if v is None:
            return "-"
        f = v["false_stop"]
        j = v.get("youden")
        if j is None and v.get("recall") is not None and f["rate"] is not None:
            j = v["recall"] - f["rate"]
        return f"{num(j)}, {pct(v['recall'])}, {false_stops(f, ci=False)}"

    # the free answer of never stopping, scored as a rule (no no-signal stop first)
    frac = res["chosen"]["stage2_check_fraction"]
    never = {
        "report": next(
            (r for r in res["stage2"] if r["rule"] == "never_stop" and r["check_fraction"] == frac),
            None,
        )
    }
    for half, key in (("real", "real_stage2"), ("real_v2", "real_stage2_v2")):
        rows = (res.get(key) or {}).get("rules") or []
        never[half] = next((r for r in rows if r["rule"] == "never_stop"), None)
    out.append("| never stop (free) | " + " | ".join(cell(never[h]) for h, _ in worlds) + " |")
    for role in ("mechanical", "baseline", "best_rule", "paper"):
        cells = [cell(d["transfer"].get(role, {}).get(half)) for half, _ in worlds]
        name = names[role] + (f" `{d['best_rule']['rule']}`" if role == "best_rule" else "")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def corpus_settings() -> list[str]:
    """The v2 corpus per setting, from its runs.jsonl: what each setting was meant to show and
    what its seeds did."""
    import collections

    path = DATA / "trl_corpus_v2" / "runs.jsonl"
    if not path.exists():
        return []
    by = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r.get("logging_steps", 1) == 1:
            by[(r["setting"], r["intent"])].append(r)
    out = ["| setting | meant to | seeds | labels | pass@1 change | pass@4 change |"]
    out.append("|---|---|---|---|---|---|")
    for (setting, intent), rs in by.items():
        labs = collections.Counter(r["label"] for r in rs)
        g1 = sum(r["gain_pass_at_1"] for r in rs) / len(rs)
        gk = sum(r["gain_pass_at_k"] for r in rs) / len(rs)
        out.append(
            f"| {setting} | {intent} | {len(rs)} | "
            + ", ".join(f"{v} {k}" for k, v in labs.most_common())
            + f" | {g1:+.3f} | {gk:+.3f} |"
        )
    return out


def corpus_v2_table(res: dict) -> list[str]:
    """The real GRPOTrainer corpus v2, scored with the thresholds chosen on simulated runs:
    its labels, each rule and baseline (AUC, precision, recall, false stops with their
    interval), and the same training logged at logging_steps 1 and 10."""
    rs = res.get("real_stage2_v2")
    if not rs:
        return []
    frac = res["chosen"]["stage2_check_fraction"]
    labs = ", ".join(f"{v} {k}" for k, v in rs["labels"].items() if v)
    counts = (res.get("stage2_labels") or {}).get("counts", {}).get("real_v2") or {}
    at = ", ".join(f"{v} {k}" for k, v in (counts.get(f"{frac:g}") or {}).items())
    out = [
        f"Real corpus v2 ({rs['source']}, first scored {rs.get('first_scored')}, never used to "
        f"choose): {rs['n_runs']} TRL GRPOTrainer runs; whole-run labels {labs}; from the "
        f"check step ({frac:g} of the run) on: {at}. Each rule at the threshold chosen on the "
        "simulated choose half; positive: a run whose label from the check step on is one the "
        "rule claims; false stops: improving runs the rule stops (exact 95% interval).",
        "",
        "| stage-2 rule | AUC | precision (base rate) | recall | stopped | false stops |",
        "|---|---|---|---|---|---|",
    ]
    for q in sorted(rs["rules"], key=lambda r: -(r.get("auc") or 0)):
        fs = false_stops(q.get("false_stop"))
        out.append(
            f"| {q['rule']} | {num(q.get('auc'), '.2f')} | {pct(q.get('precision'))} "
            f"({pct(q.get('prevalence'))}) | {pct(q.get('recall'))} | "
            f"{pct(q.get('stop_rate'))} | {fs} |"
        )
    out += [
        "",
        "Per setting (logging every step): whole-run labels over its seeds, mean "
        "held-out change of pass@1 and pass@4.",
        "",
    ] + corpus_settings()
    pairs = rs.get("logging_pairs")
    if pairs:
        out += [
            "",
            f"The same training logged at logging_steps 1 and at TRL's default 10 "
            f"({pairs['n_pairs']} pairs, same seed): identical held-out evaluations in "
            f"{pairs['same_evaluations']}, the same whole-run label in {pairs['same_label']}, "
            f"the same decision of the default ({pairs['rule']} with the no-signal stop) in "
            f"{pairs['same_decision']}.",
        ]
    return out


def evidence_tables(evs: list[dict]) -> list[str]:
    out = [
        "| run set | n | signal | rho vs final | p | rho vs peak | p |",
        "|---|---|---|---|---|---|---|",
    ]
    for ev in evs:
        for name, r in ev["stage1"].items():
            f, pk = r["final"], r["peak"]
            if f is None:
                continue
            out.append(
                f"| {ev['label']} | {f['n']} | {name} | {num(f['rho'])} | {f['p_value']:.3f} | "
                f"{num(pk['rho'])} | {pk['p_value']:.3f} |"
            )
    out += [
        "",
        "| run set | rule | stopped | of them doomed | healthy stopped | doomed runs |",
        "|---|---|---|---|---|---|",
    ]
    for ev in evs:
        for rule in ("paper", "informative"):
            s = ev["stage2"].get(rule)
            if s:
                out.append(
                    f"| {ev['label']} | {rule} | {s['stopped']}/{s['n']} | {s['stopped_doomed']} "
                    f"| {s['stopped_healthy']} | {s['doomed']} |"
                )
    out += [
        "",
        "| run set | variant | depths | final pass@k | all-fail share | nonlinear final |",
        "|---|---|---|---|---|---|",
    ]
    for ev in evs:
        for v, m in ev["mechanism"].items():
            out.append(
                f"| {ev['label']} | {v} | {m['depths'][0]} -> {m['depths'][1]} | "
                f"{m['final'][0]:.3f} -> {m['final'][1]:.3f} | "
                f"{m['all_fail_early'][0]:.2f} -> {m['all_fail_early'][1]:.2f} | "
                f"{m['final_nonlinear'][0]:.3f} -> {m['final_nonlinear'][1]:.3f} |"
            )
    return out


REAL_COLUMNS = (
    "shallowest",
    "best_pass_at_1",
    "random",
    "pass_at_1",
    "pass_at_k",
    "entropy_prompt",
    "entropy_rollout",
    "pilot_entropy",
    "pilot_informative",
    "share_below_p_star",
    "rank_signal",
    "rank",
)


def real_tables(real: dict) -> list[str]:
    """The real back-test: per ladder, each signal's pick as post-RL rank / regret; then the
    issue's success criteria per signal."""
    out = [
        "| real ladder (rungs) | " + " | ".join(REAL_COLUMNS) + " |",
        "|---" * (len(REAL_COLUMNS) + 1) + "|",
    ]
    for lad in real["ladders"]:
        cells = [backtest_cell(lad["signals"].get(sig), " (worst)") for sig in REAL_COLUMNS]
        name = lad["ladder"] + (" (secondary)" if lad["secondary"] else "")
        out.append(f"| {name} ({lad['n_rungs']}) | " + " | ".join(cells) + " |")
    yes = lambda b: "yes" if b else "**no**"  # noqa: E731
    out += [
        "",
        "| signal | ladders | median rho (n) | regret <= best pre-RL pass@1's everywhere "
        "| never the worst rung | median rho within 0.1 of the best |",
        "|---|---|---|---|---|---|",
    ]
    for sig, b in real["by_signal"].items():
        rho = "-" if b.get("median_rho") is None else f"{b['median_rho']:+.2f} ({b['n_rho']})"
        lads = f"{b['n_ladders']}" + (f" (+{b['abstained']} abstained)" if b["abstained"] else "")
        near = "-" if b.get("rho_near_best") is None else yes(b["rho_near_best"])
        out.append(
            f"| {sig} | {lads} | {rho} | {yes(b['no_worse_than_naive'])} | "
            f"{yes(b['never_worst'])} | {near} |"
        )
    out.append(f"\nBest single signal's median rho: {real['best_single_median_rho']:+.2f}.")
    return out


def main():
    lines = []
    cal = DATA / "calibrate" / "calibrate.json"
    if cal.exists():
        res = json.loads(cal.read_text())
        lines += ["## stage 1 against the free answers", ""] + stage1_headline(res) + [""]
        lines += ["## calibrate", ""] + calibrate_tables(res) + [""]
        lines += ["## stage 2 against watching the reward", ""] + stage2_headline(res) + [""]
        lines += ["README's compact table:", ""] + stage2_compact(res) + [""]
        if res.get("real_stage2_v2"):
            lines += ["## real corpus v2", ""] + corpus_v2_table(res) + [""]
        if res.get("real"):
            lines += ["## real back-test", ""] + real_tables(res["real"]) + [""]
    evs = [
        mini_evidence(DATA / "mini" / "mini_ci.json", "mini CI, full SFT"),
        mini_evidence(DATA / "mini" / "mini_ci_lora.json", "mini CI, LoRA"),
        mini_evidence(DATA / "mini" / "gpu_h200_seed0_ladder.json", "GPU ladder (1 seed)"),
    ]
    for name, label in (("mini_ci_lr.json", "mini ci-lr"), ("mini_ci_nomod.json", "mini ci-nomod")):
        if (DATA / "mini" / name).exists():
            evs.append(mini_evidence(DATA / "mini" / name, label))
    write_json(DATA / "evidence" / "mini_evidence.json", evs)
    lines += ["## evidence", ""] + evidence_tables(evs)
    for sub, label, saved in (
        ("ci_rerun", "mini CI rerun, per-step logs", "mini_log_evidence.json"),
        ("ci_lr", "mini ci-lr, per-step logs", "mini_log_evidence_ci_lr.json"),
        ("ci_nomod", "mini ci-nomod, per-step logs", "mini_log_evidence_ci_nomod.json"),
    ):
        logs = DATA / "mini" / sub
        if not (logs / "runs").exists():
            continue
        ev = mini_log_evidence(logs, label)
        write_json(DATA / "evidence" / saved, ev)
        lines += [
            "",
            f"| stage-2 rule ({label}) | stopped | doomed stopped | healthy stopped "
            "| watched | doomed runs |",
            "|---|---|---|---|---|---|",
        ]
        for rule, t in ev["rules"].items():
            lines.append(
                f"| {rule} | {t['stopped']}/{t['n']} | {t['stopped_doomed']} | "
                f"{t['stopped_healthy']} | {t['watched']} | {t['doomed']} |"
            )
    text = "\n".join(lines)
    if sys.argv[1:2] == ["--write"]:
        write_generated(Path(sys.argv[2]) if len(sys.argv) > 2 else RESULTS, text)
    else:
        print(text)


RESULTS = ROOT / "docs" / "results.md"
START, END = "<!-- generated:start -->", "<!-- generated:end -->"


def write_generated(path: Path, text: str) -> None:
    """Replace what lies between the generated markers of ``path`` with ``text``."""
    doc = path.read_text()
    a, b = doc.index(START) + len(START), doc.index(END)
    path.write_text(doc[:a] + "\n" + text + "\n" + doc[b:])
    print(f"wrote the generated tables into {path}")


if __name__ == "__main__":
    main()
