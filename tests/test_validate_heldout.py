"""Held-out coverage: pass@k with its standard error over prompts and the shares of groups of
g, by hand, against brute force, by Monte Carlo, and on a real tiny model and sandbox."""

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankinv.errors import UserError
from rankinv.validate.heldout import HeldOutConfig, coverage_metrics


def test_by_hand():
    # prompt 1: 0 of 4 pass; prompt 2: 2 of 4. pass@2: 0 and 1 - C(2,2)/C(4,2) = 5/6
    m = coverage_metrics([4, 4], [0, 2], ks=(1, 2), g=2)
    assert m["pass_at_1"] == pytest.approx(0.25)
    assert m["pass_at_1_se"] == pytest.approx(0.25)  # sd of (0, 1/2) / sqrt 2 = |a - b| / 2
    assert m["pass_at_2"] == pytest.approx(5 / 12)
    assert m["pass_at_2_se"] == pytest.approx(5 / 12)
    # groups of 2: prompt 1 always all-fail; prompt 2 all-fail 1/6, all-pass 1/6
    assert m["all_fail_fraction"] == pytest.approx((1 + 1 / 6) / 2)
    assert m["all_pass_fraction"] == pytest.approx(1 / 12)
    assert m["informative_fraction"] == pytest.approx(1 / 3)
    assert m["n_prompts"] == 2 and m["group_size"] == 2


def _brute_pass_at_k(n, c, k):
    outcomes = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


def _brute_share(n, c, g, value):
    outcomes = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(outcomes, g))
    return sum(all(x == value for x in s) for s in subsets) / len(subsets)


@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=5),
    st.integers(6, 7),
    st.integers(2, 6),
)
def test_against_brute_force(cs, n, k):
    ns = [n] * len(cs)
    m = coverage_metrics(ns, cs, ks=(1, k), g=k)
    x = [_brute_pass_at_k(n, c, k) for c in cs]
    assert m[f"pass_at_{k}"] == pytest.approx(np.mean(x))
    if len(cs) > 1:
        assert m[f"pass_at_{k}_se"] == pytest.approx(np.std(x, ddof=1) / math.sqrt(len(cs)))
    else:
        assert m[f"pass_at_{k}_se"] is None
    fail = np.mean([_brute_share(n, c, k, 0) for c in cs])
    win = np.mean([_brute_share(n, c, k, 1) for c in cs])
    assert m["all_fail_fraction"] == pytest.approx(fail)
    assert m["all_pass_fraction"] == pytest.approx(win)
    assert m["informative_fraction"] == pytest.approx(1 - fail - win)
    assert 0 <= m["informative_fraction"] <= 1


def test_standard_error_matches_the_spread_of_repeated_evaluations():
    """Prompts drawn from a population (p ~ Beta(0.5, 1.5)), n samples each: the SE of one
    evaluation estimates the sd of pass@k over repeated evaluations (Monte Carlo), and the
    mean is the population's pass@k, 1 - E(1 - p)^k."""
    rng = np.random.default_rng(0)
    n, k, prompts, reps = 8, 4, 40, 1500
    vals, ses = [], []
    for _ in range(reps):
        p = rng.beta(0.5, 1.5, prompts)
        c = rng.binomial(n, p)
        m = coverage_metrics([n] * prompts, c, ks=(k,), g=None)
        vals.append(m[f"pass_at_{k}"])
        ses.append(m[f"pass_at_{k}_se"])
    sd = np.std(vals, ddof=1)
    assert np.mean(ses) == pytest.approx(sd, rel=0.06)
    q = rng.beta(0.5, 1.5, 2_000_000)
    truth = 1 - np.mean((1 - q) ** k)
    assert np.mean(vals) == pytest.approx(truth, abs=4 * sd / math.sqrt(reps))


def test_config_checks():
    assert HeldOutConfig(samples=8, ks=(4,)).ks == (1, 4)  # pass@1 always
    assert HeldOutConfig(samples=4, ks=(2,)).g == 4  # min(8, samples)
    with pytest.raises(UserError, match="every k must be"):
        HeldOutConfig(samples=4, ks=(8,))
    with pytest.raises(UserError, match="group size 8 needs samples >= 8"):
        HeldOutConfig(samples=4, ks=(2,), group_size=8)
    with pytest.raises(UserError, match="samples must be"):
        HeldOutConfig(samples=0, ks=())
    with pytest.raises(UserError, match="one \\(n, c\\) pair per prompt"):
        coverage_metrics([], [], ks=(1,), g=None)


def _task(i, test):
    from rankinv.sandbox.tasks import Task

    # the completion lands in a comment: any text without a line break leaves it valid
    return Task(f"t/{i}", "def f():\n    return 1  # ", "f", test, "\n")


@pytest.fixture(scope="module")
def tiny_engine(tmp_path_factory):
    """A random tiny Qwen2 whose vocabulary holds only the characters of a few lines (so no
    completion holds a NUL byte or a carriage return: only "\n" breaks a line)."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import build_model, closed_tokenizer

    from rankinv.validate.engines.hf import HFEngine

    tok = closed_tokenizer(["def f():\n    return 1  # abc xyz\n"] * 20)
    return HFEngine(build_model("qwen2", tmp_path_factory.mktemp("heldout"), tok))


def test_evaluate_counts_what_the_sandbox_says(tiny_engine):
    """A real tiny model samples, the sandbox judges: tests that pass for any completion give
    pass@k = 1, tests that never pass 0, whatever the random model writes."""
    from rankinv.sandbox.executor import Sandbox
    from rankinv.validate.heldout import evaluate

    tasks = [
        _task(0, "def check(candidate):\n    assert candidate() == 1\n"),
        _task(1, "def check(candidate):\n    assert candidate() == 2\n"),
        _task(2, "def check(candidate):\n    assert candidate() == 1\n"),
        _task(3, "def check(candidate):\n    assert candidate() == 1\n"),
    ]
    cfg = HeldOutConfig(samples=4, ks=(2,), max_new_tokens=6, stop=("\n",))
    with Sandbox(1) as sb:
        m = evaluate(tiny_engine, tasks, cfg, sb, seed=3)
    assert m["eval/n_prompts"] == 4 and m["eval/samples"] == 4
    assert m["eval/pass_at_1"] == pytest.approx(0.75)
    assert m["eval/pass_at_2"] == pytest.approx(0.75)
    assert m["eval/pass_at_2_se"] == pytest.approx(np.std([1, 0, 1, 1], ddof=1) / 2)
    assert m["eval/all_fail_fraction"] == pytest.approx(0.25)
    assert m["eval/all_pass_fraction"] == pytest.approx(0.75)
    assert m["eval/informative_fraction"] == pytest.approx(0.0)
    assert m["eval/group_size"] == 4 and m["eval/seconds"] > 0
