"""The probe over stdin/stdout tasks, with its pre-RL report."""

import json

from rankinv.sandbox import io_tasks
from rankinv.validate.sampler import Generation

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


CASES_IN, CASES_OUT = ["1 2\n", "10 -3\n"], ["3\n", "7\n"]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


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
