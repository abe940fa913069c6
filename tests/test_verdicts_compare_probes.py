"""`compare --probes` reads probes as `rank` does (issue 38c, a fresh-clone try): probes not
sampled alike are refused, the g of p*(g) is the probes' own, and an outcome row that names
no probe is warned about, not dropped unsaid."""

import json

import pytest
from probe_dirs import write_probe
from typer.testing import CliRunner

from rankinv import render
from rankinv.cli import app
from rankinv.errors import UserError
from rankinv.verdicts import compare as cmp
from rankinv.verdicts.compare_probes import probe_table

COUNTS = {"a": [0, 1, 2, 3], "b": [1, 2, 3, 4], "c": [2, 3, 4, 5]}


def _post(tmp_path, extra=""):
    post = tmp_path / "post.csv"
    post.write_text("name,post_pass_at_10\na,0.5\nb,0.4\nc,0.3\n" + extra)
    return post


def test_probes_not_sampled_alike_are_refused_as_rank_refuses_them(tmp_path):
    dirs = [write_probe(tmp_path / k, k, v) for k, v in COUNTS.items()]
    odd = tmp_path / "odd"
    write_probe(odd, "c", COUNTS["c"], n=8, g=4)
    with pytest.raises(UserError, match="the probes were not sampled alike"):
        probe_table([*dirs[:2], odd], _post(tmp_path))


def test_the_probes_g_is_used_and_said(tmp_path, printed):
    dirs = [write_probe(tmp_path / k, k, v, g=4) for k, v in COUNTS.items()]
    table = probe_table(dirs, _post(tmp_path))
    assert table.group_size == 4 and table.warnings == []
    res = cmp.compare(table.rows, recorded_group_size=table.group_size)
    assert res.group_size == 4 and not res.group_size_assumed and res.group_size_recorded
    flat = " ".join(printed(render.print_compare, res).split())
    assert "at g = 4 (the probes' planned run; -g sets it)" in flat
    assert "(assumed" not in flat


def test_an_outcome_row_naming_no_probe_is_warned_about(tmp_path):
    dirs = [write_probe(tmp_path / k, k, v) for k, v in COUNTS.items()]
    post = _post(tmp_path, "typo,0.9\n")
    args = ["compare", "--probes", *map(str, dirs), "--outcomes", str(post), "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "1 row named no probe given and was left out: typo" in out.stderr
    got = json.loads(out.stdout)
    assert any("typo" in w for w in got["warnings"])
    assert got["group_size"] == 8 and got["group_size_recorded"] is True


def test_significance_of_the_strongest_predictor_is_holm_adjusted(printed):
    """n = 5, six predictors tested: rho +1.00 has raw p = 2/5! = 0.0167, not significant once
    adjusted (38c F: it was called significant)."""
    y = [0.5, 0.4, 0.3, 0.2, 0.1]
    cols = {
        "a": [5, 4, 3, 2, 1],
        "b": [1, 5, 2, 4, 3],
        "c": [3, 1, 5, 2, 4],
        "d": [2, 4, 1, 5, 3],
        "e": [4, 2, 3, 1, 5],
        "f": [1, 3, 5, 4, 2],
    }
    rows = [{"post_pass_at_10": y[i], **{k: v[i] for k, v in cols.items()}} for i in range(5)]
    res = cmp.compare(rows)
    a = res.predictors["a"]
    assert res.favoured_predictor == "a" and a.p_value == pytest.approx(2 / 120)
    assert a.p_holm == pytest.approx(6 * 2 / 120)
    assert not res.favoured_significant
    assert all("p_holm" in p for p in res.to_json()["predictors"].values())
    flat = " ".join(printed(render.print_compare, res).split())
    assert (
        "p = 0.0167, Holm-adjusted over the 6 predictors tested p = 0.1; not significant at "
        "alpha = 0.05 by the permutation test, Holm-adjusted" in flat
    )
