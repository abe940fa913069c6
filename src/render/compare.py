"""`rankinv compare`: predictors by |rho|, the inversion call in words, and the stage-1/2
verdicts beside what happened."""

from __future__ import annotations

from rich.table import Table

from rankinv.render.base import console
from rankinv.verdicts.compare_result import CompareResult, Predictor
from rankinv.verdicts.words.compare import (
    STAGE_TITLE,
    ci_p_note,
    flag_word,
    h_screen_column,
    headroom_column,
    sign_word,
    stage_notes,
    summary_lines,
)


def flag_upper(v) -> str:
    return flag_word(v).upper() if v else flag_word(v)


def _mdr(v: Predictor) -> str:
    return "-" if v.min_detectable_rho is None else f"{v.min_detectable_rho:.2f}"


def print_compare(res: CompareResult) -> None:
    """The predictors by |rho|, the free answers scored alike, the summary lines
    (``rankinv.verdicts.words.compare``) and the stage-1/2 flags beside what happened."""
    if res.source:
        console.print(f"source: {res.source}", highlight=False)
    t = Table(
        title=f"Predictors of {res.outcome} by |rho| (n = {res.n}, seed-demeaned: "
        f"{res.seed_demeaned})"
    )
    for col in [
        "predictor",
        "rho",
        "95% CI (approx.)",
        "p (permutation)",
        "p (Holm)",
        "detectable |rho|",
        "expected",
        "agrees",
    ]:
        t.add_column(col, justify="right")
    disagree = []
    undefined: dict[str, list[str]] = {}
    for k, v in res.predictors.items():
        exp = sign_word(v.expected_sign)
        agrees = "-" if v.agrees is None else ("yes" if v.agrees else "no")
        if v.monotone_of:  # the same ranks as another column: not a second signal
            how = "same" if v.monotone_sign != -1 else "reverse"
            same = f"{how} ranks as {v.monotone_of}"
            # a copy whose expected sign disagrees with its source's says which it fails
            shown = agrees if v.expected_sign_conflict else "-"
            t.add_row(f"{k} (not scored)", "-", same, "-", "-", "-", exp, shown)
            continue
        if v.rho is None:  # why is said once, under the table
            t.add_row(k, "n/a", "-", "-", "-", "-", exp, "-")
            undefined.setdefault(v.error or "rho undefined", []).append(k)
            continue
        ci = f"[{v.ci_low:+.2f}, {v.ci_high:+.2f}]"
        if ci_p_note(v.to_json(), res.alpha):
            disagree.append(k)
            ci += " !"
        t.add_row(
            k,
            f"{v.rho:+.2f}",
            f"{ci} {v.ci_method or ''}",
            f"{v.p_value:.3g} {v.p_method or ''}",
            "-" if v.p_holm is None else f"{v.p_holm:.3g}",
            _mdr(v),
            exp,
            agrees,
        )
    console.print(t)
    free = res.baselines or {}
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
        "CI: Fisher z (n <= 15) or bootstrap, an approximation; p: a permutation test; "
        "p (Holm): p adjusted over the predictors tested",
        highlight=False,
    )
    for k in disagree:
        note = ci_p_note(res.predictors[k].to_json(), res.alpha)
        console.print(f"! {k}: {note}", highlight=False)
    for line in summary_lines(res):
        console.print(line, highlight=False)
    print_stage(res)


def print_stage(res: CompareResult) -> None:
    """The paper's screens per checkpoint (validate's risk beside them where known) next to
    what happened, and which screen each column is."""
    s = Table(title=STAGE_TITLE)
    s.add_column("checkpoint", no_wrap=True)
    validate = any(r.validate_risk is not None for r in res.stage)
    cols = ["H", h_screen_column(res.tau_h), "stage-2 drop", "stage 2"]
    cols += ["validate risk"] if validate else []
    for col in [*cols, headroom_column(res.group_size), "outcome", "rank"]:
        s.add_column(col, justify="right")
    for r in res.stage:
        s.add_row(
            str(r.name),
            "-" if r.entropy is None else f"{r.entropy:.3f}",
            flag_upper(r.paper_h_screen_flag),
            "-" if r.stage2_drop is None else f"{r.stage2_drop:.0%}",
            flag_upper(r.stage2_flag),
            *([r.validate_risk or "-"] if validate else []),
            "-" if r.headroom is None else f"{r.headroom:.1f}x",
            f"{r.outcome:.3f}",
            str(r.observed_rank),
        )
    console.print(s)
    for line in stage_notes(res):
        console.print(line, highlight=False)
