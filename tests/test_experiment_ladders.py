"""SFT ladders: fractional depths, recipes, demonstration fidelity, label smoothing."""

import dataclasses
import random

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rankinv.errors import UserError  # noqa: E402
from rankinv.experiment import config, data, ladders  # noqa: E402
from rankinv.experiment.run import ladders_of  # noqa: E402


def test_fractional_depths_save_after_their_share_of_an_epoch():
    # 256 demonstrations in batches of 32: 8 steps an epoch
    assert ladders.save_points((0.25, 0.5, 1, 2), 256, 32) == {2: 0.25, 4: 0.5, 8: 1, 16: 2}
    assert ladders.save_points((0.01, 3), 50, 32) == {1: 0.01, 6: 3}  # at least one step


def test_rung_names_keep_the_depth_ladders_names_and_name_recipes():
    cfg = config.preset("ci")
    assert ladders.Ladder("teacher", 2, (1, 16)).rung(cfg, 16) == "teacher-s2-d16"
    assert ladders.Ladder("teacher", 0, (0.5,)).rung(cfg, 0.5) == "teacher-s0-d0.5"
    lora = dataclasses.replace(cfg, sft_mode="lora")
    assert ladders.Ladder("clean", 0, (1,)).rung(lora, 1) == "clean-lora-s0-d1"
    assert ladders.Ladder("teacher", 1, (4,), "lr-high").rung(cfg, 4) == "lr-high-s1-d4"


def test_recipe_ladder_is_one_ladder_per_recipe_and_seed_at_one_depth():
    cfg = config.preset("ci-recipe")
    lads = ladders_of(cfg)
    assert len(cfg.recipes) >= 5 and len(lads) == len(cfg.recipes) * cfg.seeds == 18
    assert {lad.depths for lad in lads} == {(4,)}
    lr = next(lad for lad in lads if lad.recipe == "lr-high").sft_config(cfg)
    assert lr.sft_lr == 3 * cfg.sft_lr and lr.rl_lr == cfg.rl_lr  # only the SFT changes
    assert ladders_of(config.preset("ci-shallow"))[0].depths[0] < 1
    with pytest.raises(UserError, match="one depth"):
        dataclasses.replace(cfg, depths=(2, 4))
    with pytest.raises(UserError, match="recipes must be among"):
        dataclasses.replace(cfg, recipes=("nosuch",))


class _Enc:
    def answer_ids(self, answer):
        return answer


def test_correct_share_rewrites_that_share_of_the_teachers_demonstrations():
    cfg = config.preset("ci")

    def wrong_share(c, variant="teacher"):
        demos = ladders.sft_data(c, _Enc(), variant, 0, random.Random(1000))
        right: dict[str, set] = {}  # programs that share a prompt (f(0..3)) share it here
        for p in data.programs("train"):
            right.setdefault(data.task_of(p).prompt, set()).add(p["expression"])
        wrong = [a not in right[q] for q, a in demos]
        return sum(wrong) / len(wrong), [q for q, _ in demos]

    teacher, prompts = wrong_share(cfg)
    half, prompts_half = wrong_share(dataclasses.replace(cfg, correct_share=0.5))
    assert prompts == prompts_half  # the same programs: only the answers differ
    assert 0.1 < teacher < 0.7  # the line teacher: wrong on the nonlinear families
    assert half == pytest.approx(teacher / 2, abs=0.05)
    assert wrong_share(cfg, "clean") == (0, prompts)
    assert wrong_share(dataclasses.replace(cfg, correct_share=1.0))[0] == 0


def test_label_smoothing_is_the_smoothed_cross_entropy():
    import torch

    from rankinv.experiment.model import smoothed_logprobs, token_logprobs
    from rankinv.experiment.train import supervised_step

    torch.manual_seed(0)
    emb = torch.nn.Embedding(7, 7)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = emb

        def forward(self, input_ids, attention_mask):
            return type("O", (), {"logits": self.emb(input_ids)})()

    m = M()
    ids = torch.tensor([[1, 2, 3, 4]])
    att = torch.ones_like(ids)
    lp, mean = smoothed_logprobs(m, ids, att)
    assert torch.allclose(lp, token_logprobs(m, ids, att))
    full = torch.log_softmax(emb(ids)[:, :-1], -1)
    assert torch.allclose(mean[:, 1:], full.mean(-1))

    class Enc:
        def batch(self, prompts, answers, device):
            return ids, att, torch.tensor([[False, False, True, True]])

    eps = 0.1
    want = -((1 - eps) * lp + eps * mean)[0, 2:].mean()
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    assert supervised_step(m, opt, Enc(), [], [], eps) == pytest.approx(float(want.detach()))
