"""Unit tests of the miniature experiment's parts (fast; the end-to-end run is slow)."""

import pytest

torch = pytest.importorskip("torch")

from rankinv.experiment import config, data, train  # noqa: E402
from rankinv.theory import outcomes  # noqa: E402


def test_teacher_right_on_linear_wrong_on_nonlinear():
    progs = data.programs("train") + data.programs("test")
    assert progs
    for p in progs:
        correct = {data._value_tuple(e) for e in data.correct_forms(p)}
        assert len(correct) == 1, p  # the equivalent forms are equivalent
        teacher_right = data._value_tuple(data.teacher_answer(p)) in correct
        linear = p["template"] in ("add", "mul", "affine", "sub")
        assert teacher_right == linear, p
        assert not any(data._value_tuple(w) in correct for w in data.wrong_forms(p))


def test_nomod_teacher_is_wrong_only_on_the_modular_family():
    progs = data.programs("train") + data.programs("test")
    assert any(p["template"] == "mod_plus" for p in progs)
    for p in progs:
        correct = {data._value_tuple(e) for e in data.correct_forms(p)}
        right = data._value_tuple(data.teacher_answer(p, "nomod")) in correct
        assert right == (p["template"] != "mod_plus"), p


def test_a_saved_run_without_a_newer_field_is_the_same_run():
    """A run saved before the teacher field existed is the teacher="line" run, not another."""
    import dataclasses
    import json

    from rankinv.experiment.config import MiniConfig
    from rankinv.experiment.run import same_run

    cfg = json.loads(json.dumps(dataclasses.asdict(MiniConfig())))
    old = {k: v for k, v in cfg.items() if k != "teacher"}
    assert same_run(old, cfg)
    assert not same_run(old, {**cfg, "teacher": "nomod"})
    assert same_run({**old, "threads": 2}, cfg)  # a speed-only field
    assert not same_run({**old, "rl_lr": 1e-3}, cfg)


def test_grpo_loss_gradient_at_ratio_one_is_advantage_weighted_logp():
    g = torch.Generator().manual_seed(0)
    logp = torch.randn(6, 5, generator=g, requires_grad=True)
    adv = torch.tensor([1.0, -1.0, 0.5, 0.0, -0.25, 2.0])
    mask = torch.rand(6, 5, generator=g) > 0.3
    loss = train.grpo_loss(logp, logp.detach(), adv, mask, normaliser=30)
    loss.backward()
    expected = -(adv[:, None] * mask) / 30
    assert torch.allclose(logp.grad, expected, atol=1e-7)
    # the value at ratio 1 is the advantage-weighted token count
    assert float(loss.detach()) == pytest.approx(float(-(adv[:, None] * mask).sum() / 30), abs=1e-6)


def test_grpo_loss_clips_asymmetrically():
    old = torch.zeros(2, 1)
    mask = torch.ones(2, 1, dtype=torch.bool)
    adv = torch.tensor([1.0, -1.0])
    # ratio 1.5 > 1 + clip_high with A > 0: clipped, no gradient; with A < 0 min keeps r*A
    logp = torch.full((2, 1), float(torch.log(torch.tensor(1.5))), requires_grad=True)
    loss = train.grpo_loss(logp, old, adv, mask, clip_low=0.2, clip_high=0.28, normaliser=1)
    loss.backward()
    assert float(logp.grad[0, 0]) == 0.0
    assert float(logp.grad[1, 0]) == pytest.approx(1.5)  # d(-(r * -1))/dlogp = r
    assert float(loss) == pytest.approx(-(1.28 * 1.0 + 1.5 * -1.0))
    # ratio 0.7 < 1 - clip_low with A < 0: clipped to 0.8
    logp2 = torch.full((1, 1), float(torch.log(torch.tensor(0.7))), requires_grad=True)
    loss2 = train.grpo_loss(logp2, old[:1], adv[1:], mask[:1], clip_low=0.2, normaliser=1)
    loss2.backward()
    assert float(logp2.grad[0, 0]) == 0.0
    assert float(loss2) == pytest.approx(0.8)


def test_grpo_loss_rejects_bad_shapes():
    x = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="one shape"):
        train.grpo_loss(x, torch.zeros(3, 5), torch.zeros(3), torch.ones(3, 4))
    with pytest.raises(ValueError, match="advantages"):
        train.grpo_loss(x, x, torch.zeros(4), torch.ones(3, 4))


def test_run_outcomes_never_use_step_zero():
    evals = [
        {"step": 0, "pass_at_1": 0.5, "pass_at_10": 0.9, "pass_at_10_nonlinear": 0.8},
        {"step": 10, "pass_at_1": 0.4, "pass_at_10": 0.7, "pass_at_10_nonlinear": 0.3},
        {"step": 20, "pass_at_1": 0.45, "pass_at_10": 0.6, "pass_at_10_nonlinear": 0.2},
    ]
    res = train._outcomes(evals, 10)
    assert res["peak_pass_at_k"] == 0.7 and res["final_pass_at_k"] == 0.6
    assert res["gain_pass_at_k"] == pytest.approx(-0.3)
    assert train._outcomes(evals[:1], 10)["final_pass_at_k"] is None
    o = outcomes.post_rl([e["step"] for e in evals], [e["pass_at_1"] for e in evals])
    assert o.peak == 0.45


