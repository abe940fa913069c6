"""`rank`'s inputs: probe directories, a table of per-checkpoint aggregates from any harness,
and pilot logs, each turned into one rung per checkpoint ({checkpoint, values (every
stage-1 signal it allows), se (their sampling standard errors), depth where known})."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from rankinv.errors import UserError
from rankinv.records import Plan
from rankinv.verdicts import signals as sg
from rankinv.verdicts.probe_result import ProbeResult, sampling_differences
from rankinv.verdicts.tables import number, percent_to_share, read_rows, row_label
from rankinv.verdicts.words import inputs as words
from rankinv.verdicts.words.plan import plan_sources

#: A table column named plainly "entropy": read as the paper's H (prompt tokens), as
#: ``compare`` reads it, and said so (with what an entropy_rollout column would give).
PLAIN_ENTROPY = "entropy"
#: Bootstrap replicates of a probe's counts for the sampling noise of its signals.
NOISE_REPLICATES = 100
#: Table columns that carry each signal (first present wins); pre_pass_at_<k> columns give
#: pass_at_k with that k (10 preferred; a ``k`` column names it for ``pre_pass_at_k``). A
#: plain ``entropy`` is the paper's H, the prompt tokens' entropy (as in ``compare``), read
#: with a warning, and only where no entropy_prompt column is given; the entropy of sampled
#: completions (what TRL logs as ``entropy``) is ``entropy_rollout``.
TABLE_COLUMNS = {
    "pass_at_1": ("pre_pass_at_1",),
    "entropy_prompt": ("entropy_prompt", PLAIN_ENTROPY),
    "entropy_rollout": ("entropy_rollout",),
    "informative_fraction": ("informative_fraction",),
    "share_below_p_star": ("share_below_p_star",),
    "share_above_1m_p_star": ("share_above_1m_p_star",),
    "escape": ("escape",),
    "reachable_pass_at_k": ("reachable_pass_at_k",),
    "pilot_entropy": ("pilot_entropy", "entropy_step10"),
    "pilot_informative": ("pilot_informative", "informative_step10"),
}
_PASS_K = re.compile(r"^pre_pass_at_(\d+)$")


def probe_se(p: ProbeResult, plan: Plan, k: int, seed: int = 0) -> dict[str, float]:
    """Sampling SE of each count-based signal: the spread over NOISE_REPLICATES parametric
    bootstrap draws c_i* ~ Binomial(n_i, c_i / n_i) of the probe's counts."""
    n, c = np.asarray(p.n), np.asarray(p.c)
    rng = np.random.default_rng(seed)
    reps = [
        sg.stage1_signals(n, rng.binomial(n, c / n), plan, k=k) for _ in range(NOISE_REPLICATES)
    ]
    out = {}
    for name in reps[0]:
        vals = [r[name] for r in reps if r[name] is not None]
        if len(vals) == len(reps):
            out[name] = float(np.std(vals, ddof=1))
    return out


def entropy_se(p: ProbeResult) -> float | None:
    """Sampling SE of the rollout entropy (the mean over problems of each problem's mean
    per-sample entropy): sqrt(sum_i var_i / n_i) / N over the problems with two or more
    samples; None when the probe holds no per-sample entropies."""
    groups = [np.asarray(v) for v in p.sample_entropies().values() if len(v) >= 2]
    if not groups:
        return None
    return float(np.sqrt(sum(np.var(g, ddof=1) / len(g) for g in groups)) / len(groups))


def from_probes(dirs, plan: Plan | None, k: int, group_size: int | None = None):
    """One rung per checkpoint of the inputs (probe folders, evalplus / lm-eval result files,
    folders of them: :func:`rankinv.verdicts.results_files.load_inputs`); also the inputs'
    account: {"expanded": each folder's order, "warnings": what a reader assumed}."""
    from rankinv.verdicts.results_files import load_inputs

    probes, expanded = load_inputs(dirs)
    resolved = [str(Path(p.dir).resolve()) for p in probes]
    dup = sorted({d for d in resolved if resolved.count(d) > 1})
    if dup:
        raise UserError(f"the same probe directory is given twice: {dup[0]}")
    if len(probes) < 2:
        raise UserError(words.too_few_checkpoints(len(probes), dirs))
    warnings = [f"{p.name}: {n}" for p in probes for n in p.summary.get("notes") or []]
    warnings += same_checkpoint_warnings(probes)
    diffs = sampling_differences(probes)
    if diffs:
        raise UserError(words.not_sampled_alike(diffs[0]))
    given = {"group_size": True, "budget": True, "n_prompts": True}  # a plan passed in
    if plan is None:  # the probes' own plan (refused above unless they agree)
        plan = probes[0].setup.plan()
        given = plan_sources(probes[0].summary, group_size is not None)
        if group_size is not None and group_size != plan.group_size:
            plan = replace(plan, group_size=group_size)
    rungs = []
    for p in probes:
        s = p.summary
        sig = sg.stage1_signals(
            p.n,
            p.c,
            plan,
            k=k,
            entropy_rollout=s.get("entropy_rollout"),
            entropy_prompt=s.get("entropy_prompt"),
        )
        rungs.append(
            {
                "checkpoint": p.name,
                "probe_dir": str(p.dir),
                "values": sig,
                "se": probe_se(p, plan, k) | _entropy_se(p, sig),
                "samples": int(min(p.n)),
                "n_problems": len(p.problems),
            }
        )
    return rungs, plan, {"expanded": expanded, "warnings": warnings, "plan_given": given}


