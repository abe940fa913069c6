"""Stdin/stdout tasks: the three JSONL layouts, sandboxed judging, and a probe over them."""

import json

import pytest

from rankinv.sandbox import io_tasks
from rankinv.sandbox import tasks as task_sets
from rankinv.sandbox.executor import Sandbox
from rankinv.validate.sampler import Generation

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
    with pytest.raises(ValueError, match=r"b.jsonl row 0 \(x\): inputs and outputs"):
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


class FixedSampler:
    """A Sampler-protocol double: the right program for add/0, a wrong one for add/1."""

    vocab_size = 100
    revision = "fixed"

    def encode(self, prompts):
        return [[1, 2, 3] for _ in prompts]

    def generate(self, prompts, n, temperature, top_p, max_new_tokens, stop, seed):
        prog = ADD if "Add two" in prompts[0] else "print(0)\n"
        return [[Generation(prog, 5, [0.5] * 5, [1] * 5) for _ in range(n)]]


def test_probe_over_io_tasks_with_pre_rl_report(tmp_path):
    from rankinv.validate.probe import ProbeConfig, run_probe

    rows = [
        {"task_id": "add/0", "question": "Add two ints.", "inputs": CASES_IN, "outputs": CASES_OUT},
        {"task_id": "add/1", "question": "Sub two ints.", "inputs": ["5 1\n"], "outputs": ["4\n"]},
    ]
    bench = write_jsonl(tmp_path / "io.jsonl", rows)
    cfg = ProbeConfig(benchmark=str(bench), samples=4, group_size=4, workers=1)
    s = run_probe("fixed", cfg, tmp_path / "out", sampler=FixedSampler(), progress=False,
                  entropy_mode="rollout", rl_plan=(10, 1))  # fmt: skip
    assert s["pass_at_1"] == 0.5 and s["stop"] == list(io_tasks.IO_STOP)
    rep = json.loads((tmp_path / "out" / "pre_rl.json").read_text())
    by = {p["task_id"]: p for p in rep["prompts"]}
    assert by["add/0"]["p_hat"] == 1.0 and by["add/1"]["p_hat"] == 0.0
    assert rep["draws_per_prompt"] == 5.0 and s["pre_rl"]["frac_never_solved"] == 0.5
