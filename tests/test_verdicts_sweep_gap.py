"""A sweep at a few runs stopped a run relative to another whose doom score it could not be
told from (6-step reward means of a reward that swings): the relative stop now says its n and
the gap to the worst kept run with that gap's SE, and a gap within 2 SE is a watch."""

import json

import pytest

from rankinv.verdicts.sweep import judge_sweep


def _log(path, level, swing):
    """A JSONL log of 40 steps whose reward alternates ``level`` +- ``swing``."""
    rows = [
        {
            "step": s,
            "reward": level + (swing if s % 2 else -swing),
            "frac_reward_zero_std": 0.3,
            "entropy": 0.5,
        }
        for s in range(1, 41)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_noisy_runs_the_sweep_cannot_separate_are_watched(tmp_path):
    a = _log(tmp_path / "a.jsonl", 0.50, 0.2)
    b = _log(tmp_path / "b.jsonl", 0.44, 0.2)
    res = judge_sweep([a, b])
    kept, other = res.runs
    assert kept.verdict == "continue" and other.rank == 2 and other.verdict == "watch"
    assert other.gap is not None and other.gap.se is not None
    assert 0 < other.gap.gap < 2 * other.gap.se and not other.gap.separated
    why = other.to_json(res.keep)["why"]
    assert "n = 2 runs ranked" in why
    assert (
        f"the sweep cannot separate it from a.jsonl (gap {other.gap.gap:.3f}, "
        f"SE {other.gap.se:.3f}" in why
    )
    assert why.endswith("the sweep watches it)") or "): watch" in why
    assert other.compute_saved == 0.0
    js = res.to_json()["runs"][1]
    assert js["verdict"] == "watch" and js["gap"]["to"] == "a.jsonl"
    assert js["gap"]["separated"] is False


def test_two_runs_clearly_apart_stop_as_before_with_the_gap_said(tmp_path):
    a = _log(tmp_path / "a.jsonl", 0.50, 0.02)
    b = _log(tmp_path / "b.jsonl", 0.20, 0.02)
    res = judge_sweep([a, b])
    other = res.runs[1]
    assert other.rank == 2 and other.verdict == "stop" and other.gap.separated
    assert other.gap.gap == pytest.approx(0.3, abs=0.02)
    why = other.to_json(res.keep)["why"]
    assert "n = 2 runs ranked; its gap to a.jsonl, the worst run kept, is +0.3" in why
    assert "beyond 2 SE, stop" in why and "the sweep stops it relative to the others" in why


def test_a_rule_without_per_step_values_leaves_the_gap_untested(tmp_path):
    # the paper's rule reads an entropy drop between two steps: no SE; the sweep cannot
    # separate the runs, so it abstains (watch), as for a gap within 2 SE (it stopped the
    # run on the ranking alone, and the JSON said separated: true)
    from rankinv.verdicts.monitor import MonitorConfig

    paths = []
    for name, end in (("a", 0.45), ("b", 0.1)):
        rows = [
            {"step": s, "reward": 0.5, "frac_reward_zero_std": 0.3,
             "entropy": 0.5 - (0.5 - end) * s / 40}
            for s in range(1, 41)
        ]  # fmt: skip
        p = tmp_path / f"{name}.jsonl"
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(p)
    res = judge_sweep(paths, MonitorConfig(rule="paper"))
    other = res.runs[1]
    assert other.verdict == "watch" and other.gap.se is None and other.gap.separated is None
    why = other.to_json(0.5)["why"]
    assert (
        "the sweep cannot test its gap to a.jsonl (rule paper's score reads no per-step "
        "values to take an SE from): watch" in why
    )
    assert "stopped on the ranking alone" not in why
    js = res.to_json()["runs"][1]
    assert js["verdict"] == "watch" and js["gap"]["separated"] is None
    assert js["compute_saved"] == 0.0


def test_a_window_of_one_logged_value_leaves_the_gap_untested_said_so(tmp_path):
    # a log at logging_steps = 10 holds one value in the score's window: no SE to take
    from pathlib import Path

    corpus = Path(__file__).parent.parent / "figures/data/trl_corpus_v2/trl_logs"
    names = ["clean-d4-easy-lr0.0001-g8-s2", "teacher-d1-easy-lr0.001-g4-s0-log10"]
    res = judge_sweep([corpus / n / "trainer_state.json" for n in names])
    other = next(r for r in res.runs if r.gap is not None)
    assert other.verdict == "watch" and other.gap.se is None and other.gap.separated is None
    why = other.to_json(0.5)["why"]
    assert "the sweep cannot test its gap to clean-d4-easy-lr0.0001-g8-s2 (a window holds " in why
    assert "fewer logged values than an SE needs): watch" in why
