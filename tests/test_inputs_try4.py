"""A fourth fresh-clone try: errors that name the way out (a table given where probes are
expected, a folder of TRL runs given as one log), negative --depths refused, and the noise
check's advice names the standard-error column of the signal that decided."""

import json

import pytest

from rankinv.errors import UserError
from rankinv.verdicts.logs import read_log
from rankinv.verdicts.rank import rank


def test_a_table_given_as_a_probe_says_table(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("name,pre_pass_at_1\na,0.1\nb,0.2\n")
    with pytest.raises(UserError, match=r"a table of checkpoints\? --table FILE"):
        rank([t, t])


def test_negative_depths_are_refused(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("name,pre_pass_at_10\na,0.1\nb,0.2\nc,0.3\n")
    with pytest.raises(UserError, match="none below 0"):
        rank(table=t, depths=[-1, 2, 3])


def test_a_folder_of_trl_runs_says_pass_them_as_a_sweep(tmp_path):
    for n in ("run-a", "run-b"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "trainer_state.json").write_text(json.dumps({"log_history": []}))
    with pytest.raises(UserError, match=r"its subfolders hold 2 TRL runs \(run-a, ...\)"):
        read_log(tmp_path)


@pytest.mark.parametrize(
    ("column", "want"),
    [("entropy_rollout", "entropy_rollout_se"), ("pre_pass_at_10", "pre_pass_at_10_se")],
)
def test_the_noise_advice_names_the_deciding_signals_se_column(tmp_path, column, want):
    from rankinv.verdicts.words.rank import recommendation_lines

    t = tmp_path / "t.csv"
    t.write_text(f"name,depth,{column}\na,1,0.5\nb,2,0.3\nc,4,0.2\n")
    signal = "entropy_rollout" if column == "entropy_rollout" else "pass_at_k"
    res = rank(table=t, signal=signal)
    text = " ".join(recommendation_lines(res))
    assert f"add a column <column>_se, here {want})" in text


def test_the_rank_table_glosses_its_signal_columns(tmp_path):
    from rankinv.verdicts.words.rank import table_notes

    t = tmp_path / "t.csv"
    t.write_text("name,depth,share_above_1m_p_star\na,1,0.1\nb,2,0.2\nc,4,0.3\n")
    notes = table_notes(rank(table=t))
    assert "columns: share_above_1m_p_star: share of prompts with p-hat > 1 - p*(g)" in notes


def test_an_uncalibrated_lead_never_recommends_over_the_free_answer_of_a_known_kind(tmp_path):
    # a fresh-clone try: the text said "not a calibrated recommendation" while the JSON said
    # recommended c (the most trained), recommended_by "signal"
    t = tmp_path / "c3.csv"
    t.write_text("name,depth,pre_pass_at_1,entropy\na,1,0.2,0.5\nb,2,0.25,0.4\nc,4,0.3,0.9\n")
    res = rank(table=t)
    js = res.to_json()
    assert js["uncalibrated_fallback"] and js["signal_pick"] == "c"
    assert js["recommended"] == "a" and js["recommended_by"] == "free answer: shallowest"
    from rankinv.verdicts.words.rank import inversion_line, recommendation_lines

    text = " ".join(recommendation_lines(res))
    assert "entropy_prompt would pick c, but it has no held-out score" in text
    assert "fallback's pick" not in inversion_line(res)
    # at one depth (recipes) the free answer is the best pre-RL pass@1
    t.write_text("name,depth,pre_pass_at_1,entropy\na,4,0.2,0.5\nb,4,0.25,0.4\nc,4,0.3,0.3\n")
    assert rank(table=t).recommended == "c"


def test_a_folder_of_one_runs_checkpoints_names_the_latest(tmp_path):
    for n in ("checkpoint-20", "checkpoint-100", "checkpoint-40"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "trainer_state.json").write_text(json.dumps({"log_history": []}))
    with pytest.raises(UserError, match=r"3 checkpoints of one run: .*checkpoint-100$"):
        read_log(tmp_path)


def test_a_folder_of_jsonl_logs_and_a_monitor_report_given_as_a_log_say_what_they_are(tmp_path):
    for n in ("a.jsonl", "b.jsonl"):
        (tmp_path / n).write_text('{"step": 1, "reward": 0.5}\n')
    with pytest.raises(UserError, match=r"it holds 2 log files \(a.jsonl, ...\)"):
        read_log(tmp_path)
    rep = tmp_path / "monitor.json"
    rep.write_text(json.dumps({"verdict": "stop", "reasons": [], "config": {}}))
    with pytest.raises(UserError, match="is a rankinv monitor report, not a training log"):
        read_log(rep)


def test_columns_rank_does_not_read_are_named_with_the_way_to_give_a_depth(tmp_path):
    t = tmp_path / "ep.csv"
    t.write_text(
        "name,epochs,pre_pass_at_1,pre_pass_at_10,pre_pass_at_10_se,post_pass_at_10\n"
        "c1,1,0.2,0.5,0.02,0.6\nc2,2,0.25,0.45,0.02,0.5\nc4,4,0.3,0.4,0.02,0.45\n"
    )
    res = rank(table=t)
    (w,) = [w for w in res.inputs["warnings"] if w.startswith("columns not read by rank")]
    assert w.startswith("columns not read by rank: epochs, post_pass_at_10;")
    assert "epochs is not read as the SFT depth: name it depth or give --depths" in w
    assert res.depths_from == "order"  # the depths stay assumed, and that is said
    t.write_text("name,depth,pre_pass_at_10\na,1,0.5\nb,2,0.4\n")
    assert not [w for w in rank(table=t).inputs["warnings"] if "not read" in w]


def test_the_least_trained_framing_says_when_the_depths_are_only_the_order_given(tmp_path):
    from rankinv.verdicts.words.rank import free_answer_lines

    t = tmp_path / "t.csv"
    t.write_text("name,pre_pass_at_1,pre_pass_at_10\nm1,0.4,0.6\nm2,0.3,0.5\nm3,0.2,0.4\n")
    res = rank(table=t)
    assert res.recommended == "m1" and res.depths_from == "order"
    lines = free_answer_lines(res)
    assert "rank's pick is the least-trained checkpoint (the first listed: depths assumed)" in lines


def test_a_negative_se_is_refused_and_a_partial_se_column_named(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("name,depth,entropy_rollout,entropy_rollout_se\na,1,0.5,-0.1\nb,2,0.3,0.01\n")
    with pytest.raises(UserError, match="entropy_rollout_se is -0.1: a standard error is >= 0"):
        rank(table=t, signal="entropy_rollout")
    t.write_text(
        "name,depth,entropy_rollout,entropy_rollout_se\na,1,0.5,\nb,2,0.3,0.01\nc,4,0.2,0.01\n"
    )
    res = rank(table=t, signal="entropy_rollout")
    assert "the standard error of entropy_rollout is missing on a" in " ".join(
        res.inputs["warnings"]
    )
    from rankinv.verdicts.words.rank import recommendation_lines

    text = " ".join(recommendation_lines(res))
    assert "no standard error of entropy_rollout on every row" in text


def test_a_probe_folder_given_to_monitor_says_it_is_a_probe(tmp_path):
    (tmp_path / "validate_summary.json").write_text("{}")
    (tmp_path / "samples.jsonl").write_text("{}\n")
    with pytest.raises(UserError, match="it is a `rankinv validate` probe"):
        read_log(tmp_path)
