"""The engine (grpo.py) on the generalising (family) policy: JAX == NumPy reference for
every GRPO variant, the closed-form gradient == autodiff of the clipped surrogate, the clip
engages at ppo_epochs 2, DAPO fills its batch, std advantages use the sample std,
families generalise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rankinv.simulate import SimConfig, preset
from rankinv.simulate.grpo import (
    advantages,
    arrays_of,
    dapo_weight,
    hyper_of,
    make_train,
    rl_step,
    sft_step,
    shapes_of,
    surrogate_grad_z,
)
from rankinv.simulate.reference import FamilyReference, log_softmax
from rankinv.simulate.sampling import gather_tokens, sample_onehot
from rankinv.simulate.tasks import make_demonstrations, make_task

BASE = dict(
    policy="family",
    n_families=4,
    n_prompts=24,
    n_heldout=8,
    batch_size=6,
    n_features=6,
    seq_len=3,
    n_answers=6,
    group_size=4,
    rl_lr=3.0,
    sft_lr=4.0,
)

VARIANTS = {
    "dr-grpo": {},
    "grpo-std-ppo2": {"advantage": "std", "ppo_epochs": 2},
    "kl+entropy": {"kl_beta": 0.1, "entropy_coef": 0.05, "ppo_epochs": 2},
    "clip-higher-ppo3": {"ppo_epochs": 3, "clip_high": 0.28, "rl_lr": 8.0},
    "dapo": {"dynamic_sampling": True, "ds_budget": 3, "advantage": "std", "ppo_epochs": 2},
    "full-batch+smoothing": {"batch_size": 0, "label_smoothing": 0.1},
}


def _setup(overrides):
    cfg = SimConfig(**{**BASE, **overrides})
    task = make_task(cfg)
    return cfg, task, FamilyReference(cfg, task), shapes_of(cfg), hyper_of(cfg)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_engine_equals_numpy_reference(name):
    assert jax.config.jax_enable_x64
    cfg, task, ref, shp, hyp = _setup(VARIANTS[name])
    arrays = arrays_of(cfg, task, 0)
    th_j, th_n = jnp.zeros(ref.init().shape), ref.init()
    for _ in range(6):
        th_j = sft_step(th_j, arrays, hyp, shp)
        th_n = ref.sft_step(th_n, arrays.demo)
    np.testing.assert_allclose(np.asarray(th_j), th_n, atol=1e-12)
    ref_logp = log_softmax(ref.logits(th_n))
    step = jax.jit(lambda th, u, idx: rl_step(th, arrays, ref_logp, u, idx, hyp, shp))
    rng = np.random.default_rng(0)
    moved = 0.0
    for _ in range(15):
        idx = rng.permutation(cfg.n_prompts)[: cfg.candidates]
        u = rng.random((cfg.candidates, cfg.group_size, cfg.seq_len))
        th_j, sampled = step(th_j, jnp.asarray(u), jnp.asarray(idx))
        th_n, weight = ref.rl_step(th_n, u, idx, ref_logp)
        np.testing.assert_allclose(np.asarray(th_j), th_n, atol=1e-10)
        assert float(sampled[4]) == pytest.approx(weight.sum() / cfg.batch)
        moved = max(moved, float(np.abs(th_n).max()))
    assert moved > 0.1


def _moved_batch(overrides, seed=3):
    cfg, task, ref, shp, hyp = _setup(overrides)
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.5, ref.init().shape)
    idx = rng.permutation(cfg.n_prompts)[: cfg.candidates]
    base, phi = task.base_logits[idx], task.features[idx]
    logp = log_softmax(base + np.einsum("mf,flv->mlv", phi, theta))
    u = rng.random((cfg.candidates, cfg.group_size, cfg.seq_len))
    hit = sample_onehot(jnp.asarray(logp), jnp.asarray(u))
    rewards = jnp.all(gather_tokens(jnp.asarray(task.correct[idx]), hit), -1).astype(float)
    return cfg, hyp, base, phi, theta, hit, rewards


@pytest.mark.parametrize("name", ["grpo-std-ppo2", "kl+entropy", "dapo"])
def test_closed_form_gradient_equals_autodiff_of_clipped_surrogate_off_ratio_one(name):
    """At a policy that has moved from the sampling one (ratios far from 1, some clipped)."""
    cfg, hyp, base, phi, theta, hit, rewards = _moved_batch(VARIANTS[name])
    hyp = hyp._replace(kl_beta=0.1, entropy_coef=0.05)
    adv = advantages(rewards, hyp)
    weight = dapo_weight(rewards, cfg.batch) if cfg.dynamic_sampling else jnp.ones(len(base))
    z_old = jnp.asarray(base + np.einsum("mf,flv->mlv", phi, theta))
    old = gather_tokens(jax.nn.log_softmax(z_old, -1), hit)
    ref = jax.nn.log_softmax(z_old * 0.7, -1)
    b, g, length = cfg.batch, cfg.group_size, cfg.seq_len

    def loss(z):
        lp = jax.nn.log_softmax(z, -1)
        ratio = jnp.exp(gather_tokens(lp, hit) - old)
        a = adv[..., None]
        obj = jnp.minimum(ratio * a, jnp.clip(ratio, 1 - hyp.clip_low, 1 + hyp.clip_high) * a)
        pi = jnp.exp(lp)
        kl = jnp.sum(pi * (lp - ref), -1)
        ent = -jnp.sum(pi * lp, -1)
        return (
            -jnp.sum(obj * weight[:, None, None]) / (g * length * b)
            + hyp.kl_beta * jnp.sum(kl) / (length * b)
            - hyp.entropy_coef * jnp.sum(ent) / (length * b)
        )

    z = z_old + 0.6 * jnp.asarray(np.random.default_rng(9).normal(size=z_old.shape))
    lp = jax.nn.log_softmax(z, -1)
    ratio = np.asarray(jnp.exp(gather_tokens(lp, hit) - old))
    assert np.any(ratio > 1 + hyp.clip_high) and np.any(ratio < 1 - hyp.clip_low)
    shp = shapes_of(cfg)._replace(penalties=True)  # the coefficients set above
    closed = surrogate_grad_z(lp, hit, adv, weight, old, ref, hyp, shp)
    np.testing.assert_allclose(np.asarray(closed), np.asarray(jax.grad(loss)(z)), atol=1e-12)


def test_clip_engages_with_two_ppo_epochs_and_changes_the_update():
    """With ppo_epochs = 2 the second epoch sees ratios outside [1 - eps, 1 + eps_high], and
    the clipped update differs from the same update with the clip opened wide."""
    cfg, task, ref, shp, hyp = _setup({"ppo_epochs": 2, "rl_lr": 40.0, "advantage": "std"})
    theta = ref.init()
    rng = np.random.default_rng(1)
    idx = rng.permutation(cfg.n_prompts)[: cfg.batch]
    u = rng.random((cfg.batch, cfg.group_size, cfg.seq_len))
    ref_logp = log_softmax(ref.logits(theta))
    one = SimConfig(**{**BASE, "ppo_epochs": 1, "rl_lr": 40.0, "advantage": "std"})
    th1, _ = FamilyReference(one, task).rl_step(theta, u, idx, ref_logp)
    logp0 = log_softmax(ref.logits(theta))[idx]
    logp1 = log_softmax(ref.logits(th1))[idx]
    cdf = np.cumsum(np.exp(logp0), -1)
    tokens = np.minimum((u[..., None] >= cdf[:, None]).sum(-1), cfg.n_answers - 1)
    i_m, i_t = np.arange(cfg.batch)[:, None, None], np.arange(cfg.seq_len)[None, None, :]
    ratio = np.exp(logp1[i_m, i_t, tokens] - logp0[i_m, i_t, tokens])
    assert np.mean((ratio > 1 + cfg.clip_high) | (ratio < 1 - cfg.clip_low)) > 0.05
    th2, _ = ref.rl_step(theta, u, idx, ref_logp)
    wide = FamilyReference(cfg.replace(clip_low=0.99, clip_high=1e6), task)
    th2_wide, _ = wide.rl_step(theta, u, idx, ref_logp)
    assert np.abs(th2 - th2_wide).max() > 1e-3


def test_dapo_fills_its_batch_and_drops_zero_variance_groups():
    r = jnp.asarray(
        [[0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 1, 0]],
        dtype=float,
    )
    np.testing.assert_array_equal(np.asarray(dapo_weight(r, 2)), [0, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(np.asarray(dapo_weight(r, 9)), [0, 1, 0, 1, 1, 1])
    # in training: from hard prompts, DAPO keeps a full batch where one draw of B would not
    cfg = SimConfig(
        **{**BASE, "dynamic_sampling": True, "ds_budget": 4, "base_beta": (1.0, 3.0)},
        rl_steps=20,
        sft_depths=(0.0,),
    )
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    arrays = arrays_of(cfg, make_task(cfg), 0)
    _, per_step, _ = jax.jit(make_train(shp))(jax.random.PRNGKey(0), 0, arrays, hyp)
    filled, informative = np.asarray(per_step.filled), np.asarray(per_step.informative)
    assert informative.mean() < 0.9  # single draws of B would train on degenerate groups
    assert filled.mean() > informative.mean() + 0.05
    assert np.all(filled <= 1.0)


def test_std_advantage_uses_the_sample_std():
    r = jnp.asarray([[1.0, 0.0, 0.0, 0.0]])
    hyp = hyper_of(SimConfig(**BASE, advantage="std"))._replace(std_eps=0.0)
    adv = np.asarray(advantages(r, hyp))[0]
    sample_std = np.std([1, 0, 0, 0], ddof=1)  # 0.5, the population std is 0.433
    np.testing.assert_allclose(adv, (np.array([1, 0, 0, 0]) - 0.25) / sample_std)


def test_family_sft_on_wrong_demos_hurts_unseen_prompts_and_rl_lifts_neighbours():
    """SFT on a family's wrong demonstrations lowers that family's held-out p; RL on the
    training prompts alone raises the held-out pass@1 (transfer through the family)."""
    cfg = preset("family").replace(rl_steps=60, seeds=1, sft_depths=(0.0, 8.0))
    task = make_task(cfg)
    ref = FamilyReference(cfg, task)
    demo, ok = make_demonstrations(cfg, task, 0)
    fam = task.family
    fam_tr = fam[: cfg.n_prompts]
    wrong_share = np.bincount(fam_tr, weights=~ok) / np.bincount(fam_tr)
    bad = np.flatnonzero(wrong_share == 1.0)
    assert len(bad) == cfg.wrong_families
    theta = ref.init()
    for _ in range(32):
        theta = ref.sft_step(theta, demo)

    def p_of(th):
        logp = log_softmax(ref.logits(th))
        return np.where(task.correct, np.exp(logp), 0).sum(-1).prod(-1)

    p0, p1 = p_of(ref.init()), p_of(theta)
    held = np.arange(cfg.n_prompts, cfg.n_prompts + cfg.n_heldout)
    in_bad = np.isin(fam[held], bad)
    assert p1[held][in_bad].mean() < p0[held][in_bad].mean() - 0.02
    assert p1[held][~in_bad].mean() > p0[held][~in_bad].mean() + 0.1
    # RL from the base: held-out prompts are never trained on, yet they improve
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    arrays = arrays_of(cfg, task, 0)
    _, per_step, final = jax.jit(make_train(shp))(jax.random.PRNGKey(1), 0, arrays, hyp)
    assert float(final.heldout_pass[0]) > float(per_step.heldout_pass[0, 0]) + 0.05


def test_engine_train_is_deterministic_and_seed_dependent():
    cfg = SimConfig(**BASE, rl_steps=10, sft_depths=(1.0,))
    shp, hyp = shapes_of(cfg), hyper_of(cfg)
    arrays = arrays_of(cfg, make_task(cfg), 0)
    train = jax.jit(make_train(shp))
    a = train(jax.random.PRNGKey(0), 4, arrays, hyp)
    b = train(jax.random.PRNGKey(0), 4, arrays, hyp)
    c = train(jax.random.PRNGKey(1), 4, arrays, hyp)
    np.testing.assert_array_equal(a[1].heldout_pass, b[1].heldout_pass)
    assert not np.array_equal(a[1].heldout_pass, c[1].heldout_pass)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"policy": "family"}, "n_families must be >= 1"),
        ({"n_heldout": 4}, "need policy='family'"),
        ({"batch_size": 200}, "batch_size"),
        ({**BASE, "wrong_families": 5}, "wrong_families"),
        ({**BASE, "n_families": 40}, "n_families"),
    ],
)
def test_bad_family_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimConfig(**kwargs)


def test_family_preset_runs_through_the_sweep(tmp_path):
    """`rankinv simulate --preset family` (small): pass@k on held-out prompts, the sampled
    shares from the batches, per-run logs in the monitor's format."""
    from rankinv.simulate import run_sweep

    cfg = preset("family").replace(rl_steps=20, eval_every=5, seeds=2, sft_depths=(0.5, 8.0))
    r = run_sweep(cfg, out=tmp_path, p_star_groups=2_000)
    assert len(r["pre"]["pass_at_1"]) == 4
    assert all(0 <= x <= 1 for x in r["post"]["final_pass_at_k"])
    assert all(0 <= x <= 1 for x in r["pre"]["informative"])
    bd = r["by_depth"]
    assert bd["pre_entropy"][1] < bd["pre_entropy"][0]  # deeper SFT: lower entropy
    assert len(list((tmp_path / "logs").glob("*.jsonl"))) == 4
