"""The pre-RL report: p-hat histogram, stranded share under a planned run, g per prompt."""

import numpy as np
import pytest
from scipy import integrate, stats

from rankinv import theory
from rankinv.records import Plan
from rankinv.validate.prerl import (
    expected_stranded_share,
    group_size_needed,
    p_hat_histogram,
    prerl_report,
    stranded_probability,
)


def test_histogram_bins():
    n = [8] * 7
    c = [0, 0, 1, 2, 4, 7, 8]  # p-hat 0, 0, .125, .25, .5, .875, 1
    h = {r["bin"]: r["count"] for r in p_hat_histogram(n, c)}
    assert h["0"] == 2 and h["1"] == 1
    assert h["(0.1, 0.25]"] == 2 and h["(0.25, 0.5]"] == 1 and h["(0.75, 0.9]"] == 1
    assert h["(0.9, 1)"] == 0 and sum(h.values()) == 7


def test_stranded_probability_exact_and_fractional():
    f = theory.degenerate_probability(0.1, 8)
    assert stranded_probability(0.1, 8, 3.0) == pytest.approx(f**3)
    assert stranded_probability(0.1, 8, 2.25) == pytest.approx(0.75 * f**2 + 0.25 * f**3)
    assert stranded_probability(0.0, 8, 5.0) == 1.0


def test_stranded_share_matches_simulated_training_draws():
    """Plug-in share == the share of prompts whose every simulated group (g Bernoulli(p)
    rewards, drawn d times) is all-pass or all-fail, within 4 Monte Carlo SE."""
    rng = np.random.default_rng(1)
    p = rng.beta(0.4, 2.0, 3000)
    g, d = 8, 3
    n = np.full(3000, 10_000)  # p-hat == p up to rounding
    c = np.round(p * n)
    _, plugin, _ = expected_stranded_share(n, c, g, float(d), n_draws=10)
    rewards = rng.random((3000, d, g)) < (c / n)[:, None, None]
    s = rewards.sum(-1)
    stranded = np.all((s == 0) | (s == g), axis=1)
    se = stranded.std() / np.sqrt(len(stranded))
    assert abs(plugin - stranded.mean()) < 4 * se


def test_stranded_share_uses_the_posterior():
    """n = 8, c = 0, g = 8, one draw: E[f_8(p)] under Beta(1/2, 17/2) by quadrature."""
    post = stats.beta(0.5, 8.5)
    exact = integrate.quad(lambda p: (p**8 + (1 - p) ** 8) * post.pdf(p), 0, 1)[0]
    share, plugin, per = expected_stranded_share([8], [0], 8, 1.0, n_draws=40_000)
    assert plugin == 1.0  # the plug-in says certainly stranded
    assert share == pytest.approx(exact, abs=0.01) and share < 0.9


def test_group_size_needed():
    assert group_size_needed(0.083) == 8
    assert (
        theory.p_star(group_size_needed(0.03)) <= 0.03 < theory.p_star(group_size_needed(0.03) - 1)
    )
    assert group_size_needed(0.0) is None and group_size_needed(1.0) is None


def test_report_and_bad_plans():
    plan = Plan(group_size=8, rl_steps=100, batch_prompts=2, n_prompts=4)
    rep = prerl_report(["a", "b", "c", "d"], [8, 8, 8, 8], [0, 1, 4, 8], plan)
    assert rep.draws_per_prompt == 50 and rep.n_prompts == 4
    assert rep.frac_never_solved == 0.25
    assert rep.frac_below_p_star == 0.25  # p-hat 0; 1/8 = .125 > p*(8) = .083
    by = {p.task_id: p for p in rep.prompts}
    assert by["a"].group_size_needed is None and by["a"].c == 0
    assert by["c"].stranded_probability < 1e-6  # p near 1/2, 50 draws
    # plug-in: p-hat 0 and 1 are certainly stranded, the other two are not after 50 draws
    assert rep.expected_stranded_share_plugin == pytest.approx(0.5, abs=1e-9)
    mean = np.mean([p.stranded_probability for p in rep.prompts])
    assert rep.expected_stranded_share == pytest.approx(mean)
    assert rep.expected_stranded_share < 0.5  # 8 samples cannot rule out small p > 0
    j = rep.to_json()  # pre_rl.json: the same fields, each prompt with its note
    assert j["draws_per_prompt"] == 50 and j["group_size_to_lift_all_below"] is None
    assert "never solved" in j["prompts"][0]["note"] and j["prompts"][1]["note"] == ""
    assert "always solved" in j["prompts"][3]["note"] and "Jeffreys" in j["note"]
    with pytest.raises(ValueError, match="rl_steps must be a positive integer"):
        Plan(rl_steps=0)
    with pytest.raises(ValueError, match="g must be"):
        Plan(group_size=1)


def test_report_counts_the_planned_prompt_set_not_the_probed_one():
    """--n-prompts: 4 problems probed, a 400-prompt RL set drawn 32 per step for 100 steps:
    each prompt is drawn 8 times (the probe's own 4 prompts would give 100)."""
    plan = Plan(group_size=8, rl_steps=100, batch_prompts=32, n_prompts=400)
    rep = prerl_report(["a", "b", "c", "d"], [8] * 4, [0, 1, 4, 8], plan)
    assert rep.draws_per_prompt == 8 and rep.n_prompts == 400


def test_one_escape_formula():
    """The pre-RL report's stranded chance, the stage-1 escape signal and theory agree."""
    from rankinv.verdicts.signals import stage1_signals

    n, c = np.array([16, 16, 16]), np.array([1, 3, 0])
    plan = Plan(group_size=8, rl_steps=7, batch_prompts=2, n_prompts=3)  # 4.67 draws
    esc = theory.escape_probability(c / n, 8, plan.visits)
    assert stranded_probability(c / n, 8, plan.visits) == pytest.approx(1 - esc)
    assert stage1_signals(n, c, plan)["escape"] == pytest.approx(np.mean(esc))
