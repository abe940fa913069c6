"""report.md's monitor sections: reports found by content, the verdict's real basis, and a
figure of the signal that decided."""

import json

from rankinv._io import write_json
from rankinv.report import build_report
from rankinv.verdicts.monitor import MonitorConfig, monitor


def test_monitor_reports_are_found_by_content_and_name_their_rule(tmp_path):
    log = tmp_path / "trainer_state.json"  # a TRL log in the same folder is not a report
    rows = [
        {"step": s, "entropy": 0.5, "frac_reward_zero_std": 0.3, "reward": 0.1 + s / 1000}
        for s in range(1, 201)
    ]
    log.write_text(json.dumps({"log_history": rows, "max_steps": 400}))
    write_json(
        tmp_path / "sweep_a.json", monitor(log, MonitorConfig(rule="reward_slope")).to_json()
    )
    text = build_report(tmp_path).read_text()
    assert "## Stage-2 monitor: sweep_a" in text and "trainer_state" not in text
    assert "(rule reward_slope; signal: reward (reward))" in text
    assert "worst-token" not in text
    assert (tmp_path / "monitor_sweep_a.png").stat().st_size > 10_000


def test_a_watch_raised_by_the_informative_floor_is_drawn_as_such(tmp_path, monkeypatch):
    """issue 38: the figure said "decided by rule ... (left)" while the rule's own signal sat
    clear of its level; the watch came from the informative floor, which was not drawn."""
    import json

    from rankinv.report import figures
    from rankinv.verdicts.monitor import MonitorConfig, monitor

    hist = [
        {"step": s, "entropy": 0.8, "frac_reward_zero_std": 0.3 + 0.3 * s / 200, "reward": 0.3}
        for s in range(1, 201)
    ]
    log = tmp_path / "trainer_state.json"
    log.write_text(json.dumps({"log_history": hist, "max_steps": 400}))
    rep = monitor(log, MonitorConfig(rule="paper"))
    assert rep.verdict == "watch" and rep.decided_by == "informative_floor"
    titles = []
    real = figures.pyplot

    def spy():
        plt = real()
        orig = plt.subplots

        def subplots(*a, **k):
            fig, axes = orig(*a, **k)
            sup = fig.suptitle
            fig.suptitle = lambda t, **kw: (titles.append(t), sup(t, **kw))[1]
            return fig, axes

        monkeypatch.setattr(plt, "subplots", subplots)
        return plt

    monkeypatch.setattr(figures, "pyplot", spy)
    figures.monitor_figure(rep.to_json(), tmp_path, "run")
    assert titles == ["run: verdict watch, decided by the informative floor (right panel)"]
    assert (tmp_path / "monitor_run.png").exists()
