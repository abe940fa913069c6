"""Saving results: one atomic JSON writer and one JSONL appender, used by every layer.

Imports nothing of rankinv, so any layer may import it (it sits below theory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rankinv.errors import UserError


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays (numpy imported only if the object is one)."""
    mod = type(obj).__module__
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON atomically: a temporary file beside it, fsync, then a rename.

    An interrupted write leaves the previous file (or none), never half of one, so a run
    that resumes from the file never reads a truncated record.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(json.dumps(obj, indent=indent, default=json_default))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def append_jsonl(path: str | os.PathLike, record: Any) -> None:
    """Append one record as a line and flush it: a crash loses at most the line being written
    (readers skip a final line that does not parse)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(record, default=json_default) + "\n")
        fh.flush()


def read_jsonl(path: str | os.PathLike) -> list:
    """Records of a JSONL file; a truncated last line (an interrupted append) is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise UserError(f"{path}: line {i + 1} is not JSON") from None
    return out


#: The file in an --out folder that says which run the folder belongs to.
RUN_FILE = "rankinv-run.json"


def claim_out_dir(out: str | os.PathLike, identity: dict, overwrite: bool = False) -> Path:
    """Make ``out`` the folder of one run, named by ``identity`` (the command and the options
    that change its results), and return it.

    The same run resumes (its identity is already recorded there). A folder that holds another
    run's results is refused with one line naming the first difference, unless ``overwrite``,
    which empties it first (only a folder rankinv recorded as its own). A file is refused."""
    from rankinv.errors import UserError

    d = Path(out)
    if d.exists() and not d.is_dir():
        raise UserError(f"--out {d} is an existing file; --out names a directory")
    ident = json.loads(json.dumps(identity, default=json_default))
    record = d / RUN_FILE
    if record.is_file():
        try:
            before = json.loads(record.read_text())
        except json.JSONDecodeError:
            before = {}
        if before != ident:
            was, now = _flatten(before), _flatten(ident)
            keys = sorted(set(was) | set(now))
            diff = next((k for k in keys if was.get(k) != now.get(k)), "?")
            if not overwrite:
                raise UserError(
                    f"--out {d} holds another run's results ({diff}: {was.get(diff)!r} there, "
                    f"{now.get(diff)!r} now); use another --out, or --overwrite to replace them"
                )
            import shutil

            shutil.rmtree(d)
    elif overwrite and d.is_dir() and any(d.iterdir()):
        raise UserError(
            f"--overwrite: {d} was not written by a rankinv run of this version (no {RUN_FILE});"
            " empty it yourself or use another --out"
        )
    write_json(record, ident)
    return d


def _flatten(d: dict, prefix: str = "") -> dict:
    """{"config": {"seeds": 2}} -> {"config.seeds": 2}: a difference named by its leaf."""
    out = {}
    for k, v in d.items() if isinstance(d, dict) else ():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
