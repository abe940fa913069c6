"""Simulator: JAX == NumPy reference step for step, Monte Carlo vs closed forms, the
inversion on the quick preset, determinism, validated configs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rankinv import theory
from rankinv.simulate import SimConfig, preset, run_sweep
from rankinv.simulate.grpo import (
    arrays_of,
    draw_groups,
    hyper_of,
    rl_step,
    sft_step,
    shapes_of,
    surrogate_grad_z,
    uniform_shape,
)
from rankinv.simulate.numeric import dynamic_p_star, p_star_monte_carlo
from rankinv.simulate.reference import NumpyReference
from rankinv.simulate.sampling import (
    gather_tokens,
    hash_uniform,
    sample_onehot,
    sample_tokens,
    success_probability,
)
from rankinv.simulate.tasks import make_task

VARIANTS = [
    {},
    {"policy": "tabular", "seq_len": 1},
    {"policy": "shared", "seq_len": 1},
    {"ppo_epochs": 3, "kl_beta": 0.05, "entropy_coef": 0.02, "advantage": "std"},
    {"dynamic_sampling": True},
    {"label_smoothing": 0.1, "rl_lr": 2.0, "ppo_epochs": 2},
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_jax_update_equals_numpy_reference(overrides):
    """The engine on the legacy policies (free table, shared features; summed losses)."""
    assert jax.config.jax_enable_x64
    cfg = SimConfig(n_prompts=16, **overrides)
    task = make_task(cfg)
    ref = NumpyReference(cfg, task)
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    arrays = arrays_of(cfg, task, 0)
    step = jax.jit(lambda th, u, ref_logp: rl_step(th, arrays, ref_logp, u, None, hyp, shp))
    th_j, th_n = jnp.asarray(ref.init()), ref.init()
    for _ in range(5):
        th_j = sft_step(th_j, arrays, hyp, shp)
        th_n = ref.sft_step(th_n, arrays.demo)
    np.testing.assert_allclose(np.asarray(th_j), th_n, atol=1e-12)
    ref_logp = jax.nn.log_softmax(jnp.asarray(ref.logits(th_n)), -1)
    rng = np.random.default_rng(0)
    moved = 0.0
    for _ in range(20):
        u = rng.random(uniform_shape(shp))
        th_j, _ = step(th_j, jnp.asarray(u), ref_logp)
        th_n, _ = ref.rl_step(th_n, u, np.asarray(ref_logp))
        np.testing.assert_allclose(np.asarray(th_j), th_n, atol=1e-10)
        moved = max(moved, float(np.abs(th_n).max()))
    assert moved > 0.1  # the updates did something


def test_ppo_clipping_engages_in_reference_test():
    """The clipped variant above must actually clip some tokens, else it tests nothing."""
    cfg = SimConfig(n_prompts=16, ppo_epochs=3, rl_lr=2.0)
    task = make_task(cfg)
    ref = NumpyReference(cfg, task)
    theta = ref.init()
    logp0 = np.log(np.exp(ref.logits(theta)) / np.exp(ref.logits(theta)).sum(-1, keepdims=True))
    u = np.random.default_rng(1).random(uniform_shape(shapes_of(cfg)))
    theta1, _ = ref.rl_step(theta, u)
    from rankinv.simulate.reference import log_softmax

    tokens = ref.sample(logp0, u)
    i_n = np.arange(16)[:, None, None]
    i_t = np.arange(cfg.seq_len)[None, None, :]
    ratio = np.exp(log_softmax(ref.logits(theta1))[i_n, i_t, tokens] - logp0[i_n, i_t, tokens])
    assert np.any((ratio > 1 + cfg.clip_high) | (ratio < 1 - cfg.clip_low))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"policy": "shared", "seq_len": 1},
        {"kl_beta": 0.05, "entropy_coef": 0.02, "advantage": "std"},
        {"dynamic_sampling": True},
    ],
)
def test_closed_form_first_epoch_equals_autodiff_of_clipped_surrogate(overrides):
    """At the sampling policy (ratio 1) the hand-derived gradient is autodiff's of the
    summed legacy loss, taken through the policy's parameters."""
    cfg = SimConfig(n_prompts=16, **overrides)
    task = make_task(cfg)
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    arrays = arrays_of(cfg, task, 0)
    rng = np.random.default_rng(5)
    theta = jnp.asarray(
        rng.normal(0, 0.5, (shp.n_feat or cfg.n_prompts, cfg.seq_len, cfg.n_answers))
    )
    phi = jnp.asarray(arrays.features)

    def logits(th):
        return arrays.base_logits + (jnp.einsum("nf,flv->nlv", phi, th) if shp.n_feat else th)

    logp = jax.nn.log_softmax(logits(theta), -1)
    ref_logp = jax.nn.log_softmax(logits(0.5 * theta), -1)
    u = jnp.asarray(rng.random(uniform_shape(shp)))
    hit, rewards, weight, _ = draw_groups(logp, jnp.asarray(task.correct), u, shp)
    adv = rewards - rewards.mean(-1, keepdims=True)
    old = gather_tokens(logp, hit)
    gz = surrogate_grad_z(logp, hit, adv, weight, old, ref_logp, hyp, shp)
    closed = jnp.einsum("nf,nlv->flv", phi, gz) if shp.n_feat else gz
    g, length = cfg.group_size, cfg.seq_len

    def loss(th):
        lp = jax.nn.log_softmax(logits(th), -1)
        ratio = jnp.exp(gather_tokens(lp, hit) - old)
        a = adv[..., None]
        obj = jnp.minimum(ratio * a, jnp.clip(ratio, 1 - cfg.clip_low, 1 + cfg.clip_high) * a)
        pi = jnp.exp(lp)
        kl = jnp.sum(pi * (lp - ref_logp), -1)
        ent = -jnp.sum(pi * lp, -1)
        return (
            -jnp.sum(obj * weight[:, None, None]) / (g * length)
            + cfg.kl_beta * jnp.sum(kl) / length
            - cfg.entropy_coef * jnp.sum(ent) / length
        )

    auto = jax.grad(loss)(theta)
    assert float(jnp.abs(auto).max()) > 1e-3  # a gradient that is not zero
    np.testing.assert_allclose(np.asarray(closed), np.asarray(auto), atol=1e-12)


