"""Hypothesis properties of the estimators, ranks, group advantages and entropy bounds."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rankinv import theory

SETTINGS = settings(deadline=None, max_examples=60)


def _binom_pmf(cs, n, p):
    """Binomial(n, p) probabilities, exact in float (scipy's overflows at tiny p)."""
    return np.array([math.comb(n, int(c)) * p ** int(c) * (1 - p) ** (n - int(c)) for c in cs])


@st.composite
def n_g_p(draw):
    n = draw(st.integers(2, 40))
    g = draw(st.integers(2, n))
    p = draw(st.floats(0.0, 1.0, allow_subnormal=False))
    return n, g, p


@SETTINGS
@given(n_g_p())
def test_unbiased_degenerate_estimator_exact_expectation(args):
    """E over c ~ Binomial(n, p) of the unbiased estimator is f_g(p) = p^g + (1-p)^g."""
    n, g, p = args
    cs = np.arange(n + 1)
    est = np.asarray(theory.degenerate_probability_unbiased(n, cs, g), dtype=float)
    mean = float(np.sum(_binom_pmf(cs, n, p) * est))
    assert mean == pytest.approx(theory.degenerate_probability(p, g), abs=1e-9)
    inf = np.asarray(theory.informative_fraction_unbiased(n, cs, g), dtype=float)
    assert float(np.sum(_binom_pmf(cs, n, p) * inf)) == pytest.approx(
        theory.informative_probability(p, g), abs=1e-9
    )


@SETTINGS
@given(n_g_p())
def test_pass_at_k_exact_expectation(args):
    """E of the unbiased pass@k estimator is 1 - (1-p)^k."""
    n, k, p = args
    cs = np.arange(n + 1)
    est = np.asarray(theory.pass_at_k(n, cs, k), dtype=float)
    assert float(np.sum(_binom_pmf(cs, n, p) * est)) == pytest.approx(1 - (1 - p) ** k, abs=1e-9)


distinct = st.lists(st.integers(-1000, 1000), min_size=9, max_size=14, unique=True)


def _rho(x, y, groups=None):
    return theory.spearman(x, y, groups, n_bootstrap=20, n_permutations=20).rho


@SETTINGS
@given(distinct, st.randoms(use_true_random=False))
def test_spearman_invariant_under_monotone_transforms(x, rnd):
    y = [v + rnd.randint(-300, 300) for v in x]  # integers: transforms keep ties exactly
    base = _rho(x, y)
    assert _rho([math.atan(v / 100) for v in x], [3 * v + 7 for v in y]) == pytest.approx(base)
    assert _rho(x, [-v for v in y]) == pytest.approx(-base)
    assert -1 <= base <= 1


@SETTINGS
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=9, max_size=12, unique=True),
    st.lists(st.floats(-50, 50), min_size=3, max_size=3),
    st.randoms(use_true_random=False),
)
def test_spearman_seed_offsets_do_not_change_demeaned_rho(x, offsets, rnd):
    from rankinv.theory.ranks import demean

    groups = [i % 3 for i in range(len(x))]
    y = [v + rnd.uniform(-3, 3) for v in x]
    # exact ties after demeaning may round either way; the property is about real gaps
    for v in (x, y):
        d = np.sort(demean(np.asarray(v, dtype=float), groups))
        assume(np.min(np.diff(d)) > 1e-6)
    base = _rho(x, y, groups)
    x2 = [v + offsets[s] for v, s in zip(x, groups, strict=True)]
    y2 = [v - 2 * offsets[s] for v, s in zip(y, groups, strict=True)]
    assert _rho(x2, y2, groups) == pytest.approx(base, abs=1e-9)


@SETTINGS
@given(
    st.integers(2, 32),
    st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=32),
    st.sampled_from(["mean", "std"]),
)
def test_group_advantages_sum_to_zero(n_groups, rewards, kind):
    jnp = pytest.importorskip("jax.numpy")
    from rankinv.simulate import SimConfig
    from rankinv.simulate.grpo import advantages, hyper_of

    r = jnp.asarray(np.tile(np.array(rewards), (n_groups, 1)))
    cfg = SimConfig(advantage=kind)
    adv = np.asarray(advantages(r, hyper_of(cfg)))
    assert np.allclose(adv.sum(axis=-1), 0.0, atol=1e-5)
    if len(set(rewards)) == 1:
        assert np.allclose(adv, 0.0)  # a degenerate group carries no signal
