"""Compare's results in words: a rank correlation with its interval and test, and a stage
flag. The one phrasing that the CLI (render) and the Markdown report both print."""

from __future__ import annotations

from rankinv.verdicts.compare import ALPHA

#: How each interval and p-value is computed, in words (theory.spearman's ci_method/p_method).
CI_WORDS = {"fisher-z": "Fisher z, approximate", "bootstrap": "bootstrap, approximate"}
P_WORDS = {"exact": "exact permutation", "monte carlo": "permutation (Monte Carlo)"}


def flag_word(flag: bool | None) -> str:
    """How a stage-1/2 flag reads in tables: '-' (not measured), 'flag' or 'ok'."""
    return "-" if flag is None else ("flag" if flag else "ok")


def ci_p_note(r: dict, alpha: float = ALPHA) -> str:
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


def rho_words(r: dict) -> str:
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


def rho_line(name: str, r: dict) -> str:
    """``name: `` and :func:`rho_words`."""
    return f"{name}: {rho_words(r)}"
