"""Theory layer: exact values, hypothesis invariants, Monte Carlo against closed forms."""

import doctest
import itertools
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from rankinv import theory
from rankinv.theory import entropy_bounds as entropy_mod
from rankinv.theory import estimators, groups, ranks

GROUPS = [4, 8, 16, 32]


# ---------------------------------------------------------------- exact values
@pytest.mark.parametrize("g,expected", [(4, 0.159), (8, 0.083), (16, 0.042), (32, 0.021)])
def test_p_star_paper_table(g, expected):
    assert round(theory.p_star(g), 3) == expected


@pytest.mark.parametrize("g", [2, 3, 4, 5, 8, 16, 32, 64, 128])
@pytest.mark.parametrize("level", [0.5, 0.25, 0.9])
def test_p_star_matches_mpmath_root(g, level):
    if level < 2.0 ** (1 - g):  # f_g never falls that low: no root, a clear error
        with pytest.raises(ValueError, match="level must be in"):
            theory.p_star(g, level)
        return
    mpmath.mp.dps = 50
    f = lambda p: p**g + (1 - p) ** g - level  # noqa: E731
    if g == 2 and level == 0.5:
        exact = mpmath.mpf("0.5")
    else:
        exact = mpmath.findroot(f, (mpmath.mpf("1e-30"), mpmath.mpf("0.5")), solver="anderson")
    assert abs(theory.p_star(g, level) - float(exact)) < 1e-12


def test_p_star_g2_is_half_exactly():
    assert theory.p_star(2) == 0.5
    assert theory.p_star_upper(2) == 0.5


@pytest.mark.parametrize("g,expected", [(4, 0.100), (8, 0.067), (16, 0.038), (32, 0.020)])
def test_advantage_variance_at_p_star_paper_table(g, expected):
    assert round(theory.advantage_variance(theory.p_star(g), g), 3) == expected


def test_p_star_vectorised_and_ln2_over_g_is_not_used():
    gs = np.array(GROUPS)
    ps = theory.p_star(gs)
    assert ps.shape == (4,)
    # ln2/g overstates the exact root by ~4% at g=8 and ~9% at g=4
    assert (math.log(2) / 8) / ps[1] == pytest.approx(1.044, abs=0.002)
    assert (math.log(2) / 4) / ps[0] == pytest.approx(1.087, abs=0.003)


def _brute_pass_at_k(n, c, k):
    samples = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_brute_force(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert theory.pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), abs=1e-14)


def test_pass_at_k_large_n_no_overflow():
    val = theory.pass_at_k(2000, 3, 1000)
    assert val == pytest.approx(1 - math.comb(1997, 1000) / math.comb(2000, 1000), rel=1e-12)


@pytest.mark.parametrize("g", [2, 3, 4, 8])
@pytest.mark.parametrize("p", [0.0, 0.03, 0.3, 0.5, 0.77, 1.0])
def test_advantage_variance_exact_enumeration(g, p):
    """E over all 2^g reward vectors of the population variance of the group."""
    total = 0.0
    degenerate = 0.0
    for rewards in itertools.product([0, 1], repeat=g):
        c = sum(rewards)
        prob = p**c * (1 - p) ** (g - c)
        total += prob * np.var(rewards)
        degenerate += prob * (c in (0, g))
    assert theory.advantage_variance(p, g) == pytest.approx(total, abs=1e-14)
    assert theory.degenerate_probability(p, g) == pytest.approx(degenerate, abs=1e-14)
    assert theory.informative_probability(p, g) == pytest.approx(1 - degenerate, abs=1e-14)


