"""A signal with one value on every checkpoint is said not to separate them (issue 38c, a
fresh-clone try: share_below_p_star was 0.450 on all five mini rungs, validate said risk high
for each, and nothing said the signal could not tell them apart)."""

from probe_dirs import write_probe

from rankinv import render
from rankinv.render.probe import print_probes
from rankinv.verdicts import compare as cmp
from rankinv.verdicts.compare_probes import probe_table
from rankinv.verdicts.rank import rank
from rankinv.verdicts.words import rank_table

COUNTS = {"a": [0, 0, 8, 9], "b": [0, 0, 10, 12], "c": [0, 0, 14, 15]}
SAID = "share_below_p_star is 0.500 on all 3 checkpoints: this signal does not separate"


def _dirs(tmp_path):
    return [write_probe(tmp_path / k, k, v) for k, v in COUNTS.items()]


def test_rank_says_it_under_the_table(tmp_path):
    dirs = _dirs(tmp_path)
    res = rank(dirs, signal="share_below_p_star", depths=[1, 2, 4])
    assert any(x.startswith(SAID) for x in rank_table.lines_under(res))
    other = rank(dirs, signal="pass_at_1", depths=[1, 2, 4])  # it varies: nothing said
    assert not any(x.startswith("pass_at_1 is") for x in rank_table.lines_under(other))


def test_compare_says_it(tmp_path, printed):
    post = tmp_path / "post.csv"
    post.write_text("name,post_pass_at_10\na,0.5\nb,0.4\nc,0.3\n")
    table = probe_table(_dirs(tmp_path), post)
    res = cmp.compare(table.rows, recorded_group_size=table.group_size)
    assert SAID in " ".join(printed(render.print_compare, res).split())


def test_validate_says_it_for_several_checkpoints(printed):
    rows = [
        {
            "out": f"o/{k}",
            "pass_at_1": p,
            "entropy_rollout": 0.3,
            "frac_below_p_star": 0.45,
            "risk": "high",
            "signal": "share_below_p_star",
            "signals": {"share_below_p_star": 0.45},
        }
        for k, p in (("d1", 0.3), ("d2", 0.35))
    ]
    flat = " ".join(printed(print_probes, rows, "o").split())
    assert (
        "share_below_p_star is 0.450 on all 2 checkpoints: this signal does not separate these "
        "checkpoints, so its risk is the same for each" in flat
    )
