"""`rank`'s input readers on what a practitioner writes (issue 38): a plain `entropy` column,
and bad cells, names and counts refused in one line."""

import json
import subprocess
import sys

import pytest

from rankinv.errors import UserError
from rankinv.verdicts.rank import rank

WARNED = (
    "column 'entropy' read as rollout entropy (of sampled completions); name it entropy_prompt "
    "if it is the prompt tokens' entropy"
)


def _table(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plain_entropy_column_is_read_as_the_rollout_entropy_and_said_so(tmp_path):
    """What TRL logs as `entropy` is the mean token entropy of sampled completions: it was
    read as prompt entropy, an uncalibrated fallback (here: a hint, no recommendation)."""
    path = _table(tmp_path, "name,pre_pass_at_1,entropy\na,0.30,0.40\nb,0.35,0.30\nc,0.40,0.20\n")
    res = rank(table=path)
    assert res.signal == "entropy_rollout" and not res.uncalibrated_fallback
    assert [r.values.get("entropy_rollout") for r in res.ranking] == [0.40, 0.30, 0.20]
    assert all("entropy_prompt" not in r.values for r in res.ranking)
    assert res.inputs["warnings"] == [WARNED]


def test_the_explicit_entropy_names_keep_their_meaning(tmp_path):
    prompt = _table(tmp_path, "name,pre_pass_at_1,entropy_prompt\na,0.3,0.4\nb,0.35,0.3\n")
    res = rank(table=prompt)
    assert res.signal == "entropy_prompt" and res.uncalibrated_fallback
    assert res.inputs["warnings"] == []
    both = _table(
        tmp_path,
        "name,pre_pass_at_1,entropy,entropy_rollout,entropy_prompt\n"
        "a,0.3,0.9,0.4,0.7\nb,0.35,0.1,0.3,0.8\n",
        "both.csv",
    )
    res = rank(table=both)
    assert [r.values["entropy_rollout"] for r in res.ranking] == [0.4, 0.3]
    assert [r.values["entropy_prompt"] for r in res.ranking] == [0.7, 0.8]
    assert res.inputs["warnings"] == [
        "column 'entropy' not read: entropy_rollout is given; name it entropy_prompt if it is "
        "the prompt tokens' entropy"
    ]


def test_cli_says_how_a_plain_entropy_column_was_read(tmp_path):
    path = _table(tmp_path, "name,pre_pass_at_1,entropy\na,0.30,0.40\nb,0.35,0.30\n")
    out = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", "--table", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["signal"] == "entropy_rollout" and res["inputs"]["warnings"] == [WARNED]


def test_a_k_cell_that_is_no_whole_number_is_refused_in_one_line(tmp_path):
    """A text k was an internal error (int('x')); k = 2.5 was read as 2, silently."""
    text = "name,pre_pass_at_1,pre_pass_at_k,k\na,0.1,0.4,{}\nb,0.2,0.3,{}\n"
    with pytest.raises(UserError, match=r"column 'k', row 1: 'x' is not a number"):
        rank(table=_table(tmp_path, text.format("x", 5)))
    with pytest.raises(UserError, match=r"column 'k', row 1: 2\.5 is not a whole number >= 1"):
        rank(table=_table(tmp_path, text.format(2.5, 2.5)))
    assert rank(table=_table(tmp_path, text.format(5, 5))).k == 5


def test_two_rows_with_one_name_are_refused(tmp_path):
    """They were ranked as "a (None)" twice: rungs no printout could tell apart."""
    path = _table(tmp_path, "name,pre_pass_at_1,pre_pass_at_10\na,0.1,0.4\nb,0.3,0.2\na,0.2,0.3\n")
    with pytest.raises(UserError, match=r"t\.csv: rows 1, 3 share the name 'a'"):
        rank(table=path)
    seeds = _table(
        tmp_path, "name,seed,pre_pass_at_1,pre_pass_at_10\na,0,0.1,0.4\na,1,0.2,0.3\n", "s.csv"
    )
    assert [r.checkpoint for r in rank(table=seeds).ranking] == ["a (seed 0)", "a (seed 1)"]
