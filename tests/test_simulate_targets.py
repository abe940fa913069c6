"""The population's validation targets: the Cui et al. fit, coverage loss, Table 5's sign."""

import numpy as np
import pytest

from rankinv.simulate import targets as T


def _trace(h, r):
    return [{"entropy": float(a), "reward": float(b)} for a, b in zip(h, r, strict=True)]


def test_cui_fit_is_exact_on_its_own_curve_and_skips_runs_whose_entropy_holds():
    h = np.linspace(1.2, 0.2, 16)
    assert T.cui_fit(_trace(h, -0.3 * np.exp(h) + 1.1)) == pytest.approx(1.0)
    noisy = -0.3 * np.exp(h) + 1.1 + np.random.default_rng(0).normal(0, 0.05, 16)
    assert 0.3 < T.cui_fit(_trace(h, noisy)) < 1.0
    assert T.cui_fit(_trace(np.linspace(1.0, 0.9, 16), h)) is None  # entropy fell 10%


def _ladder(seed, pre_k, post_k, pre_1=None, depths=(0.5, 1, 2, 4)):
    pre_1 = pre_1 or [0.1 * (i + 1) for i in range(len(pre_k))]
    runs = [
        {
            "depth": d,
            "stage1": {"pass_at_1": p1},
            "outcome": {"start_pass_at_k": a, "final_pass_at_k": b},
            "trace": [],
        }
        for d, a, b, p1 in zip(depths, pre_k, post_k, pre_1, strict=True)
    ]
    return {"seed": seed, "setting": {"regime": "qwen-like"}, "runs": runs}


def test_coverage_loss_counts_runs_ending_below_their_start():
    rec = _ladder(0, [0.6, 0.6, 0.6, 0.6], [0.7, 0.595, 0.58, 0.5])
    assert T.coverage_loss_share([rec]) == 0.5  # 0.595 is within the 0.01 margin


def test_table5_sign_needs_pre_rising_with_depth_and_a_negative_rho():
    yes = T.ladder_rhos(_ladder(0, [0.55, 0.6, 0.65, 0.7], [0.6, 0.58, 0.56, 0.5]))
    assert yes["table5_sign"] and yes["rho_pass_at_k"] == pytest.approx(-1.0)
    no = T.ladder_rhos(_ladder(1, [0.7, 0.65, 0.6, 0.55], [0.6, 0.58, 0.56, 0.5]))
    assert not no["table5_sign"] and no["rho_pass_at_k"] == pytest.approx(1.0)
    v = T.validation(
        [_ladder(s, [0.55, 0.6, 0.65, 0.7], [0.6, 0.58, 0.56, 0.5]) for s in range(4)], []
    )
    assert v["qwen_like"]["table5_sign_seeds"] == 4
    target = {t["name"]: t for t in v["targets"]}["qwen_like_table5_sign"]
    assert target["met"] is True and target["value"] == "4 of 4 seeds"