def same_checkpoint_warnings(probes: list[ProbeResult]) -> list[str]:
    """One warning per pair of probes of the same model (by the name their setup records):
    ranked as two rungs, they are likely one checkpoint probed twice."""
    out = []
    for i, a in enumerate(probes):
        for b in probes[i + 1 :]:
            if a.setup.model != b.setup.model:
                continue
            same = (
                a.n == b.n
                and a.c == b.c
                and a.summary.get("entropy_rollout") == (b.summary.get("entropy_rollout"))
            )
            what = "identical per-problem results" if same else "different results"
            out.append(
                f"{a.dir} and {b.dir} probe the same model ({a.setup.model}, {what}): they "
                "are ranked as two checkpoints; drop one unless they are different checkpoints"
            )
    return out


def _entropy_se(p: ProbeResult, sig: dict) -> dict[str, float]:
    se = entropy_se(p) if sig.get("entropy_rollout") is not None else None
    return {} if se is None else {"entropy_rollout": se}


def table_signals(row: dict, i: int = 0) -> tuple[dict, int | None]:
    """The signals one table row (0-based data row ``i``) carries, and the k of its pass@k
    column."""

    vals: dict = {}
    for name, cols in TABLE_COLUMNS.items():
        col = next((c for c in cols if row.get(c) is not None), None)
        vals[name] = None if col is None else number(row[col], col, i)
    ks = sorted(int(m.group(1)) for c in row if (m := _PASS_K.match(c)) and row[c] is not None)
    k = None
    if row.get("pre_pass_at_k") is not None:
        k = _k_cell(row.get("k"), i)
        vals["pass_at_k"] = number(row["pre_pass_at_k"], "pre_pass_at_k", i)
    elif ks:
        k = 10 if 10 in ks else [x for x in ks if x > 1][0] if any(x > 1 for x in ks) else None
        if k is not None:
            vals["pass_at_k"] = number(row[f"pre_pass_at_{k}"], f"pre_pass_at_{k}", i)
    se = {}
    for name, cols in TABLE_COLUMNS.items():
        for col in cols:
            if row.get(f"{col}_se") is not None:
                se[name] = number(row[f"{col}_se"], f"{col}_se", i)
    for col in ("pre_pass_at_k", f"pre_pass_at_{k}"):
        if k is not None and row.get(f"{col}_se") is not None:
            se["pass_at_k"] = number(row[f"{col}_se"], f"{col}_se", i)
    if row.get("pre_pass_at_1_se") is not None:
        se["pass_at_1"] = number(row["pre_pass_at_1_se"], "pre_pass_at_1_se", i)
    bad = [c for c in row if c.endswith("_se") and isinstance(row[c], int | float) and row[c] < 0]
    if bad:
        raise UserError(f"row {i + 1}: {bad[0]} is {row[bad[0]]}: a standard error is >= 0")
    return vals | {"_se": se}, k


def _k_cell(value, i: int) -> int | None:
    """The ``k`` column's cell of data row ``i`` (0-based) as a whole number >= 1 (None:
    missing); anything else is refused in one line."""
    k = number(value, "k", i)
    if k is not None and (k < 1 or k != int(k)):
        raise UserError(words.bad_k(i + 1, value))
    return None if k is None else int(k)


def needs_message(values: dict[str, list]) -> str:
    """Which signals the rows cannot give, and the columns (or input) each needs."""
    parts = []
    for name in sg.STAGE1_SIGNALS:
        if values.get(name) and all(x is not None for x in values[name]):
            continue
        meta = sg.STAGE1_SIGNALS[name]
        if meta.needs == "pilot":
            need = f"a pilot log per checkpoint (--pilot) or column {TABLE_COLUMNS[name][-1]}"
        elif name == "pass_at_k":
            need = "column pre_pass_at_10 (or pre_pass_at_k with k)"
        else:
            need = f"column {' or '.join(TABLE_COLUMNS[name])} on every row, or a rankinv probe"
        parts.append(f"{name} needs {need}")
    return "; ".join(parts)


