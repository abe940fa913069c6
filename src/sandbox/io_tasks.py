"""Stdin/stdout tasks (contest style): a program reads its input from stdin and is judged
by what it prints, one (input, expected output) pair per test case.

Accepted JSONL rows (one task per line), as the common sets store them:
  rankinv:        {"task_id", "prompt" | "question", "inputs": [...], "outputs": [...]}
  APPS-style:     {"problem_id", "question",
                   "input_output": "{\"inputs\": [...], \"outputs\": [...]}"}
  LiveCodeBench:  {"question_id", "question_content", "public_test_cases":
                   "[{\"input\": ..., \"output\": ..., \"testtype\": \"stdin\"}, ...]"}
                  (its private cases are compressed; only plain-JSON cases are read)

An IO task runs in the split-trust executor like any other: the program becomes a function
of its stdin in the completion's sandboxed process (:func:`as_function_task`), and the
harness calls it once per case and compares the printed text; :func:`check_many` routes IO
tasks that way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rankinv.errors import UserError
from rankinv.sandbox.task_types import JudgedTask, Task

#: The comment a base model sees before the problem statement (its completion is the
#: program that follows the closing quotes).
IO_PROMPT = '"""\n{question}\n\nRead from standard input, write to standard output.\n"""\n'
#: Stop strings for a base model's program (HumanEval's "\ndef", "\nif"... would cut it).
IO_STOP = ('\n"""', "\n```")
#: The chat instruction for a stdin/stdout task (``--chat-template``).
IO_CHAT_INSTRUCTION = (
    "Solve this problem with a Python program that reads standard input and writes "
    "standard output. Answer with the whole program in one ```python code block.\n\n{prompt}"
)


@dataclass(frozen=True)
class IOTask(JudgedTask):
    """A Task judged on stdin/stdout cases; ``entry_point`` and ``test`` are empty."""

    cases: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["cases"] = [list(c) for c in self.cases]
        return d

    def sandbox_pair(self, completion: str) -> tuple[Task, str]:
        return as_function_task(self, completion)

    def timeout_factor(self) -> int:
        return max(1, len(self.cases))


def is_io_row(row: dict) -> bool:
    return any(k in row for k in ("inputs", "input_output", "public_test_cases"))


def _as_text(x) -> str:
    if isinstance(x, list):
        return "\n".join(map(str, x)) + "\n"
    return str(x)


def io_task(row: dict, source: str, i: int) -> IOTask:
    """One row of any accepted format as an IOTask; one-line errors naming the row."""
    tid = row.get("task_id") or row.get("problem_id") or row.get("question_id")
    question = row.get("prompt") or row.get("question") or row.get("question_content")
    if tid is None or not question:
        raise UserError(
            f"{source} row {i + 1}: a stdin/stdout task needs an id (task_id, problem_id or "
            f"question_id) and a statement (prompt, question or question_content)"
        )
    try:
        if "inputs" in row:
            ins, outs = row["inputs"], row.get("outputs")
        elif "input_output" in row:
            io = row["input_output"]
            io = json.loads(io) if isinstance(io, str) else io
            ins, outs = io["inputs"], io["outputs"]
        else:
            cases = row["public_test_cases"]
            cases = json.loads(cases) if isinstance(cases, str) else cases
            cases = [c for c in cases if c.get("testtype", "stdin") == "stdin"]
            ins, outs = [c["input"] for c in cases], [c["output"] for c in cases]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{source} row {i + 1} ({tid}): unreadable test cases ({exc})") from None
    if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
        raise UserError(
            f"{source} row {i + 1} ({tid}): inputs and outputs must be lists of one length"
        )
    if not ins:
        raise UserError(f"{source} row {i + 1} ({tid}): no stdin test cases")
    prompt = row.get("prompt") or IO_PROMPT.format(question=question.strip())
    return IOTask(
        task_id=str(tid),
        prompt=prompt,
        entry_point="",
        test="",
        canonical_solution=str(row.get("canonical_solution", "")),
        cases=tuple((_as_text(a), _as_text(b)) for a, b in zip(ins, outs, strict=True)),
    )


