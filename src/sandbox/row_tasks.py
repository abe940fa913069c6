"""Prompts and reward as in training: rows of a parquet file (verl's layout) or of a Hugging
Face ``datasets`` folder (``save_to_disk``), and the user's own reward function.

verl's RL parquet: one row per prompt with ``prompt`` (a chat list of {"role", "content"}, or a
string), ``data_source``, ``reward_model`` ({"style", "ground_truth"}) and ``extra_info``. A
``datasets`` folder holds ``state.json`` and Arrow stream files (one split), or
``dataset_dict.json`` and one folder per split. Both are read with pyarrow (extra
``validate``); rows that carry HumanEval fields or stdin/stdout cases become those tasks.

``--reward module:function`` (a module importable from the current directory or sys.path, or
``path/to/file.py:function``) scores each completion as the RL run will:
``function(prompt, completion, **row) -> float | bool``, where ``prompt`` is the row's prompt
as stored (chat list or string), ``completion`` the model's raw answer text and ``row`` the
row's other columns (``data_source``, ``reward_model``, ``extra_info``, ...). A score above
0.5, or True, counts as a pass. The module's source is never run in this process: it runs as
the *completion* side of the split-trust sandbox (stdlib and ``--allow-import`` modules only;
one file: its own relative imports do not resolve), and the harness calls the function with
the row as plain data, under the sandbox's timeout; a reward that raises, hangs or returns
something else counts as a fail.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rankinv.errors import InputNotFound, UserError
from rankinv.sandbox.task_types import JudgedTask, Task

#: Columns passed positionally, so never among the reward's keyword arguments.
POSITIONAL = ("prompt", "completion")


# ---------------------------------------------------------------- reading rows
def _pyarrow(what: str):
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - the submodule the readers use
    except ImportError:
        raise UserError(f"reading {what} needs pyarrow: pip install 'rankinv[validate]'") from None
    return pyarrow


def read_parquet(path: Path) -> list[dict]:
    pa = _pyarrow("a parquet benchmark")
    try:
        return pa.parquet.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable parquet file ({exc})") from None


def is_dataset_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f).is_file() for f in ("state.json", "dataset_dict.json"))


def read_dataset_dir(path: Path) -> list[dict]:
    """The rows of a ``datasets`` save_to_disk folder (one split: a DatasetDict's only
    split, else name the split's folder)."""
    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text()).get("splits") or []
        if len(splits) != 1:
            raise UserError(
                f"{path} is a DatasetDict with splits {splits}; give one split's folder, "
                f"e.g. {path / (splits[0] if splits else 'train')}"
            )
        path = path / splits[0]
    pa = _pyarrow("a datasets folder")
    state = json.loads((path / "state.json").read_text())
    files = [f["filename"] for f in state.get("_data_files") or []]
    if not files:
        raise UserError(f"{path}/state.json lists no data files")
    rows: list[dict] = []
    for name in files:
        try:
            with pa.memory_map(str(path / name)) as src:
                rows += pa.ipc.open_stream(src).read_all().to_pylist()
        except (pa.ArrowException, OSError) as exc:
            raise UserError(f"{path / name}: not an Arrow file datasets wrote ({exc})") from None
    return rows


# ---------------------------------------------------------------- the user's reward
@dataclass(frozen=True)
class Reward:
    """A reward function's spec, its module's source (read, never run here) and its name."""

    spec: str
    source: str
    function: str
    path: str


def _module_file(module: str) -> Path | None:
    """Where ``import module`` would find a source file, looked up without importing."""
    rel = Path(*module.split("."))
    for base in [Path.cwd(), *map(Path, filter(None, sys.path))]:
        for cand in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if cand.is_file():
                return cand
    return None


def load_reward(spec: str) -> Reward:
    """``module:function`` or ``path/to/file.py:function`` as a :class:`Reward`; one-line
    errors for a bad spec, a missing module, a syntax error, or no such function."""
    mod, sep, fn = str(spec).rpartition(":")
    if not sep or not mod or not fn.isidentifier():
        raise UserError(
            f"--reward takes module:function (e.g. rewards:score or path/to/rewards.py:score), "
            f"got {spec!r}"
        )
    path = Path(mod) if mod.endswith(".py") else _module_file(mod)
    if path is None or not path.is_file():
        raise InputNotFound(f"--reward {spec}: module {mod} not found (no {mod} file)")
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise UserError(f"--reward {spec}: {path} line {exc.lineno}: {exc.msg}") from None
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}  # fmt: skip
    if fn not in defined:
        raise UserError(f"--reward {spec}: {path} defines no top-level {fn}")
    return Reward(spec=str(spec), source=source, function=fn, path=str(path))


#: The harness side of a reward check: the call's arguments are data; the verdict is the
#: score's.
_REWARD_TEST = """
import json as _json

_RANKINV_CALL = _json.loads({payload!r})


def check(candidate):
    score = candidate(_RANKINV_CALL["prompt"], _RANKINV_CALL["completion"], **_RANKINV_CALL["row"])
    passed = score is True or (type(score) in (int, float) and score > 0.5)
    assert passed, f"reward {{score!r}}"
"""


@dataclass(frozen=True, eq=False)
class RewardTask(JudgedTask):
    """A prompt judged by the user's reward: ``chat`` holds a chat-list prompt (``prompt``
    is then empty), ``row`` the row's other columns."""

    chat: tuple = field(default=())
    row: dict = field(default_factory=dict)
    reward: Reward | None = None

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["row"] = json.loads(json.dumps(self.row, default=str, sort_keys=True))
        d["reward"] = None if self.reward is None else {
            "spec": self.reward.spec, "source": self.reward.source}  # fmt: skip
        return d

    def sandbox_pair(self, completion: str) -> tuple[Task, str]:
        """The reward module as the completion's program, the call as the harness's test."""
        prompt = list(self.chat) if self.chat else self.prompt
        payload = json.dumps(
            {"prompt": prompt, "completion": completion, "row": self.row}, default=str
        )
        wrapped = Task(
            task_id=self.task_id,
            prompt="",
            entry_point=self.reward.function,
            test=_REWARD_TEST.format(payload=payload),
            canonical_solution="",
        )
        return wrapped, self.reward.source


def _chat(prompt, source: str, i: int) -> tuple:
    ok = all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt)
    if not prompt or not ok:
        raise UserError(
            f"{source} row {i + 1}: prompt is a list but not of {{role, content}} turns"
        )
    return tuple({"role": str(m["role"]), "content": str(m["content"])} for m in prompt)


def reward_tasks(rows: list[dict], source: str, reward: Reward) -> list[RewardTask]:
    """Every row as a prompt the reward judges."""
    out = []
    for i, r in enumerate(rows):
        prompt = r.get("prompt")
        if prompt is None:
            raise UserError(
                f"{source} row {i + 1} has no prompt column; columns there: {sorted(r)}"
            )
        chat = _chat(prompt, source, i) if isinstance(prompt, list) else ()
        tid = r.get("task_id")
        if tid is None:
            tid = f"{r['data_source']}/{i}" if r.get("data_source") else str(i)
        out.append(
            RewardTask(
                task_id=str(tid),
                prompt="" if chat else str(prompt),
                entry_point="",
                test="",
                canonical_solution="",
                chat=chat,
                row={k: v for k, v in r.items() if k not in POSITIONAL},
                reward=reward,
            )
        )
    return out


def is_verl_row(row: dict) -> bool:
    return "prompt" in row and ("reward_model" in row or "data_source" in row)
