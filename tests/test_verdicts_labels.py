"""Outcome labels judged on held-out evaluations with their noise (improving, sharpening,
saturated, stranded, diverging, stalled, undetermined), the evaluation's interval, and the
stage-2 scores built on them: precision at another prevalence, the real-corpus scoring."""

import math

import numpy as np
import pytest

from rankinv import theory
from rankinv.evaluation import stats
from rankinv.verdicts import labels

#: A resolving evaluation (interval of a change about +-0.03) and a noisy one (+-0.27).
BIG = labels.EvalSize(n_prompts=200, n_samples=40, k=4)
SMALL = labels.EvalSize(n_prompts=14, n_samples=8, k=4)


def run(rewards, evals, entropy=None):
    """Records: reward (and entropy) per step; evals {step: (pass@1, pass@k)}."""
    recs = [{"step": s, "reward": r} for s, r in enumerate(rewards)]
    if entropy is not None:
        for rec, e in zip(recs, entropy, strict=True):
            rec["entropy"] = e
    recs += [
        {"step": s, "heldout_pass_at_1": p1, "heldout_pass_at_k": pk}
        for s, (p1, pk) in evals.items()
    ]
    return recs


def test_eval_se_by_hand():
    # 14 prompts x 8 samples at pass@4: two disjoint blocks of 4 per prompt
    assert labels.eval_se(0.5, 14, 8, 4) == pytest.approx(math.sqrt(0.25 / 28))
    assert labels.eval_se(0.3, 100, 10, 1) == pytest.approx(math.sqrt(0.21 / 1000))
    assert labels.eval_se(1.0, 10, 10, 1) == 0.0
    with pytest.raises(ValueError, match="n_samples >= k"):
        labels.eval_se(0.5, 10, 3, 4)


@pytest.mark.parametrize("m, spread", [(4, False), (16, False), (16, True)])
def test_eval_se_bounds_the_monte_carlo_spread(m, spread):
    """Prompts with pass rates p_i, m samples each, the unbiased pass@4 averaged over N
    prompts, repeated: its standard deviation is at most eval_se of its mean, and equal to
    it (within Monte Carlo error) when m = k and every prompt has the same p."""
    rng = np.random.default_rng(1)
    n_prompts, k, reps = 30, 4, 4000
    p = rng.uniform(0.02, 0.5, n_prompts) if spread else np.full(n_prompts, 0.15)
    table = np.asarray(theory.pass_at_k(m, np.arange(m + 1), k))
    c = rng.binomial(m, p, size=(reps, n_prompts))
    means = table[c].mean(axis=1)
    bound = labels.eval_se(means.mean(), n_prompts, m, k)
    sd = means.std(ddof=1)
    assert sd <= bound * 1.05  # the sd of a sample sd is about 1/sqrt(2 reps) = 1.1%
    if m == k and not spread:
        assert sd == pytest.approx(bound, rel=0.05)


@pytest.mark.parametrize(
    "d1, dk, diverges, edge, resolved, label",
    [
        (1, -1, False, None, True, "sharpening"),
        (0, -1, False, None, True, "sharpening"),
        (1, -1, True, None, True, "sharpening"),
        (0, -1, True, None, True, "diverging"),
        (-1, -1, False, None, True, "diverging"),
        (-1, 0, True, None, True, "diverging"),
        (-1, 0, False, None, True, "stalled"),
        (1, 0, False, "max", True, "improving"),
        (0, 1, False, None, False, "improving"),
        (0, 0, False, "max", False, "saturated"),
        (0, 0, False, "min", False, "stranded"),
        (0, 0, True, None, True, "stalled"),
        (0, 0, False, None, False, "undetermined"),
    ],
)
def test_classify(d1, dk, diverges, edge, resolved, label):
    assert labels.classify(d1, dk, diverges, edge, resolved) == label


