"""RL prompt sets as training reads them and the user's reward (rankinv.sandbox.row_tasks):
verl's parquet layout and a Hugging Face datasets folder, written here with pyarrow and
datasets as those tools write them; the reward judged in the sandbox, never in this process."""

import json
import os

import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from rankinv.errors import InputNotFound, UserError  # noqa: E402
from rankinv.sandbox import io_tasks, row_tasks  # noqa: E402
from rankinv.sandbox import tasks as task_sets  # noqa: E402

#: Rows in verl's RL layout (examples/data_preprocess/gsm8k.py writes these columns).
VERL_ROWS = [
    {
        "data_source": "openai/gsm8k",
        "prompt": [{"role": "user", "content": f"What is {a} + {b}? Answer after ####."}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": str(a + b)},
        "extra_info": {"split": "train", "index": i},
    }
    for i, (a, b) in enumerate([(1, 2), (20, 22), (5, 5)])
]

REWARD = '''
import os


def exact(prompt, completion, **row):
    """verl-style: the answer after #### equals the ground truth."""
    answer = completion.split("####")[-1].strip()
    return 1.0 if answer == row["reward_model"]["ground_truth"] else 0.0


def where(prompt, completion, **row):
    return os.getuid() != 0  # this process runs as root; the sandbox drops to another uid


def boolean(prompt, completion, **row):
    return completion.startswith("yes")


def echo_prompt(prompt, completion, **row):
    return prompt[0]["content"].startswith("What is") and row["extra_info"]["index"] >= 0


def slow(prompt, completion, **row):
    while True:
        pass


def broken(prompt, completion, **row):
    raise RuntimeError("boom")


def half(prompt, completion, **row):
    return 0.5
'''


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(VERL_ROWS), path)
    return path


@pytest.fixture
def reward_file(tmp_path):
    path = tmp_path / "my_rewards.py"
    path.write_text(REWARD)
    return path


def test_parquet_in_verl_layout(parquet, reward_file):
    tasks = task_sets.load(str(parquet), reward=f"{reward_file}:exact")
    assert [t.task_id for t in tasks] == ["openai/gsm8k/0", "openai/gsm8k/1", "openai/gsm8k/2"]
    t = tasks[1]
    assert t.chat == ({"role": "user", "content": VERL_ROWS[1]["prompt"][0]["content"]},)
    assert t.row["reward_model"]["ground_truth"] == "42" and "prompt" not in t.row
    with pytest.raises(UserError, match="add --reward module:function"):
        task_sets.load(str(parquet))  # no tests to run: the reward must judge them
    # the benchmark hash changes with the reward's source
    other = reward_file.parent / "other.py"
    other.write_text(REWARD.replace("1.0 if", "0.9 if"))
    assert task_sets.benchmark_hash(tasks) != task_sets.benchmark_hash(
        task_sets.load(str(parquet), reward=f"{other}:exact")
    )


def test_datasets_folder_as_save_to_disk_writes_it(tmp_path, reward_file):
    datasets = pytest.importorskip("datasets")
    rows = [{"task_id": f"t{i}", "prompt": f"say {i}", "answer": str(i)} for i in range(4)]
    ds = datasets.Dataset.from_list(rows)
    ds.save_to_disk(str(tmp_path / "ds"))
    tasks = task_sets.load(str(tmp_path / "ds"), reward=f"{reward_file}:boolean")
    assert [t.task_id for t in tasks] == ["t0", "t1", "t2", "t3"]
    assert tasks[2].prompt == "say 2" and tasks[2].row == {"task_id": "t2", "answer": "2"}
    dd = datasets.DatasetDict({"train": ds, "test": ds.select([0])})
    dd.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(UserError, match="give one split's folder"):
        task_sets.load(str(tmp_path / "dd"), reward=f"{reward_file}:boolean")
    assert len(task_sets.load(str(tmp_path / "dd" / "test"), reward=f"{reward_file}:boolean")) == 1
    # HumanEval-style rows in a datasets folder need no reward
    he = [{"task_id": "a", "prompt": "def f():\n", "entry_point": "f", "test": "def check(c):"
           "\n    assert c() == 1\n", "canonical_solution": "    return 1\n"}]  # fmt: skip
    datasets.Dataset.from_list(he).save_to_disk(str(tmp_path / "he"))
    (t,) = task_sets.load(str(tmp_path / "he"))
    assert type(t) is task_sets.Task and t.entry_point == "f"


def test_reward_specs(tmp_path, reward_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = row_tasks.load_reward("my_rewards:exact")  # a module importable from the cwd
    assert r.function == "exact" and r.path.endswith("my_rewards.py") and "def exact" in r.source
    for bad, msg in [
        ("my_rewards", "module:function"),
        ("my_rewards:1x", "module:function"),
        ("nosuch_mod:f", "not found"),
        ("my_rewards:absent", "defines no top-level absent"),
    ]:
        with pytest.raises(UserError, match=msg):
            row_tasks.load_reward(bad)
    (tmp_path / "syntax.py").write_text("def f(:\n")
    with pytest.raises(UserError, match="line 1"):
        row_tasks.load_reward("syntax.py:f")
    with pytest.raises(InputNotFound):
        row_tasks.load_reward("missing.py:f")
    # reading the spec runs nothing of the module
    (tmp_path / "side.py").write_text(
        "open('ran', 'w').write('x')\ndef f(p, c, **r):\n    return 1\n"
    )
    row_tasks.load_reward("side:f")
    assert not (tmp_path / "ran").exists()


def _judge(sandbox, parquet, reward_file, fn, completions, timeout_s=3.0):
    tasks = task_sets.load(str(parquet), reward=f"{reward_file}:{fn}")
    pairs = [(t, c) for t, c in zip(tasks, completions, strict=True)]
    return io_tasks.check_many(sandbox, pairs, timeout_s)


def test_reward_runs_in_the_sandbox_with_its_verdicts(sandbox, parquet, reward_file):
    out = _judge(sandbox, parquet, reward_file, "exact", ["#### 3", "#### 41", "so #### 10"])
    assert [o.passed for o in out] == [True, False, True]
    assert out[1].status == "failed"
    out = _judge(sandbox, parquet, reward_file, "echo_prompt", ["a", "b", "c"])
    assert all(o.passed for o in out)  # the chat prompt and the row arrive as data
    out = _judge(sandbox, parquet, reward_file, "half", ["a", "b", "c"])
    assert not any(o.passed for o in out)  # 0.5 is not above 0.5
    out = _judge(sandbox, parquet, reward_file, "broken", ["a", "b", "c"])
    assert [o.status for o in out] == ["error"] * 3
    out = _judge(sandbox, parquet, reward_file, "slow", ["a", "b", "c"], timeout_s=0.5)
    assert [o.status for o in out] == ["timeout"] * 3
    if os.getuid() == 0 and "uid" in " ".join(sandbox.isolation):
        out = _judge(sandbox, parquet, reward_file, "where", ["a", "b", "c"])
        assert all(o.passed for o in out), out  # not this (root) process


def test_humaneval_prompts_with_a_reward(reward_file):
    tasks = task_sets.load("humaneval", reward=f"{reward_file}:boolean")
    assert len(tasks) == 164 and tasks[0].task_id == "HumanEval/0"
    assert tasks[0].row["entry_point"] == "has_close_elements"
    assert json.dumps(tasks[0].to_dict())  # hashable for the benchmark hash
