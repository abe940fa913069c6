"""compare's stage table is the paper's screens, labelled so, with validate's own risk
beside them where known, and the g of its headroom said (issue 38b, a fresh-clone try:
validate said "risk: high" and compare "stage 1: ok", JSON risk "low", for the same
probes)."""

import pytest
from probe_dirs import mini_probe

from rankinv import render
from rankinv.verdicts import compare as cmp


def _unwrapped(printed, res):
    return " ".join(printed(render.print_compare, res).split())


def test_the_papers_h_screen_is_labelled_and_validates_risk_shown_beside_it(tmp_path, printed):
    dirs = [mini_probe(tmp_path / f"teacher-s0-d{d}", d) for d in (1, 2, 4, 8, 16)]
    post = tmp_path / "post.csv"
    post.write_text(
        "name,post_pass_at_10\n"
        + "".join(
            f"teacher-s0-d{d},{y}\n"
            for d, y in ((1, 0.8), (2, 0.7), (4, 0.72), (8, 0.6), (16, 0.5))
        )
    )
    res = cmp.compare(cmp.rows_from_probes(dirs, post))
    row = res.to_json()["stage"][0]
    assert "risk" not in row and "stage1_flag" not in row  # the old, unqualified keys
    assert row["paper_h_screen_flag"] is False and row["paper_screen_risk"] == "low"
    assert row["validate_risk"] == "high" and row["validate_risk_signal"] == "share_below_p_star"
    out = printed(render.print_compare, res)
    assert "paper's H screen (tau_H 0.18)" in out and "validate risk" in out
    assert "stage 1 " not in out
    flat = " ".join(out.split())
    assert "Neither is `rankinv validate`'s risk, a different screen" in flat
    assert "the two screens disagree on teacher-s0-d1," in flat
    assert "headroom: pre-RL pass@1 / p*(g) at g = 8 (assumed: the paper's group size" in flat


def test_a_file_without_probes_says_validates_risk_is_not_there_and_g_given(printed):
    rows = [
        {"name": n, "pre_pass_at_1": a, "entropy": h, "post_pass_at_10": b}
        for n, a, h, b in (("a", 0.1, 0.3, 0.7), ("b", 0.2, 0.2, 0.8), ("c", 0.3, 0.1, 0.6))
    ]
    res = cmp.compare(rows)
    assert res.group_size_assumed and res.stage[2].paper_h_screen_flag is True
    flat = _unwrapped(printed, res)
    assert "not in this table (compare --probes DIR... shows it beside the paper's)" in flat
    assert "headroom pass@1/p*(8)" in flat
    given = cmp.compare(rows, group_size=4)
    assert not given.group_size_assumed
    assert "at g = 4 (given: -g" in _unwrapped(printed, given)


def _rows(**cols):
    post = [0.8, 0.7, 0.72, 0.6, 0.5]
    return [
        {"name": f"d{d}", "pre_pass_at_1": 0.1 * (i + 1), "post_pass_at_10": post[i],
         **{k: v[i] for k, v in cols.items()}}
        for i, d in enumerate((1, 2, 4, 8, 16))
    ]  # fmt: skip


def test_the_h_screen_reads_the_prompt_entropy_by_name_never_a_rollout_entropy():
    # the mini experiment's rows (a fresh-clone try: its rollout entropy, written as
    # "entropy", was screened as the paper's prompt-token H and flagged a checkpoint)
    roll, prompt = [0.4, 0.3, 0.2, 0.146, 0.1], [0.95, 0.9, 0.8, 0.7, 0.65]
    res = cmp.compare(_rows(entropy_rollout=roll, entropy_prompt=prompt))
    assert [s.entropy for s in res.stage] == prompt
    assert not any(s.paper_h_screen_flag for s in res.stage) and not res.warnings
    both = cmp.compare(_rows(entropy=roll, entropy_prompt=prompt))
    assert [s.entropy for s in both.stage] == prompt
    assert "the paper's H screen reads entropy_prompt" in both.warnings[0]
    plain = cmp.compare(_rows(entropy=roll))  # a plain entropy column is the paper's H
    assert [s.entropy for s in plain.stage] == roll and plain.stage[3].paper_h_screen_flag


def test_standard_error_columns_are_not_predictors_and_rollout_entropy_has_ranks_sign():
    # a fresh-clone try: an SE column was scored as a predictor (the outcome's own SE too),
    # and entered the Holm family, turning a significant result into a non-significant one
    rows = _rows(entropy_rollout=[0.9, 0.7, 0.75, 0.5, 0.3])
    for i, r in enumerate(rows):
        r["entropy_rollout_se"] = 0.01 * (i + 1)
        r["post_pass_at_10_se"] = 0.02 * (5 - i)
    res = cmp.compare(rows)
    assert not [k for k in res.predictors if k.endswith("_se")]
    assert res.predictors["entropy_rollout"].expected_sign == 1


def test_a_strongest_predictor_tied_with_others_says_so(printed):
    rows = _rows(entropy_rollout=[0.9, 0.7, 0.8, 0.5, 0.3], entropy_prompt=[9, 7, 8, 5, 3])
    res = cmp.compare(rows)
    flat = _unwrapped(printed, res)
    tied = [k for k in res.predictor_order if abs(res.predictors[k].rho) == abs(
        res.predictors[res.favoured_predictor].rho)]  # fmt: skip
    assert len(tied) >= 2
    assert f"strongest predictor (tied at |rho| {abs(res.predictors[tied[0]].rho):.2f} with" in flat


def test_a_monotone_copy_whose_demeaned_rho_differs_says_why(printed):
    # a fresh-clone try: "same ranks" beside adv_var's rho -0.60 and pre_pass_at_1's -0.89
    rows = [
        {"name": "e1", "seed": 0, "pre_pass_at_1": 0.30, "post_pass_at_10": 0.62},
        {"name": "e2", "seed": 0, "pre_pass_at_1": 0.36, "post_pass_at_10": 0.60},
        {"name": "e1", "seed": 1, "pre_pass_at_1": 0.31, "post_pass_at_10": 0.63},
        {"name": "e2", "seed": 1, "pre_pass_at_1": 0.37, "post_pass_at_10": 0.58},
    ]
    res = cmp.compare(rows)
    a, p = res.predictors["adv_var"], res.predictors["pre_pass_at_1"]
    assert a.monotone_of == "pre_pass_at_1" and a.rho == pytest.approx(-0.6)
    assert p.rho == pytest.approx(-0.894, abs=1e-3)
    flat = _unwrapped(printed, res)
    assert "(seed-demeaned, it differs from pre_pass_at_1's -0.89: subtracting each" in flat
