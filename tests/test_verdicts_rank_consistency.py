"""rank's JSON says what its text says (issue 38b, a fresh-clone try): the inversion is about
the checkpoint recommended, and when nothing is recommended nobody recommended it."""

import pytest
from probe_dirs import mini_probe

from rankinv import render
from rankinv.render.rank import print_rank
from rankinv.verdicts.rank import rank

TABLES = {
    "within_noise": "name,pre_pass_at_1,pre_pass_at_10,pre_pass_at_10_se\n"
    "a,0.30,0.700,0.03\nb,0.35,0.701,0.03\nc,0.40,0.6995,0.03\n",
    "tie": "name,pre_pass_at_1,pre_pass_at_10\na,0.30,0.70\nb,0.35,0.70\nc,0.40,0.60\n",
    "no_pass": "name,pre_pass_at_1,pre_pass_at_10\na,0,0\nb,0,0\nc,0,0\n",
    "disagree": "name,pre_pass_at_1,pre_pass_at_10,entropy_rollout\n"
    "a,0.30,0.60,0.5\nb,0.35,0.70,0.3\nc,0.40,0.65,0.2\n",
}


def _printed(res):
    with render.console.capture() as cap:
        print_rank(res)
    return " ".join(cap.get().split())  # unwrapped


def test_the_inversion_is_the_recommended_checkpoints_and_says_whose(tmp_path):
    """`rank ladder --depths 16,4,1` as the try ran it (the folder's natural order d1, d4,
    d16, so teacher-s0-d16 is given depth 1): the least-trained checkpoint (a free answer)
    is recommended and is also the best pre-RL pass@1, so no inversion is predicted for it
    (was: "predicted inversion", about the signal's pick, which was not recommended)."""
    dirs = [mini_probe(tmp_path / f"teacher-s0-d{d}", d) for d in (1, 4, 16)]
    res = rank(dirs, depths=[16, 4, 1])
    js = res.to_json()
    assert js["recommended"] == "teacher-s0-d16" == js["best_pre_pass_at_1"]
    assert js["recommended_by"] == "free answer: shallowest"
    assert js["predicted_inversion"] is False and js["agrees_with_shallowest"] is True
    # the signal's own pick and its own call stay apart
    assert js["signal_pick"] == "teacher-s0-d1" and js["signal_predicted_inversion"] is True
    out = _printed(res)
    assert "predicted inversion" not in out
    assert (
        "no inversion predicted (by the least-trained checkpoint, a free answer): the "
        "recommended start (teacher-s0-d16) is also the best pre-RL pass@1; entropy_rollout "
        "alone would pick teacher-s0-d1, which would predict one"
    ) in out


@pytest.mark.parametrize("case", [*TABLES, "ladder_kind_unknown"])
@pytest.mark.parametrize("how", ["plain", "signal"])
def test_json_matches_the_text_when_nothing_is_recommended(tmp_path, case, how):
    """Every abstain path: recommended, recommended_by, predicted_inversion and
    agrees_with_shallowest are all null, as the text's "no recommendation" and "inversion:
    not called" say (was: recommended_by "signal", predicted_inversion true,
    agrees_with_shallowest true without depths); the signal's pick stays in signal_pick."""
    if case == "ladder_kind_unknown":
        if how == "signal":
            pytest.skip("a named signal always decides")
        dirs = [mini_probe(tmp_path / f"teacher-s0-d{d}", d) for d in (1, 4, 16)]
        res = rank(dirs)
    else:
        path = tmp_path / "t.csv"
        path.write_text(TABLES[case])
        res = rank(table=path, signal="pass_at_k" if how == "signal" else None)
    js = res.to_json()
    if js["recommended"] is not None:  # a free answer recommends over the abstaining signal
        assert how == "plain" and js["recommended_by"].startswith("free answer")
        return
    assert js["abstain"] == (case if how == "signal" else js["abstain"])
    assert js["abstain"] in (case, "ladder_kind_unknown")
    assert js["signal_abstain"] == (None if case == "ladder_kind_unknown" else case)
    for key in ("recommended_by", "predicted_inversion", "agrees_with_shallowest"):
        assert js[key] is None, key
    out = _printed(res)
    assert "no recommendation" in out and "recommended start" not in out
    assert "predicted inversion" not in out and "no inversion predicted" not in out
    assert "rank's pick" not in out and "the free answer: " not in out
    if js["best_pre_pass_at_1"] is not None:
        assert "inversion: not called (no recommendation;" in out
    assert js["kind_needed"] is (js["abstain"] == "ladder_kind_unknown")
    if case == "ladder_kind_unknown":
        assert js["signal_pick"] == "teacher-s0-d1" and js["signal_abstain"] is None