def dropped_signals(values: dict[str, list], names: list[str]) -> list[dict]:
    """Signals measured on some checkpoints but not all (an n/a cell): they cannot rank, so
    they are dropped; each with the checkpoints that lack it."""
    return [
        {"signal": s, "missing_on": [n for n, x in zip(names, v, strict=True) if x is None]}
        for s, v in values.items()
        if v and any(x is not None for x in v) and any(x is None for x in v)
    ]


def missing_brief(values: dict[str, list], names: list[str]) -> str:
    """One short line: why no signal may decide, and what to add."""
    part = [
        d for d in dropped_signals(values, names) if not sg.STAGE1_SIGNALS[d["signal"]].of_pass_at_1
    ]
    gaps = "; ".join(f"{d['signal']} is n/a on {', '.join(d['missing_on'])}" for d in part)
    return (
        "no signal that may decide is measured on every checkpoint"
        + (f" ({gaps})" if gaps else " (no pass@k, entropy, pilot or probe-count signal)")
        + ": give columns pre_pass_at_10 or entropy on every row, a rankinv probe per "
        "checkpoint, or --pilot logs"
    )


def from_table(path):
    """One rung per table row (the signals its columns allow, their _se columns, its depth
    column where given), and the k of its pass@k."""

    rows = read_rows(path)
    if len(rows) < 2:
        raise UserError(f"{path}: ranking needs at least 2 rows, got {len(rows)}")
    rows, warnings = percent_to_share(rows, share_columns(rows), str(path))
    rows, warnings = _plain_entropy(rows, warnings)
    warnings += unread_columns(rows)
    rows, warnings = mean_over_seeds(rows, warnings, path)
    rungs, ks = [], set()
    for i, r in enumerate(rows):
        vals, k = table_signals(r, i)
        ks.add(k)
        name = row_label(r, i)
        if r.get("seed") is not None and r.get("name") is not None:
            seed = r["seed"]
            name = f"{name} (seed {seed:g})" if isinstance(seed, float) else f"{name} (seed {seed})"
        depth = None if r.get("depth") is None else number(r["depth"], "depth", i)
        se = vals.pop("_se")
        rungs.append(
            {"checkpoint": name, "probe_dir": None, "se": se, "values": vals, "depth": depth}
        )
    partial = [
        name
        for name in dict.fromkeys(n for r in rungs for n in r["se"])
        if any(name not in r["se"] for r in rungs)
    ]
    for name in partial:
        missing = [r["checkpoint"] for r in rungs if name not in r["se"]]
        warnings.append(
            f"the standard error of {name} is missing on {', '.join(missing)}: its noise "
            "check needs one on every row"
        )
    ks.discard(None)
    if len(ks) > 1:
        raise UserError(f"{path}: rows give pass@k at different k: {sorted(ks)}")
    _refuse_duplicate_names(path, [r["checkpoint"] for r in rungs])
    return rungs, (ks.pop() if ks else None), warnings


def mean_over_seeds(rows: list[dict], warnings: list[str], path) -> tuple[list[dict], list[str]]:
    """Rows of one checkpoint over seeds (a name on several rows with a seed column) become
    one row, the mean over its seeds: rank ranks checkpoints, and two seeds of one are not
    two candidates. A value missing on a seed leaves the mean missing; a <column>_se is the
    mean's (root of the summed squares over n); depths must agree."""
    names = [r.get("name") for r in rows]
    if "seed" not in {c for r in rows for c in r} or len(set(names)) == len(names):
        return rows, warnings
    out, said = [], []
    for name in dict.fromkeys(names):
        group = [r for r in rows if r.get("name") == name]
        if len(group) == 1:
            out.append(group[0])
            continue
        if len({r.get("depth") for r in group}) > 1:
            raise UserError(f"{path}: the rows of {name!r} give different depths over seeds")
        merged = {"name": name, "depth": group[0].get("depth")}
        for col in dict.fromkeys(c for r in group for c in r):
            if col in ("name", "seed", "depth"):
                continue
            vals = [r.get(col) for r in group]
            if any(not isinstance(v, int | float) or isinstance(v, bool) for v in vals):
                merged[col] = None
            elif col.endswith("_se"):
                merged[col] = float(np.sqrt(np.sum(np.square(vals))) / len(vals))
            else:
                merged[col] = float(np.mean(vals))
        out.append(merged)
        said.append(f"{name} ({len(group)} seeds)")
    return out, [
        *warnings,
        "rows of one checkpoint over seeds are averaged (rank ranks checkpoints; two seeds of "
        f"one are not two candidates): {', '.join(said)}",
    ]


#: Depth under another name: named in the warning on columns rank does not read.
DEPTH_ALIASES = ("epochs", "epoch", "sft_epochs", "steps", "sft_steps")