def io_tasks(rows: list[dict], source: str) -> list[IOTask]:
    return [io_task(r, source, i) for i, r in enumerate(rows)]


#: The completion side: the program becomes a function of its stdin, run in the sandboxed
#: completion process; only its printed text crosses back to the harness.
_PROGRAM_AS_FUNCTION = """
def _rankinv_io(_stdin):
    import io as _io
    import sys as _sys

    _code = compile({src!r}, "<solution>", "exec")
    _out = _io.StringIO()
    _old = _sys.stdin, _sys.stdout
    _sys.stdin, _sys.stdout = _io.StringIO(_stdin), _out
    try:
        exec(_code, {{"__name__": "__main__", "__builtins__": __builtins__}})
    except SystemExit as _e:
        if _e.code not in (None, 0):
            raise RuntimeError(f"exit status {{_e.code}}") from None
    finally:
        _sys.stdin, _sys.stdout = _old
    return _out.getvalue()
"""

#: The harness side: the cases are data; the verdict compares lines of text.
_IO_TEST = """
_RANKINV_CASES = {cases!r}


def _rankinv_lines(s):
    lines = [ln.rstrip() for ln in str(s).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def check(candidate):
    for i, (inp, want) in enumerate(_RANKINV_CASES):
        got = candidate(inp)
        assert isinstance(got, str), f"case {{i}}: no text"
        assert _rankinv_lines(got) == _rankinv_lines(want), f"case {{i}}: wrong output"
"""


def as_function_task(task: IOTask, completion: str) -> tuple[Task, str]:
    """The (Task, completion) pair the split-trust executor runs for an IO task: the
    program (prompt + completion) wrapped as ``_rankinv_io(stdin) -> stdout`` in the
    completion's process, and the cases as a ``check(candidate)`` in the harness; it passes
    when every case's output matches (trailing whitespace per line and blank lines at the
    ends ignored)."""
    wrapped = Task(
        task_id=task.task_id,
        prompt="",
        entry_point="_rankinv_io",
        test=_IO_TEST.format(cases=[list(c) for c in task.cases]),
        canonical_solution="",
    )
    return wrapped, _PROGRAM_AS_FUNCTION.format(src=task.prompt + completion)


def extract_program(answer: str) -> str:
    """The program in a chat answer: its first fenced code block, else the whole answer."""
    import re

    m = re.search(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n(.*?)(?:```|\Z)", answer, re.S)
    return (m.group(1) if m else answer).rstrip() + "\n"


def check_many(sandbox, pairs, timeout_s: float) -> list:
    """Like ``Sandbox.check_many`` for (task, completion) pairs mixing judged tasks (IO,
    reward) and function tasks: a :class:`JudgedTask` goes through its ``sandbox_pair``
    (the timeout scaled by its ``timeout_factor``), the rest unchanged; outcomes keep the
    input order."""
    pairs = list(pairs)
    judged = [k for k, (t, _) in enumerate(pairs) if isinstance(t, JudgedTask)]
    if not judged:
        return sandbox.check_many(pairs, timeout_s)
    out: list = [None] * len(pairs)
    rest = [k for k in range(len(pairs)) if k not in set(judged)]
    if rest:
        for k, o in zip(rest, sandbox.check_many([pairs[k] for k in rest], timeout_s), strict=True):
            out[k] = o
    by_factor: dict[int, list[int]] = {}
    for k in judged:
        by_factor.setdefault(pairs[k][0].timeout_factor(), []).append(k)
    for factor, ks in by_factor.items():
        wrapped = [pairs[k][0].sandbox_pair(pairs[k][1]) for k in ks]
        for k, o in zip(ks, sandbox.check_many(wrapped, timeout_s * factor), strict=True):
            out[k] = o
    return out
