"""Compare's results in words: a rank correlation with its interval and test, a stage flag,
and the summary lines of a :class:`CompareResult` (the inversion call, the strongest
predictor, the copies and chance matches, what n cannot reach). The one phrasing that the
CLI (render) and the Markdown report both print."""

from __future__ import annotations

from collections.abc import Mapping

from rankinv.verdicts.compare import ALPHA
from rankinv.verdicts.compare_result import CompareResult, Predictor
from rankinv.verdicts.words.probe import constant_value, same_everywhere

#: The stage table's title: the paper's screens, not rankinv's verdicts.
STAGE_TITLE = "The paper's screens (and validate's risk, where known) next to what happened"

#: How each interval and p-value is computed, in words (theory.spearman's ci_method/p_method).
CI_WORDS = {"fisher-z": "Fisher z, approximate", "bootstrap": "bootstrap, approximate"}
P_WORDS = {"exact": "exact permutation", "monte carlo": "permutation (Monte Carlo)"}


def flag_word(flag: bool | None) -> str:
    """How a stage-1/2 flag reads in tables: '-' (not measured), 'flag' or 'ok'."""
    return "-" if flag is None else ("flag" if flag else "ok")


def ci_p_note(r: Mapping, alpha: float = ALPHA) -> str:
    """Words for an interval and a p-value that disagree: the CI is an approximation (Fisher
    z or bootstrap) and p a permutation test, so one can span 0 while the other is below
    alpha; never leave a "significant" rho beside a CI that includes 0 unsaid."""
    if r.get("rho") is None or r.get("ci_low") is None or r.get("p_value") is None:
        return ""
    spans = r["ci_low"] <= 0 <= r["ci_high"]
    if spans and r["p_value"] <= alpha:
        return (
            f"the approximate CI includes 0 though the permutation p is <= {alpha:g}: "
            "the two disagree, so the sign is not established"
        )
    if not spans and r["p_value"] > alpha:
        return (
            f"the approximate CI excludes 0 but the permutation p is > {alpha:g}: not significant"
        )
    return ""


def rho_words(r: Mapping) -> str:
    """A Spearman result (theory.spearman's fields) in words: rho, its 95% interval and how
    it was computed, the permutation p, the smallest |rho| this n detects, and a note where
    the interval and the test disagree."""
    if r.get("rho") is None:
        return f"undefined ({r.get('error', 'constant input')})"
    how = CI_WORDS.get(r.get("ci_method"), "approximate")
    pm = P_WORDS.get(r.get("p_method"), "permutation")
    line = (
        f"rho = {r['rho']:+.2f}, 95% CI [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}] "
        f"({how}), {pm} p = {r['p_value']:.3g}"
    )
    if r.get("min_detectable_rho") is not None:
        line += f"; n = {r['n']} detects |rho| >= {r['min_detectable_rho']:.2f} (80% power)"
    note = ci_p_note(r)
    return line + (f"; {note}" if note else "")


def rho_line(name: str, r: Mapping) -> str:
    """``name: `` and :func:`rho_words`."""
    return f"{name}: {rho_words(r)}"


def sign_word(v: int | None) -> str:
    return "n/a" if v is None else "+" if v > 0 else "-" if v < 0 else "0"


def detectable_words(v: Predictor, alpha: float = ALPHA) -> str:
    """What this n can detect: the smallest |rho| at 80% power, or that no ordering can
    reach significance (the smallest p these rows allow, 2 / n! without seeds)."""
    import math

    if v.min_detectable_rho is None:
        if v.min_p_value is None:
            return f"at n = {v.n} no rho can reach significance"
        exact = (
            f"2/{v.n}! = "
            if not v.demeaned and math.isclose(v.min_p_value, 2 / math.factorial(v.n))
            else ""
        )
        return (
            f"at n = {v.n} no ordering can reach p <= {alpha:g}: the exact permutation p is "
            f"at least {exact}{v.min_p_value:.2f}, so even rho = +-1 is no evidence here"
        )
    return f"at n = {v.n} only |rho| >= {v.min_detectable_rho:.2f} is detected with 80% power"


def copy_words(name: str, v: Predictor, res: CompareResult) -> str:
    """A derived column that ranks the rows as its source does (or against it): not scored;
    where its expected sign disagrees with its source's, the rows cannot bear out both
    hypotheses, and which one they run against is said."""
    src = v.monotone_of
    how = "same ranks" if v.monotone_sign != -1 else "the reverse ranks"
    line = (
        f"{name} is a monotone function of {src} over these rows: {how}, so it is not scored "
        "separately"
    )
    if not v.expected_sign_conflict:
        return line
    s = res.predictors[src]
    line += (
        f"; but its expected sign ({sign_word(v.expected_sign)}) disagrees with {src}'s "
        f"({sign_word(s.expected_sign)}): these ranks cannot agree with both"
    )
    if v.rho is not None and v.agrees is not None:
        how = (
            f"agrees with its own expected sign and runs against {src}'s"
            if v.agrees
            else f"runs against its own expected sign and agrees with {src}'s"
        )
        line += f"; here {name}'s rho {v.rho:+.2f} {how}"
        if s.rho is not None and abs(abs(v.rho) - abs(s.rho)) > 1e-9:
            line += (
                f" (seed-demeaned, it differs from {src}'s {s.rho:+.2f}: subtracting each "
                "seed's mean is not preserved by a monotone transform of the values)"
            )
    return line


