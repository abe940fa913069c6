"""Rank checkpoints by their predicted post-RL outcome, or say that the evidence cannot.

Three inputs, alone or together (one rung each, in the same order):
- probe directories (``rankinv validate --out``, :class:`ProbeResult`): every stage-1 signal
  from the per-prompt counts and entropies (probes not sampled alike are refused);
- a table (``--table``: CSV or JSON, the columns ``compare`` reads) of per-checkpoint
  aggregates from any harness: the signals its columns allow (:data:`TABLE_COLUMNS`);
- pilot logs (``--pilot``: one short GRPO log per rung, as ``monitor`` reads them): the
  entropy and informative-group fraction over the first RL steps (the paper's Table 4).

The decision (:func:`decide`) is one pure function, the one the back-test scores: the
*deciding* signals are those measured on every rung, the calibrated default first, then by
their choose-half median rho on the simulated population (signals of pre-RL pass@1 alone,
the naive choice's information, never decide). Beside it, what the free answers pick
(:func:`rankinv.verdicts.baselines.free_answers`) and whether the deciding signal beat them
on held-out simulated ladders. The lead signal's first rung is recommended unless
(a) the second deciding signal picks a different rung, or (b) the lead's gap between its
first two rungs is within NOISE_Z standard errors of the probe's sampling noise; then
``recommended`` is None and ``abstain`` says why, as a code, with the candidates
(:class:`~rankinv.verdicts.rank_verdict.RankDecision`; ``rankinv.verdicts.words.rank`` says
it in words, and what would decide between them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rankinv.errors import InputNotFound, UserError
from rankinv.records import DEFAULT_K, Plan
from rankinv.verdicts import baselines
from rankinv.verdicts import signals as sg
from rankinv.verdicts._calibrated import DEFAULT_STAGE1_SIGNAL
from rankinv.verdicts.probe_result import ProbeResult
from rankinv.verdicts.rank_inputs import (
    add_pilot,
    dropped_signals,
    from_probes,
    from_table,
    missing_brief,
    needs_message,
)
from rankinv.verdicts.rank_result import RankResult
from rankinv.verdicts.rank_verdict import (
    DEPTHS_GIVEN,
    DEPTHS_ORDER,
    DEPTHS_TABLE,
    DISAGREE,
    NO_PASS,
    NO_SIGNAL,
    TIE,
    WITHIN_NOISE,
    RankDecision,
    RankRow,
)
from rankinv.verdicts.words import inputs as input_words
from rankinv.verdicts.words.plan import PLAN_FIELDS

#: A first place is within noise when its gap to the runner-up is below NOISE_Z standard
#: errors of that gap (about a two-sided 95% band).
NOISE_Z = 2.0
#: Relative tie tolerance: values within this share of the signal's spread (or 1e-9) tie.
TIE_SHARE = 0.005


# ---------------------------------------------------------------- the decision
def deciding_order(available: list[str], signal: str | None = None) -> list[str]:
    """The signals that decide, best first: the one named, else the calibrated default
    (``rules.DEFAULT_STAGE1_SIGNAL``), then the rest by |median rho| on the *choose* half of
    the simulated settings (never a report-half number), ties broken by name, uncalibrated
    ones last; signals of pre-RL pass@1 alone decide only when named."""
    cal = sg.STAGE1_CALIBRATION
    first = signal or (DEFAULT_STAGE1_SIGNAL if DEFAULT_STAGE1_SIGNAL in available else None)

    def key(s):
        c = cal.get(s)
        return (c is None, -abs((c or {}).get("choose_median_rho", 0)), s)

    rest = sorted(
        (s for s in available if s != first and not sg.STAGE1_SIGNALS[s].of_pass_at_1), key=key
    )
    return ([first] if first else []) + rest


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
) -> RankDecision:
    """Pick a rung or abstain (see :class:`RankDecision`). values: per signal, one value per
    rung (None: not measured); se: per signal, each rung's standard error from sampling
    (None: unknown)."""
    available = [s for s, v in values.items() if v and all(x is not None for x in v)]
    if signal is not None and signal not in available:
        raise UserError(f"signal {signal} is not measured on every checkpoint")
    order = deciding_order(available, signal)
    if not order:
        return RankDecision(None, NO_SIGNAL, list(names), [], {}, None, NOISE_Z)
    picks = {s: [names[i] for i in _first(values[s], sg.signal_sign(s))] for s in order}
    lead = order[0]
    sign = sg.signal_sign(lead)
    v = sign * np.asarray(values[lead], dtype=float)
    top = _first(values[lead], sign)
    said = {"decided_by": order[:2], "picks": picks, "lead": lead, "noise_z": NOISE_Z}
    if len(top) > 1:
        return RankDecision(None, TIE, picks[lead], **said)
    i = top[0]
    best = names[i]
    if len(order) > 1 and best not in picks[order[1]]:
        cands = [best] + [p for p in picks[order[1]] if p != best]
        return RankDecision(None, DISAGREE, cands, **said)
    runner = int(np.argsort(-v)[1]) if len(v) > 1 else i
    gap = float(v[i] - v[runner])
    s_lead = (se or {}).get(lead)
    noise = None
    if s_lead and s_lead[i] is not None and s_lead[runner] is not None:
        noise = float(np.hypot(s_lead[i], s_lead[runner]))
    said |= {"runner_up": names[runner], "gap": gap, "gap_se": noise}
    if noise is not None and gap <= NOISE_Z * noise:
        return RankDecision(None, WITHIN_NOISE, [best, names[runner]], **said)
    return RankDecision(best, None, [best], **said)


# ---------------------------------------------------------------- rank
def no_pass(values: dict[str, list[float | None]]) -> bool:
    """Every rung measured and at pass@1 = 0 (and pass@k = 0 where measured)."""
    cols = [values.get("pass_at_1") or [], values.get("pass_at_k") or []]
    if not cols[0] or any(v is None for v in cols[0]):
        return False
    return all(v is None or v == 0 for col in cols for v in col)


def _unique_extreme(col: list[float | None], names: list[str], sign: int) -> str | None:
    """The rung alone at the top of ``sign * col`` (None: a tie, or a rung unmeasured)."""
    if not col or any(v is None for v in col):
        return None
    v = sign * np.asarray(col, dtype=float)
    top = np.flatnonzero(v >= v.max() - 1e-12)
    return names[int(top[0])] if len(top) == 1 else None


def _depths(
    rungs: list[dict], depths: list[float] | None, warnings: list[str]
) -> tuple[list[float], str]:
    """Each rung's SFT depth and where it came from (DEPTHS_GIVEN, DEPTHS_TABLE or, assumed,
    DEPTHS_ORDER); --depths beside a table's depth column that differs is a warning."""
    column = [r.get("depth") for r in rungs]
    if depths is not None:
        if len(depths) != len(rungs):
            raise UserError(
                f"--depths gives {len(depths)} values for {len(rungs)} checkpoints; give one "
                "per checkpoint, in the same order"
            )
        given = [float(x) for x in depths]
        if any(x < 0 for x in given):
            raise UserError(f"--depths are SFT epochs or steps, none below 0; got {depths}")
        if rungs and all(c is not None for c in column) and given != [float(c) for c in column]:
            warnings.append(input_words.depths_override(given, [float(c) for c in column]))
        return given, DEPTHS_GIVEN
    if rungs and all(c is not None for c in column):
        return [float(c) for c in column], DEPTHS_TABLE
    return [float(i) for i in range(len(rungs))], DEPTHS_ORDER


