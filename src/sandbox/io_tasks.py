"""Stdin/stdout tasks (contest style): a program reads its input from stdin and is judged
by what it prints, one (input, expected output) pair per test case.

Accepted JSONL rows (one task per line), as the common sets store them:
  rankinv:        {"task_id", "prompt" | "question", "inputs": [...], "outputs": [...]}
  APPS-style:     {"problem_id", "question",
                   "input_output": "{\"inputs\": [...], \"outputs\": [...]}"}
  LiveCodeBench:  {"question_id", "question_content", "public_test_cases":
                   "[{\"input\": ..., \"output\": ..., \"testtype\": \"stdin\"}, ...]"}
                  (its private cases are compressed; only plain-JSON cases are read)

The program that runs in the sandbox is built here (:func:`build_io_program`) and goes
through ``Sandbox.run_program``; it passes when every case's output matches (trailing
whitespace per line and blank lines at the ends ignored). Hook for the executor (not
edited here): ``build_program(task, completion)`` can dispatch to
:func:`build_io_program` when ``isinstance(task, IOTask)``; until then
:func:`check_many` routes IO tasks itself.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rankinv.sandbox.tasks import Task

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
class IOTask(Task):
    """A Task judged on stdin/stdout cases; ``entry_point`` and ``test`` are empty."""

    cases: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["cases"] = [list(c) for c in self.cases]
        return d


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
        raise ValueError(
            f"{source} row {i}: a stdin/stdout task needs an id (task_id, problem_id or "
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
        raise ValueError(f"{source} row {i} ({tid}): unreadable test cases ({exc})") from None
    if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
        raise ValueError(
            f"{source} row {i} ({tid}): inputs and outputs must be lists of one length"
        )
    if not ins:
        raise ValueError(f"{source} row {i} ({tid}): no stdin test cases")
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


_HARNESS = """
import io as _io, sys as _sys
_rankinv_cases = {cases!r}
_rankinv_src = {src!r}


def _rankinv_lines(s):
    lines = [ln.rstrip() for ln in s.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def _rankinv_run():
    code = compile(_rankinv_src, "<solution>", "exec")
    for i, (inp, want) in enumerate(_rankinv_cases):
        out = _io.StringIO()
        old = _sys.stdin, _sys.stdout
        _sys.stdin, _sys.stdout = _io.StringIO(inp), out
        try:
            exec(code, {{"__name__": "__main__", "__builtins__": __builtins__}})
        except SystemExit as e:
            if e.code not in (None, 0):
                raise RuntimeError(f"case {{i}}: exit status {{e.code}}") from None
        finally:
            _sys.stdin, _sys.stdout = old
        if _rankinv_lines(out.getvalue()) != _rankinv_lines(want):
            raise AssertionError(f"case {{i}}: wrong output")


_rankinv_run()
"""


def build_io_program(task: IOTask, completion: str) -> str:
    """A program that runs prompt + completion on every case with that case's stdin and
    compares stdout; it raises (fails) on the first wrong case."""
    return _HARNESS.format(cases=[list(c) for c in task.cases], src=task.prompt + completion)


def extract_program(answer: str) -> str:
    """The program in a chat answer: its first fenced code block, else the whole answer."""
    import re

    m = re.search(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n(.*?)(?:```|\Z)", answer, re.S)
    return (m.group(1) if m else answer).rstrip() + "\n"


def check_many(sandbox, pairs, timeout_s: float) -> list:
    """Like ``Sandbox.check_many`` for (task, completion) pairs mixing IO and function tasks:
    IO tasks' programs are built here and run with ``Sandbox.run_program`` (the timeout per
    case), the rest go to ``Sandbox.check_many`` unchanged."""
    pairs = list(pairs)
    io_idx = [k for k, (t, _) in enumerate(pairs) if isinstance(t, IOTask)]
    if not io_idx:
        return sandbox.check_many(pairs, timeout_s)
    out: list = [None] * len(pairs)
    rest = [k for k in range(len(pairs)) if k not in set(io_idx)]
    if rest:
        for k, o in zip(rest, sandbox.check_many([pairs[k] for k in rest], timeout_s), strict=True):
            out[k] = o
    workers = max(1, len(getattr(sandbox, "_workers", [None])))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futs = {
            k: pool.submit(
                sandbox.run_program,
                build_io_program(pairs[k][0], pairs[k][1]),
                timeout_s * max(1, len(pairs[k][0].cases)),
            )
            for k in io_idx
        }
        for k, f in futs.items():
            out[k] = f.result()
    return out
