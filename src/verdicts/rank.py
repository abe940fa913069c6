"""Rank checkpoints by their predicted post-RL outcome, or say that the evidence cannot.

Three inputs, alone or together (one rung each, in the same order):
- probe directories (``rankinv validate --out``, :class:`ProbeResult`): every stage-1 signal
  from the per-prompt counts and entropies (probes not sampled alike are refused);
- a table (``--table``: CSV or JSON, the columns ``compare`` reads) of per-checkpoint
  aggregates from any harness: the signals its columns allow (:data:`TABLE_COLUMNS`);
- pilot logs (``--pilot``: one short GRPO log per rung, as ``monitor`` reads them): the
  entropy and informative-group fraction over the first RL steps (the paper's Table 4).

The decision (:func:`decide`) is one pure function, the one the back-test scores: the
*deciding* signals are those measured on every rung, pilot signals first, then by their
held-out median rho on the simulated population (signals of pre-RL pass@1 alone, the naive
choice's information, never decide). The lead signal's first rung is recommended unless
(a) the second deciding signal picks a different rung, or (b) the lead's gap between its
first two rungs is within NOISE_Z standard errors of the probe's sampling noise; then
``recommended`` is None and ``abstain_reason`` says why, with the candidates and what would
decide between them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from rankinv.errors import InputNotFound, UserError
from rankinv.records import DEFAULT_K, Plan
from rankinv.verdicts import signals as sg
from rankinv.verdicts.probe_result import ProbeResult, sampling_differences

#: A first place is within noise when its gap to the runner-up is below NOISE_Z standard
#: errors of that gap (about a two-sided 95% band).
NOISE_Z = 2.0
#: Bootstrap replicates of a probe's counts for the sampling noise of its signals.
NOISE_REPLICATES = 100
#: Relative tie tolerance: values within this share of the signal's spread (or 1e-9) tie.
TIE_SHARE = 0.005

#: Table columns that carry each signal (first present wins); pre_pass_at_<k> columns give
#: pass_at_k with that k (10 preferred; a ``k`` column names it for ``pre_pass_at_k``).
TABLE_COLUMNS = {
    "pass_at_1": ("pre_pass_at_1",),
    "entropy_prompt": ("entropy_prompt", "entropy"),
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


# ---------------------------------------------------------------- the decision
def deciding_order(available: list[str], signal: str | None = None) -> list[str]:
    """The signals that decide, best first: the one named, then pilot signals, then the
    rest by held-out median rho on the simulated population (uncalibrated ones last);
    signals of pre-RL pass@1 alone decide only when named."""
    cal = sg.STAGE1_CALIBRATION

    def key(s):
        c = cal.get(s)
        return (sg.STAGE1_SIGNALS[s].needs != "pilot", c is None, -(c or {}).get("median_rho", 0))

    rest = sorted(
        (s for s in available if s != signal and not sg.STAGE1_SIGNALS[s].of_pass_at_1), key=key
    )
    return ([signal] if signal else []) + rest


def _first(values: list[float], sign: int) -> list[int]:
    """Indices tied for first under ``sign`` (within TIE_SHARE of the spread)."""
    v = sign * np.asarray(values, dtype=float)
    tol = max(1e-9, TIE_SHARE * float(np.ptp(v)))
    return [i for i in np.flatnonzero(v >= v.max() - tol)]


def decide(
    values: dict[str, list[float | None]],
    names: list[str],
    se: dict[str, list[float | None]] | None = None,
    signal: str | None = None,
) -> dict:
    """Pick a rung or abstain. values: per signal, one value per rung (None: not measured);
    se: per signal, each rung's standard error from sampling (None: unknown)."""
    available = [s for s, v in values.items() if v and all(x is not None for x in v)]
    if signal is not None and signal not in available:
        raise UserError(f"signal {signal} is not measured on every checkpoint")
    order = deciding_order(available, signal)
    if not order:
        return {
            "recommended": None,
            "abstain_reason": "no signal that may decide is measured on every checkpoint",
            "candidates": list(names),
            "decided_by": [],
            "picks": {},
            "to_decide": "give pre-RL pass@k (or a rankinv probe) or a pilot log per checkpoint",
        }
    picks = {s: [names[i] for i in _first(values[s], sg.signal_sign(s))] for s in order}
    lead = order[0]
    sign = sg.signal_sign(lead)
    v = sign * np.asarray(values[lead], dtype=float)
    top = _first(values[lead], sign)
    out = {"decided_by": order[:2], "picks": picks, "lead": lead}
    if len(top) > 1:
        return out | {
            "recommended": None,
            "abstain_reason": f"tie: {', '.join(picks[lead])} tie on {lead}",
            "candidates": picks[lead],
            "to_decide": "more samples per prompt, or a pilot run of each (rank --pilot)",
        }
    best = top[0]
    if len(order) > 1 and names[best] not in picks[order[1]]:
        cands = [names[best]] + [p for p in picks[order[1]] if p != names[best]]
        return out | {
            "recommended": None,
            "abstain_reason": f"the top two signals disagree: {lead} picks {names[best]}, "
            f"{order[1]} picks {', '.join(picks[order[1]])}",
            "candidates": cands,
            "to_decide": "a pilot run of each candidate (rank --pilot, ~10 GRPO steps), "
            "or RL on both",
        }
    runner = int(np.argsort(-v)[1]) if len(v) > 1 else best
    gap = float(v[best] - v[runner])
    s_lead = (se or {}).get(lead)
    noise = None
    if s_lead and s_lead[best] is not None and s_lead[runner] is not None:
        noise = float(np.hypot(s_lead[best], s_lead[runner]))
    out |= {"gap": gap, "gap_se": noise}
    if noise is not None and gap <= NOISE_Z * noise:
        return out | {
            "recommended": None,
            "abstain_reason": f"within noise: {lead} separates {names[best]} from "
            f"{names[runner]} by {gap:.4f}, under {NOISE_Z:g} x its sampling SE {noise:.4f}",
            "candidates": [names[best], names[runner]],
            "to_decide": "more samples per prompt (4x the samples halves the SE) or a pilot "
            "run of each (rank --pilot)",
        }
    return out | {"recommended": names[best], "abstain_reason": None, "candidates": [names[best]]}