def rank(
    dirs: list[str | Path] | None = None,
    signal: str | None = None,
    plan: Plan | None = None,
    table: str | Path | None = None,
    pilot: list[str | Path] | None = None,
    group_size: int | None = None,
    depths: list[float] | None = None,
) -> RankResult:
    """Rank checkpoints by the predicted post-RL outcome, or abstain: the inputs read as
    rungs, the decision (:func:`decide`), the free answers beside it, one
    :class:`RankResult` (its fields, and ``to_json``, are the command's JSON).

    When the deciding signal did not beat the free answer on held-out simulated ladders (and
    no --signal was named), ``recommended`` is the free answer's rung (``recommended_by``
    says so) and ``signal_pick`` / ``signal_abstain`` keep what the signal said.
    ``depths``: each checkpoint's SFT depth (epochs or steps), in the order given; else a
    table's depth column, else the order given is taken as least to most trained (and said
    so).
    """
    dirs = list(dirs or [])
    _check_args(dirs, signal, table, pilot)
    rungs, plan, k, inputs, pilot_info = _read_rungs(dirs, plan, table, pilot, group_size)
    plan_given = inputs.pop("plan_given", None) or dict.fromkeys(PLAN_FIELDS, True)
    names = _unique_names(rungs)
    values = {s: [r["values"].get(s) for r in rungs] for s in sg.STAGE1_SIGNALS}
    se = {s: [r["se"].get(s) for r in rungs] for s in sg.STAGE1_SIGNALS}
    if signal is not None and not all(v is not None for v in values[signal]):
        raise UserError(_unmeasured(signal))
    d = decide(values, names, se, signal)
    lead = d.lead
    if lead is None:
        raise UserError(missing_brief(values, names))
    if no_pass(values):  # nothing passes anywhere: the signals measure noise
        d = RankDecision(
            None, NO_PASS, list(names), d.decided_by, d.picks, lead, NOISE_Z,
            d.runner_up, d.gap, d.gap_se,
        )  # fmt: skip
    rows = _ranking(rungs, lead)
    first = set(d.picks[lead])
    measured = {s for s, v in values.items() if v and all(x is not None for x in v)}
    # the k of pass@k means something only when a pass@k signal is measured on every rung
    k = k if measured & {"pass_at_k", "reachable_pass_at_k"} else None
    inputs.setdefault("warnings", [])
    depth, depths_from = _depths(rungs, depths, inputs["warnings"])
    free = baselines.free_answers(
        names, depth, values["pass_at_1"], lead, depths_from == DEPTHS_ORDER
    )
    # a pre-RL pass@1 free answer names a rung only where pass@1 is measured on every rung
    # (else it is "dropped" and names no rung) and one rung holds it alone
    for b, sign in (("best_pass_at_1", +1), ("lowest_pass_at_1", -1)):
        free["baselines"][b] = _unique_extreme(values["pass_at_1"], names, sign)
        if free["adds_nothing_over"] == b and free["baselines"][b] is None:
            free["adds_nothing_over"] = None
    best_pre = free["baselines"]["best_pass_at_1"]
    anchor, kind_needed = _anchor(free, d, signal)
    return RankResult(
        **free,
        depths_from=depths_from,
        ranking=rows,
        decision=d,
        anchor=anchor,
        best_pre_pass_at_1=best_pre,
        signal_predicted_inversion=(
            None if best_pre is None or d.recommended is None else best_pre not in first
        ),
        tied_first=sorted(first) if len(first) > 1 else [],
        signal=lead,
        signal_sign=sg.signal_sign(lead),
        k=k,
        accuracy=sg.stage1_accuracy_note(lead),
        # the plan, and which of its values were given (the rest assumed: the paper's)
        plan=None if plan is None else {**plan.to_json(), "given": plan_given},
        pilot=pilot_info,
        unavailable=needs_message(values) or None,
        dropped=dropped_signals(values, names),
        # a lead with no held-out score is a fallback, said so (never when named by --signal)
        uncalibrated_fallback=signal is None and lead not in sg.STAGE1_CALIBRATION,
        source="probes" if dirs else "table" if table is not None else "pilot",
        inputs=inputs,
        kind_needed=kind_needed,
    )


