"""What rank's input readers assumed or refused, in words: a table's columns read under
another name (:func:`entropy_read_as_prompt`), a table's k column or names that cannot be
read, a probe's counts that are not counts, and a folder that holds no checkpoint
(:func:`no_checkpoint_in`)."""

from __future__ import annotations


def entropy_read_as_prompt(column: str) -> str:
    """A plain ``entropy`` column, read as the paper's H (prompt tokens), as compare reads
    it; rank's calibrated entropy is the rollout one."""
    return (
        f"column {column!r} read as prompt-token entropy (the paper's H, as compare reads "
        "it), a signal with no held-out score in rank; if it is the entropy of sampled "
        "completions (what TRL logs as entropy), name it entropy_rollout, rank's calibrated "
        "default"
    )


def entropy_not_read(column: str, given: str) -> str:
    """A plain ``entropy`` column beside an explicit prompt one: the explicit one is read."""
    return (
        f"column {column!r} not read: {given} is given; name it entropy_rollout if it is "
        "the entropy of sampled completions"
    )


def depths_override(given: list[float], column: list[float]) -> str:
    """--depths given beside a table's own depth column: the given ones are used."""
    show = lambda xs: ",".join(f"{x:g}" for x in xs)  # noqa: E731
    return (
        f"--depths {show(given)} overrides the table's depth column ({show(column)}); the "
        "free answers read --depths (leave it out to use the column)"
    )


def bad_k(row: int, value) -> str:
    """A ``k`` column cell that is no whole number >= 1 (``row``: 1-based data row)."""
    return f"column 'k', row {row}: {value!r} is not a whole number >= 1 (the k of pre_pass_at_k)"


def duplicate_names(path, name: str, rows: list[int]) -> str:
    """Two or more rows of a table named alike (``rows``: 1-based data rows)."""
    return (
        f"{path}: rows {', '.join(map(str, rows))} share the name {name!r}; give each "
        "checkpoint its own name (or a seed column for seeds of one checkpoint)"
    )


def bad_counts(path, line: int, n, c) -> str:
    """A problems.jsonl line whose n and c are not counts (``line``: 1-based)."""
    return (
        f"{path}: line {line}: n = {n!r}, c = {c!r} are not counts (need whole numbers "
        "with n >= 1 and 0 <= c <= n)"
    )


def no_checkpoint_in(path, needs: str, entries: list[str], ladders: list[str]) -> str:
    """A folder that is no checkpoint and holds none: what it holds instead (nothing, other
    entries, or folders of probe folders a level down, each a ladder to rank by itself)."""
    head = f"{path} is not a `rankinv validate` output ({needs}), nor a folder of probe folders"
    if ladders:
        hold = (
            f"its folder {ladders[0]} holds"
            if len(ladders) == 1
            else (f"its folders {_some(ladders)} hold")
        )
        return (
            f"{head}: {hold} probe folders; rank one ladder at a time (rankinv rank "
            f"{path}/{ladders[0]}), or run rankinv report {path} to rank each"
        )
    what = "it is empty" if not entries else f"none of its entries is one: {_some(entries)}"
    return (
        f"{head} or result files (evalplus eval_results.json, lm-eval results_*.json / "
        f"samples_*.jsonl); {what}"
    )


def incomplete_probe(path, has: str, lacks: str) -> str:
    """A folder holding one of a probe's two files: a probe still running, or copied in part."""
    return (
        f"{path} is an incomplete `rankinv validate` output: {has} without {lacks} (a probe "
        "still running, or copied in part?)"
    )


def too_few_checkpoints(n: int, paths: list) -> str:
    """Fewer than two checkpoints to rank, and from what."""
    return (
        f"ranking needs at least 2 checkpoints, got {n} from {_some([str(p) for p in paths])}: "
        "give two or more probe folders (or result files), or the folder that holds them"
    )


