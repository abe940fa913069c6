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
    out = _printed(rank(table=path))
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