# ---------------------------------------------------------------- inputs
def _probe_se(p: ProbeResult, plan: Plan, k: int, seed: int = 0) -> dict[str, float]:
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


def _from_probes(dirs, plan: Plan | None, k: int, group_size: int | None = None):
    resolved = [str(Path(d).resolve()) for d in dirs]
    dup = sorted({d for d in resolved if resolved.count(d) > 1})
    if dup:
        raise UserError(f"the same probe directory is given twice: {dup[0]}")
    probes = [ProbeResult.load(d) for d in dirs]
    diffs = sampling_differences(probes)
    if diffs:
        raise UserError(
            f"the probes were not sampled alike, so their pass rates do not compare: {diffs[0]}"
            "; probe every checkpoint with the same options"
        )
    if plan is None:  # the probes' own plan (refused above unless they agree)
        plan = probes[0].setup.plan()
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
                "se": _probe_se(p, plan, k),
                "samples": int(min(p.n)),
                "n_problems": len(p.problems),
            }
        )
    return rungs, plan


def table_signals(row: dict) -> tuple[dict, int | None]:
    """The signals one table row carries, and the k of its pass@k column."""
    from rankinv.verdicts.compare import _number

    vals: dict = {}
    for name, cols in TABLE_COLUMNS.items():
        col = next((c for c in cols if row.get(c) is not None), None)
        vals[name] = None if col is None else _number(row[col], col, 0)
    ks = sorted(int(m.group(1)) for c in row if (m := _PASS_K.match(c)) and row[c] is not None)
    k = None
    if row.get("pre_pass_at_k") is not None:
        k = int(row["k"]) if row.get("k") is not None else None
        vals["pass_at_k"] = _number(row["pre_pass_at_k"], "pre_pass_at_k", 0)
    elif ks:
        k = 10 if 10 in ks else [x for x in ks if x > 1][0] if any(x > 1 for x in ks) else None
        if k is not None:
            vals["pass_at_k"] = _number(row[f"pre_pass_at_{k}"], f"pre_pass_at_{k}", 0)
    se = {}
    for name, cols in TABLE_COLUMNS.items():
        for col in cols:
            if row.get(f"{col}_se") is not None:
                se[name] = _number(row[f"{col}_se"], f"{col}_se", 0)
    for col in ("pre_pass_at_k", f"pre_pass_at_{k}"):
        if k is not None and row.get(f"{col}_se") is not None:
            se["pass_at_k"] = _number(row[f"{col}_se"], f"{col}_se", 0)
    if row.get("pre_pass_at_1_se") is not None:
        se["pass_at_1"] = _number(row["pre_pass_at_1_se"], "pre_pass_at_1_se", 0)
    return vals | {"_se": se}, k


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
            need = " or ".join(TABLE_COLUMNS[name]) + " on every row, or a rankinv probe"
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


