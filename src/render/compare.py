"""`rankinv compare`: predictors by |rho|, the inversion call in words, and the stage-1/2
verdicts beside what happened."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console
from rankinv.verdicts.compare_words import ci_p_note, flag_word


def flag_upper(v) -> str:
    return flag_word(v).upper() if v else flag_word(v)


def sign_word(v: int | None) -> str:
    return "n/a" if v is None else "+" if v > 0 else "-" if v < 0 else "0"


def compare_summary_lines(res: dict) -> list[str]:
    """The inversion call and the strongest predictor, in words (shared with the report)."""
    preds = res["predictors"]
    lines = []
    if "pre_pass_at_1" not in preds:
        lines.append("inversion of the pre-RL pass@1 ranking: n/a (no pre_pass_at_1 column)")
    else:
        p1 = preds["pre_pass_at_1"]
        if p1["rho"] is None:
            lines.append(f"inversion of the pre-RL pass@1 ranking: n/a ({p1.get('error')})")
        else:
            lines.append(
                f"inversion of the pre-RL pass@1 ranking: {res['inversion_call']} "
                f"(rho {p1['rho']:+.2f}, {p1['p_method']} permutation p = {p1['p_value']:.3g}, "
                f"alpha = {res['alpha']}; " + _detectable_words(p1) + ")"
            )
    fav = res.get("favoured_predictor")
    if fav:
        v = preds[fav]
        exp = v.get("expected_sign")
        agree = (
            "no expected sign"
            if exp is None
            else "sign as expected"
            if v.get("agrees")
            else "sign against the expectation"
        )
        sig = "significant" if res["favoured_significant"] else "not significant"
        note = ci_p_note(v, res["alpha"])
        lines.append(
            f"strongest predictor: {fav} (rho {v['rho']:+.2f}, {agree}; {sig} at "
            f"alpha = {res['alpha']} by the permutation test" + (f"; {note})" if note else ")")
        )
    for k, v in preds.items():
        if v.get("monotone_of"):
            lines.append(
                f"{k} is a monotone function of {v['monotone_of']} over these rows: "
                "same ranks, so it is not scored separately"
            )
        elif v.get("same_ranks_as"):
            other = v["same_ranks_as"]
            lines.append(
                f"{k} ranks the rows in exactly the reverse order of {other} here"
                if v.get("same_ranks_sign") == -1
                else f"{k} ranks the rows exactly as {other} does here"
            )
    for k, v in preds.items():
        if v.get("min_p_value") is not None and v["min_p_value"] > res["alpha"]:
            n = v.get("n", res["n"])
            lines.append(
                f"{k}: at n = {n} rows with a value the permutation test cannot reach "
                f"p <= {res['alpha']}: its result cannot be significant"
            )
    return lines


def _detectable_words(v: dict) -> str:
    """What this n can detect: the smallest |rho| at 80% power, or that no rho can be."""
    if v.get("min_detectable_rho") is None:
        return f"at n = {v['n']} no rho can reach significance"
    return f"at n = {v['n']} only |rho| >= {v['min_detectable_rho']:.2f} is detected with 80% power"


def _mdr(v: dict) -> str:
    m = v.get("min_detectable_rho")
    return "-" if m is None else f"{m:.2f}"


def print_compare(res: dict) -> None:
    if res.get("source"):
        console.print(f"source: {res['source']}", highlight=False)
    t = Table(
        title=f"Predictors of {res['outcome']} by |rho| (n = {res['n']}, seed-demeaned: "
        f"{res['seed_demeaned']})"
    )
    for col in [
        "predictor",
        "rho",
        "95% CI (approx.)",
        "p (permutation)",
        "detectable |rho|",
        "expected",
        "agrees",
    ]:
        t.add_column(col, justify="right")
    disagree = []
    undefined: dict[str, list[str]] = {}
    for k, v in res["predictors"].items():
        exp = sign_word(v.get("expected_sign"))
        name = k
        if v.get("monotone_of"):  # the same ranks as another column: not a second signal
            same = f"same ranks as {v['monotone_of']}"
            t.add_row(f"{k} (not scored)", "-", same, "-", "-", exp, "-")
            continue
        if v["rho"] is None:  # why is said once, under the table
            t.add_row(name, "n/a", "-", "-", "-", exp, "-")
            undefined.setdefault(v.get("error") or "rho undefined", []).append(k)
            continue
        ci = f"[{v['ci_low']:+.2f}, {v['ci_high']:+.2f}]"
        if ci_p_note(v, res["alpha"]):
            disagree.append(k)
            ci += " !"
        agrees = "-" if v.get("agrees") is None else ("yes" if v["agrees"] else "no")
        t.add_row(
            name,
            f"{v['rho']:+.2f}",
            f"{ci} {v.get('ci_method', '')}",
            f"{v['p_value']:.3g} {v.get('p_method', '')}",
            _mdr(v),
            exp,
            agrees,
        )
    console.print(t)
    free = res.get("baselines") or {}
    if free:
        words = {
            "shallowest": "least-trained first",
            "deepest": "most-trained first",
            "best_pass_at_1": "best pre-RL pass@1 first",
            "lowest_pass_at_1": "lowest pre-RL pass@1 first",
        }
        console.print(
            "free answers, scored the same way: "
            + "; ".join(
                f"{words[b]} rho {v['rho']:+.2f} (p = {v['p_value']:.3g})" for b, v in free.items()
            )
            + "; a random pick: rho 0 in expectation",
            highlight=False,
        )
    for why, names in undefined.items():
        console.print(f"rho n/a for {', '.join(names)}: {why}", highlight=False)
    console.print(
        "expected signs under the paper's hypothesis (entropy +, pre-RL pass@1 -); detectable "
        "|rho|: the smallest true |rho| a test at alpha = 0.05 detects with 80% power at this "
        "n (Fisher z); "
        "CI: Fisher z (n <= 15) or bootstrap, an approximation; p: a permutation test",
        highlight=False,
    )
    for k in disagree:
        console.print(f"! {k}: {ci_p_note(res['predictors'][k], res['alpha'])}", highlight=False)
    for line in compare_summary_lines(res):
        console.print(line, highlight=False)
    s = Table(title="Stage-1 / stage-2 verdicts next to what happened")
    s.add_column("checkpoint", no_wrap=True)
    for col in ["H", "stage 1", "stage-2 drop", "stage 2", "headroom", "outcome", "rank"]:
        s.add_column(col, justify="right")
    for r in res["stage"]:
        s.add_row(
            str(r["name"]),
            "-" if r["entropy"] is None else f"{r['entropy']:.3f}",
            flag_upper(r["stage1_flag"]),
            "-" if r["stage2_drop"] is None else f"{r['stage2_drop']:.0%}",
            flag_upper(r["stage2_flag"]),
            "-" if r["headroom"] is None else f"{r['headroom']:.1f}x",
            f"{r['outcome']:.3f}",
            str(r["observed_rank"]),
        )
    console.print(s)