def unread_columns(rows: list[dict]) -> list[str]:
    """A warning naming the table's columns rank does not read (a depth column under another
    name is ignored, not guessed: say so and how to give it); none when every one is read."""
    read = {"name", "depth", "seed", "k", PLAIN_ENTROPY, "pre_pass_at_k"}
    read |= {c for cols in TABLE_COLUMNS.values() for c in cols}
    present = list(dict.fromkeys(c for r in rows for c in r))
    bare = {c: c.removesuffix("_se") for c in present}
    left = [c for c in present if bare[c] not in read and not _PASS_K.match(bare[c])]
    if not left:
        return []
    outcome = [c for c in left if c.startswith("post_")]
    depthish = [c for c in left if c.lower() in DEPTH_ALIASES]
    note = (
        f"; {', '.join(depthish)} is not read as the SFT depth: name it depth or give --depths"
        if depthish
        else ""
    )
    if outcome:
        note += f"; post-RL outcomes ({', '.join(outcome)}) are compare's input, not rank's"
    return [f"columns not read by rank: {', '.join(left)}{note}"]


def _plain_entropy(rows: list[dict], warnings: list[str]) -> tuple[list[dict], list[str]]:
    """A plain ``entropy`` column is the paper's H (prompt tokens), said in a warning that
    names the rollout column rank calibrates; beside an entropy_prompt column it is not
    read (and that is said)."""
    present = {c for r in rows for c, v in r.items() if v is not None}
    if PLAIN_ENTROPY not in present:
        return rows, warnings
    if "entropy_prompt" not in present:
        return rows, [*warnings, words.entropy_read_as_prompt(PLAIN_ENTROPY)]
    drop = {PLAIN_ENTROPY, PLAIN_ENTROPY + "_se"}
    rows = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    return rows, [*warnings, words.entropy_not_read(PLAIN_ENTROPY, "entropy_prompt")]


def _refuse_duplicate_names(path, names: list[str]) -> None:
    """Two rows named alike would be two rungs no printout could tell apart: refused."""
    for name in dict.fromkeys(names):
        rows = [i for i, n in enumerate(names, 1) if n == name]
        if len(rows) > 1:
            raise UserError(words.duplicate_names(path, name, rows))


def share_columns(rows: list[dict]) -> list[str]:
    """The columns of a table that hold shares in [0, 1] (pass rates, fractions; not the
    entropies, in nats), with their _se columns."""
    shares = {c for name, cols in TABLE_COLUMNS.items() if not name.startswith(("entropy",
              "pilot_entropy")) for c in cols}  # fmt: skip
    shares |= {"pre_pass_at_k"}
    present = list(dict.fromkeys(c for r in rows for c in r))
    base = [c for c in present if c in shares or _PASS_K.match(c)]
    return base + [c + "_se" for c in base if c + "_se" in present]


def add_pilot(rungs: list[dict], logs) -> dict:
    from rankinv.verdicts import logs as run_logs

    if rungs and len(logs) != len(rungs):
        raise UserError(
            f"--pilot needs one log per checkpoint, in the same order: {len(logs)} logs for "
            f"{len(rungs)} checkpoints"
        )
    info: dict = {"warnings": []}
    for i, log in enumerate(logs):
        tr, keys = run_logs.trace(run_logs.read_log(log).records)
        if tr.entropy is None and tr.informative is None:
            raise UserError(f"pilot log {log} has neither an entropy nor a zero-std column")
        pil = sg.pilot_signals(tr.steps, tr.entropy, tr.informative)
        if pil["pilot_steps_used"] is None:
            raise UserError(f"pilot log {log} has no step >= 1 (no RL update logged)")
        last = pil["pilot_steps_used"][1]
        if last < sg.PILOT_STEP:
            info["warnings"].append(
                f"pilot log {log} reaches RL step {last}, short of the "
                f"pilot window (steps 1-{sg.PILOT_STEP}): its pilot signals average fewer steps"
            )
        if i >= len(rungs):
            rungs.append({"checkpoint": pilot_name(log), "probe_dir": None, "values": {}, "se": {}})
        rungs[i]["values"].update({k: pil[k] for k in ("pilot_entropy", "pilot_informative")})
        rungs[i]["pilot_log"] = str(log)
        rungs[i]["pilot_steps"] = pil["pilot_steps_used"]
        info |= {"entropy_signal": keys["entropy"], "pilot_step": sg.PILOT_STEP}
    return info


def pilot_name(log) -> str:
    """A pilot's checkpoint name: its folder (run1 of run1/trainer_state.json), or the
    folder's own name when a folder is given."""
    p = Path(log)
    return p.name if p.is_dir() else p.parent.name or p.stem
