"""Saving results: one atomic file writer (JSON or text) and one JSONL appender, used by
every layer, and the one-writer lock of an output folder.

Imports nothing of rankinv but its errors, so any layer may import it (it sits below
theory).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rankinv.errors import UserError

_log = logging.getLogger("rankinv")


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays (numpy imported only if the object is one), and for
    typed results: their ``to_json()``."""
    to_json = getattr(type(obj), "to_json", None)
    if callable(to_json):
        return to_json(obj)
    mod = type(obj).__module__
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON atomically (:func:`write_text`)."""
    return write_text(path, json.dumps(obj, indent=indent, default=json_default))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` atomically: a temporary file beside it, fsync, then a rename.

    An interrupted or failed write (a kill, a full disk) leaves the previous file (or none),
    never half of one, so a run that resumes from the file never reads a truncated record;
    the temporary file of a failed write is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:  # named by the file asked for, not the temporary one
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _partial_tail(path: Path, n: int) -> None:
    _log.warning(
        "%s: dropped an incomplete last line (%d bytes), left by an interrupted write", path, n
    )


def _cut_partial_tail(fd: int, path: Path) -> None:
    """A last line without its newline (a write cut by a crash) is cut off, with a notice,
    so that the next line starts at a line boundary."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end, keep = size, 0
    while end > 0:
        start = max(0, end - (1 << 16))
        i = os.pread(fd, end - start, start).rfind(b"\n")
        if i >= 0:
            keep = start + i + 1
            break
        end = start
    os.ftruncate(fd, keep)
    _partial_tail(path, size - keep)


class JsonlAppender:
    """Appends whole lines to a JSONL file: each line goes out in one ``write`` call on a
    descriptor opened with O_APPEND, never through a buffer that could flush half of it;
    ``flush`` fsyncs (with ``fsync``), so a line written before it survives a crash of the
    machine, not only of the process. Opening it cuts a partial last line left by an
    interrupted write (with a notice): a crash loses at most the line being written."""

    def __init__(self, path: str | os.PathLike, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o644)
        try:
            _cut_partial_tail(self.fd, self.path)
        except BaseException:
            os.close(self.fd)
            raise

    def write(self, line: str) -> None:
        """Append ``line``, one whole line ending in a newline."""
        if not line.endswith("\n") or "\n" in line[:-1]:
            raise ValueError("JsonlAppender.write takes exactly one line, ending in a newline")
        _write_all(self.fd, line.encode())

    def append(self, record: Any) -> None:
        """Append ``record`` as one JSON line."""
        self.write(json.dumps(record, default=json_default) + "\n")

    def flush(self) -> None:
        """Make what was appended durable (fsync), when the appender was opened so."""
        if self.fsync:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            try:
                self.flush()
            finally:
                os.close(self.fd)
                self.fd = -1

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def append_jsonl(path: str | os.PathLike, record: Any, fsync: bool = True) -> None:
    """Append one record as a whole line (one write), fsynced before it returns (with
    ``fsync``): a record this returned for survives a crash; a crash during it leaves at
    most a partial last line, which readers drop and the next append cuts off."""
    with JsonlAppender(path, fsync) as out:
        out.append(record)


def read_jsonl(path: str | os.PathLike) -> list:
    """Records of a JSONL file. A last line without its newline is a write cut by a crash:
    it is dropped with a one-line notice (never read as data, even if it parses); any other
    line that is not JSON is a :class:`UserError` naming it."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        _partial_tail(path, len(data) - end)
    out = []
    for i, raw in enumerate(data[:end].split(b"\n")[:-1]):
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(f"{path}: line {i + 1} is not JSON") from None
    return out


#: The file in an --out folder that says which run the folder belongs to.
RUN_FILE = "rankinv-run.json"


def claim_out_dir(out: str | os.PathLike, identity: dict, overwrite: bool = False) -> Path:
    """Make ``out`` the folder of one run, named by ``identity`` (the command and the options
    that change its results), and return it.

    The same run resumes (its identity is already recorded there). A folder that holds another
    run's results is refused with one line naming the first difference, unless ``overwrite``,
    which empties it first (only a folder rankinv recorded as its own). Another run's record
    in a folder with no results (nothing but the record and the writer lock) is replaced,
    with a one-line notice. A file is refused."""
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
            if _holds_no_results(d):  # an earlier run refused or stopped before a result
                _log.warning(
                    "--out %s: replacing the record of an earlier run that wrote no results "
                    "(%s: %r there, %r now)", d, diff, was.get(diff), now.get(diff)
                )  # fmt: skip
            elif not overwrite:
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


def _holds_no_results(d: Path) -> bool:
    """Whether ``d`` holds no file but the run record and the writer lock (empty folders
    aside)."""
    return all(p.is_dir() or p.name in (RUN_FILE, LOCK_FILE) for p in d.rglob("*"))


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
_created: set[str] = set()  # folders this process made to hold (removed again on a refusal)
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
    fresh = not d.exists()
    d.mkdir(parents=True, exist_ok=True)
    key = str(d.resolve())
    if fresh:
        _created.add(key)
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


def release_refused() -> None:
    """On a refusal (bad input, before any result): give up every folder this process
    holds; one it made that holds nothing but the lock (and its run record) goes with
    them."""
    with _held_guard:
        for key, (fd, _) in list(_held.items()):
            if key in _created and set(os.listdir(key)) <= {LOCK_FILE, RUN_FILE}:
                for name in os.listdir(key):  # the lock, and a record of no results
                    os.unlink(os.path.join(key, name))
                os.rmdir(key)
            os.close(fd)
            del _held[key]


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
