"""The held-out coverage callback: on the log of a real GRPOTrainer run that sharpens (saved
in tests/data/trl/sharpening, made by tests/trl_sharpening.py), its cost under a budget,
and (slow) the whole run again."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, closed_tokenizer  # noqa: E402

from rankinv.errors import UserError  # noqa: E402

SHARPENING = Path(__file__).parent / "data" / "trl" / "sharpening" / "trainer_state.json"


def _evals(log_history, k):
    rows = [e for e in log_history if f"eval_pass_at_{k}" in e]
    steps = [e["step"] for e in rows]
    col = {
        name: np.array([e[f"eval_{name}"] for e in rows])
        for name in ("pass_at_1", "pass_at_1_se", f"pass_at_{k}", f"pass_at_{k}_se")
    }
    return steps, col


def test_the_sharpening_run_log_holds_pass_at_k_with_se_and_monitor_stops_it():
    from rankinv.verdicts.monitor import monitor

    state = json.loads(SHARPENING.read_text())
    hist = state["log_history"]
    steps, col = _evals(hist, 4)
    assert steps == [0, 20, 40, 60, 80]  # at the start and every 20 steps
    assert np.all(col["pass_at_4_se"] > 0) and np.all(col["pass_at_1_se"] > 0)
    # TRL's own training entries kept their cadence (logging_steps 10) beside them
    assert [e["step"] for e in hist if "reward" in e] == list(range(10, 81, 10))
    # the run sharpens: pass@1 up, pass@4 down, each by more than twice its noise
    rise = (col["pass_at_1"][-1] - col["pass_at_1"][0]) / np.hypot(*col["pass_at_1_se"][[0, -1]])
    fall = (col["pass_at_4"][0] - col["pass_at_4"][-1]) / np.hypot(*col["pass_at_4_se"][[0, -1]])
    assert rise > 2 and fall > 2
    rep = monitor(SHARPENING)
    cov = rep.coverage
    assert cov.key == "eval/pass_at_4" and cov.steps == steps
    assert cov.values == pytest.approx(col["pass_at_4"].tolist())
    assert rep.verdict == "stop" and rep.label == "sharpening"
    first = cov.steps.index(cov.fell_at)
    kept = steps[int(np.argmax(col["pass_at_4"][: first + 1]))]
    assert rep.best_coverage_step == kept == cov.keep_step


def test_the_callback_needs_attach_and_valid_options():
    from rankinv.integrations.trl import HeldOutCoverageCallback
    from rankinv.sandbox.tasks import Task

    tasks = [Task("t", "def f():\n    return ", "f", "def check(c):\n    pass\n", "1\n")]
    with pytest.raises(UserError, match="every must be"):
        HeldOutCoverageCallback(tasks, every=0)
    with pytest.raises(UserError, match="budget must be"):
        HeldOutCoverageCallback(tasks, budget=0)
    with pytest.raises(UserError, match="every k must be"):
        HeldOutCoverageCallback(tasks, samples=4, ks=(1, 8))
    cb = HeldOutCoverageCallback(tasks)

    class State:
        global_step, is_world_process_zero = 0, True

    with pytest.raises(UserError, match="attach"):
        cb.on_train_begin(object(), State(), object())


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    """A transformers Trainer on a tiny random Qwen2 (never trained here: the tests drive the
    callback's events themselves, with training steps of a known duration)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    root = tmp_path_factory.mktemp("cov_budget")
    tok = closed_tokenizer(["def f():\n    return 1  # abc xyz\n"] * 20)
    path = build_model("qwen2", root / "model", tok)
    args = TrainingArguments(output_dir=str(root / "out"), use_cpu=True, report_to="none")
    return Trainer(
        model=AutoModelForCausalLM.from_pretrained(path),
        args=args,
        train_dataset=Dataset.from_dict({"input_ids": [[1, 2]]}),
        processing_class=AutoTokenizer.from_pretrained(path),
    )


def _tasks():
    from rankinv.sandbox.tasks import Task

    test = "def check(candidate):\n    assert candidate() == 1\n"
    return [Task(f"t/{i}", "def f():\n    return 1  # ", "f", test, "\n") for i in range(4)]


def _drive(cb, trainer, steps: int, step_s: float):
    """The trainer's events around ``steps`` training steps of ``step_s`` seconds each."""
    from transformers import TrainerCallback, TrainerControl, TrainerState

    seen = []

    class Tracker(TrainerCallback):  # stands for W&B / TensorBoard
        def on_log(self, args, state, control, logs=None, **kw):
            seen.append((state.global_step, dict(logs or {})))

    trainer.state, trainer.control = TrainerState(max_steps=steps), TrainerControl()
    trainer.callback_handler.callbacks = [Tracker()]
    cb.attach(trainer)
    kw = {"model": trainer.model, "processing_class": trainer.processing_class}
    args, state = trainer.args, trainer.state
    cb.on_train_begin(args, state, trainer.control, **kw)
    for _ in range(steps):
        time.sleep(step_s)
        state.global_step += 1
        cb.on_step_end(args, state, trainer.control, **kw)
    cb.on_train_end(args, state, trainer.control)
    return seen


def test_logs_reach_trackers_and_log_history_at_their_step(trainer):
    from rankinv.integrations.trl import HeldOutCoverageCallback

    cb = HeldOutCoverageCallback(
        _tasks(), every=2, samples=4, ks=(2,), max_new_tokens=4, stop=("\n",), workers=1
    )
    trainer.model.train()
    seen = _drive(cb, trainer, steps=4, step_s=0.0)
    assert [s for s, _ in seen] == [0, 2, 4]
    for _, logs in seen:
        assert logs["eval_pass_at_1"] == logs["eval_pass_at_2"] == 1.0  # "return 1" always
        assert logs["eval_pass_at_2_se"] == 0.0 and logs["eval_informative_fraction"] == 0.0
    assert "eval_cost_fraction" not in seen[0][1] and seen[1][1]["eval_cost_fraction"] > 0
    hist = trainer.state.log_history
    assert [e["step"] for e in hist] == [0, 2, 4] and all("eval_pass_at_2" in e for e in hist)
    assert trainer.model.training  # sampled in eval mode, then restored
    assert all("rankinv/group_size" not in e for e in hist)  # not a GRPO trainer: no g
    trainer.args.num_generations = 6
    _drive(cb, trainer, steps=2, step_s=0.0)
    assert all(e["rankinv/group_size"] == 6 for e in trainer.state.log_history)


def test_the_budget_bounds_the_evaluation_time(trainer):
    """Evaluating every step costs several times the training time; with budget = 0.25 the
    callback skips evaluations so its time stays within 0.25 x training time, but for the
    error of predicting each evaluation's time by the last one's (the stated bound)."""
    from rankinv.integrations.trl import HeldOutCoverageCallback

    opts = dict(every=1, samples=4, ks=(2,), max_new_tokens=4, stop=("\n",), workers=1)
    free = HeldOutCoverageCallback(_tasks(), **opts)
    _drive(free, trainer, steps=6, step_s=0.02)
    assert free.cost_fraction() > 1.0 and not free.skipped  # the cost without a budget

    cb = HeldOutCoverageCallback(_tasks(), budget=0.25, **opts)
    with pytest.warns(UserWarning, match="skipped"):
        _drive(cb, trainer, steps=60, step_s=0.05)
    secs = [h["eval/seconds"] for h in cb.history]
    assert len(secs) >= 2 and cb.skipped  # it evaluated again, and skipped some
    slip = max(max(0.0, b - a) for a, b in zip(secs, secs[1:], strict=False))
    assert cb.seconds <= 0.25 * cb.training_seconds() + slip + 0.01
    assert len(cb.history) + len(cb.skipped) == 61  # every due step: evaluated or skipped


@pytest.mark.slow
def test_a_real_grpo_run_that_sharpens_is_stopped(tmp_path):
    """The run behind tests/data/trl/sharpening again, end to end, and once more with
    stop_on_fall: the callback ends training at the look where the coverage rule fires."""
    import trl_sharpening

    from rankinv.verdicts.monitor import monitor

    trainer, cb = trl_sharpening.run(tmp_path / "a")
    steps, col = _evals(trainer.state.log_history, 4)
    assert steps == [h["step"] for h in cb.history] == [0, 20, 40, 60, 80]
    assert col["pass_at_1"][-1] > col["pass_at_1"][0] and col["pass_at_4"][-1] < col["pass_at_4"][0]
    rep = monitor(tmp_path / "a" / "trainer_state.json")
    assert rep.verdict == "stop" and rep.best_coverage_step == rep.coverage.keep_step
    assert cb.seconds > 0 and cb.cost_fraction() is not None

    trainer, cb = trl_sharpening.run(tmp_path / "b", stop_on_fall=True)
    assert cb.stopped_at == rep.coverage.fell_at == trainer.state.global_step < 80