def _from_table(path):
    from rankinv.verdicts.compare import _row_label, read_rows

    rows = read_rows(path)
    if len(rows) < 2:
        raise UserError(f"{path}: ranking needs at least 2 rows, got {len(rows)}")
    rungs, ks = [], set()
    for i, r in enumerate(rows):
        vals, k = table_signals(r)
        ks.add(k)
        name = _row_label(r, i)
        if r.get("seed") is not None and r.get("name") is not None:
            name = f"{name} (seed {r['seed']})"
        rungs.append({"checkpoint": name, "probe_dir": None, "se": vals.pop("_se"), "values": vals})
    ks.discard(None)
    if len(ks) > 1:
        raise UserError(f"{path}: rows give pass@k at different k: {sorted(ks)}")
    return rungs, (ks.pop() if ks else None)


def _add_pilot(rungs: list[dict], logs) -> dict:
    from rankinv.verdicts import logs as run_logs

    if rungs and len(logs) != len(rungs):
        raise UserError(
            f"--pilot needs one log per checkpoint, in the same order: {len(logs)} logs for "
            f"{len(rungs)} checkpoints"
        )
    info = {}
    for i, log in enumerate(logs):
        tr, keys = run_logs.trace(run_logs.read_log(log).records)
        if tr.entropy is None and tr.informative is None:
            raise UserError(f"pilot log {log} has neither an entropy nor a zero-std column")
        pil = sg.pilot_signals(tr.steps, tr.entropy, tr.informative)
        if pil["pilot_steps_used"] is None:
            raise UserError(f"pilot log {log} has no step >= 1 (no RL update logged)")
        if i >= len(rungs):
            rungs.append({"checkpoint": str(log), "probe_dir": None, "values": {}, "se": {}})
        rungs[i]["values"].update({k: pil[k] for k in ("pilot_entropy", "pilot_informative")})
        rungs[i]["pilot_log"] = str(log)
        rungs[i]["pilot_steps"] = pil["pilot_steps_used"]
        info = {"entropy_signal": keys["entropy"], "pilot_step": sg.PILOT_STEP}
    return info


