"""`rankinv compare`'s printout (rankinv.render.compare): the interval and the permutation
p named and their disagreement flagged, monotone copies not shown as scored, the inversion
call's words."""

from dataclasses import replace

from rankinv import render
from rankinv.verdicts import compare as cmp


def _paper_compare():
    ex = cmp.example("paper-qwen")
    return cmp.compare(ex["rows"], ex["outcome"], ex["group_size"])


def test_compare_marks_a_significant_rho_whose_ci_spans_zero(printed):
    res = _paper_compare()
    ent = res.predictors["entropy"]
    assert ent.ci_low < 0 < ent.ci_high
    # as if the permutation test said significant
    res.predictors["entropy"] = replace(ent, p_value=0.0455)
    out = printed(render.print_compare, res)
    assert "95% CI (approx.)" in out and "p (permutation)" in out
    assert "! entropy: the approximate CI includes 0 though the permutation p is <= 0.05" in out


def test_compare_prints_no_evidence_rather_than_trend_at_p_1(printed):
    rows = [
        {"name": n, "pre_pass_at_1": a, "post_pass_at_10": b}
        for n, a, b in (("a", 0.1, 0.7), ("b", 0.2, 0.8), ("c", 0.3, 0.6))
    ]
    out = printed(render.print_compare, cmp.compare(rows))
    assert "inversion of the pre-RL pass@1 ranking: no evidence of an ordering (rho -0.50" in out
    assert "trend" not in out


def test_a_monotone_copy_is_shown_as_not_scored_without_its_own_rho(printed):
    out = printed(render.print_compare, _paper_compare())
    row = next(line for line in out.splitlines() if "adv_var" in line and "│" in line)
    assert "adv_var (not scored)" in row and "same ranks as pre_pass_at_1" in row
    assert "-0.90" not in row and "0.0833" not in row
    assert "not scored separately" in out


def test_a_derived_copy_is_tied_to_its_source_even_when_another_column_matches_first(printed):
    """adv_var (derived from pre_pass_at_1) also ranks the rows as entropy does (reversed):
    it is still the source's copy, not scored and never the strongest predictor; the chance
    match between two measured columns is printed with its direction."""
    rows = [
        {"name": n, "pre_pass_at_1": p, "entropy": h, "post_pass_at_10": y}
        for n, p, h, y in (
            ("a", 0.30, 0.25, 0.80),
            ("b", 0.35, None, 0.75),
            ("c", 0.40, 0.18, 0.70),
            ("d", 0.45, 0.15, 0.65),
            ("e", 0.50, 0.12, 0.60),
        )
    ]
    res = cmp.compare(rows)
    adv = res.predictors["adv_var"]
    assert adv.monotone_of == "pre_pass_at_1"
    assert res.predictors["pre_pass_at_1"].same_ranks_as == "entropy"
    assert res.predictors["pre_pass_at_1"].same_ranks_sign == -1
    out = printed(render.print_compare, res)
    assert "strongest predictor: adv_var" not in out
    assert "pre_pass_at_1 ranks the rows in exactly the reverse order of entropy here" in out


def test_an_undefined_rho_is_explained_once_under_the_table(printed):
    rows = [
        {"name": n, "pre_pass_at_1": 0.3, "entropy": 0.25, "post_pass_at_10": 0.7} for n in "abcd"
    ]
    out = printed(render.print_compare, cmp.compare(rows))
    row = next(line for line in out.splitlines() if "entropy" in line and "│" in line)
    assert "n/a" in row and "constant" not in row  # the table stays narrow
    assert "rho n/a for " in out and "entropy" in out.split("rho n/a for ")[1].splitlines()[0]


def test_a_copy_whose_expected_sign_disagrees_with_its_source_says_so(printed):
    """issue 38: adv_var (expected +) ranks the paper's rows as pre_pass_at_1 (expected -)
    does; "same ranks as pre_pass_at_1" hid that its order runs against its own sign."""
    res = _paper_compare()
    adv, p1 = res.predictors["adv_var"], res.predictors["pre_pass_at_1"]
    assert adv.monotone_of == "pre_pass_at_1" and adv.monotone_sign == 1
    assert (adv.expected_sign, p1.expected_sign) == (1, -1)
    assert adv.expected_sign_conflict is True and adv.agrees is False and p1.agrees is True
    assert res.to_json()["predictors"]["adv_var"]["expected_sign_conflict"] is True
    assert "expected_sign_conflict" not in res.to_json()["predictors"]["entropy"]
    out = " ".join(printed(render.print_compare, res).split())
    assert (  # golden text
        "adv_var is a monotone function of pre_pass_at_1 over these rows: same ranks, so it is "
        "not scored separately; but its expected sign (+) disagrees with pre_pass_at_1's (-): "
        "these ranks cannot agree with both; here adv_var's rho -0.90 runs against its own "
        "expected sign and agrees with pre_pass_at_1's"
    ) in out
    row = next(
        line
        for line in printed(render.print_compare, res).splitlines()
        if "adv_var" in line and "│" in line
    )
    assert row.rstrip("│ ").endswith("no")  # the agrees column: its sign fails here