def _anchor(free: dict, d: RankDecision, signal: str | None):
    """The free answer that recommends instead of the signal (None: the signal's decision
    stands) and whether the ladder's kind is needed to name one; sets ``free``'s
    adds_nothing_over to match."""
    # a signal that did not beat the free answer on held-out ladders does not override it
    # (nor does a free answer when nothing passes anywhere)
    anchor = None if signal is not None or d.abstain == NO_PASS else free["adds_nothing_over"]
    # a lead with no held-out score at all (an uncalibrated fallback) does not override the
    # free answer for a ladder of known kind either: its pick stays a hint (signal_pick)
    kind_answer = baselines.KIND_ANSWER.get(free["ladder_kind"])
    uncalibrated = signal is None and d.lead not in sg.STAGE1_CALIBRATION
    if anchor is None and uncalibrated and d.abstain != NO_PASS and kind_answer:
        anchor = kind_answer if free["baselines"][kind_answer] else None
    if d.abstain == NO_PASS:  # no free answer is offered either: nothing to say it adds to
        free["adds_nothing_over"] = None
    kind_needed = False
    if signal is None and d.abstain != NO_PASS and free["ladder_kind"] is None:
        anchor, kind_needed = baselines.answer_of_unknown_kind(free["baselines"], free["versus"])
        free["adds_nothing_over"] = anchor
    return anchor, kind_needed