def test_preset_rejects_unknown_name():
    with pytest.raises(ValueError, match="preset must be one of"):
        config.preset("nosuch")


def test_jobs_one_per_cpu_on_a_cpu_and_checked():
    import dataclasses

    from rankinv.experiment.run import jobs_of
    from rankinv.sandbox.executor import default_workers

    cfg = dataclasses.replace(config.preset("ci"), device="cpu")
    assert jobs_of(cfg, 100) == default_workers()
    assert jobs_of(cfg, 1) == 1  # never more jobs than there is work
    assert jobs_of(dataclasses.replace(cfg, jobs=3), 100) == 3
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="jobs must be an integer"):
            dataclasses.replace(cfg, jobs=bad)


def test_tiny_pipeline_runs_and_resumes(tmp_path):
    """Every stage wired together on a toy budget: outcomes at steps >= 1, a rerun resumes."""
    import dataclasses

    from rankinv.experiment.run import run_mini

    cfg = dataclasses.replace(
        config.preset("ci"),
        name="tiny",
        pretrain=True,
        pretrain_steps=3,
        pretrain_batch=8,
        sft_demos=16,
        depths=(1, 2, 3),
        seeds=1,
        control_depths=(1,),
        rl_steps=2,
        rl_prompts=2,
        eval_every=1,
        eval_samples=10,
        layers=1,
        threads=1,
    )
    messages = []
    res = run_mini(cfg, tmp_path, log=messages.append)
    stages = [m for m in messages if m.startswith("stage ")]
    assert stages[:2] == [
        "stage 1/4: pretraining the base model (3 steps)",
        "stage 2/4: SFT, 2 ladders to 3 epochs",
    ]
    assert "stage 3/4: GRPO run 4/4 (clean-s0-d1, 2 steps)" in stages
    assert stages[-1].startswith("stage 4/4")
    assert set(res["seconds"]) >= {"pretrain", "sft", "grpo", "total"}
    runs = {r["name"]: r for r in res["runs"]}
    assert set(runs) == {"teacher-s0-d1", "teacher-s0-d2", "teacher-s0-d3", "clean-s0-d1"}
    for r in runs.values():
        steps = [e["step"] for e in r["evals"]]
        assert steps == [0, 1, 2]
        post = [e["pass_at_10"] for e in r["evals"][1:]]
        assert r["final_pass_at_k"] == post[-1] and r["peak_pass_at_k"] == max(post)
    # a rerun with other speed-only settings (threads, workers) resumes; others are refused
    again = run_mini(dataclasses.replace(cfg, threads=2, workers=1), tmp_path, log=print)
    assert [r["final_pass_at_k"] for r in again["runs"]] == [
        r["final_pass_at_k"] for r in res["runs"]
    ]
    with pytest.raises(ValueError, match="another configuration"):
        run_mini(dataclasses.replace(cfg, rl_steps=3), tmp_path, log=print)


@pytest.mark.slow
def test_tiny_recipe_ladder_with_probes(tmp_path):
    """A recipe ladder from the saved base: one rung per recipe, each with its probe (a
    ProbeResult whose plan is the run's) and its per-step log."""
    import dataclasses

    from rankinv.experiment.run import run_mini
    from rankinv.verdicts.probe_result import ProbeResult

    cfg = dataclasses.replace(
        config.preset("ci-recipe"),
        name="tiny-recipe",
        recipes=("ci", "smooth", "half-correct"),
        depths=(0.5,),
        seeds=1,
        probe_samples=8,
        rl_steps=2,
        rl_prompts=2,
        eval_every=1,
        eval_samples=10,
    )
    res = run_mini(cfg, tmp_path, log=lambda m: None)
    assert [(b["recipe"], b["depth"]) for b in res["by_depth"]] == [
        ("ci", 0.5),
        ("smooth", 0.5),
        ("half-correct", 0.5),
    ]
    assert res["simulator"] is None and res["base_model"]["saved"]
    for r in res["runs"]:
        assert r["name"] == f"{r['recipe']}-s0-d0.5"
        probe = ProbeResult.load(tmp_path / r["probe"])
        assert set(probe.n) == {8} and len(probe.c) == 200
        plan = probe.setup.plan()
        assert (plan.group_size, plan.rl_steps, plan.batch_prompts) == (8, 2, 2)
        assert len((tmp_path / "runs" / f"{r['name']}.jsonl").read_text().splitlines()) == 2
    # the rungs differ only in their SFT: the same programs, another model
    pre = [r["pre"]["pass_at_1"] for r in res["runs"]]
    assert len(set(pre)) == 3
