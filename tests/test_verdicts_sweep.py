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
    # each run's own reference step (planned 40 and 400: windows 30-40 and 32-40): the same
    # score but for a float's rounding, a tie
    assert [r.rank for r in res.runs] == [1, 2]
    assert res.runs[0].score == pytest.approx(res.runs[1].score, abs=1e-12)
    assert [r.compute_saved for r in res.runs] == [0.0, 0.0]


def _entropy_log(path, end, steps=40):
    """A JSONL log whose mean entropy falls linearly from 0.5 to ``end`` over ``steps``."""
    import json

    rows = [
        {"step": s, "reward": 0.5, "frac_reward_zero_std": 0.3,
         "entropy": 0.5 - (0.5 - end) * s / steps}
        for s in range(1, steps + 1)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_paper_sweep_reads_each_runs_own_reference_step_as_alone(tmp_path):
    """new-user try: --rule paper measured the entropy drop over steps 1-40 in a sweep and over
    steps 10-40 alone (the paper's reference step is 10): the sweep set the reference to 1."""
    import pytest

    from rankinv.verdicts.monitor import MonitorConfig, monitor
    from rankinv.verdicts.sweep import judge_sweep

    paths = [_entropy_log(tmp_path / f"{n}.jsonl", end) for n, end in (("a", 0.45), ("b", 0.1))]
    cfg = MonitorConfig(rule="paper")
    res = judge_sweep(paths, cfg)
    for p, r in zip(paths, res.runs, strict=True):
        alone = monitor(p, MonitorConfig(rule="paper", check_step=res.step))
        assert (r.result.rule.ref, r.result.rule.check) == (10, res.step) == (10, 40)
        assert r.score == pytest.approx(alone.doom_score) and r.score_window == "steps 10-40"
        drop = next(x for x in alone.reasons if "mean entropy fell" in x).split(":")[0]
        assert any(x.startswith(drop) for x in r.result.reasons)  # "... over steps 10-40"
    # --ref-step still sets every run's reference
    given = judge_sweep(paths, MonitorConfig(rule="paper", ref_step=1))
    assert [r.result.rule.ref for r in given.runs] == [1, 1]
    # the too-early check uses the rule's reference: step 10 cannot be judged from step 10
    short = [_entropy_log(tmp_path / f"s{n}.jsonl", 0.3, steps=10) for n in "ab"]
    with pytest.raises(ValueError, match=r"too early to compare the sweep \(it needs step 11"):
        judge_sweep(short, cfg)
