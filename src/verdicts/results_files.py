"""Results users already have, as per-problem counts: evalplus's ``eval_results.json`` and
lm-evaluation-harness's ``results_*.json`` / ``samples_*.jsonl``, recognised by content
(not by name), each one checkpoint named by its folder. Per-sample outcomes become the
per-problem counts (n, c) a probe records, so every count-based stage-1 signal and the
sampling-noise check apply to them as to a `rankinv validate` probe.

evalplus (``evalplus.evaluate``): ``{"date", "hash", "eval": {task_id: [{"task_id",
"solution", "base_status", "plus_status", ...}, ...]}}``, one entry per sample, a status
"pass" / "fail" / "timeout"; a sample passes when its base tests pass and, where plus tests
ran on every sample (HumanEval+ / MBPP+), those too (evalplus's "base + extra" score). The
older layout ``{task_id: {"nfiles", "base": [[status, details], ...], "plus": [...]}}`` (with
"success" for a pass in early versions) is read as well.

lm-evaluation-harness (``--log_samples``): ``samples_<task>_<date>.jsonl``, one line per
document and filter: ``doc_id``, ``resps`` / ``filtered_resps``, ``filter``, ``metrics`` (the
names of the per-document metrics, each also a key of the line). With n responses kept
for a document (``repeats``, no reducing filter), a per-document ``pass@1`` (or any metric
that is the share of the n responses that pass) gives c = n x value; a ``pass@k`` with k > 1
alone is inverted through the unbiased estimator (where it is 1, c >= n - k + 1 cannot be
told apart, and c = n is taken and said). A ``results_<date>.json`` is read with the samples
files of the same run (same date) beside it; it names the task's sampling settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rankinv.errors import UserError
from rankinv.theory import pass_at_k
from rankinv.verdicts.probe_result import PROBLEMS, SUMMARY, ProbeResult, ProbeSetup
from rankinv.verdicts.words import inputs as words

#: evalplus statuses that count as a pass (``"success"``: its early releases).
EVALPLUS_PASS = frozenset({"pass", "success"})
#: Per-document lm-eval metrics read as "share of the n responses that pass", in order.
SHARE_METRICS = ("pass@1", "pass_at_1", "acc", "exact_match", "em", "accuracy", "score")
_PASS_K = re.compile(r"^pass(?:@|_at_)(\d+)$")
_LM_SAMPLES = re.compile(r"^samples_(.+)_(\d{4}-\d{2}-\d{2}T[\d.-]+)\.jsonl$")
_LM_RESULTS = re.compile(r"^(.+)_(\d{4}-\d{2}-\d{2}T[\d.-]+)\.json$")


# ---------------------------------------------------------------- recognising a file
def file_kind(path: Path) -> str | None:
    """ "evalplus", "lm_eval_results", "lm_eval_samples" or None, from the file's content."""
    if not path.is_file() or path.suffix not in (".json", ".jsonl"):
        return None
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        try:
            row = json.loads(first)
        except json.JSONDecodeError:
            return None
        if not isinstance(row, dict) or not {"doc_id", "metrics"} <= set(row):
            return None
        return "lm_eval_samples" if "resps" in row or "filtered_resps" in row else None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("eval"), dict) and data["eval"]:
        return "evalplus"
    if isinstance(data.get("results"), dict) and ("configs" in data or "versions" in data):
        return "lm_eval_results"
    return None


# ---------------------------------------------------------------- evalplus
def _evalplus_outcomes(task_id: str, entry, source: str) -> list[bool]:
    """Each sample's pass/fail: base tests, and plus tests where every sample ran them."""
    if isinstance(entry, dict):  # the older layout: base/plus lists of [status, details]
        base = [s[0] if isinstance(s, list | tuple) else s for s in entry.get("base") or []]
        plus = [s[0] if isinstance(s, list | tuple) else s for s in entry.get("plus") or []]
    elif isinstance(entry, list) and all(isinstance(e, dict) for e in entry):
        base = [e.get("base_status") for e in entry]
        plus = [e.get("plus_status") for e in entry]
    else:
        raise UserError(f"{source}: eval[{task_id!r}] is neither a list of samples nor a dict")
    if not base:
        raise UserError(f"{source}: eval[{task_id!r}] holds no samples")
    with_plus = len(plus) == len(base) and all(p is not None for p in plus)
    if with_plus:
        return [b in EVALPLUS_PASS and p in EVALPLUS_PASS for b, p in zip(base, plus, strict=True)]
    return [b in EVALPLUS_PASS for b in base]


