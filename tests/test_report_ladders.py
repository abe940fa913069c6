"""`rankinv report DIR` on a practitioner's layout (issue 38): probe folders found up to 3
levels down, grouped by folder into ladders, each ranked by `rank` (its ranking and decision,
in rank's words), the order assumed said, what was found and skipped listed, the JSON
carrying the rankings; bad input refused in one line."""

import json
import subprocess
import sys

import pytest
from probe_dirs import mini_probe

from rankinv.errors import UserError
from rankinv.report import write_report
from rankinv.verdicts.rank import rank
from rankinv.verdicts.words import rank as rank_words


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def runs(tmp_path):
    """runs/ladder/probe-e1, -e3, -e10 (e10 the deepest; a plain sort puts it second),
    runs/exp/ladderA/probe-e4, -e8, a lone runs/exp/solo/probe-e5, and a probe 4 levels down."""
    root = tmp_path / "runs"
    for e, depth in ((1, 1), (3, 2), (10, 16)):
        mini_probe(root / "ladder" / f"probe-e{e}", depth)
    for e in (4, 8):
        mini_probe(root / "exp" / "ladderA" / f"probe-e{e}", e)
    mini_probe(root / "exp" / "solo" / "probe-e5", 4)
    mini_probe(root / "a" / "b" / "c" / "probe-deep", 1)
    return root


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    i = lines.index(heading)
    end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
    return lines[i + 1 : end]


def test_report_ranks_each_nested_ladder_as_rank_does(runs):
    """`report runs` said "holds no rankinv artifacts": its probes sit two and three levels
    down."""
    rep = write_report(runs)
    text = rep.path.read_text()
    ladder = [runs / "ladder" / f"probe-e{e}" for e in (1, 3, 10)]
    expected = rank(dirs=ladder)
    found = {lad.folder.name: lad for lad in rep.search.ladders}
    assert sorted(found) == ["ladder", "ladderA"]
    assert found["ladder"].probes == ladder  # natural order: e3 before e10
    assert found["ladder"].result.to_json() == expected.to_json()
    body = _section(text, "## Ladder ranking: ladder")
    assert body[1].startswith("order taken as least to most trained: probe-e1, probe-e3, probe-e10")
    assert "e1 < e3 < e10" in body[1] and "when no depths are known" in body[1]
    rows = [ln.split(" | ")[1] for ln in body if ln.startswith("| 1 ") or ln.startswith("| 2 ")]
    assert rows == [r.checkpoint for r in expected.ranking[:2]]
    assert "| 1 | " + expected.ranking[0].checkpoint + " | ladder/probe-e1 |" in "\n".join(body)
    first = rank_words.recommendation_lines(expected, lambda s: f"**{s}**")[0]
    assert f"- {first}" in body
    assert "## Ladder ranking: exp/ladderA" in text
    assert "## Checkpoint probe: exp/ladderA/probe-e4" in text  # each probe's section too
    assert "(exp/ladderA/probe-e4/probe.png)" in text


def test_report_says_what_it_found_and_skipped(runs):
    text = write_report(runs).path.read_text()
    head = _section(text, "## Probe folders")
    assert head[1] == (
        f"probe folders under {runs} (searched 3 levels down): 6 found; ranked as ladders, one "
        "per folder: exp/ladderA (2), ladder (3)"
    )
    assert "- skipped a/b/c: not searched: deeper than 3 levels" in head
    assert (
        "- skipped exp/solo/probe-e5: not ranked: the only probe folder in its folder (a ladder "
        "needs 2 or more)"
    ) in head
    assert "## Checkpoint probe: exp/solo/probe-e5" in text


def test_report_json_carries_each_ladders_ranking(runs):
    out = run_cli("report", runs, "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    by = {lad["folder"]: lad for lad in res["ladders"]}
    assert by["ladder"]["probes"] == ["ladder/probe-e1", "ladder/probe-e3", "ladder/probe-e10"]
    expected = rank(dirs=[runs / "ladder" / f"probe-e{e}" for e in (1, 3, 10)]).to_json()
    assert by["ladder"]["rank"]["ranking"] == json.loads(json.dumps(expected["ranking"]))
    assert by["ladder"]["rank"]["recommended"] == expected["recommended"]
    assert by["ladder"]["not_ranked"] is None
    assert res["probes"]["skipped"] == [
        {"folder": "a/b/c", "why": "deeper", "detail": None},
        {"folder": "exp/solo/probe-e5", "why": "one_probe", "detail": None},
    ]
    assert len(res["probes"]["found"]) == 6
    printed = run_cli("report", runs)
    # no depths are known: rank names both free answers and asks for them
    assert expected["kind_needed"] is True and expected["recommended"] is None
    line = "ladder (3 probes): no recommendation without depths: the free answer is"
    assert line in printed.stdout and "--depths D1,D2,...)" in printed.stdout


def test_a_ladder_rank_refuses_is_reported_not_ranked_with_rank_s_reason(tmp_path):
    for e, temp in ((1, 1.0), (2, 0.7)):
        d = mini_probe(tmp_path / f"e{e}", e)
        s = json.loads((d / "validate_summary.json").read_text())
        s["setup"] = {"model": f"e{e}", "temperature": temp}
        (d / "validate_summary.json").write_text(json.dumps(s))
    rep = write_report(tmp_path)
    (lad,) = rep.search.ladders
    assert lad.result is None and lad.not_ranked.startswith("the probes were not sampled alike")
    body = _section(rep.path.read_text(), f"## Ladder ranking: {tmp_path.name}")
    assert f"not ranked: {lad.not_ranked}" in body


def test_report_on_bad_input_says_what_was_wrong_in_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found: "):
        write_report(tmp_path / "nosuch")
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(NotADirectoryError, match="is a file; rankinv report reads a folder"):
        write_report(tmp_path / "f.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="up to 3 levels down"):
        write_report(tmp_path / "empty")
    (tmp_path / "other" / "a" / "b" / "c" / "d").mkdir(parents=True)
    with pytest.raises(UserError, match=r"; not searched, deeper down: a/b/c$"):
        write_report(tmp_path / "other")
    for path in (tmp_path / "nosuch", tmp_path / "f.json", tmp_path / "other"):
        out = run_cli("report", path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr


def test_report_on_one_probe_folder_or_a_folder_of_one_ranks_nothing(tmp_path):
    one = mini_probe(tmp_path / "ladder" / "probe-e1", 1)
    rep = write_report(one)
    assert rep.search.ladders == [] and "Ladder ranking" not in rep.path.read_text()
    rep = write_report(tmp_path / "ladder")
    assert rep.search.ladders == [] and "## Checkpoint probe: probe-e1" in rep.path.read_text()
    assert [s["why"] for s in rep.search.skipped] == ["one_probe"]
