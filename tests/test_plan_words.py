"""The planned GRPO run a stage-1 signal reads is printed, with what was given and what
assumed (issue 38b, a fresh-clone try: rank and validate used 400 steps x 32 prompts and
g = 8 and never said so, even with --signal escape; validate showed "pass@10 -" unexplained).
"""

import json

from probe_dirs import mini_probe
from probe_dirs import write_probe as _probe

from rankinv.render.probe import probe_notes, probe_rows
from rankinv.verdicts.rank import rank
from rankinv.verdicts.words import rank_table


def _lines(res):
    return rank_table.lines_under(res)


def test_rank_by_escape_prints_the_assumed_plan(tmp_path):
    dirs = [mini_probe(tmp_path / f"teacher-s0-d{d}", d) for d in (1, 4, 16)]
    res = rank(dirs, signal="escape", depths=[1, 4, 16])
    (line,) = [x for x in _lines(res) if x.startswith("planned run:")]
    assert line.startswith(
        "planned run: g = 8, 400 RL steps x 32 prompts per step over 200 prompts (assumed: "
        "the paper's g = 8, 400 RL steps x 32 prompts per step; validate's --group-size, "
        "--rl-steps, --rl-prompts-per-step set them"
    )
    assert res.to_json()["plan"]["given"] == {
        "group_size": False,
        "budget": False,
        "n_prompts": False,
    }
    # g given to rank is said given
    line = next(
        x for x in _lines(rank(dirs, signal="escape", group_size=4)) if x.startswith("planned run:")
    )
    assert "given: g = 4" in line


def test_a_probe_planned_otherwise_says_given(tmp_path):
    a = _probe(tmp_path / "e1", "e1", [3, 4, 5, 2, 3, 4, 6, 5])
    b = _probe(tmp_path / "e16", "e16", [0, 0, 0, 0, 16, 16, 15, 14])
    line = next(x for x in _lines(rank([a, b], signal="escape")) if x.startswith("planned run:"))
    assert "given: 20 RL steps x 4 prompts per step" in line
    assert "8 prompts: the problems probed" in line
    # a signal that reads g alone names g only; one that reads neither, nothing
    line = next(
        x for x in _lines(rank([a, b], signal="share_below_p_star")) if x.startswith("planned run:")
    )
    assert line.startswith("planned run: g = 8 (assumed: the paper's; --group-size sets it)")
    assert not [x for x in _lines(rank([a, b], signal="pass_at_1")) if "planned" in x]


def test_validate_explains_a_missing_pass_at_10_and_names_the_plan(tmp_path):
    d = mini_probe(tmp_path / "p", 16)
    s = json.loads((d / "validate_summary.json").read_text())
    s["signals"]["pass_at_k"], s["samples_per_problem"] = None, 8
    notes = probe_notes(s)
    assert notes[0] == (
        "pass@10 '-': pass@10 needs at least 10 samples per problem, this probe has 8 "
        "(--samples 10 or more)"
    )
    assert notes[-1].startswith("planned run: g = 8 (assumed: the paper's")  # share_below
    s["signal"] = "escape"
    assert probe_notes(s)[-1].startswith("planned run: g = 8, 400 RL steps x 32 prompts")
    # one name for the share below p* (the reasons' name), headroom with its unit
    rows = dict(probe_rows(s))
    assert "share_below_p_star" in rows and "frac_below_p_star" not in rows
    assert rows["headroom (pass@1 / p*)"].endswith("x")
