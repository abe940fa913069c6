"""Outcome labels (gained / saturated / stranded / stalled) and the stage-2 scores built on
them: precision at another prevalence, the real-corpus scoring."""

import json

import pytest

from rankinv.evaluation import real_data, stats
from rankinv.evaluation import stage2 as ev2
from rankinv.verdicts import labels


def run(rewards, evals):
    recs = [{"step": s, "reward": r} for s, r in enumerate(rewards)]
    recs += [{"step": s, "heldout_pass_at_1": v} for s, v in evals.items()]
    return recs


@pytest.mark.parametrize(
    "rewards, evals, label",
    [
        ([0.3] * 40, {0: 0.2, 40: 0.3}, "gained"),
        ([0.95] * 40, {0: 0.5, 40: 0.5}, "saturated"),
        ([0.95] * 40, {0: 0.5, 40: 0.6}, "gained"),  # gained before it saturated: gained
        ([0.02] * 40, {0: 0.1, 40: 0.1}, "stranded"),
        ([0.5] * 40, {0: 0.4, 40: 0.41}, "stalled"),
        ([0.5] * 40, {40: 0.4}, None),  # no evaluation before RL: no outcome
    ],
)
def test_labels(rewards, evals, label):
    assert labels.label_run(run(rewards, evals))["label"] == label


def test_label_from_the_check_step_on():
    recs = run([0.5] * 40, {0: 0.1, 20: 0.4, 40: 0.41})
    assert labels.label_run(recs)["label"] == "gained"
    late = labels.label_run(recs, from_step=20)
    assert late["label"] == "stalled" and late["gain_pass_at_1"] == pytest.approx(0.01)


def test_reward_range_scales_the_edges():
    recs = run([9.5] * 40, {0: 0.5, 40: 0.5})
    assert labels.label_run(recs, reward_range=(0.0, 10.0))["label"] == "saturated"


def test_simulated_outcome_fills_missing_evaluations():
    recs = labels.with_outcome(
        [{"step": s, "reward": 0.5} for s in range(11)],
        {"start_pass_at_k": 0.5, "final_pass_at_k": 0.6},
    )
    assert labels.label_run(recs)["label"] == "gained"


def test_precision_at_another_prevalence():
    # TPR 0.8, FPR 0.2: at 50% prevalence precision 0.8, at 10% 0.08 / (0.08 + 0.18)
    assert stats.precision_at(0.8, 0.2, 0.5) == pytest.approx(0.8)
    assert stats.precision_at(0.8, 0.2, 0.1) == pytest.approx(0.08 / 0.26)
    assert stats.precision_at(0.0, 0.0, 0.1) is None


def test_real_corpus_is_scored_with_thresholds_chosen_elsewhere(tmp_path):
    def write(name, zero_std, rewards, evals):
        hist = [
            {"step": s, "frac_reward_zero_std": zero_std, "reward": r, "entropy": 0.5}
            for s, r in enumerate(rewards, 1)
        ]
        hist += [{"step": s, "heldout_pass_at_1": v} for s, v in evals.items()]
        d = tmp_path / "trl_logs" / name
        d.mkdir(parents=True)
        (d / "trainer_state.json").write_text(json.dumps({"log_history": hist, "max_steps": 40}))
        return {"name": name, **labels.label_run(hist)}

    recs = [
        write("dead", 1.0, [0.0] * 40, {0: 0.1, 20: 0.1, 40: 0.1}),
        write("good", 0.1, [0.2 + 0.01 * s for s in range(40)], {0: 0.1, 20: 0.2, 40: 0.4}),
    ]
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    chosen = [
        {"rule": "informative", "check_fraction": 0.5, "threshold": 0.5},
        {"rule": ev2.NO_SIGNAL, "check_fraction": 0.5, "threshold": 0.5},
    ]
    real = {"trl_corpus": real_data.trl_corpus(tmp_path)}
    res = ev2.score_real_stage2(real, chosen)
    assert res["n_runs"] == 2 and res["labels"]["stranded"] == 1 and res["labels"]["gained"] == 1
    by = {r["rule"]: r for r in res["rules"]}
    assert by["informative"]["auc"] == 1.0 and by["informative"]["precision"] == 1.0
    assert by[ev2.NO_SIGNAL]["stop_rate_by_label"] == {"gained": 0.0, "stranded": 1.0}
    assert real_data.trl_corpus(tmp_path / "nothing") is None
    assert ev2.score_real_stage2({"trl_corpus": None}, chosen) is None
