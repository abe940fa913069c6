def test_sweep_refuses_duplicates_and_early_logs_and_keeps_ties(tmp_path):
    """fresh clone: the same log twice got one continue and one stop on an identical score;
    2-step logs were ranked (one stopped) though alone each was too early to judge; every
    run took the sweep's largest max_steps as its own planned total."""
    import json

    import pytest

    from rankinv.verdicts.sweep import judge_sweep

    def write(name, steps, zero_std, max_steps):
        hist = [
            {"step": s, "entropy": 0.5, "frac_reward_zero_std": zero_std, "reward": 0.3}
            for s in range(1, steps + 1)
        ]
        p = tmp_path / name / "trainer_state.json"
        p.parent.mkdir()
        p.write_text(json.dumps({"log_history": hist, "max_steps": max_steps}))
        return p

    a = write("a", 40, 0.2, 40)
    with pytest.raises(ValueError, match="the same log is given twice"):
        judge_sweep([a, a])
    b = write("b", 2, 0.2, 2)
    with pytest.raises(ValueError, match=r"too early to compare the sweep .*; b ends there\)"):
        judge_sweep([a, b])  # the short log is named
    c = write("c", 40, 0.2, 400)  # the same numbers as a: a tie
    res = judge_sweep([a, c], keep=0.5)
    assert [r.verdict for r in res.runs] == ["continue", "continue"]
    assert [r.rank for r in res.runs] == [1, 2] and res.runs[0].score == res.runs[1].score
    assert [r.compute_saved for r in res.runs] == [0.0, 0.0]
