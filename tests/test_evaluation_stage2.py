"""Stage 2 scored against the noise-aware labels: baselines beside every rule, one table per
label, the exact interval of a false-stop rate, the default chosen against the reward-edge
baseline on the choose half only, and the real corpus scored with thresholds chosen
elsewhere."""

import json

import numpy as np
import pytest

from rankinv.evaluation import real_data, stats
from rankinv.evaluation import stage2 as ev2
from rankinv.evaluation import stage2_labels as ev2l
from rankinv.verdicts import labels, logs, stage2

BIG = labels.EvalSize(n_prompts=200, n_samples=40, k=4)
STEPS = 41


def make_run(half, improving, reward, informative, rng):
    """A run of 41 steps: improving runs' held-out pass@k rises 0.4 -> 0.7 after the check
    steps; the others stay flat (stalled, or saturated where the reward is at its top)."""
    end = 0.7 if improving else 0.4
    recs = [
        {
            "step": s,
            "reward": reward + rng.normal(0, 0.005),
            "frac_reward_zero_std": 1 - informative + rng.normal(0, 0.01),
            "entropy": 1.0,
        }
        for s in range(STEPS)
    ]
    recs += [
        {"step": s, "heldout_pass_at_1": 0.2, "heldout_pass_at_k": 0.4 + (end - 0.4) * s / 40}
        for s in (0, 10, 20, 30, 40)
    ]
    return ev2.Run(half, logs.trace_of(recs[:STEPS]), recs, BIG)


def world(reward_tells: bool, n: int = 40, seed: int = 0) -> list:
    """n improving and n stop-worthy runs per half. reward_tells: the stop-worthy runs sit at
    the reward's top (saturated) and the informative share says nothing; else the reward
    says nothing and their informative share is low (stalled)."""
    rng = np.random.default_rng(seed)
    runs = []
    for half in ("choose", "report"):
        for i in range(2 * n):
            good = i < n
            if reward_tells:
                reward, inf = (0.5, 0.6) if good else (0.99, 0.6)
                inf = rng.uniform(0.2, 0.8)
            else:
                reward, inf = 0.5, (0.8 if good else 0.15)
            runs.append(make_run(half, good, reward, inf, rng))
    return runs


def test_clopper_pearson_by_hand():
    lo, hi = stats.clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
    lo, hi = stats.clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10))
    lo, hi = stats.clopper_pearson(3, 10)
    assert lo < 0.3 < hi and stats.clopper_pearson(0, 0) is None
    assert stats.rate(2, 8) == {"rate": 0.25, "k": 2, "n": 8, "ci": stats.clopper_pearson(2, 8)}


@pytest.fixture(scope="module")
def reward_world():
    runs = world(reward_tells=True)
    return runs, ev2.score_runs(runs)


@pytest.fixture(scope="module")
def signal_world():
    runs = world(reward_tells=False)
    return runs, ev2.score_runs(runs)


def test_labels_of_the_worlds(reward_world, signal_world):
    got = {r.outcome(0.5)["label"] for r in reward_world[0]}
    assert got == {"improving", "saturated"}
    assert {r.outcome(0.5)["label"] for r in signal_world[0]} == {"improving", "stalled"}


def test_every_rule_and_baseline_has_a_row_with_false_stops_per_half(reward_world):
    _, rows = reward_world
    at = {r["rule"]: r for r in rows if r["check_fraction"] == 0.5}
    assert {"never_stop", "no_signal", "reward_edge", "reward_trend", "paper"} <= set(at)
    assert at["never_stop"]["kind"] == "baseline" and at["informative"]["kind"] == "rule"
    never = at["never_stop"]
    assert never["recall"] == 0.0 and never["false_stop_rate"] == 0.0 and never["auc"] == 0.5
    edge = at["reward_edge"]  # the saturated runs sit at 0.99: the edge stops them, only them
    assert edge["threshold"] == pytest.approx(0.45)
    assert edge["recall"] == 1.0 and edge["false_stop_rate"] == 0.0 and edge["auc"] == 1.0
    for r in rows:
        fs = r["false_stop_by_half"]
        assert set(fs) == {"choose", "report"} and fs["report"] == r["false_stop"]
        if r["kind"] == "rule" and r["rule"] != "paper" and fs["choose"]["n"]:
            assert fs["choose"]["rate"] <= stats.MAX_STOP_FPR + 1e-12  # chosen to hold it


