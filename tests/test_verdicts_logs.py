"""One log reader for every trainer: TRL, JSONL, verl's nested JSONL, W&B CSV, TensorBoard."""

import json

import numpy as np
import pytest

from rankinv.errors import UserError
from rankinv.verdicts import logs


def test_trl_state_gives_records_and_max_steps(tmp_path):
    hist = [
        {"step": s, "entropy": 0.5, "frac_reward_zero_std": 0.25, "reward": 0.4} for s in (1, 2)
    ]
    hist.append({"step": 2, "heldout_pass_at_1": 0.3})  # an evaluation entry of the same step
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": hist, "max_steps": 9}))
    lg = logs.read_log(tmp_path)
    assert lg.format == "trl" and lg.max_steps == 9
    assert [r["step"] for r in lg.records] == [1, 2]
    assert lg.records[1]["heldout_pass_at_1"] == 0.3 and lg.records[1]["entropy"] == 0.5


def test_jsonl_records_that_state_max_steps_give_the_planned_total(tmp_path):
    path = tmp_path / "run.jsonl"
    rows = [{"step": s, "entropy": 0.5, "max_steps": 150} for s in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert logs.read_log(path).max_steps == 150
    rows[1]["max_steps"] = 300  # two stated totals: none is trusted
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert logs.read_log(path).max_steps is None


def test_verl_file_logger_lines_are_unnested(tmp_path):
    path = tmp_path / "verl.jsonl"
    rows = [
        {"step": s, "data": {"actor/entropy": 1.0 - s / 100, "critic/score/mean": s / 100}}
        for s in range(1, 6)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"step": 6, "data": {"act')
    lg = logs.read_log(path)
    assert lg.format == "verl"
    tr, keys = logs.trace(lg.records)
    assert keys["entropy"] == "actor/entropy" and keys["reward"] == "critic/score/mean"
    assert tr.reward.tolist() == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    assert tr.informative is None  # verl logs no zero-std share
    assert any("final line" in i for i in lg.issues)


def test_wandb_csv_with_train_prefix(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("_step,train/reward,train/entropy\n1,0.1,0.9\n2,0.2,0.8\n")
    tr, keys = logs.trace(logs.read_log(path).records)
    assert keys["reward"] == "reward" and tr.steps.tolist() == [1, 2]
    assert tr.entropy.tolist() == [0.9, 0.8]


def test_tensorboard_directory_written_by_summary_writer(tmp_path):
    pytest.importorskip("tensorboard")
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    del torch
    w = SummaryWriter(log_dir=str(tmp_path / "runs" / "exp1"))
    for s in range(1, 11):
        w.add_scalar("train/reward", 0.1 * s, s)
        w.add_scalar("train/frac_reward_zero_std", 0.2, s)
    w.close()
    lg = logs.read_log(tmp_path / "runs")
    assert lg.format == "tensorboard"
    tr, keys = logs.trace(lg.records)
    assert keys == {**keys, "reward": "reward", "zero_std": "frac_reward_zero_std"}
    assert tr.steps.tolist() == list(range(1, 11))
    assert tr.reward[-1] == pytest.approx(1.0)
    assert np.allclose(tr.informative, 0.8)


def test_out_of_order_and_duplicate_steps_are_merged(tmp_path):
    path = tmp_path / "run.jsonl"
    lines = [json.dumps({"step": s, "entropy": 0.5}) for s in (3, 1, 2)]
    lines.append(json.dumps({"step": 2, "reward": 0.7}))
    path.write_text("\n".join(lines))
    lg = logs.read_log(path)
    assert [r["step"] for r in lg.records] == [1, 2, 3]
    assert lg.records[1] == {"step": 2, "entropy": 0.5, "reward": 0.7}
    assert "out of order" in " ".join(lg.issues)


def test_forced_key_that_is_not_logged_is_named(tmp_path):
    recs = [{"step": 1, "entropy": 0.5}]
    with pytest.raises(UserError, match=r"lacks key\(s\) \['nosuch'\]; keys there: \['entropy'"):
        logs.trace(recs, reward_key="nosuch")


def test_no_step_column_and_named_step_key(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"it": 1, "reward": 0.1}) + "\n" + json.dumps({"it": 2}))
    with pytest.raises(UserError, match="a step column"):
        logs.read_log(path)
    assert [r["step"] for r in logs.read_log(path, step_key="it").records] == [1, 2]


def test_empty_binary_and_missing_logs_are_named(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(UserError, match="empty.jsonl is empty"):
        logs.read_log(tmp_path / "empty.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(UserError, match="bin.jsonl is not a text log"):
        logs.read_log(tmp_path / "bin.jsonl")
    with pytest.raises(UserError, match="log not found"):
        logs.read_log(tmp_path / "nope.jsonl")
    with pytest.raises(UserError, match="without trainer_state.json or TensorBoard"):
        logs.read_log(tmp_path)
