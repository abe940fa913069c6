"""tasks: the task sets (HumanEval, the synthetic set, local JSONL) and their solutions."""

import json

import pytest

from rankinv.errors import UserError
from rankinv.sandbox import tasks as task_sets


def test_humaneval_has_164_problems(humaneval_tasks):
    first = humaneval_tasks[0]
    assert len(humaneval_tasks) == 164
    assert first.task_id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert len(task_sets.benchmark_hash(humaneval_tasks)) == 16


def test_all_canonical_solutions_pass(sandbox, humaneval_tasks):
    res = sandbox.check_many([(t, t.canonical_solution) for t in humaneval_tasks])
    assert [r.status for r in res] == ["passed"] * 164


def test_return_none_fails_everywhere(sandbox, humaneval_tasks):
    res = sandbox.check_many([(t, "    return None\n") for t in humaneval_tasks])
    assert not any(r.passed for r in res)
    assert {r.status for r in res} <= {"failed", "error"}


def test_synthetic_splits_share_no_solution_and_every_solution_passes(sandbox):
    train = task_sets.synthetic(60, seed=1, split="train")
    test = task_sets.synthetic(20, seed=1, split="test")
    assert not {t.canonical_solution for t in train} & {t.canonical_solution for t in test}
    res = sandbox.check_many([(t, t.canonical_solution) for t in train + test])
    assert all(r.passed for r in res)


def test_a_local_jsonl_loads_back_the_tasks_it_holds(tmp_path):
    tasks = task_sets.synthetic(3, seed=1, split="test")
    path = tmp_path / "plus.jsonl"
    path.write_text("\n".join(json.dumps(t.to_dict()) for t in tasks))
    assert task_sets.load(str(path)) == tasks


def test_a_row_without_a_field_and_an_unknown_name_are_one_line_errors(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"task_id": "x", "prompt": "p"}))
    with pytest.raises(UserError, match="lacks field"):
        task_sets.load(str(path))
    with pytest.raises(UserError, match="unknown benchmark"):
        task_sets.load("mbpp")


@pytest.mark.parametrize(
    "content, msg",
    [
        ("", "holds no tasks"),
        ("\n\n", "holds no tasks"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ('{"task_id": "a"\n', "line 1 is not valid JSON"),
        ('{"task_id": "a"}\n', "row 1 lacks field"),
    ],
)
def test_a_bad_benchmark_file_is_one_line(tmp_path, content, msg):
    path = tmp_path / "bench.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=msg):
        task_sets.load(str(path))


def test_a_benchmark_directory_or_missing_file_is_named(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        task_sets.load(str(tmp_path / "dir.jsonl"))
    with pytest.raises(FileNotFoundError, match="not found"):
        task_sets.load(str(tmp_path / "none.jsonl"))
    with pytest.raises(UserError, match="unknown benchmark"):
        task_sets.load("mbpp")