# ---------------------------------------------------------------- the inputs
def _check_args(dirs: list, signal: str | None, table, pilot) -> None:
    """Argument checks before any input is read (a missing path is named before any count
    of paths is)."""
    if dirs and table is not None:
        raise UserError("give probe directories or --table, not both")
    if not dirs and table is None and not pilot:
        raise UserError("give two or more probe directories, --table FILE or --pilot LOG...")
    if signal is not None and signal not in sg.STAGE1_SIGNALS:
        raise UserError(f"signal must be one of {sorted(sg.STAGE1_SIGNALS)}, got {signal!r}")
    ProbeResult.require(dirs)
    for log in pilot or []:
        if not Path(log).exists():
            raise InputNotFound(f"pilot log not found: {log}")


def _read_rungs(dirs: list, plan: Plan | None, table, pilot, group_size: int | None):
    """One rung per checkpoint from the probes, the table or the pilot logs alone (a pilot
    log per rung added to either): (rungs, plan, k, the inputs' account, the pilot's)."""
    k: int | None = DEFAULT_K
    inputs: dict = {"expanded": [], "warnings": []}
    if dirs:
        rungs, plan, inputs = from_probes(dirs, plan, k, group_size)
    elif table is not None:
        if group_size is not None:
            raise UserError(
                "--group-size sets the planned run of probe folders; a table's columns are "
                "already computed (give them for the g you plan)"
            )
        rungs, k, inputs["warnings"] = from_table(table)
    else:
        rungs, k = [], None
        if len(pilot) < 2:
            raise UserError(f"ranking needs at least 2 pilot logs, got {len(pilot)}")
    pilot_info = add_pilot(rungs, pilot) if pilot else None
    if pilot_info:
        inputs["warnings"] = inputs.get("warnings", []) + pilot_info.pop("warnings")
    return rungs, plan, k, inputs, pilot_info


def _unique_names(rungs: list[dict]) -> list[str]:
    """Each rung's name; the same model name in two folders gets its folder added."""
    names = [r["checkpoint"] for r in rungs]
    if len(set(names)) < len(names):
        for r in rungs:
            r["checkpoint"] = f"{r['checkpoint']} ({r.get('probe_dir') or r.get('pilot_log')})"
        names = [r["checkpoint"] for r in rungs]
    return names


def _unmeasured(signal: str) -> str:
    """Why a named signal cannot rank every checkpoint, and what would measure it."""
    hint = {
        "pass_at_k": "pass@10 needs at least 10 samples per problem: rerun "
        "`rankinv validate` with --samples >= 10",
        "entropy_prompt": "the probe measured no prompt entropy (--entropy both)",
        "entropy_rollout": "the probe measured no rollout entropy (--entropy both)",
        "informative_fraction": "it needs at least g samples per problem",
    }.get(signal, needs_message({}).split(f"{signal} needs ")[-1].split(";")[0])
    return (
        f"signal {signal} cannot be computed for every checkpoint: {hint}; or rank by "
        "another signal (--signal share_below_p_star needs no more samples)"
    )


def _ranking(rungs: list[dict], lead: str) -> list[RankRow]:
    """The rungs by the lead signal's prediction, best first."""
    sign = sg.signal_sign(lead)
    rows = [
        RankRow(
            checkpoint=r["checkpoint"],
            probe_dir=r.get("probe_dir"),
            pilot_log=r.get("pilot_log"),
            predicted=sign * float(r["values"][lead]),
            signal_value=float(r["values"][lead]),
            pre_pass_at_1=r["values"].get("pass_at_1"),
            values={s: v for s, v in r["values"].items() if v is not None},
        )
        for r in rungs
    ]
    rows.sort(key=lambda r: -r.predicted)
    return rows