def test_unbiased_degenerate_estimator_exact_expectation():
    """Sum over the Binomial(n, p) law of c: the estimator's mean is f_g(p) exactly."""
    from scipy.stats import binom

    for n, g, p in [(8, 8, 0.1), (16, 8, 0.05), (20, 4, 0.3), (12, 2, 0.5)]:
        cs = np.arange(n + 1)
        est = theory.degenerate_probability_unbiased(n, cs, g)
        mean = float(np.sum(binom.pmf(cs, n, p) * est))
        assert mean == pytest.approx(theory.degenerate_probability(p, g), abs=1e-12)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: theory.p_star(1), "g must be an integer >= 2"),
        (lambda: theory.p_star(2.5), "g must be an integer >= 2"),
        (lambda: theory.p_star(8, level=1.5), "level must be"),
        (lambda: theory.advantage_variance(1.2, 8), r"p must be in \[0, 1\]"),
        (lambda: theory.advantage_variance(-0.1, 8), r"p must be in \[0, 1\]"),
        (lambda: theory.degenerate_probability(float("nan"), 8), "NaN"),
        (lambda: theory.pass_at_k(5, 2, 6), "k must be <= n"),
        (lambda: theory.pass_at_k(5, 6, 1), "c must be <= n"),
        (lambda: theory.pass_at_k(5, -1, 1), "c must be an integer >= 0"),
        (lambda: theory.pass_at_k(5, 1, 0), "k must be an integer >= 1"),
        (lambda: theory.degenerate_probability_unbiased(4, 1, 8), "g must be <= n"),
        (lambda: theory.min_group_size(0.0), "p must be in"),
        (lambda: theory.entropy_threshold(8, n_outcomes=1), "n_outcomes must be"),
        (lambda: theory.escape_probability(0.1, 8, -1), "steps must be"),
    ],
)
def test_bad_input_raises_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- properties
probs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
gs = st.integers(min_value=2, max_value=256)


@given(probs, gs)
def test_degenerate_symmetric(p, g):
    assert theory.degenerate_probability(p, g) == pytest.approx(
        theory.degenerate_probability(1 - p, g), abs=1e-12
    )


@given(st.integers(min_value=2, max_value=500))
def test_p_star_strictly_decreasing_in_g(g):
    assert theory.p_star(g + 1) < theory.p_star(g)
    assert 0 < theory.p_star(g) <= 0.5
    assert theory.degenerate_probability(theory.p_star(g), g) == pytest.approx(0.5, abs=1e-12)


@given(st.floats(min_value=1e-4, max_value=1 - 1e-4))
def test_min_group_size_consistent_with_p_star(p):
    g = theory.min_group_size(p)
    q = min(p, 1 - p)
    assert theory.degenerate_probability(p, g) <= 0.5
    if g > 2:
        assert theory.degenerate_probability(p, g - 1) > 0.5
        assert theory.p_star(g - 1) > q - 1e-12
    assert theory.p_star(g) <= q + 1e-12


def _dirichlet(draw):
    k = draw(st.integers(min_value=2, max_value=64))
    log_conc = draw(st.floats(min_value=-4, max_value=2))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    q = np.random.default_rng(seed).dirichlet(np.full(k, 10.0**log_conc))
    q = np.clip(q, 0, None)
    return k, q / q.sum()


@st.composite
def dirichlet_distributions(draw):
    return _dirichlet(draw)


@given(dirichlet_distributions(), st.sampled_from([2, 3, 4, 8, 16, 32, 64]))
def test_entropy_thresholds_bound_the_mode_mass(dist, g):
    k, q = dist
    h = theory.entropy(q)
    eps = 1.0 - q.max()
    low, high = theory.entropy_threshold(g, n_outcomes=k)
    ps = theory.p_star(g)
    if h < low - 1e-12:
        assert eps < ps
    if h > high + 1e-12:
        assert eps >= ps
    # both underlying inequalities hold themselves
    assert h >= min(theory.binary_entropy(min(eps, 0.5)), math.log(2)) - 1e-9
    assert h <= theory.binary_entropy(eps) + eps * math.log(k - 1) + 1e-9


@given(st.integers(2, 64), st.integers(2, 50), st.integers(1, 6))
def test_per_token_threshold_is_sequence_threshold_over_length(g, v, length):
    low, high = theory.entropy_threshold_per_token(g, v, length)
    if v**length < 2**62:
        seq_low, seq_high = theory.entropy_threshold(g, n_outcomes=v**length)
        assert low * length == pytest.approx(seq_low, rel=1e-12)
        assert high * length == pytest.approx(seq_high, rel=1e-9)
    assert 0 < low <= high