def _some(names: list[str], most: int = 5) -> str:
    """At most ``most`` names, then how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def step_list(steps: list[int], most: int = 8) -> str:
    """ "step 3" / "steps 3, 9, 11-20, ...": runs of consecutive steps as ranges."""
    runs: list[list[int]] = []
    for s in sorted(set(steps)):
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs]
    shown = ", ".join(parts[:most]) + (", ..." if len(parts) > most else "")
    return f"step{'s' * (len(set(steps)) > 1)} {shown}"


def bad_steps(steps: list[int], n: int) -> str:
    """Where a column's values were skipped: how many of its logged steps, and which."""
    return f"{len(steps)} of its {n} logged steps ({step_list(steps)}): those steps are skipped"


def duplicate_words(steps: list[int]) -> str:
    """The log issue for steps logged more than once (a resumed run logs them again)."""
    n = len(set(steps))
    return (
        f"{n} step{'s' * (n != 1)} logged more than once ({step_list(steps)}; a resumed run "
        "logs again the steps since its checkpoint): the last copy of each is kept, as the "
        "resumed run overwrote them"
    )


def check_past_plan(check: int, planned: int, planned_src: str) -> str:
    """Why a check step given past the run's planned steps is refused (``planned_src``: where
    the planned total comes from, e.g. "the log's max_steps", "assumed (...)")."""
    src = f", {planned_src}" if planned_src.startswith("assumed") else f" ({planned_src})"
    return (
        f"check step {check} is after the run's end: the run plans {planned} steps{src}. Give "
        f"a check step of at most {planned}, or the run's planned total with --planned-steps"
    )


def not_sampled_alike(diff: str) -> str:
    """Probes whose sampling or planned RL differ (``rank``, ``compare --probes``)."""
    return (
        f"the probes were not sampled alike, so their pass rates do not compare: {diff}"
        "; probe every checkpoint with the same options"
    )


def outcome_rows_unmatched(path, names: list[str]) -> str:
    """Rows of an outcomes file that name no probe given (``compare --probes``)."""
    return (
        f"{path}: {len(names)} row{'s' if len(names) != 1 else ''} named no probe given and "
        f"{'were' if len(names) != 1 else 'was'} left out: {_some(names)}"
    )


def runs_folder_hint(path) -> str:
    """What a folder given as one log holds, where it holds TRL logs below it: the
    checkpoints of one run (the latest one's log is the run's so far), or several runs (a
    sweep); "" otherwise."""
    import re
    from pathlib import Path

    if (Path(path) / "validate_summary.json").exists():  # probe_result.SUMMARY (it imports us)
        return (
            ": it is a `rankinv validate` probe (a checkpoint's pre-RL samples), not a training "
            "log: `rankinv rank` reads probes"
        )
    subs = sorted(d for d in Path(path).iterdir() if (d / "trainer_state.json").exists())
    ckpts = [d for d in subs if re.fullmatch(r"checkpoint-\d+", d.name)]
    if ckpts and len(ckpts) == len(subs):
        last = max(ckpts, key=lambda d: int(d.name.split("-")[1]))
        return (
            f"; its subfolders are {len(ckpts)} checkpoints of one run: the latest one's log "
            f"holds the run so far: rankinv monitor {last}"
        )
    if subs:
        return (
            f"; its subfolders hold {len(subs)} TRL runs ({subs[0].name}, ...): pass them, e.g. "
            f"{path}/*, to judge them as a sweep"
        )
    files = sorted(f for f in Path(path).iterdir() if f.suffix in (".jsonl", ".csv"))
    if files:
        ext = files[0].suffix
        return (
            f"; it holds {len(files)} log files ({files[0].name}, ...): give one, or several "
            f"(e.g. {path}/*{ext}) to judge them as a sweep"
        )
    return ""


def not_a_log(data: dict) -> str:
    """Why a JSON object is no training log: rankinv's own report, or no log_history."""
    if {"verdict", "reasons"} <= set(data) or ("runs" in data and "rule" in data):
        return (
            "is a rankinv monitor report, not a training log: give the log it judged "
            "(`rankinv report DIR` reads the report)"
        )
    return f"has no 'log_history'; keys there: {sorted(data)}"
