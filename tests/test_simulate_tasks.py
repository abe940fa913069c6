"""Competing solution strategies (tasks.py + the engine): RL strands the prompts whose own
strategy is a minority one, so held-out pass@k falls while pass@1 rises; deeper SFT on
demonstrations of the majority strategy leaves more all-fail groups; the reward is capped by
the entropy left (Cui et al.'s R = -a exp(H) + b reaches b - a < 1 at H = 0)."""

import numpy as np
import pytest

from rankinv.simulate import SimConfig, preset
from rankinv.simulate.sweep import run_batch
from rankinv.simulate.tasks import make_demonstrations, make_task


@pytest.fixture(scope="module")
def stranded():
    cfg = preset("qwen-like").replace(seeds=2, sft_depths=(0.5, 16.0), rl_lr_grid=(), rl_lr=256.0)
    return cfg, run_batch(cfg)


def test_each_prompt_accepts_only_its_own_strategy():
    cfg = preset("qwen-like")
    task = make_task(cfg)
    first = task.correct[:, 0, :]
    assert np.all(first.sum(-1) == 1)  # one strategy token is right per prompt
    assert {int(m) for m in task.mode} == set(range(cfg.n_modes))
    share = np.mean(task.mode == 0)
    assert abs(share - cfg.majority_share) < 0.1
    # prompts of one family with different strategies accept different first tokens
    fam0 = np.flatnonzero(task.family == 0)
    assert len({int(np.argmax(first[i])) for i in fam0}) > 1
    demo, ok = make_demonstrations(cfg, task, 0)
    minority = task.mode[: cfg.n_prompts] != 0
    assert ok[minority].mean() < 0.5  # the teacher mostly shows the majority strategy


def test_rl_lowers_heldout_pass_at_k_while_pass_at_1_rises(stranded):
    cfg, (pre, per_step, final, runs, _, _) = stranded
    shallow = runs["depth"] == 0.5
    assert np.all(final.pass_at_k[shallow, 0] > pre.pass_at_k[shallow, 0])  # pass@1 up
    deep = runs["depth"] == 16.0
    assert np.all(final.pass_at_k[deep, 1] < pre.pass_at_k[deep, 1] - 0.05)  # pass@10 down


def test_all_fail_groups_grow_with_sft_depth():
    """The population's base setting (three strategies, demonstrations half faithful to a
    minority prompt's strategy, one family taught wrong): the expected share of all-fail
    groups at step 0, mean over training prompts of (1 - p)^g, grows from 2 to 16 epochs."""
    from rankinv.simulate import settings as S
    from rankinv.simulate.batch import Runner, RunSpec

    cfg = S.config_of(S.base_setting(), 0).replace(rl_steps=2, eval_every=1)
    specs = [RunSpec(cfg, s, d * cfg.sft_steps_per_epoch) for s in (0, 1) for d in (2, 16)]
    start, _, _ = Runner().run(specs)
    p = np.asarray(start.p)[:, : cfg.n_prompts]
    all_fail = ((1 - p) ** cfg.group_size).mean(1).reshape(2, 2)  # [seed, depth]
    assert np.all(all_fail[:, 1] > all_fail[:, 0] + 0.03)


def test_reward_is_capped_by_the_entropy_left(stranded):
    _, (_, per_step, _, _, _, _) = stranded
    h, r = per_step.entropy.mean(0), per_step.reward.mean(0)
    slope, icpt = np.polyfit(np.exp(h), r, 1)
    assert slope < 0  # R = -a exp(H) + b with a > 0
    assert icpt + slope < 0.95  # the ceiling at H = 0


def test_strategy_config_is_validated():
    with pytest.raises(ValueError, match="n_modes needs policy='family'"):
        SimConfig(n_modes=3)
    with pytest.raises(ValueError, match="n_modes must be"):
        preset("family").replace(n_modes=1)
