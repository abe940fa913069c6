"""Saving results: one atomic JSON writer and one JSONL appender, used by every layer, and
the one-writer lock of an output folder.

Imports nothing of rankinv but its errors, so any layer may import it (it sits below
theory).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
            _empty(d)
    elif overwrite and d.is_dir() and any(p.name != LOCK_FILE for p in d.iterdir()):
        raise UserError(
            f"--overwrite: {d} was not written by a rankinv run of this version (no {RUN_FILE});"
            " empty it yourself or use another --out"
        )
    write_json(record, ident)
    return d


def _empty(d: Path) -> None:
    """Remove what ``d`` holds, but the writer lock (held by this process, maybe)."""
    import shutil

    for p in d.iterdir():
        if p.name == LOCK_FILE:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _flatten(d: dict, prefix: str = "") -> dict:
    """{"config": {"seeds": 2}} -> {"config.seeds": 2}: a difference named by its leaf."""
    out = {}
    for k, v in d.items() if isinstance(d, dict) else ():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# ---------------------------------------------------------------- one writer per folder

#: The file in a folder whose lock marks the one process writing the folder (its pid in it).
LOCK_FILE = ".rankinv-writer.lock"
_held: dict[str, list] = {}  # folder (resolved) -> [descriptor, depth]: re-entrant per process
_held_guard = threading.Lock()


class FolderBusy(UserError):
    """Another process is writing the folder (``holder``: its pid, as it wrote it)."""

    def __init__(self, folder: Path, holder: str):
        super().__init__(
            f"{folder} is being written by another rankinv process (pid {holder}); wait for"
            " it to end, or use another --out"
        )
        self.holder = holder


def _holder(fd: int) -> str:
    for _ in range(20):  # the holder writes its pid just after it takes the lock
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if pid:
            return pid
        time.sleep(0.005)
    return "unknown"


def _acquire(path: str | os.PathLike) -> Path:
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise UserError(f"--out {d} is an existing file; --out names a directory")
    d.mkdir(parents=True, exist_ok=True)
    key = str(d.resolve())
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            return d
        fd = os.open(os.path.join(key, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise FolderBusy(d, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = [fd, 1]
    return d


def _release(d: Path) -> None:
    key = str(d.resolve())
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            os.close(entry[0])  # the lock goes with the descriptor


@contextmanager
def claim_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Be the one process writing folder ``path`` (created if absent) for the block.

    An exclusive ``flock`` on ``path/.rankinv-writer.lock``, which then holds this process's
    pid. Another process that claims the folder meanwhile gets :class:`FolderBusy` (a
    :class:`UserError`: one line naming the holder's pid, exit 2 from the CLI); a lock left
    by a process that died went with it (the kernel drops it), so the folder is simply taken
    over. Re-entrant within a process (nested claims of one folder share the lock)."""
    d = _acquire(path)
    try:
        yield d
    finally:
        _release(d)


def hold_folder(path: str | os.PathLike) -> Path:
    """:func:`claim_folder` for the rest of this process (a command of the CLI is one
    process): the lock goes when the process ends, however it ends."""
    return _acquire(path)
