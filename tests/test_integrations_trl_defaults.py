"""TRL at its defaults, on logs TRL 1.16's GRPOTrainer really writes (CPU, tiny Qwen2):
logging_steps = 10 (each value TRL's mean over 10 steps) and generation rounds counted from
steps_per_generation, num_iterations and gradient_accumulation_steps."""

import json
import re
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, train_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    texts = ["def add(a, b):\n    return a + b\n", "x = 1\ny = 2\n"] * 50
    tok = train_tokenizer(texts, vocab_size=300)
    return build_model("qwen2", tmp_path_factory.mktemp("trl_defaults"), tok)


def _train(model_dir, out, callbacks, reward, max_steps, **kw):
    """A GRPOTrainer run; returns (trainer, [(global step, generation calls so far)])."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(1)
    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        learning_rate=1e-4,
        num_generations=4,
        max_completion_length=8,
        max_steps=max_steps,
        report_to="none",
        save_strategy="no",
        bf16=False,
        seed=0,
        **{"per_device_train_batch_size": 8, **kw},
    )
    gens = [0]
    seen = []

    class Count(TrainerCallback):  # runs after the monitor: what TRL really generated
        def on_log(self, args, state, control, logs=None, **k):
            seen.append((state.global_step, gens[0]))

    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        reward_funcs=reward,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["def f(x):"] * 64}),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        callbacks=[*callbacks, Count()],
    )
    generate = trainer._generate_and_score_completions

    def counted(batch):
        gens[0] += 1
        return generate(batch)

    trainer._generate_and_score_completions = counted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return trainer, seen


def _share_of_a(completions, **kw):
    return [c.count("a") / max(1, len(c)) for c in completions]


@pytest.mark.parametrize(
    "kw",
    [
        {"steps_per_generation": 2},  # one round per 2 optimizer steps
        {
            "gradient_accumulation_steps": 2,
            "steps_per_generation": 1,
            "per_device_train_batch_size": 4,
        },
        {"num_iterations": 2},  # each round reused for 2 optimizer steps
    ],
    ids=["spg2", "ga2-spg1", "mu2"],
)
def test_generation_rounds_are_counted_from_trls_fields(tiny, tmp_path, kw):
    from rankinv.integrations.trl import EntropyMonitorCallback

    cb = EntropyMonitorCallback(action="log")
    trainer, seen = _train(tiny, tmp_path, [cb], _share_of_a, max_steps=6, logging_steps=1, **kw)
    args = trainer.args
    assert args.steps_per_generation != args.gradient_accumulation_steps or args.num_iterations > 1
    # at every log, the callback's round is the number of generations TRL made
    for step, gens in seen:
        assert cb.rounds(args, step) == gens, (step, gens)
    assert cb.report["last_step"] == seen[-1][1]
    assert cb.report["planned_steps"] == cb.rounds(args, 6)
    assert any("steps are generation rounds" in r for r in cb.report["reasons"])
    # after the fact, on the trainer_state.json TRL writes: windows quote only the steps at
    # which TRL logged the zero-std share (with spg 2 or mu 2: every other step)
    from rankinv.verdicts.monitor import MonitorConfig, monitor

    trainer.state.save_to_json(str(tmp_path / "trainer_state.json"))
    hist = trainer.state.log_history
    logged = {e["step"] for e in hist if "frac_reward_zero_std" in e}
    rep = monitor(tmp_path, MonitorConfig(rule="informative", group_size=4))
    wins = re.findall(r"steps (\d+)-(\d+)", " ".join(rep.reasons))
    assert wins and all(int(a) in logged and int(b) in logged for a, b in wins), (wins, logged)


def test_logging_steps_10_quotes_the_steps_its_values_cover_and_stops_on_no_signal(tiny, tmp_path):
    from rankinv.integrations.trl import EntropyMonitorCallback
    from rankinv.verdicts.monitor import MonitorConfig, monitor

    cb = EntropyMonitorCallback(action="stop", reward_range=(0, 2))
    trainer, _ = _train(
        tiny, tmp_path, [cb], lambda completions, **k: [2.0] * len(completions), 60,
        logging_steps=10,
    )  # fmt: skip
    # values at 10, 20: each the mean of its 10 steps, every group zero-std; the value at 20
    # alone covers the no-signal window of steps 11-20
    assert cb.stopped_at == 20 and cb.report["state"] == "no_signal:saturated"
    assert cb.report["reward_range"] == [0.0, 2.0]  # given: 2.0 is its maximum
    logged = {10, 20}
    for a, b in re.findall(r"steps (\d+)-(\d+)", " ".join(cb.report["reasons"])):
        assert int(a) + 9 in logged and int(b) in logged
    # the trainer_state.json TRL writes, read after the fact
    trainer.state.save_to_json(str(tmp_path / "trainer_state.json"))
    state = json.loads((tmp_path / "trainer_state.json").read_text())
    assert state["logging_steps"] == 10
    rep = monitor(tmp_path)
    assert rep.assumptions[3].value == {"steps": 10, "averaged": True}
    # the callback logged the trainer's num_generations (rankinv/group_size): g is read
    assert rep.group_size == 4 and rep.assumptions[0].source == "log"
    # TRL's summed reward 2.0 leaves the assumed [0, 1]: warned, judged on [0, 10]
    assert rep.reward_range == (0.0, 10.0)
    assert any("outside the assumed range [0, 1]" in r for r in rep.reasons)
    rep = monitor(tmp_path, MonitorConfig(reward_range=(0.0, 2.0), group_size=4))
    assert rep.state == "no_signal:saturated" and rep.verdict == "stop"