def test_one_table_per_label_with_the_baseline_rows(signal_world):
    runs, rows = signal_world
    at = [r for r in rows if r["check_fraction"] == 0.5]
    tables = ev2l.label_tables([r for r in runs if r.half == "report"], at)
    assert set(tables) == set(labels.STOP_LABELS)
    for lab, table in tables.items():
        names = {r["rule"] for r in table}
        assert {"never_stop", "no_signal", "reward_edge", "reward_trend"} <= names
        for r in table:
            assert r["kind"] == "baseline" or lab in stage2.STAGE2_RULES[r["rule"]].catches
    stalled = {r["rule"]: r for r in tables["stalled"]}
    assert stalled["informative"]["auc"] == 1.0 and stalled["informative"]["recall"] == 1.0
    assert "paper" not in {r["rule"] for r in tables["saturated"]}  # it claims no saturation


def test_default_is_the_baseline_where_no_rule_beats_it(reward_world):
    runs, rows = reward_world
    choice = ev2l.choose_default(rows, runs)
    assert choice["stage2"] == "reward_edge" and choice["stage2_beat_baseline"] is False
    base = choice["stage2_choice"]["baseline"]
    assert base["youden"] == pytest.approx(1.0) and base["false_stop"]["k"] == 0
    moved = ev2l.transfer(choice, runs, {"real": []})
    assert moved["baseline"]["report"]["recall"] == 1.0
    assert "real" not in moved["baseline"]  # no real runs: no row, not a row of n = 0


def test_default_is_a_rule_where_it_beats_the_baseline_on_the_choose_half(signal_world):
    runs, rows = signal_world
    choice = ev2l.choose_default(rows, runs)
    assert choice["stage2_beat_baseline"] is True
    assert choice["stage2"] in ("informative", "combined", "informative_trend")
    assert choice["stage2_choice"]["baseline"]["youden"] == pytest.approx(0.0)
    # chosen on the choose half only: report-half runs do not move the choice
    flipped = [ev2.Run(r.half, r.trace, r.records, r.size) for r in runs if r.half == "choose"] + [
        r for r in world(reward_tells=True) if r.half == "report"
    ]
    again = ev2l.choose_default(ev2.score_runs(flipped), flipped)
    assert (again["stage2"], again["stage2_check_fraction"]) == (
        choice["stage2"],
        choice["stage2_check_fraction"],
    )


def write_corpus_log(folder, name, hist, evals) -> dict:
    """A corpus run's TRL log (``hist`` plus held-out evaluations {step: (pass@1, pass@k)})
    under folder/trl_logs/name; its runs.jsonl record (200 prompts x 40 samples, k = 4)."""
    hist = hist + [
        {"step": s, "heldout_pass_at_1": p1, "heldout_pass_at_k": pk}
        for s, (p1, pk) in evals.items()
    ]
    d = folder / "trl_logs" / name
    d.mkdir(parents=True)
    (d / "trainer_state.json").write_text(json.dumps({"log_history": hist, "max_steps": 40}))
    size = {"eval_prompts": 200, "eval_samples": 40, "k": 4}
    return {"name": name, **size, **labels.label_run(hist, evaluation=labels.EvalSize(200, 40, 4))}