@pytest.mark.parametrize(
    "rewards, evals, size, label",
    [
        ([0.5] * 41, {0: (0.3, 0.5), 40: (0.38, 0.7)}, BIG, "improving"),
        ([0.5] * 41, {0: (0.3, 0.5), 40: (0.38, 0.7)}, SMALL, "undetermined"),
        ([0.5] * 41, {0: (0.2, 0.6), 40: (0.4, 0.4)}, BIG, "sharpening"),
        ([0.9] * 20 + [0.4] * 21, {0: (0.3, 0.6), 40: (0.3, 0.4)}, BIG, "diverging"),
        ([0.97] * 41, {0: (0.5, 0.7), 40: (0.5, 0.7)}, SMALL, "saturated"),
        ([0.97] * 41, {0: (0.5, 0.7), 40: (0.6, 0.7)}, BIG, "improving"),
        ([0.02] * 41, {0: (0.1, 0.3), 40: (0.1, 0.3)}, SMALL, "stranded"),
        ([0.5] * 41, {0: (0.4, 0.6), 40: (0.41, 0.61)}, BIG, "stalled"),
        ([0.5] * 41, {0: (0.4, 0.6), 40: (0.41, 0.61)}, SMALL, "undetermined"),
        ([0.5] * 41, {0: (0.4, 0.6), 40: (0.41, 0.61)}, None, "undetermined"),
        ([0.5] * 41, {40: (0.4, 0.6)}, BIG, None),  # no evaluation before RL: no outcome
    ],
)
def test_labels(rewards, evals, size, label):
    res = labels.label_run(run(rewards, evals), evaluation=size)
    assert res["label"] == label
    assert res["action"] == (None if label is None else labels.ACTIONS[label])


def test_entropy_rise_is_divergence():
    evals = {0: (0.3, 0.6), 40: (0.3, 0.4)}
    calm = run([0.5] * 41, evals, entropy=[1.0] * 41)
    hot = run([0.5] * 41, evals, entropy=[1.0] * 20 + [1.5] * 21)
    assert labels.label_run(calm, evaluation=BIG)["label"] == "sharpening"
    res = labels.label_run(hot, evaluation=BIG)
    assert res["label"] == "diverging" and res["entropy_rise"] == pytest.approx(0.5)


def test_logged_se_takes_precedence():
    recs = run([0.5] * 41, {0: (0.2, 0.5), 40: (0.4, 0.7)})
    for r in recs:
        if "heldout_pass_at_k" in r:
            r["heldout_pass_at_k_se"] = 0.2  # a noisy evaluation: +-0.57 on the change
            r["heldout_pass_at_1_se"] = 0.2
    res = labels.label_run(recs, evaluation=BIG)
    assert res["label"] == "undetermined"
    assert res["se_gain_pass_at_k"] == pytest.approx(0.2 * math.sqrt(2))


def test_label_from_the_check_step_on():
    recs = run([0.5] * 41, {0: (0.1, 0.3), 20: (0.4, 0.6), 40: (0.41, 0.61)})
    assert labels.label_run(recs, evaluation=BIG)["label"] == "improving"
    late = labels.label_run(recs, from_step=20, evaluation=BIG)
    assert late["label"] == "stalled" and late["gain_pass_at_1"] == pytest.approx(0.01)


def test_reward_range_scales_the_edges():
    recs = run([9.7] * 41, {0: (0.5, 0.7), 40: (0.5, 0.7)})
    assert labels.label_run(recs, reward_range=(0.0, 10.0), evaluation=BIG)["label"] == "saturated"
    assert labels.label_run(recs, reward_range=(0.0, 20.0), evaluation=BIG)["label"] == "stalled"


def test_simulated_outcome_fills_missing_evaluations():
    recs = labels.with_outcome(
        [{"step": s, "reward": 0.5} for s in range(11)],
        {"start_pass_at_k": 0.5, "final_pass_at_k": 0.7},
    )
    assert labels.label_run(recs, evaluation=BIG)["label"] == "improving"


def test_precision_at_another_prevalence():
    # TPR 0.8, FPR 0.2: at 50% prevalence precision 0.8, at 10% 0.08 / (0.08 + 0.18)
    assert stats.precision_at(0.8, 0.2, 0.5) == pytest.approx(0.8)
    assert stats.precision_at(0.8, 0.2, 0.1) == pytest.approx(0.08 / 0.26)
    assert stats.precision_at(0.0, 0.0, 0.1) is None