def test_no_pass_offers_no_free_answer_either(tmp_path):
    """Nothing passes anywhere: no recommendation, so no "the free answer: a" line (was
    printed, with adds_nothing_over "shallowest", under "no recommendation")."""
    path = tmp_path / "t.csv"
    path.write_text(TABLES["no_pass"])
    res = rank(table=path, depths=[1, 2, 3])
    assert res.recommended is None and res.adds_nothing_over is None
    assert "the free answer: " not in _printed(res)


def test_depths_beside_a_depth_column_is_a_warning_naming_both(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "name,depth,pre_pass_at_1,pre_pass_at_10\n"
        "a,1,0.3,0.7\nb,2,0.35,0.65\nc,4,0.4,0.6\nd,8,0.42,0.55\n"
    )
    res = rank(table=path, depths=[8, 4, 2, 1])
    assert res.depths_from == "given" and res.baselines["shallowest"] == "d"
    (w,) = res.inputs["warnings"]
    assert "--depths 8,4,2,1 overrides the table's depth column (1,2,4,8)" in w
    assert rank(table=path, depths=[1, 2, 4, 8]).inputs["warnings"] == []  # the same: silent


def test_nothing_left_to_decide_when_a_free_answer_recommends(tmp_path):
    """A fresh-clone try: the text recommended the least-trained (a free answer) while the
    JSON's to_decide still advised a pilot run for the signal's abstention."""
    from rankinv.verdicts.rank import rank

    path = tmp_path / "t.csv"
    path.write_text(
        "name,depth,pre_pass_at_10,pre_pass_at_10_se\na,1,0.60,0.02\nb,2,0.61,0.02\nc,4,0.40,0.02\n"
    )
    js = rank(table=path).to_json()
    assert js["recommended"] == "a" and js["recommended_by"] == "free answer: shallowest"
    assert js["signal_abstain"] == "within_noise" and js["to_decide"] is None
    assert rank(table=path, signal="pass_at_k").to_json()["to_decide"] is not None


def test_the_table_title_says_when_its_order_did_not_decide(tmp_path):
    """A final try: the title 'Checkpoints by predicted post-RL outcome (...)' ordered the
    rows by a signal that, on the next lines, abstained."""
    from rankinv.verdicts.rank import rank
    from rankinv.verdicts.words.rank_table import ranking_table

    path = tmp_path / "t.csv"
    path.write_text(
        "name,depth,pre_pass_at_10,pre_pass_at_10_se\na,1,0.60,0.02\nb,2,0.61,0.02\nc,4,0.40,0.02\n"
    )
    res = rank(table=path)
    assert res.signal_pick is None and res.recommended == "a"
    assert ranking_table(res)[0] == "Checkpoints in pass@10's order (sign +1), which did not decide"
    decided = rank(table=path, depths=[1, 2, 4], signal="pass_at_k")
    decided_path = tmp_path / "d.csv"
    decided_path.write_text("name,depth,pre_pass_at_10\na,1,0.90\nb,2,0.61\nc,4,0.40\n")
    ok = rank(table=decided_path)
    assert ok.recommended == ok.signal_pick == "a"
    assert ranking_table(ok)[0].startswith("Checkpoints by predicted post-RL outcome (")
    assert decided.recommended is None