@pytest.mark.parametrize("vocab", [8, 40])  # masked-sum CDF and cumsum CDF
def test_onehot_sampling_equals_inverse_cdf_counting(vocab):
    """token = #{v : u >= cdf[v]} (clipped to V - 1), the NumPy reference's rule."""
    cfg = SimConfig(n_prompts=64, n_answers=vocab)
    task = make_task(cfg)
    ref = NumpyReference(cfg, task)
    logp = np.asarray(jax.nn.log_softmax(jnp.asarray(task.base_logits), -1))
    u = np.random.default_rng(2).random(uniform_shape(shapes_of(cfg)))
    u[0, 0, 0] = 1.0 - 1e-16  # above cdf[V - 1] after rounding: the last token
    hit = np.asarray(sample_onehot(jnp.asarray(logp), jnp.asarray(u)))
    assert np.all(hit.sum(-1) == 1)
    np.testing.assert_array_equal(
        np.asarray(sample_tokens(jnp.asarray(logp), jnp.asarray(u))), ref.sample(logp, u)
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_hash_uniform_is_uniform_and_independent(dtype):
    """The simulator's counter-hash uniforms: KS against U(0, 1), moments within 5 SE,
    no correlation between neighbouring counters or between keys one apart."""
    from scipy import stats

    n = 200_000
    keys = jax.random.bits(jax.random.PRNGKey(0), (3, 2), jnp.uint32)
    draws = [np.asarray(hash_uniform(k, (n,), dtype), dtype=np.float64) for k in keys]
    u = draws[0]
    assert u.dtype == np.float64 and 0.0 <= u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    se_mean = np.sqrt(1 / 12 / n)
    assert abs(u.mean() - 0.5) < 5 * se_mean
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    se_r = 1 / np.sqrt(n)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 * se_r
    assert abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 5 * se_r
    close = np.asarray(keys[0]).copy()
    close[1] ^= 1  # keys that differ in one bit
    v = np.asarray(hash_uniform(jnp.asarray(close), (n,), dtype), dtype=np.float64)
    assert abs(np.corrcoef(u, v)[0, 1]) < 5 * se_r
    # 2-D uniformity of consecutive pairs: chi-square over a 16 x 16 grid
    cells = (np.floor(u[0::2] * 16) * 16 + np.floor(u[1::2] * 16)).astype(int)
    counts = np.bincount(cells, minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-4
    if dtype == jnp.float64:  # more than float32's 24 bits
        assert np.any((u * 2.0**24) % 1.0 != 0.0)


def test_sampled_groups_match_degenerate_probability():
    """Per prompt, the share of degenerate groups over many draws is within 5 SE of f_g(p)."""
    cfg = SimConfig(n_prompts=32, base_beta=(1.0, 1.0))
    task = make_task(cfg)
    shp = shapes_of(cfg)
    logp = jax.nn.log_softmax(jnp.asarray(task.base_logits), -1)
    p = np.asarray(success_probability(logp, jnp.asarray(task.correct)))
    np.testing.assert_allclose(p, task.base_p, rtol=1e-9)  # the task hits its target p
    draws = 4000
    keys = jax.random.bits(jax.random.PRNGKey(3), (draws, 2), jnp.uint32)

    def one(key):  # the uniforms the simulator's training loop uses
        u = hash_uniform(key, uniform_shape(shp), dtype=logp.dtype)
        _, rewards, _, _ = draw_groups(logp, jnp.asarray(task.correct), u, shp)
        s = rewards.sum(-1)
        return (s == 0) | (s == cfg.group_size)

    frac = np.asarray(jax.lax.map(one, keys)).mean(0)
    f = theory.degenerate_probability(p, cfg.group_size)
    se = np.sqrt(f * (1 - f) / draws) + 1e-12
    assert np.all(np.abs(frac - f) < 5 * se + 1e-9)


@pytest.mark.parametrize("g", [8, 16])
def test_p_star_monte_carlo_matches_theory(g):
    mc = p_star_monte_carlo(g, n_groups=100_000)
    assert abs(mc["p_star_numeric"] - theory.p_star(g)) < max(5 * mc["se"], 1e-3)
    if g == 8:
        assert abs(mc["p_star_numeric"] - 0.083) < 0.002


def test_dynamic_p_star_lies_between_first_signal_and_static():
    r = dynamic_p_star(8, steps=50, seeds=8)
    assert r["p_first_signal_half"] < r["p_star_dynamic"] < r["p_star_analytic"]


def test_quick_preset_shows_inversion(tmp_path):
    r = run_sweep(preset("quick"), out=tmp_path, p_star_groups=40_000)
    assert r["spearman_pre_pass1_vs_post"]["rho"] < -0.5
    assert r["spearman_entropy_vs_post"]["rho"] > 0.5
    assert r["inversion"] is True
    bd = r["by_depth"]
    # deeper SFT: higher pass@1, lower entropy, more all-fail groups (stranded prompts)
    assert bd["pre_pass_at_1"][-1] > bd["pre_pass_at_1"][0]
    assert bd["pre_entropy"][-1] < bd["pre_entropy"][0]
    assert bd["all_fail_pre"][-1] > bd["all_fail_pre"][0] + 0.1
    for key in [
        "config",
        "depths",
        "pre",
        "post",
        "k",
        "spearman_pre_pass1_vs_post",
        "spearman_entropy_vs_post",
        "inversion",
        "p_star_numeric",
        "p_star_analytic",
        "elapsed_s",
        "work",
    ]:
        assert key in r
    assert set(r["work"]) >= {"runs", "rl_steps", "group_size", "n_prompts", "n_answers"}
    assert len(list((tmp_path / "logs").glob("*.jsonl"))) == 15
    again = run_sweep(preset("quick"), out=tmp_path)  # resumes from the artifact
    assert again.get("resumed") and again["pre"] == r["pre"]


def test_sweep_does_not_resume_results_of_another_simulator_revision(tmp_path, monkeypatch):
    from rankinv.simulate import sweep

    cfg = SimConfig(n_prompts=8, rl_steps=10, eval_every=5, sft_depths=(1.0, 2.0), seeds=2)
    run_sweep(cfg, out=tmp_path, p_star_groups=2_000)
    assert run_sweep(cfg, out=tmp_path, p_star_groups=2_000).get("resumed")
    monkeypatch.setattr(sweep, "SIMULATOR_REVISION", sweep.SIMULATOR_REVISION + 1)
    assert not run_sweep(cfg, out=tmp_path, p_star_groups=2_000).get("resumed")


def test_high_base_clean_demonstrations_no_inversion():
    r = run_sweep(preset("high-base"), p_star_groups=10_000)
    assert r["inversion"] is False
    assert max(r["by_depth"]["all_fail_pre"]) < 0.05


def test_determinism_by_seed():
    cfg = SimConfig(n_prompts=16, rl_steps=20, sft_depths=(1.0, 4.0), seeds=2)
    from rankinv.simulate.sweep import run_batch

    a = run_batch(cfg)
    b = run_batch(cfg)
    np.testing.assert_array_equal(a[1].pass_at_k, b[1].pass_at_k)
    c = run_batch(cfg.replace(task_seed=1))
    assert not np.array_equal(a[1].pass_at_k, c[1].pass_at_k)
    # the two seeds of one depth differ (RL sampling and demonstrations)
    assert not np.array_equal(a[1].pass_at_k[0], a[1].pass_at_k[1])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"group_size": 1}, "group_size must be an integer >= 2"),
        ({"rl_steps": -5}, "rl_steps must be"),
        ({"policy": "mlp"}, "policy must be one of"),
        ({"advantage": "rank"}, "advantage must be"),
        ({"ks": (0,)}, "ks must be positive"),
        ({"sft_depths": (-1.0,)}, "sft_depths"),
        ({"policy": "tabular", "seq_len": 3}, "seq_len must be 1"),
        ({"n_correct": 8, "n_answers": 8}, "n_correct must be <"),
        ({"demo_correct_fraction": 1.5}, "demo_correct_fraction"),
        ({"eval_every": 500, "rl_steps": 100}, "eval_every"),
        ({"clip_low": 1.5}, "clip_low"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimConfig(**kwargs)


def test_derive_saves_each_piece_and_resumes_after_an_interruption(tmp_path, monkeypatch):
    from rankinv.simulate import derive as dv

    base = SimConfig(n_prompts=8, rl_steps=10, eval_every=5, sft_depths=(1.0, 4.0), seeds=2)
    monkeypatch.setattr(dv, "GROUP_SIZES", (4, 8))
    monkeypatch.setattr(dv, "MITIGATIONS", {k: dv.MITIGATIONS[k] for k in list(dv.MITIGATIONS)[:3]})
    monkeypatch.setattr(dv, "CONTROLS", dict(list(dv.CONTROLS.items())[:1]))
    real_mitigation_row = dv.mitigation_row
    calls = []

    def p_star_row(g):  # the Monte Carlo and dynamic p* have tests of their own
        calls.append(f"p {g}")
        return {"g": g, "p_star_analytic": theory.p_star(g)}

    def interrupted(cfg, name):
        calls.append(name)
        if len([c for c in calls if not c.startswith("p ")]) == 2:
            raise KeyboardInterrupt
        return real_mitigation_row(cfg, name)

    monkeypatch.setattr(dv, "p_star_row", p_star_row)
    monkeypatch.setattr(dv, "mitigation_row", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dv.derive(base, tmp_path)
    import json

    saved = json.loads((tmp_path / "derive.json").read_text())
    assert saved["complete"] is False
    assert set(saved["parts"]) == {
        "p_star g=4",
        "p_star g=8",
        "entropy threshold",
        "mitigation none",
    }
    calls.clear()
    monkeypatch.setattr(
        dv, "mitigation_row", lambda cfg, name: calls.append(name) or real_mitigation_row(cfg, name)
    )
    full = dv.derive(base, tmp_path)
    assert calls == list(dv.MITIGATIONS)[1:]  # nothing finished before was recomputed
    assert full["complete"] and full["resumed_parts"] == sorted(saved["parts"])
    assert [r["mitigation"] for r in full["mitigations"]] == list(dv.MITIGATIONS)
    assert full["mitigations"][0]["deep_gain_vs_none"] == 0.0
    assert full["p_star"][1]["p_star_analytic"] == theory.p_star(8)
    # another configuration in the same directory starts afresh (pieces stubbed: fast)
    calls.clear()
    monkeypatch.setattr(dv, "entropy_sweep", lambda cfg: calls.append("H") or {})
    monkeypatch.setattr(dv, "control_row", lambda cfg, name: calls.append(name) or {})
    other = dv.derive(base.replace(rl_steps=12), tmp_path)
    assert other["resumed_parts"] == [] and calls[:3] == ["p 4", "p 8", "H"]


def test_regime_preset_reports_each_seeds_within_ladder_rhos():
    """`rankinv simulate --preset qwen-like --seeds 2 --json`: per seed, the rho of pre-RL
    pass@k and of pre-RL pass@1 against final post-RL pass@k; each seed's rate tuned."""
    import json

    from typer.testing import CliRunner

    from rankinv.cli import app

    args = ["simulate", "--preset", "qwen-like", "--seeds", "2", "--rl-steps", "20", "--json"]
    res = CliRunner().invoke(app, [*args, "--depths", "0.5,2,16"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [s["seed"] for s in data["seeds"]] == [0, 1]
    for s in data["seeds"]:
        assert set(s) == {"seed", "rho_pass_at_k", "rho_pass_at_1"}
        assert s["rho_pass_at_k"] is None or -1.0 <= s["rho_pass_at_k"] <= 1.0
    tuned = data["rl_lr_tuned"]
    assert len(tuned["rl_lr"]) == 2 and all(
        lr in preset("qwen-like").rl_lr_grid for lr in tuned["rl_lr"]
    )
    for lr, sweep in zip(tuned["rl_lr"], tuned["sweep"], strict=True):
        assert sweep[f"{lr:g}"] == max(sweep.values())
    # the per-seed rho is the plain Spearman rho of that seed's rungs
    from scipy.stats import spearmanr

    seeds = np.asarray(data["run_seeds"])
    m = seeds == 0
    pre_k = np.asarray(data["pre"]["pass_at_k"])[m]
    post = np.asarray(data["post"]["final_pass_at_k"])[m]
    assert data["seeds"][0]["rho_pass_at_k"] == pytest.approx(spearmanr(pre_k, post).statistic)
