"""`rankinv calibrate`'s stage-2 parts beyond the rule table: one table per outcome label
(every rule that claims it and the free baselines, report half and real corpus), and the
default's choice against the reward-edge baseline with its measured transfer."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console


def _f(x, fmt=".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _rate(fs: dict | None) -> str:
    """ "12% (3/25) [4-31%]": a false-stop rate with its count and exact interval."""
    if not fs or fs.get("rate") is None:
        return "- (0 runs)"
    lo, hi = fs["ci"]
    return f"{fs['rate']:.0%} ({fs['k']}/{fs['n']}) [{lo:.0%}-{hi:.0%}]"


def print_label_tables(res: dict) -> None:
    sec = res.get("stage2_labels")
    if not sec:
        return
    real = (sec["tables"].get("real") or {}) if sec["tables"] else {}
    for lab, rows in sec["tables"]["report"].items():
        pos = max((r["n_positive"] for r in rows), default=0)
        if not pos and not any(r["n_positive"] for r in real.get(lab, [])):
            continue
        by_real = {r["rule"]: r for r in real.get(lab, [])}
        t = Table(title=f"{lab}: {sec['actions'][lab]}")
        for col in ("rule", "kind", "sim AUC", "sim prec.", "sim recall", "sim false stops",
                    "real AUC", "real prec.", "real recall", "real false stops"):  # fmt: skip
            t.add_column(col)
        for r in rows:
            q = by_real.get(r["rule"], {})
            t.add_row(
                r["rule"],
                r["kind"],
                _f(r["auc"]),
                _f(r["precision"], ".0%"),
                _f(r["recall"], ".0%"),
                _rate(r["false_stop"]),
                _f(q.get("auc")),
                _f(q.get("precision"), ".0%"),
                _f(q.get("recall"), ".0%"),
                _rate(q.get("false_stop")),
            )
        console.print(t)
    console.print(f"labels: {sec['definition']}", highlight=False)
    console.print(f"interval: {sec['interval']}", highlight=False)


def print_default(res: dict) -> None:
    d = res.get("stage2_default")
    if not d:
        return
    console.print(
        f"default chosen on the choose half ({d['criterion']}): "
        + (
            f"{res['chosen']['stage2']} beat the reward-edge baseline"
            if d["beat_baseline"]
            else "no rule beat the reward-edge baseline: the default is the mechanical facts "
            "plus reward_edge"
        ),
        highlight=False,
    )
    t = Table(title="with the no-signal stop first: choose half / report half / real corpora")
    for col in ("", "rule", "half", "Youden J", "recall", "precision", "false stops"):
        t.add_column(col)
    for role, halves in d["transfer"].items():
        for half, v in halves.items():
            t.add_row(
                role,
                f"{v['rule']} at {v['check_fraction']:g}",
                half,
                _f(v["youden"], "+.2f"),
                _f(v["recall"], ".0%"),
                _f(v["precision"], ".0%"),
                _rate(v["false_stop"]),
            )
    console.print(t)
    for key in ("real_stage2", "real_stage2_v2"):
        real = res.get(key) or {}
        if real:
            console.print(
                f"real corpus {real['source']} (first scored {real.get('first_scored')}): "
                + ", ".join(f"{v} {k}" for k, v in real["labels"].items() if v),
                highlight=False,
            )
        pairs = real.get("logging_pairs")
        if pairs:
            console.print(
                f"  the same training logged at logging_steps 1 and 10 ({pairs['n_pairs']} "
                f"pairs): identical evaluations {pairs['same_evaluations']}, same label "
                f"{pairs['same_label']}, same decision of {pairs['rule']} "
                f"{pairs['same_decision']}",
                highlight=False,
            )
