"""io_tasks: stdin/stdout tasks in three JSONL layouts, judged in the sandbox."""

import json

import pytest

from rankinv.sandbox import io_tasks
from rankinv.sandbox import tasks as task_sets
from rankinv.sandbox.executor import Sandbox

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


CASES_IN, CASES_OUT = ["1 2\n", "10 -3\n"], ["3\n", "7\n"]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def three_formats(tmp_path):
    native = {"task_id": "add/0", "question": "Add two ints.", "inputs": CASES_IN,
              "outputs": CASES_OUT}  # fmt: skip
    apps = {"problem_id": 7, "question": "Add two ints.",
            "input_output": json.dumps({"inputs": CASES_IN, "outputs": CASES_OUT})}  # fmt: skip
    lcb = {"question_id": "abc100_a", "question_content": "Add two ints.",
           "public_test_cases": json.dumps([
               {"input": i, "output": o, "testtype": "stdin"}
               for i, o in zip(CASES_IN, CASES_OUT, strict=True)
           ] + [{"input": "f(1)", "output": "2", "testtype": "functional"}])}  # fmt: skip
    return [write_jsonl(tmp_path / f"{k}.jsonl", [r]) for k, r in
            (("native", native), ("apps", apps), ("lcb", lcb))]  # fmt: skip


def test_three_layouts_load_alike(three_formats):
    loaded = [task_sets.load(str(p))[0] for p in three_formats]
    assert [t.task_id for t in loaded] == ["add/0", "7", "abc100_a"]
    for t in loaded:
        assert isinstance(t, io_tasks.IOTask)
        assert t.cases == (("1 2\n", "3\n"), ("10 -3\n", "7\n"))  # functional case dropped
        assert "Add two ints." in t.prompt and "standard input" in t.prompt
    assert task_sets.benchmark_hash(loaded[:1]) != task_sets.benchmark_hash(loaded[1:2])


def test_bad_rows_are_one_line_errors(tmp_path):
    p = write_jsonl(tmp_path / "b.jsonl", [{"task_id": "x", "question": "q", "inputs": ["1"],
                                          "outputs": []}])  # fmt: skip
    with pytest.raises(ValueError, match=r"b.jsonl row 1 \(x\): inputs and outputs"):
        task_sets.load(str(p))
    p = write_jsonl(tmp_path / "c.jsonl", [{"question": "q", "input_output": "{bad"}])
    with pytest.raises(ValueError, match="needs an id"):
        task_sets.load(str(p))
    p = write_jsonl(tmp_path / "d.jsonl", [{"problem_id": 1, "question": "q",
                                          "input_output": "{bad"}])  # fmt: skip
    with pytest.raises(ValueError, match="unreadable test cases"):
        task_sets.load(str(p))


def test_judging_in_the_sandbox(three_formats):
    task = task_sets.load(str(three_formats[0]))[0]
    programs = {
        "right": ADD,
        "right, trailing spaces and exit(0)": (
            "import sys\na, b = map(int, sys.stdin.read().split())\n"
            "print(a + b, '  ')\nprint()\nsys.exit(0)\n"
        ),
        "first case only": "input()\nprint(3)\n",
        "raises": "raise ValueError('no')\n",
        "exit status 1": "import sys\nprint(3)\nsys.exit(1)\n",
        "prints nothing": "pass\n",
    }
    with Sandbox(2) as sb:
        got = io_tasks.check_many(sb, [(task, p) for p in programs.values()], 3.0)
        mixed = io_tasks.check_many(
            sb,
            [(task, ADD), (task_sets.load("synthetic", n=1)[0], "x+1\n")],
            3.0,
        )
    verdicts = dict(zip(programs, [o.passed for o in got], strict=True))
    assert verdicts == {
        "right": True,
        "right, trailing spaces and exit(0)": True,
        "first case only": False,
        "raises": False,
        "exit status 1": False,
        "prints nothing": False,
    }
    assert mixed[0].passed and len(mixed) == 2  # function tasks still go to check_many


def test_extract_program():
    assert io_tasks.extract_program("Sure:\n```python\nprint(1)\n```\nbye") == "print(1)\n"
    assert io_tasks.extract_program("print(2)") == "print(2)\n"