def read_evalplus(path: Path, name: str) -> ProbeResult:
    """One checkpoint from an evalplus eval_results.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    problems, plus = [], True
    for task_id, entry in data["eval"].items():
        ok = _evalplus_outcomes(task_id, entry, str(path))
        problems.append({"task_id": str(task_id), "n": len(ok), "c": int(sum(ok))})
        first = entry[0] if isinstance(entry, list) else entry
        plus &= bool(first.get("plus_status") if isinstance(entry, list) else first.get("plus"))
    tests = "base + extra tests" if plus else "base tests"
    summary = {"source": "evalplus", "tests": tests, "file": str(path)}
    setup = ProbeSetup(
        model=name,
        benchmark=f"evalplus ({tests})",
        benchmark_hash=str(data.get("hash")) if data.get("hash") else None,
        n_problems=len(problems),
        samples=min(p["n"] for p in problems),
    )
    return ProbeResult(summary=summary, problems=problems, setup=setup, dir=path)


# ---------------------------------------------------------------- lm-evaluation-harness
def _n_responses(row: dict) -> int:
    """How many responses the document's metric scored: the filtered list of one request
    (repeats without a reducing filter), else one."""
    fr = row.get("filtered_resps")
    if isinstance(fr, list) and len(fr) == 1 and isinstance(fr[0], list):
        if fr[0] and all(isinstance(x, str) for x in fr[0]):
            return len(fr[0])
    return 1


def doc_counts(row: dict, source: str) -> tuple[int, int, bool]:
    """(n, c, exact) of one samples line; exact is False where c was bounded, not known."""
    n = _n_responses(row)
    names = [m for m in row.get("metrics") or [] if isinstance(row.get(m), int | float)]
    share = next((m for m in SHARE_METRICS if m in names), None)
    where = f"{source} doc {row.get('doc_id')}"
    if share is not None:
        v = float(row[share])
        c = round(v * n)
        if not 0 <= v <= 1 or abs(v * n - c) > 1e-6 * max(1, n):
            raise UserError(
                f"{where}: {share} = {v} is not a share of its {n} response(s), so it gives no "
                "pass count"
            )
        return n, c, True
    ks = sorted((int(m.group(1)), name) for name in names if (m := _PASS_K.match(name)))
    ks = [(k, name) for k, name in ks if k <= n]
    if not ks:
        raise UserError(
            f"{where}: no per-document metric that gives a pass count (metrics {names}; "
            f"rankinv reads {', '.join(SHARE_METRICS)} or pass@k)"
        )
    k, name = ks[0]
    v = float(row[name])
    fits = [c for c in range(n + 1) if abs(float(pass_at_k(n, c, k)) - v) < 1e-6]
    if not fits:
        raise UserError(f"{where}: {name} = {v} is not pass@{k} of any count out of {n}")
    return n, fits[-1], len(fits) == 1


def _samples_files(results: Path) -> list[Path]:
    """The samples files of the run a results_<date>.json belongs to (same folder, date)."""
    m = _LM_RESULTS.match(results.name)
    date = m.group(2) if m else None
    found = []
    for f in sorted(results.parent.glob("samples_*.jsonl")):
        s = _LM_SAMPLES.match(f.name)
        if s and (date is None or s.group(2) == date):
            found.append(f)
    return found


def read_lm_eval(files: list[Path], name: str, results: Path | None = None) -> ProbeResult:
    """One checkpoint from lm-eval samples files (one per task) and, where given, the
    results file of the same run (the tasks' sampling settings)."""
    source = str(results or files[0])
    if not files:
        raise UserError(
            f"{results}: lm-eval aggregates only, no samples_*.jsonl of that run beside it; "
            "rerun lm_eval with --log_samples (per-problem counts), or give its numbers "
            "to `rank --table`"
        )
    problems, notes, bounded = [], [], 0
    tasks = []
    for f in files:
        rows = _read_samples(f)
        filters = list(dict.fromkeys(r.get("filter", "none") for r in rows))
        if len(filters) > 1:
            notes.append(f"{f.name}: filter {filters[0]!r} of {filters} used")
        m = _LM_SAMPLES.match(f.name)
        task = m.group(1) if m else f.stem
        tasks.append(task)
        for r in rows:
            if r.get("filter", "none") != filters[0]:
                continue
            n, c, exact = doc_counts(r, f.name)
            bounded += not exact
            problems.append({"task_id": f"{task}/{r.get('doc_id')}", "n": n, "c": c})
    if bounded:
        notes.append(
            f"{bounded} problem(s) had pass@k = 1 with k > 1 and no pass@1: counted as all "
            "responses passing (c >= n - k + 1 cannot be told apart)"
        )
    if max(p["n"] for p in problems) < 2:
        raise UserError(
            f"{source}: one scored response per problem (n = 1), so no per-problem pass "
            "rate; run the task with repeats (e.g. humaneval_64) and no reducing filter, or "
            "give its aggregates to `rank --table`"
        )
    cfg = _task_config(results, tasks[0]) if results is not None else {}
    gen = cfg.get("generation_kwargs") or {}
    summary = {"source": "lm-evaluation-harness", "files": [str(f) for f in files]}
    if notes:
        summary["notes"] = notes
    setup = ProbeSetup(
        model=name,
        benchmark=f"lm-eval: {', '.join(tasks)}",
        benchmark_hash=_hash([p["task_id"] for p in problems]),
        n_problems=len(problems),
        samples=min(p["n"] for p in problems),
        temperature=gen.get("temperature") if isinstance(gen, dict) else None,
        top_p=gen.get("top_p") if isinstance(gen, dict) else None,
        max_new_tokens=gen.get("max_gen_toks") if isinstance(gen, dict) else None,
    )
    return ProbeResult(summary=summary, problems=problems, setup=setup, dir=results or files[0])


def _read_samples(path: Path) -> list[dict]:
    from rankinv._io import read_jsonl

    try:
        rows = read_jsonl(path)
    except ValueError as exc:
        raise UserError(str(exc).splitlines()[0]) from None
    if not rows:
        raise UserError(f"{path} holds no samples")
    return rows


def _task_config(results: Path, task: str) -> dict:
    data = json.loads(results.read_text(encoding="utf-8"))
    cfg = (data.get("configs") or {}).get(task)
    return cfg if isinstance(cfg, dict) else {}


def _hash(ids: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- one input path
def read_file(path: Path, name: str | None = None) -> ProbeResult:
    """A recognised result file as one checkpoint, named ``name`` or by its folder."""
    kind = file_kind(path)
    name = name or path.resolve().parent.name
    if kind == "evalplus":
        return read_evalplus(path, name)
    if kind == "lm_eval_results":
        return read_lm_eval(_samples_files(path), name, results=path)
    if kind == "lm_eval_samples":
        return read_lm_eval([path], name)
    raise UserError(
        f"{path} {_unread(path)}: give the directory `rankinv validate` wrote, "
        "an evalplus eval_results.json or lm-eval results_*.json / samples_*.jsonl"
    )


def _unread(path: Path) -> str:
    """Why a file is none of the result files rankinv reads, in words."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "is not a text file rankinv reads"
    if not text.strip():
        return "is empty"
    if path.suffix == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            return f"is not valid JSON ({exc.msg} at line {exc.lineno})"
    if path.suffix.lower() in (".csv", ".json", ".tsv"):  # a table of aggregates, perhaps
        return "is a file rankinv does not read as a probe (a table of checkpoints? --table FILE)"
    return "is a file rankinv does not read"


def natural_key(name: str) -> list:
    """Sort key putting e2 before e10: digit runs compare as numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", name)]


def _inputs_in(d: Path) -> dict[str, list[Path]]:
    """The recognised result files directly in ``d``, by kind."""
    out: dict[str, list[Path]] = {"evalplus": [], "lm_eval_results": [], "lm_eval_samples": []}
    for f in sorted(d.iterdir()):
        kind = file_kind(f)
        if kind is not None:
            out[kind].append(f)
    return out


def checkpoint_in(d: Path) -> ProbeResult | None:
    """The one checkpoint folder ``d`` holds (a probe, one result file, one lm-eval run,
    or a folder whose only entry is such a folder, as lm-eval nests its model's), named
    by ``d``; None when ``d`` is not one checkpoint."""
    if (d / SUMMARY).is_file() and (d / PROBLEMS).is_file():
        return ProbeResult.load(d)
    found = _inputs_in(d)
    evalplus, results = found["evalplus"], found["lm_eval_results"]
    samples = found["lm_eval_samples"]
    if len(evalplus) == 1 and not results and not samples:
        return read_evalplus(evalplus[0], d.name)
    if results and not evalplus:
        latest = max(results, key=lambda f: f.name)  # results_<ISO date>: the last run
        return read_lm_eval(_samples_files(latest), d.name, results=latest)
    if samples and not evalplus:
        dates = sorted({m.group(2) for f in samples if (m := _LM_SAMPLES.match(f.name))})
        run = [f for f in samples if not dates or dates[-1] in f.name]
        return read_lm_eval(run, d.name)
    entries = [e for e in d.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not (entries[0] / SUMMARY).exists():
        inner = checkpoint_in(entries[0])
        if inner is not None:
            inner.setup = _renamed(inner.setup, d.name)
            return inner
    return None


def _renamed(setup: ProbeSetup, name: str) -> ProbeSetup:
    from dataclasses import replace

    return replace(setup, model=name)


def expand(path: Path) -> tuple[list[ProbeResult], dict | None]:
    """One input path as checkpoints: a probe folder or result file (one), a checkpoint
    folder (one), or a folder of them (each, in natural order: e1, e2, e10), with the
    expansion said as {folder, order, skipped}."""
    if path.is_file():
        return [read_file(path)], None
    one = checkpoint_in(path)
    if one is not None:
        return [one], None
    files = {f for kind, fs in _inputs_in(path).items() if kind != "lm_eval_samples" for f in fs}
    found: list[tuple[str, ProbeResult]] = []
    skipped = []
    for e in sorted(path.iterdir(), key=lambda e: natural_key(e.name)):
        if e.name.startswith("."):
            continue
        if e.is_dir():
            p = checkpoint_in(e)
        elif e in files:
            p = read_file(e, name=e.stem)  # several result files in one folder: by name
        else:
            p = None
        if p is None:
            skipped.append(e.name)
        else:
            found.append((e.name, p))
    if not found:
        has = [f for f in (SUMMARY, PROBLEMS) if (path / f).is_file()]
        if len(has) == 1:  # half a probe: one of its two files
            lacks = PROBLEMS if has[0] == SUMMARY else SUMMARY
            raise UserError(words.incomplete_probe(path, has[0], lacks))
        needs = f"needs {SUMMARY} and {PROBLEMS}"
        raise UserError(words.no_checkpoint_in(path, needs, skipped, ladders_in(path)))
    order = {"folder": str(path), "order": [n for n, _ in found], "skipped": skipped}
    return [p for _, p in found], order


def subdirs(d: Path) -> list[Path]:
    """The folders in ``d``, hidden ones left out (OSError where ``d`` cannot be read)."""
    return [e for e in d.iterdir() if e.is_dir() and not e.name.startswith(".")]


def ladders_in(path: Path) -> list[str]:
    """The folders in ``path`` that hold probe folders (each a ladder), in natural order."""

    def is_probe(d: Path) -> bool:
        return (d / SUMMARY).is_file() and (d / PROBLEMS).is_file()

    return sorted(
        (e.name for e in subdirs(path) if any(is_probe(x) for x in subdirs(e))), key=natural_key
    )


def load_inputs(paths) -> tuple[list[ProbeResult], list[dict]]:
    """Every input path as checkpoints, in order; and each folder's expansion."""
    out, expansions = [], []
    for p in map(Path, paths):
        ProbeResult.require([p])
        got, how = expand(p)
        out += got
        if how is not None:
            expansions.append(how)
    return out, expansions


def is_checkpoint_input(path: str | Path) -> bool:
    """Whether a positional path is a checkpoint input (probe folder, result file, or a
    folder of them) rather than, say, a pilot log."""
    p = Path(path)
    if p.is_file():
        return file_kind(p) is not None
    if not p.is_dir():
        return False
    try:
        expand(p)
    except UserError:
        return False
    return True