@given(st.integers(1, 60), st.data())
def test_estimators_in_range(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    assert 0.0 <= theory.pass_at_k(n, c, k) <= 1.0
    if n >= 2:
        g = data.draw(st.integers(2, n))
        assert 0.0 <= theory.degenerate_probability_unbiased(n, c, g) <= 1.0 + 1e-12
        assert 0.0 <= theory.degenerate_probability_plugin(n, c, g) <= 1.0


@given(probs, gs, st.integers(0, 1000))
def test_escape_probability_in_range_and_monotone(p, g, steps):
    e = theory.escape_probability(p, g, steps)
    assert 0.0 <= e <= 1.0
    assert theory.escape_probability(p, g, steps + 1) >= e - 1e-15


# ---------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("g", GROUPS)
def test_monte_carlo_degenerate_fraction(rng, g):
    p = theory.p_star(g)
    trials = 200_000
    c = rng.binomial(g, p, size=trials)
    frac = np.mean((c == 0) | (c == g))
    f = theory.degenerate_probability(p, g)
    se = math.sqrt(f * (1 - f) / trials)
    assert abs(frac - f) < 5 * se


def test_monte_carlo_unbiased_vs_plugin(rng):
    n, g, p = 8, 8, 0.15
    draws = 400_000
    c = rng.binomial(n, p, size=draws)
    truth = theory.degenerate_probability(p, g)
    unbiased = theory.degenerate_probability_unbiased(n, c, g)
    plugin = theory.degenerate_probability_plugin(n, c, g)
    se_u = unbiased.std() / math.sqrt(draws)
    se_p = plugin.std() / math.sqrt(draws)
    assert abs(unbiased.mean() - truth) < 5 * se_u
    assert plugin.mean() - truth > 20 * se_p  # biased upwards, measurably


def test_monte_carlo_pass_at_k_unbiased(rng):
    n, k, p = 20, 10, 0.07
    c = rng.binomial(n, p, size=200_000)
    est = theory.pass_at_k(n, c, k)
    truth = 1 - (1 - p) ** k
    assert abs(est.mean() - truth) < 5 * est.std() / math.sqrt(len(c))


# ---------------------------------------------------------------- spearman / paper
QWEN_H = [0.227, 0.163, 0.156, 0.171, 0.120]
QWEN_PASS1 = [0.151, 0.163, 0.159, 0.173, 0.187]
QWEN_PEAK10 = [0.806, 0.750, 0.671, 0.608, 0.481]


def test_paper_table1_spearman():
    r_h = theory.spearman(QWEN_H, QWEN_PEAK10)
    r_p = theory.spearman(QWEN_PASS1, QWEN_PEAK10)
    assert r_h.rho == pytest.approx(0.70, abs=1e-12)
    assert r_p.rho == pytest.approx(-0.90, abs=1e-12)
    # exact permutation p-value over 120 orderings: |rho| >= 0.9 happens 10 times in 120
    assert r_p.p_value == pytest.approx(10 / 120)
    assert r_p.ci_low <= r_p.rho <= r_p.ci_high


def test_spearman_seed_demeaning_removes_seed_offsets():
    # within each seed y decreases with x; seed offsets alone would give rho > 0
    x = np.array([1, 2, 3, 11, 12, 13, 21, 22, 23], dtype=float)
    y = np.array([3, 2, 1, 13, 12, 11, 23, 22, 21], dtype=float)
    seeds = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert theory.spearman(x, y).rho > 0.75
    r = theory.spearman(x, y, groups=seeds, n_permutations=500)
    assert r.rho == pytest.approx(-1.0)
    assert r.demeaned
    assert r.p_value < 0.05


def test_spearman_bad_input():
    with pytest.raises(ValueError, match="same length"):
        theory.spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="constant"):
        theory.spearman([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        theory.spearman([1, float("nan"), 3], [1, 2, 3])


def _brute_p(x, y, groups=None):
    """Two-sided permutation p by brute force: every within-seed permutation, scipy spearmanr."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xd, yd = ranks.demean(x, groups), ranks.demean(y, groups)
    obs = abs(scipy_stats.spearmanr(xd, yd).statistic)
    labels = np.zeros(len(x)) if groups is None else np.asarray(groups)
    blocks = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    hits = total = 0
    for combo in itertools.product(*[itertools.permutations(b) for b in blocks]):
        perm = np.arange(len(x))
        for b, pb in zip(blocks, combo, strict=True):
            perm[b] = pb
        r = scipy_stats.spearmanr(xd, yd[perm]).statistic
        hits += abs(r) >= obs - 1e-9
        total += 1
    return hits / total


def test_spearman_exact_p_matches_brute_force_with_ties_and_seeds():
    x = [0.1, 0.2, 0.2, 0.4, 0.3, 0.6]
    y = [0.9, 0.5, 0.7, 0.2, 0.4, 0.1]
    r = theory.spearman(x, y)
    assert r.p_method == "exact"
    assert r.p_value == pytest.approx(_brute_p(x, y))
    seeds = [0, 0, 0, 1, 1, 1]
    y2 = [0.3, 0.2, 0.25, 0.9, 0.7, 0.8]
    r = theory.spearman(x, y2, groups=seeds)
    assert r.p_method == "exact" and r.demeaned
    assert r.p_value == pytest.approx(_brute_p(x, y2, seeds))


def test_spearman_small_n_interval_is_not_the_percentile_bootstrap():
    # the percentile bootstrap returned [1, 1] for any monotone sample at n = 5
    r = theory.spearman([1, 2, 3, 4, 5], [2, 3, 5, 7, 11])
    assert r.rho == 1.0 and r.ci_method == "fisher-z"
    assert r.ci_low < 0.5 and r.ci_high <= 1.0
    assert theory.spearman(np.arange(20), np.arange(20) ** 2).ci_method == "bootstrap"


def test_fisher_z_interval_covers_at_small_n(rng):
    # bivariate normal with Spearman rho = 0.5: coverage of the nominal 95% interval
    n, rho_s, m = 6, 0.5, 1500
    r = 2 * math.sin(math.pi * rho_s / 6)
    z1 = rng.standard_normal((m, n))
    z2 = r * z1 + math.sqrt(1 - r * r) * rng.standard_normal((m, n))
    hits = 0
    for a, b in zip(z1, z2, strict=True):
        lo, hi = ranks.fisher_z_interval(scipy_stats.spearmanr(a, b).statistic, n)
        hits += lo <= rho_s <= hi
    assert hits / m >= 0.93


def test_power_is_the_test_size_at_rho_zero():
    # n = 5, exact test: p <= 0.05 only for |rho| = 1, i.e. 2 orderings of 120
    pw = ranks.permutation_power(0.0, 5, n_sim=20000)
    assert pw == pytest.approx(2 / 120, abs=4 * math.sqrt(2 / 120 / 20000))
    pw30 = ranks.permutation_power(0.0, 30, n_sim=4000)
    assert pw30 == pytest.approx(0.05, abs=4 * math.sqrt(0.05 * 0.95 / 4000))
    assert ranks.permutation_power(0.7, 30) > ranks.permutation_power(0.7, 10) > pw


def test_spearman_reports_power_and_methods():
    r = theory.spearman(QWEN_PASS1, QWEN_PEAK10)
    assert r.p_method == "exact" and r.ci_method == "fisher-z"
    assert r.power_rho == pytest.approx(-0.90)
    assert 0.05 < r.power < 0.5  # n = 5 cannot detect much


# ---------------------------------------------------------------- doctests
@pytest.mark.parametrize("module", [groups, estimators, entropy_mod, ranks])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, rankinv, rankinv.theory; "
        "print(sorted(m for m in ('jax', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- outcomes
def test_post_rl_never_counts_step_zero():
    from rankinv.theory import outcomes

    out = outcomes.post_rl([0, 10, 20], [0.9, 0.5, 0.6])
    assert (out.start, out.final, out.peak) == (0.9, 0.6, 0.6)
    assert out.gain == pytest.approx(-0.3)
    assert outcomes.is_doomed(out)
    assert not outcomes.is_doomed(outcomes.post_rl([0, 5], [0.2, 0.5]))
    with pytest.raises(ValueError, match="step >= 1"):
        outcomes.post_rl([0], [0.4])


def test_ladder_inverted():
    from rankinv.theory import outcomes

    assert outcomes.ladder_inverted([0.2, 0.3, 0.4], [0.8, 0.7, 0.5])
    assert not outcomes.ladder_inverted([0.2, 0.3, 0.4], [0.5, 0.6, 0.7])
    assert not outcomes.ladder_inverted([0.2, 0.4], [0.705, 0.7])  # within the margin
    with pytest.raises(ValueError, match="at least 2"):
        outcomes.ladder_inverted([0.1], [0.2])


def test_escape_probability_fractional_draws_match_an_epoch_sampler():
    """A shuffled-epoch sampler draws each prompt floor(v) or floor(v) + 1 times; the chance
    of at least one informative group matches Monte Carlo within 4 SE, and equals the
    integer formula at whole v."""
    rng = np.random.default_rng(0)
    p, g, n_prompts, batch, steps = 0.05, 8, 10, 3, 17  # v = 5.1 draws
    v = steps * batch / n_prompts
    trials = 20_000
    hits = 0
    for _ in range(trials // n_prompts):
        order = np.concatenate([rng.permutation(n_prompts) for _ in range(steps)])
        draws = np.bincount(order[: steps * batch], minlength=n_prompts)
        for d in draws:
            groups = rng.random((d, g)) < p
            s = groups.sum(-1)
            hits += bool(np.any((s > 0) & (s < g)))
    mc = hits / (trials // n_prompts * n_prompts)
    se = np.sqrt(mc * (1 - mc) / (trials // n_prompts * n_prompts))
    assert abs(theory.escape_probability(p, g, v) - mc) < 4 * se
    f = theory.degenerate_probability(p, g)
    assert theory.escape_probability(p, g, 5.0) == pytest.approx(1 - f**5)
    assert theory.escape_probability(p, g, 5.1) <= 1 - f**5.1 + 1e-15  # convexity


def test_min_detectable_rho_and_n_to_detect_agree_and_match_simulation():
    """The two are inverses (up to the integer ceiling), and at n = 30 a true Spearman rho at
    the detectable size is found by the permutation test about 80% of the time."""
    from rankinv.theory import ranks

    assert ranks.min_detectable_rho(3) is None and ranks.n_to_detect(0.0) is None
    for n in (10, 30, 100):
        r = ranks.min_detectable_rho(n)
        assert ranks.n_to_detect(r) in (n, n + 1)
    assert ranks.min_detectable_rho(100) < ranks.min_detectable_rho(30) < 1
    r30 = ranks.min_detectable_rho(30)
    # a bivariate normal with Pearson r has Spearman (6/pi) asin(r/2): invert for the target
    pearson = 2 * np.sin(np.pi * r30 / 6)
    pw = ranks.permutation_power(r30, 30, n_sim=1500)
    assert 0.7 < pw < 0.9, (pearson, pw)


def test_a_perfect_ranking_lies_inside_its_interval_and_n_to_detect_is_reachable():
    """A fresh-clone try: compare printed rho 1.0 with ci_high 0.998, and n_to_detect 4 where
    no ordering of 4 rows reaches p <= 0.05 (its smallest exact two-sided p is 2/4! = 0.083)."""
    import math

    from rankinv.theory import ranks

    for n in (4, 5, 8, 15):
        lo, hi = ranks.fisher_z_interval(1.0, n)
        assert lo < 1.0 and hi == 1.0
        lo, hi = ranks.fisher_z_interval(-1.0, n)
        assert lo == -1.0 and hi > -1.0
    assert ranks.min_reachable_n(0.05) == 5 and 2 / math.factorial(4) > 0.05
    assert ranks.n_to_detect(1.0) == 5 and ranks.n_to_detect(0.999) >= 5
    res = ranks.spearman([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert res.rho == 1.0 and res.ci_low <= res.rho <= res.ci_high
