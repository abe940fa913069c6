"""The TRL callback on the real GRPOTrainer (CPU, tiny random model, toy reward)."""

import json
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, train_tokenizer  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = ["def add(a, b):\n    return a + b\n", "x = 1\ny = 2\n"] * 50
    tok = train_tokenizer(texts, vocab_size=300)
    return build_model("qwen2", tmp_path_factory.mktemp("trl_tiny"), tok)


def _train(model_dir, out, lr, callback, max_steps=30, reward=None, attach=False, extra=()):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def share_of_a(completions, **kw):  # toy reward: share of the letter "a"
        return [c.count("a") / max(1, len(c)) for c in completions]

    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        learning_rate=lr,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=12,
        max_steps=max_steps,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward or share_of_a,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["def f(x):"] * 64}),
        processing_class=tokenizer,
        callbacks=list(extra) + ([] if attach else [callback]),
    )
    if attach:
        callback.attach(trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return trainer


def test_collapsing_run_is_stopped(tiny, tmp_path):
    from rankinv.integrations.trl import REPORT_NAME, EntropyMonitorCallback

    cb = EntropyMonitorCallback(ref_step=2, check_step=12, action="stop", rule="paper")
    trainer = _train(tiny, tmp_path, lr=5e-2, callback=cb)
    # the collapse leaves every group without reward variance: the no-signal state stops it
    # once the log spans 10 steps (step 11), else the paper's rule at its check step 12
    s = cb.stopped_at
    assert s in (11, 12) and trainer.state.global_step == s < 30
    entries = [e for e in trainer.state.log_history if "entropy" in e]
    assert entries[-1]["rankinv/verdict"] == 2  # stop
    rep = json.loads((tmp_path / REPORT_NAME).read_text())
    assert rep["verdict"] == "stop"
    assert rep["state"].startswith("no_signal") or rep["entropy_drop"] > 0.5
    assert rep["compute_saved"] == pytest.approx((30 - s) / 30)
    assert (tmp_path / f"checkpoint-{s}" / "config.json").exists()  # saved where it stopped
    # the callback saw TRL's real log entries
    assert {"entropy", "frac_reward_zero_std", "reward"} <= set(entries[0])
    # and logged the trainer's g, so that `rankinv monitor` reads it rather than assume 8
    assert entries[-1]["rankinv/group_size"] == 4
    from rankinv.verdicts.monitor import monitor

    saved = monitor(tmp_path / f"checkpoint-{s}" / "trainer_state.json")
    assert saved.group_size == 4 and saved.run.g.source == "log"


def test_stable_run_is_not_stopped(tiny, tmp_path):
    from rankinv.integrations.trl import EntropyMonitorCallback

    cb = EntropyMonitorCallback(ref_step=2, check_step=12, action="stop", rule="paper")
    trainer = _train(tiny, tmp_path, lr=1e-4, callback=cb)
    assert cb.stopped_at is None
    assert trainer.state.global_step == 30
    assert cb.verdict in ("continue", "watch")


def test_screen_gate(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rankinv.integrations.trl import EntropyMonitorCallback, screen

    model = AutoModelForCausalLM.from_pretrained(tiny)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    res = screen(model, tokenizer, group_size=8, max_prompts=8)
    assert res["verdict"] == "low" and res["entropy"] > 1.0  # random model: near ln V
    with pytest.raises(RuntimeError, match="high risk"):
        screen(model, tokenizer, tau_h=100.0, on_high="raise", max_prompts=4)
    with pytest.raises(ValueError, match="action must be"):
        EntropyMonitorCallback(action="abort")


def test_saturated_run_is_stopped_and_trackers_see_the_verdict(tiny, tmp_path):
    """Every completion earns 1.0: no group has reward variance, the gradient is zero; the
    callback stops on the no-signal state, and a tracker after it logs its metrics."""
    from transformers import TrainerCallback

    from rankinv.integrations.trl import EntropyMonitorCallback

    seen = []

    class Tracker(TrainerCallback):  # stands for W&B / TensorBoard: logs what on_log holds
        def on_log(self, args, state, control, logs=None, **kw):
            seen.append(dict(logs or {}))

    cb = EntropyMonitorCallback(action="stop")
    assert EntropyMonitorCallback().action == "warn"  # the default
    trainer = _train(
        tiny,
        tmp_path,
        lr=1e-4,
        callback=cb,
        reward=lambda completions, **kw: [1.0] * len(completions),
        attach=True,
        extra=[Tracker()],
    )
    assert cb.report["state"] == "no_signal:saturated"
    assert cb.stopped_at == 11 and trainer.state.global_step == 11  # steps 1..11 span 10
    stops = [r for r in seen if r.get("rankinv/verdict") == 2]
    assert stops and stops[0]["rankinv/no_signal"] == 1


class _Args:
    def __init__(self, out, num_iterations=1):
        self.output_dir, self.num_generations, self.num_iterations = str(out), 4, num_iterations


class _State:
    def __init__(self, step, main=True):
        self.global_step, self.max_steps, self.log_history = step, 100, []
        self.is_world_process_zero = main


class _Control:
    should_save = should_training_stop = False


def _feed(cb, out, main=True, num_iterations=1, upto=30):
    for step in range(1, upto + 1):
        logs = {"frac_reward_zero_std": 1.0, "reward": 0.0, "entropy": 0.5}
        cb.on_log(_Args(out, num_iterations), _State(step, main), _Control(), logs=logs)


def test_only_the_main_process_warns_and_writes(tmp_path):
    from rankinv.integrations.trl import REPORT_NAME, EntropyMonitorCallback

    cb = EntropyMonitorCallback(action="stop")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _feed(cb, tmp_path, main=False)
    assert cb.stopped_at is not None  # every rank stops alike
    assert not caught and not (tmp_path / REPORT_NAME).exists()
    cb = EntropyMonitorCallback(action="stop")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _feed(cb, tmp_path, main=True)
    assert caught and (tmp_path / REPORT_NAME).exists()


def test_steps_are_generation_rounds_with_several_iterations(tmp_path):
    from rankinv.integrations.trl import EntropyMonitorCallback

    cb = EntropyMonitorCallback(action="log")
    _feed(cb, tmp_path, num_iterations=2, upto=24)
    assert cb.records[-1]["step"] == 12 and cb.report["last_step"] == 12
    assert cb.report["planned_steps"] == 50
    assert any("generation rounds" in r for r in cb.report["reasons"])
