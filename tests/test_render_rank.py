"""`rankinv rank`'s printout (rankinv.render.rank): dropped signals named, k only with pass@k,
an uncalibrated lead said to be a fallback."""

from rankinv import render
from rankinv.render.rank import print_rank
from rankinv.verdicts.rank import rank


def _printed(res):
    with render.console.capture() as cap:
        print_rank(res)
    return cap.get()


def test_na_cell_names_the_dropped_signal_and_the_fallback_without_k(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,entropy_prompt\n"
        "a,0.15,0.66,0.227\nb,0.16,n/a,0.163\nc,0.19,0.70,0.120\n"
    )
    out = _printed(rank(table=path))
    assert "dropped: pass_at_k (n/a on b): a signal ranks only when measured on every" in out
    assert "k = " not in out
    assert "uncalibrated fallback, not a calibrated recommendation: entropy_prompt alone" in out
    assert "recommended start" not in out


def test_full_table_prints_k_and_nothing_dropped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,pre_pass_at_1,pre_pass_at_10\na,0.15,0.66\nb,0.16,0.70\n")
    out = _printed(rank(table=path, depths=[1, 4]))
    assert "k = 10 (pass@k" in out and "dropped" not in out
    assert "recommended start" in out


def test_k_is_explained_only_beside_a_pass_at_k_column(tmp_path):
    # the lead and the second deciding signal (escape) are not pass@k: a pass@10 column
    # is added so that the "k = 10" note explains something shown
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,entropy_prompt,escape\n"
        "a,0.15,0.66,0.3,0.5\nb,0.16,0.70,0.2,0.4\n"
    )
    res = rank(table=path, signal="entropy_prompt")
    assert res.decided_by == ["entropy_prompt", "escape"]
    out = _printed(res)
    assert "k = 10 (pass@k" in out
    assert "pass@10" in out.split("k = 10")[0]  # a column of the table above the note


def test_validate_table_names_pass_at_k_and_shows_3_decimals():
    from rankinv.render.probe import probe_rows

    summary = {"pass_at_1": 0.3416666, "pass_at_64": None, "entropy_rollout": 0.19624575,
               "signals": {"pass_at_k": 0.7530783}}  # fmt: skip
    rows = dict(probe_rows(summary))
    assert rows["pass@1"] == "0.342" and rows["pass@10"] == "0.753"
    assert rows["pass@64"] == "-" and rows["entropy_rollout"] == "0.196"


def test_without_depths_rank_names_the_free_answers_and_abstains_when_they_differ(tmp_path):
    """issue 38 (second fresh-clone try): without --depths rank recommended on its signal,
    which beat no free answer held out, and omitted the 'adds nothing' line it printed with
    --depths for the same pick. The free answer depends on the ladder's kind: it abstains
    (naming both answers) when they differ, takes the best pre-RL pass@1 when it is also
    the first listed, and with --depths names the least-trained."""
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,entropy_rollout\n"
        "e1,0.30,0.80,0.50\ne3,0.40,0.75,0.35\ne8,0.45,0.70,0.20\n"
    )
    res = rank(table=path)
    js = res.to_json()
    assert js["recommended"] is None and js["abstain"] == "ladder_kind_unknown"
    assert js["kind_needed"] is True and js["signal_pick"] == "e1"
    assert js["adds_nothing_over"] is None
    reason = js["abstain_reason"]
    assert "take the least-trained (e1" in reason and "best pre-RL pass@1 (e8)" in reason
    assert "--depths" in js["to_decide"]
    out = _printed(res)
    assert "no recommendation: rankinv adds nothing measurable here" in out
    assert "rank's pick" not in out  # no agreement line for a pick not recommended
    given = rank(table=path, depths=[1, 3, 8]).to_json()
    assert given["recommended"] == "e1" and given["adds_nothing_over"] == "shallowest"
    assert given["kind_needed"] is False and given["abstain"] is None
    at_one_depth = rank(table=path, depths=[4, 4, 4]).to_json()
    assert at_one_depth["ladder_kind"] == "recipe"
    # a named signal decides: the user chose it
    assert rank(table=path, signal="entropy_rollout").to_json()["recommended"] == "e1"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,entropy_rollout\n"
        "e1,0.45,0.80,0.50\ne3,0.40,0.75,0.35\ne8,0.30,0.70,0.20\n"
    )
    same = rank(table=path).to_json()
    assert same["recommended"] == "e1" and same["adds_nothing_over"] == "best_pass_at_1"
    assert same["recommended_by"] == "free answer: best_pass_at_1"
    assert "rankinv adds nothing measurable here" in _printed(rank(table=path))
