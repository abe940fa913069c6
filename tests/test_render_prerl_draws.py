"""The pre-RL line's draws per prompt: the formula's number, with the cap at N prompts said."""

from rankinv.records import Plan
from rankinv.render.probe import draws_words


def _rep(steps, per_step, n, g=8):
    plan = Plan(group_size=g, rl_steps=steps, batch_prompts=per_step, n_prompts=n)
    return {"steps": steps, "prompts_per_step": per_step, "n_prompts": n, "group_size": g,
            "draws_per_prompt": plan.visits}  # fmt: skip


def test_prompts_per_step_above_n_is_said_capped():
    text = draws_words(_rep(400, 32, 30))
    assert "400.00 times" in text and "capped at the 30 prompts" in text
    assert "T x min(P, N) / N = 400 x 30 / 30" in text


def test_prompts_per_step_below_n_prints_the_formula():
    text = draws_words(_rep(400, 32, 64))
    assert "200.00 times" in text and "T x P / N = 400 x 32 / 64" in text