# ---------------------------------------------------------------- rank
def rank(
    dirs: list[str | Path] | None = None,
    signal: str | None = None,
    plan: Plan | None = None,
    table: str | Path | None = None,
    pilot: list[str | Path] | None = None,
    group_size: int | None = None,
) -> dict:
    """Rank checkpoints by the predicted post-RL outcome, or abstain.

    JSON fields: ranking (list of {checkpoint, probe_dir, predicted, signal_value,
    pre_pass_at_1, values}, best predicted first), recommended (None when it abstains),
    abstain_reason, candidates, to_decide, decided_by, picks, best_pre_pass_at_1,
    predicted_inversion, signal, signal_sign, k (None unless pass@k is measured on every
    rung), accuracy, plan, unavailable, dropped (signals with an n/a on some rung, each with
    missing_on), uncalibrated_fallback (the lead has no held-out score and was not named).
    """
    dirs = list(dirs or [])
    if dirs and table is not None:
        raise UserError("give probe directories or --table, not both")
    if not dirs and table is None and not pilot:
        raise UserError("give two or more probe directories, --table FILE or --pilot LOG...")
    if signal is not None and signal not in sg.STAGE1_SIGNALS:
        raise UserError(f"signal must be one of {sorted(sg.STAGE1_SIGNALS)}, got {signal!r}")
    ProbeResult.require(dirs)  # a missing path is named before any count of paths is
    for log in pilot or []:
        if not Path(log).exists():
            raise InputNotFound(f"pilot log not found: {log}")
    k: int | None = DEFAULT_K
    if dirs:
        if len(dirs) < 2:
            raise UserError(f"ranking needs at least 2 probe directories, got {len(dirs)}")
        rungs, plan = _from_probes(dirs, plan, k, group_size)
    elif table is not None:
        if group_size is not None:
            raise UserError(
                "--group-size sets the planned run of probe folders; a table's columns are "
                "already computed (give them for the g you plan)"
            )
        rungs, k = _from_table(table)
    else:
        rungs, k = [], None
        if len(pilot) < 2:
            raise UserError(f"ranking needs at least 2 pilot logs, got {len(pilot)}")
    pilot_info = _add_pilot(rungs, pilot) if pilot else None
    names = [r["checkpoint"] for r in rungs]
    if len(set(names)) < len(names):  # same model name in two folders: add the folder
        for r in rungs:
            r["checkpoint"] = f"{r['checkpoint']} ({r.get('probe_dir') or r.get('pilot_log')})"
        names = [r["checkpoint"] for r in rungs]
    values = {s: [r["values"].get(s) for r in rungs] for s in sg.STAGE1_SIGNALS}
    se = {s: [r["se"].get(s) for r in rungs] for s in sg.STAGE1_SIGNALS}
    if signal is not None and not all(v is not None for v in values[signal]):
        hint = {
            "pass_at_k": "pass@10 needs at least 10 samples per problem: rerun "
            "`rankinv validate` with --samples >= 10",
            "entropy_prompt": "the probe measured no prompt entropy (--entropy both)",
            "entropy_rollout": "the probe measured no rollout entropy (--entropy both)",
            "informative_fraction": "it needs at least g samples per problem",
        }.get(signal, needs_message({}).split(f"{signal} needs ")[-1].split(";")[0])
        raise UserError(
            f"signal {signal} cannot be computed for every checkpoint: {hint}; or rank by "
            "another signal (--signal share_below_p_star needs no more samples)"
        )
    d = decide(values, names, se, signal)
    lead = d.get("lead")
    if lead is None:
        raise UserError(missing_brief(values, names))
    sign = sg.signal_sign(lead)
    rows = [
        {
            "checkpoint": r["checkpoint"],
            "probe_dir": r.get("probe_dir"),
            "pilot_log": r.get("pilot_log"),
            "predicted": sign * float(r["values"][lead]),
            "signal_value": float(r["values"][lead]),
            "pre_pass_at_1": r["values"].get("pass_at_1"),
            "values": {s: v for s, v in r["values"].items() if v is not None},
        }
        for r in rungs
    ]
    rows.sort(key=lambda r: -r["predicted"])
    with_p1 = [r for r in rows if r["pre_pass_at_1"] is not None]
    best_pre = max(with_p1, key=lambda r: r["pre_pass_at_1"]) if with_p1 else None
    first = set(d["picks"][lead])
    measured = {s for s, v in values.items() if v and all(x is not None for x in v)}
    # the k of pass@k means something only when a pass@k signal is measured on every rung
    k = k if measured & {"pass_at_k", "reachable_pass_at_k"} else None
    # a lead with no held-out score is a fallback, said so (never when named by --signal)
    fallback = signal is None and lead not in sg.STAGE1_CALIBRATION
    return {
        "ranking": rows,
        "recommended": d["recommended"],
        "abstain_reason": d["abstain_reason"],
        "candidates": d["candidates"],
        "to_decide": d.get("to_decide"),
        "decided_by": d["decided_by"],
        "picks": d["picks"],
        "gap": d.get("gap"),
        "gap_se": d.get("gap_se"),
        "noise_z": NOISE_Z,
        "best_pre_pass_at_1": None if best_pre is None else best_pre["checkpoint"],
        "predicted_inversion": None if best_pre is None else best_pre["checkpoint"] not in first,
        "tied_first": sorted(first) if len(first) > 1 else [],
        "signal": lead,
        "signal_sign": sign,
        "k": k,
        "accuracy": sg.stage1_accuracy_note(lead),
        "plan": None if plan is None else plan.to_json(),
        "pilot": pilot_info,
        "unavailable": needs_message(values) or None,
        "dropped": dropped_signals(values, names),
        "uncalibrated_fallback": fallback,
        "source": "probes" if dirs else "table" if table is not None else "pilot",
    }
