"""Words from a fresh-clone try of stage 1 (issue 38b): an unadjusted interval said so, an
untestable n said so, no advice to take a pick that names no checkpoint, and errors that
name the file and rows."""

import subprocess
import sys

import pytest

from rankinv import render
from rankinv.verdicts import compare as cmp
from rankinv.verdicts.rank import rank
from rankinv.verdicts.tables import read_rows
from rankinv.verdicts.words import rank as words


def test_the_interval_beside_a_holm_p_is_said_unadjusted():
    v = {"mean": 0.009, "ci": [0.002, 0.018], "wins": 31, "losses": 22, "n_settings": 74}
    line = words.versus_words(v | {"p_holm": 1.0})
    assert "[+0.002, +0.018] (95% bootstrap interval, unadjusted for multiple comparisons)" in line
    assert line.endswith("Holm-adjusted p = 1")
    assert words.versus_words(v | {"p_wilcoxon_pratt": 0.2}).endswith("Wilcoxon p = 0.2")


def test_compare_at_n_3_says_no_ordering_can_reach_significance(printed):
    rows = [
        {"name": n, "pre_pass_at_1": a, "post_pass_at_10": b}
        for n, a, b in (("a", 0.1, 0.8), ("b", 0.2, 0.7), ("c", 0.3, 0.6))
    ]
    out = " ".join(printed(render.print_compare, cmp.compare(rows)).split())
    assert (
        "no evidence of an ordering (rho -1.00, exact permutation p = 0.333, alpha = 0.05; at "
        "n = 3 no ordering can reach p <= 0.05: the exact permutation p is at least 2/3! = 0.33"
    ) in out


def test_no_advice_to_take_a_best_pass_at_1_that_names_no_checkpoint(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,pre_pass_at_1,pre_pass_at_10\na,0.3,0.6\nb,0.3,0.7\nc,0.2,0.5\n")
    res = rank(table=path)
    assert res.kind_needed and res.baselines["best_pass_at_1"] is None
    reason = words.kind_unknown_reason(res)
    assert "take the best pre-RL pass@1 (no single" not in reason
    assert "names no single checkpoint here (a tie, or pass@1 not measured on every one): it " in (
        reason
    )
    assert reason.endswith("with more samples per problem to break a tie")


def test_a_pipe_is_read_as_csv_and_a_bad_file_is_named_by_its_path(tmp_path):
    bare = tmp_path / "outcomes"  # no suffix, as a pipe's /dev/fd/63
    bare.write_text("name,post_pass_at_10\na,0.5\n")
    assert read_rows(bare) == [{"name": "a", "post_pass_at_10": 0.5}]
    bad = tmp_path / "sub" / "63"
    bad.parent.mkdir()
    bad.write_text('{"rows": 3')
    with pytest.raises(ValueError, match=f"^{bad} is neither CSV nor valid JSON"):
        read_rows(bad)


def test_missing_outcomes_name_the_file_and_the_rows(tmp_path):
    path = tmp_path / "cmp_na.csv"
    path.write_text("name,pre_pass_at_1,post_pass_at_10\na,0.1,0.8\nb,0.2,\nc,0.3,0.6\nd,0.3,n/a\n")
    r = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "compare", str(path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert (
        f"{path}: outcome column 'post_pass_at_10' has missing values (data rows 2 (b), 4 (d))"
    ) in r.stderr
