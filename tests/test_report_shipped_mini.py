"""`rankinv report` on the shipped mini folders (a new user's try): ci_rerun's mini.json is
of an older layout (no 'runs'): reported from the parts it has, a line naming what it lacks;
ci_nomod as shipped (no mini.json) is one line listing what it skipped, compare_rows.json
named as compare's input."""

import shutil
from pathlib import Path

import pytest

from rankinv.errors import UserError
from rankinv.report import build_report

MINI = Path(__file__).resolve().parents[1] / "figures/data/mini"


def test_a_mini_json_without_runs_is_reported_from_what_it_has(tmp_path):
    out = tmp_path / "mini2"
    shutil.copytree(MINI / "ci_rerun", out)
    text = build_report(out).read_text()
    assert "## Miniature experiment (preset `ci`)" in text
    assert "mini.json lacks runs (an older layout" in text
    assert "| teacher | 1 | 0.387 | 0.950 |" in text  # its outcome table
    assert "- inversion: **yes**" in text
    assert "17 GRPO runs of 30 steps" in text  # counted from by_depth's runs


def test_a_mini_folder_without_mini_json_lists_what_it_skipped(tmp_path):
    out = tmp_path / "y"
    shutil.copytree(MINI / "ci_nomod", out)
    with pytest.raises(UserError) as e:
        build_report(out)
    msg = str(e.value)
    assert "holds no rankinv artifacts" in msg and "\n" not in msg
    assert (
        f"compare_rows.json (a compare input table: `rankinv compare {out}/compare_rows.json`)"
        in msg
    )
    assert "config.json" in msg and "runs/" in msg
