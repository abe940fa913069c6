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
        "name,pre_pass_at_1,pre_pass_at_10,entropy\n"
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
