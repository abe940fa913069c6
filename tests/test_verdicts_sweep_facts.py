"""A new user's try: a sweep kept a run whose held-out coverage fell beyond its noise (its own
verdict stop, a fact of its log) and stopped the healthy run on the ranking alone. A fact of a
run's own log (no signal, or the coverage rule's stop) now stops it whatever its rank, said
so, and it is not ranked among the runs the sweep keeps."""

from pathlib import Path

from rankinv.verdicts.sweep import judge_sweep

TRL = Path(__file__).parent / "data" / "trl"


def test_a_coverage_stop_is_a_fact_of_the_log_and_not_ranked():
    res = judge_sweep([TRL / "sharpening", TRL / "rising"])
    sharp, rising = res.runs
    assert sharp.alone.decided_by == "coverage" and sharp.own_verdict == "stop"
    assert sharp.verdict == "stop" and sharp.rank is None and sharp.gap is None
    assert rising.verdict == "continue" and rising.rank == 1 and rising.n_ranked == 1
    js = res.to_json()["runs"]
    assert [r["verdict"] for r in js] == ["stop", "continue"]
    assert [r["fact_of_log"] for r in js] == ["coverage", None]
    assert js[0]["why"] == "held-out coverage fell beyond its noise, a fact of its log"
    assert js[0]["rank"] is None and js[1]["rank"] == 1 and js[1]["gap"] is None
    assert "its own verdict would be" not in js[1]["why"]
