"""`rank`'s input readers on what a practitioner writes (issue 38): a plain `entropy` column,
and bad cells, names, counts and folders refused in one line that says what was wrong."""

import json
import subprocess
import sys

import pytest
from probe_dirs import write_probe

from rankinv.errors import UserError
from rankinv.verdicts.rank import rank

WARNED = (
    "column 'entropy' read as prompt-token entropy (the paper's H, as compare reads it), a "
    "signal with no held-out score in rank; if it is the entropy of sampled completions (what "
    "TRL logs as entropy), name it entropy_rollout, rank's calibrated default"
)


def _table(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plain_entropy_column_is_read_as_compare_reads_it_and_said_so(tmp_path):
    """A plain `entropy` column was read as prompt entropy without a word, an uncalibrated
    fallback (issue 38). It keeps the paper's meaning, as compare reads the same column,
    and the warning names the rollout column that rank calibrates."""
    path = _table(tmp_path, "name,pre_pass_at_1,entropy\na,0.30,0.40\nb,0.35,0.30\nc,0.40,0.20\n")
    res = rank(table=path)
    assert res.signal == "entropy_prompt" and res.uncalibrated_fallback
    assert [r.values.get("entropy_prompt") for r in res.ranking] == [0.40, 0.30, 0.20]
    assert all("entropy_rollout" not in r.values for r in res.ranking)
    assert res.inputs["warnings"] == [WARNED]
    renamed = _table(
        tmp_path,
        "name,pre_pass_at_1,entropy_rollout\na,0.30,0.40\nb,0.35,0.30\nc,0.40,0.20\n",
        "r.csv",
    )
    res = rank(table=renamed)
    assert res.signal == "entropy_rollout" and not res.uncalibrated_fallback
    assert res.inputs["warnings"] == []


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
        "column 'entropy' not read: entropy_prompt is given; name it entropy_rollout if it is "
        "the entropy of sampled completions"
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
    assert res["signal"] == "entropy_prompt" and res["inputs"]["warnings"] == [WARNED]


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
    # rows of one checkpoint over seeds are one candidate, the mean over its seeds (a
    # fresh-clone try: seeds were ranked as candidates, the noise check compared two seeds
    # of one checkpoint, and "n = 7 checkpoints" was claimed of 4)
    seeds = _table(
        tmp_path,
        "name,seed,depth,pre_pass_at_1,pre_pass_at_10,pre_pass_at_10_se\n"
        "a,0,1,0.1,0.4,0.03\na,1,1,0.2,0.3,0.04\nb,0,2,0.3,0.2,0.03\nb,1,2,0.3,0.25,0.04\n",
        "s.csv",
    )
    res = rank(table=seeds)
    assert sorted(r.checkpoint for r in res.ranking) == ["a", "b"]
    a = next(r for r in res.ranking if r.checkpoint == "a")
    assert a.values["pass_at_k"] == pytest.approx(0.35) and a.pre_pass_at_1 == pytest.approx(0.15)
    assert any("averaged" in w and "a (2 seeds), b (2 seeds)" in w for w in res.inputs["warnings"])
    from rankinv.verdicts.rank_inputs import mean_over_seeds

    rows = [{"name": "a", "seed": 0, "x": 0.4, "x_se": 0.03},
            {"name": "a", "seed": 1, "x": 0.3, "x_se": 0.04}]  # fmt: skip
    (merged,), _ = mean_over_seeds(rows, [], "t")
    assert merged["x"] == pytest.approx(0.35) and merged["x_se"] == pytest.approx(0.025)


def _cli_rank(*args):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("n", "c", "shown"),
    [("a", 1, "n = 'a', c = 1"), (0, 0, "n = 0, c = 0"), (8, 9, "n = 8, c = 9")],
)
def test_a_probe_whose_counts_are_not_counts_is_named_with_its_line(tmp_path, n, c, shown):
    """A text n was an internal error; n = 0 or c > n a line naming no file."""
    good = write_probe(tmp_path / "e1", "e1", [3, 4, 5, 2])
    bad = write_probe(tmp_path / "e2", "e2", [3, 4, 5, 2])
    rows = (bad / "problems.jsonl").read_text().splitlines()
    rows[1] = json.dumps({"task_id": "t1", "n": n, "c": c})
    (bad / "problems.jsonl").write_text("\n".join(rows) + "\n")
    msg = f"{bad / 'problems.jsonl'}: line 2: {shown} are not counts"
    with pytest.raises(UserError) as err:
        rank([good, bad])
    assert str(err.value).startswith(msg)
    out = _cli_rank(good, bad)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and msg in out.stderr


def test_a_folder_of_ladders_names_them_and_says_how_to_rank_each(tmp_path):
    """`rank runs` where runs/ladder holds the probes said only "not a folder of probe
    folders"."""
    for e in (1, 3):
        write_probe(tmp_path / "runs" / "ladder" / f"probe-e{e}", f"e{e}", [3, 4, 5, 2])
    runs = tmp_path / "runs"
    with pytest.raises(UserError) as err:
        rank([runs])
    assert str(err.value).endswith(
        f"its folder ladder holds probe folders; rank one ladder at a time (rankinv rank "
        f"{runs}/ladder), or run rankinv report {runs} to rank each"
    )


def test_an_empty_folder_or_one_of_other_folders_says_what_it_holds(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="; it is empty$"):
        rank([tmp_path / "empty"])
    for name in ("a", "b"):
        (tmp_path / "other" / name).mkdir(parents=True)
    with pytest.raises(UserError, match="; none of its entries is one: a, b$"):
        rank([tmp_path / "other"])
    out = _cli_rank(tmp_path / "other")
    assert out.returncode == 2 and out.stderr.count("\n") == 1


def test_one_probe_is_named_plainly_not_as_a_python_list(tmp_path):
    one = write_probe(tmp_path / "e1", "e1", [3, 4, 5, 2])
    with pytest.raises(UserError) as err:
        rank([one])
    assert str(err.value) == (
        f"ranking needs at least 2 checkpoints, got 1 from {one}: give two or more probe "
        "folders (or result files), or the folder that holds them"
    )


def test_a_probe_setup_naming_its_model_by_a_number_is_read_as_text(tmp_path):
    """A model recorded as 7 crashed the printout (rich cannot render an int)."""
    dirs = []
    for e in (1, 2):
        d = write_probe(tmp_path / f"e{e}", f"e{e}", [3, 4, 5, 2] if e == 1 else [0, 8, 16, 1])
        s = json.loads((d / "validate_summary.json").read_text())
        s["setup"] = {"model": e, "group_size": 8}
        (d / "validate_summary.json").write_text(json.dumps(s))
        dirs.append(d)
    assert sorted(r.checkpoint for r in rank(dirs).ranking) == ["1", "2"]
    out = _cli_rank(*dirs)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("missing", ["problems.jsonl", "validate_summary.json"])
def test_half_a_probe_says_which_file_it_lacks(tmp_path, missing):
    """It said "none of its entries is one: ..., validate_summary.json"."""
    good = write_probe(tmp_path / "e1", "e1", [3, 4, 5, 2])
    half = write_probe(tmp_path / "e2", "e2", [3, 4, 5, 2])
    (half / missing).unlink()
    with pytest.raises(UserError, match=f"{half} is an incomplete `rankinv validate` output: "):
        rank([good, half])
    with pytest.raises(UserError, match=f"without {missing} \\(a probe still running"):
        rank([good, half])