def test_real_corpus_is_scored_with_thresholds_chosen_elsewhere(tmp_path):
    def write(name, zero_std, rewards, evals):
        hist = [
            {"step": s, "frac_reward_zero_std": zero_std, "reward": r, "entropy": 0.5}
            for s, r in enumerate(rewards, 1)
        ]
        return write_corpus_log(tmp_path, name, hist, evals)

    recs = [
        write("dead", 1.0, [0.0] * 40, {0: (0.1, 0.2), 20: (0.1, 0.2), 40: (0.1, 0.2)}),
        write(
            "good",
            0.1,
            [0.2 + 0.01 * s for s in range(40)],
            {0: (0.1, 0.2), 20: (0.2, 0.4), 40: (0.4, 0.6)},
        ),
    ]
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    chosen = [
        {"rule": "informative", "check_fraction": 0.5, "threshold": 0.5},
        {"rule": ev2.NO_SIGNAL, "check_fraction": 0.5, "threshold": 0.5},
        {"rule": "reward_edge", "check_fraction": 0.5, "threshold": 0.45},
    ]
    real = {"trl_corpus": real_data.trl_corpus(tmp_path)}
    res = ev2.score_real_stage2(real, chosen)
    assert res["n_runs"] == 2 and res["labels"]["stranded"] == 1 and res["labels"]["improving"] == 1
    assert res["first_scored"] == real_data.FIRST_SCORED[res["source"]]
    by = {r["rule"]: r for r in res["rules"]}
    assert by["informative"]["auc"] == 1.0 and by["informative"]["precision"] == 1.0
    assert by[ev2.NO_SIGNAL]["stop_rate_by_label"] == {"improving": 0.0, "stranded": 1.0}
    assert by["reward_edge"]["false_stop"] == stats.rate(0, 1)
    assert real_data.trl_corpus(tmp_path / "nothing") is None
    assert ev2.score_real_stage2({"trl_corpus": None}, chosen) is None


def test_the_same_training_logged_every_step_and_every_10_is_paired(tmp_path):
    """A run logged at logging_steps 10 (``-log10``) beside its every-step twin: identical
    evaluations, labels and decisions counted; a run without a twin is not a pair."""
    evals = {0: (0.1, 0.2), 20: (0.2, 0.4), 40: (0.4, 0.6)}
    every = [{"step": s, "frac_reward_zero_std": 0.1, "reward": 0.3} for s in range(1, 41)]
    # TRL's averaged windows: one record per 10 steps
    tens = [{"step": s, "frac_reward_zero_std": 0.1, "reward": 0.3} for s in (10, 20, 30, 40)]
    dead = [{"step": s, "frac_reward_zero_std": 1.0, "reward": 0.0} for s in range(1, 41)]

    recs = [
        write_corpus_log(tmp_path, name, hist, evals)
        for name, hist in (("a-s0", every), ("a-s0-log10", tens), ("b-s0-log10", dead))
    ]
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    runs, _ = ev2.real_runs({"trl_corpus_v2": real_data.trl_corpus(tmp_path)}, "trl_corpus_v2")
    base = {"rule": "reward_edge", "check_fraction": 0.5, "threshold": 0.45}
    choice = {
        "stage2": base["rule"],
        "stage2_check_fraction": base["check_fraction"],
        "stage2_threshold": base["threshold"],
    }
    res = ev2l.logging_pairs(runs, choice)
    assert res["n_pairs"] == 1 and res["pairs"][0]["run"] == "a-s0"
    assert (res["same_evaluations"], res["same_label"], res["same_decision"]) == (1, 1, 1)
    assert res["pairs"][0]["stop"] == [False, False]
    assert ev2l.logging_pairs([r for r in runs if r.name != "a-s0"], choice) is None


def test_transfer_scores_every_run_of_each_real_corpus(reward_world):
    """A real corpus's runs are all scored under its own half name, whatever the name."""
    runs, rows = reward_world
    choice = ev2l.choose_default(rows, runs)
    report = [r for r in runs if r.half == "report"]
    real = [ev2.Run("real", r.trace, r.records, r.size) for r in report]
    moved = ev2l.transfer(choice, runs, {"real": real, "real_v2": real})
    for half in ("real", "real_v2"):
        assert moved["baseline"][half] == moved["baseline"]["report"]
