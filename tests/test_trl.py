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


def _train(model_dir, out, lr, callback, max_steps=30):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def reward(completions, **kw):  # toy reward: share of the letter "a"
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
        reward_funcs=reward,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["def f(x):"] * 64}),
        processing_class=tokenizer,
        callbacks=[callback],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return trainer


def test_collapsing_run_is_stopped(tiny, tmp_path):
    from rankinv.integrations.trl import REPORT_NAME, EntropyMonitorCallback

    cb = EntropyMonitorCallback(ref_step=2, check_step=12, action="stop", rule="paper")
    trainer = _train(tiny, tmp_path, lr=5e-2, callback=cb)
    assert cb.stopped_at == 12
    assert trainer.state.global_step == 12 < 30
    entries = [e for e in trainer.state.log_history if "entropy" in e]
    assert entries[-1]["rankinv/verdict"] == "stop"
    rep = json.loads((tmp_path / REPORT_NAME).read_text())
    assert rep["verdict"] == "stop" and rep["entropy_drop"] > 0.5
    assert rep["compute_saved"] == pytest.approx((30 - 12) / 30)
    assert (tmp_path / "checkpoint-12" / "config.json").exists()  # saved where it stopped
    # the callback saw TRL's real log entries
    assert {"entropy", "frac_reward_zero_std", "reward"} <= set(entries[0])


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