def holm_words(v: Predictor, res: CompareResult) -> str:
    """A predictor's raw permutation p and its p Holm-adjusted over the predictors tested."""
    m = sum(1 for u in res.predictors.values() if u.p_holm is not None)
    if v.p_holm is None or m < 2:
        return f"p = {v.p_value:.3g}"
    return f"p = {v.p_value:.3g}, Holm-adjusted over the {m} predictors tested p = {v.p_holm:.3g}"


def summary_lines(res: CompareResult) -> list[str]:
    """The inversion call and the strongest predictor, the copies and chance matches, and
    the predictors whose n cannot reach significance, in words."""
    preds = res.predictors
    lines = []
    if "pre_pass_at_1" not in preds:
        lines.append("inversion of the pre-RL pass@1 ranking: n/a (no pre_pass_at_1 column)")
    else:
        p1 = preds["pre_pass_at_1"]
        if p1.rho is None:
            lines.append(f"inversion of the pre-RL pass@1 ranking: n/a ({p1.error})")
        else:
            lines.append(
                f"inversion of the pre-RL pass@1 ranking: {res.inversion_call} "
                f"(rho {p1.rho:+.2f}, {p1.p_method} permutation p = {p1.p_value:.3g}, "
                f"alpha = {res.alpha}; " + detectable_words(p1, res.alpha) + ")"
            )
    fav = res.favoured_predictor
    if fav:
        v = preds[fav]
        agree = (
            "no expected sign"
            if v.expected_sign is None
            else "sign as expected"
            if v.agrees
            else "sign against the expectation"
        )
        sig = "significant" if res.favoured_significant else "not significant"
        note = ci_p_note(v.to_json(), res.alpha)
        tied = [k for k in res.predictor_order[1:] if abs(abs(preds[k].rho) - abs(v.rho)) < 1e-9]
        head = "strongest predictor" + (
            f" (tied at |rho| {abs(v.rho):.2f} with {', '.join(tied)}; the first named)"
            if tied
            else ""
        )
        lines.append(
            f"{head}: {fav} (rho {v.rho:+.2f}, {agree}; {holm_words(v, res)}; "
            f"{sig} at alpha = {res.alpha} by the permutation test, Holm-adjusted"
            + (f"; {note})" if note else ")")
        )
    for k, v in preds.items():
        if v.monotone_of:
            lines.append(copy_words(k, v, res))
        elif v.same_ranks_as:
            other = v.same_ranks_as
            lines.append(
                f"{k} ranks the rows in exactly the reverse order of {other} here"
                if v.same_ranks_sign == -1
                else f"{k} ranks the rows exactly as {other} does here"
            )
    for k in preds:
        same = constant_value([r.get(k) for r in res.rows])
        if same is not None:
            lines.append(same_everywhere(k, same, res.n))
    for k, v in preds.items():
        if v.min_p_value is not None and v.min_p_value > res.alpha:
            lines.append(
                f"{k}: at n = {v.n} rows with a value the permutation test cannot reach "
                f"p <= {res.alpha}: its result cannot be significant"
            )
    return lines


def h_screen_column(tau_h: float) -> str:
    """The paper's prompt-entropy screen as a column name (was plainly "stage 1")."""
    return f"paper's H screen (tau_H {tau_h:g})"


def headroom_column(g: int) -> str:
    return f"headroom pass@1/p*({g})"


def stage_notes(res: CompareResult) -> list[str]:
    """Under the stage table: which screen each column is (the paper's H screen is not
    validate's risk, and the two are set side by side where validate's is known), and the g
    the headroom was computed at, given or assumed."""
    known = [s for s in res.stage if s.validate_risk is not None]
    head = (
        f"paper's H screen: FLAG where the prompt-token entropy H < tau_H = {res.tau_h:g} "
        "(the paper's stage 1, calibrated on one model family); stage 2: the paper's "
        f"entropy drop > {res.stage2_threshold:.0%}. Neither is `rankinv validate`'s risk, a "
        "different screen (a calibrated signal, by default the share of problems below "
        "p*(g), against a threshold from simulated ladders)"
    )
    if not known:
        head += ": not in this table (compare --probes DIR... shows it beside the paper's)"
    else:
        differ = [
            s.name
            for s in known
            if s.paper_h_screen_flag is not None
            and s.paper_h_screen_flag != (s.validate_risk == "high")
        ]
        head += (
            "; shown beside it as validate risk (by "
            + ", ".join(sorted({s.validate_risk_signal or "its signal" for s in known}))
            + ")"
            + (
                f"; the two screens disagree on {', '.join(differ)}"
                if differ
                else "; the two screens agree here"
            )
        )
    how = (
        "assumed: the paper's group size; -g sets it"
        if res.group_size_assumed
        else "the probes' planned run; -g sets it"
        if res.group_size_recorded
        else "given: -g, or the example's"
    )
    return [
        head,
        f"headroom: pre-RL pass@1 / p*(g) at g = {res.group_size} ({how})",
    ]
