"""Several runs of one sweep judged against each other: successive halving at the runs'
common step, for the practitioner who stops the losers of a sweep rather than judging one
run alone (``rankinv monitor LOG LOG ...``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from rankinv.errors import UserError
from rankinv.verdicts import assumptions, logs, stage2, sweep_gap
from rankinv.verdicts.monitor import MonitorConfig, analyse
from rankinv.verdicts.monitor_report import MonitorResult
from rankinv.verdicts.monitor_run import saved_share
from rankinv.verdicts.words import sweep as words
from rankinv.verdicts.words.monitor_checks import group_size_words

#: Doom scores are ranked to this many decimals: closer scores tie (a float's rounding).
SCORE_DIGITS = 12
#: A sweep is compared from this common step on (the paper's reference step): before it,
#: every rule's window is too short for a ranking to mean anything.
MIN_SWEEP_STEP = 10


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its own result at the sweep's common step (``result``), the
    sweep's verdict on it, its rank by doom score among the ``n_ranked`` runs with signal
    and a computable score (None: not ranked), the compute a stop saves now (from the log's
    last step, as judged alone; ``compute_saved_at_check``: at the common step, where the run
    is judged short of its log's end), and ``alone``: its
    own verdict on its whole log under the same configuration (its own check step), which the
    predicted label and action come from."""

    log: str
    result: MonitorResult
    verdict: str
    rank: int | None
    n_ranked: int
    compute_saved: float
    alone: MonitorResult
    #: where the run's g is assumed: the sweep's verdict on it at the usual range of g
    group_size_check: assumptions.GroupSizeCheck | None = None
    #: where the run is judged short of its log's end: what the stop saved at the common step
    compute_saved_at_check: float | None = None
    #: ranked outside the kept share: its gap to the worst kept run (named ``gap_to``)
    gap: sweep_gap.Gap | None = None
    gap_to: str | None = None

    @property
    def score(self) -> float | None:
        """The doom score at the common step (higher = less worth continuing)."""
        return self.result.doom_score

    @property
    def score_window(self) -> str | None:
        """The steps the doom score read at the common step ("steps a-b"), None unscored."""
        rv = self.result.rule
        if self.score is None or rv.judged_col is None:
            return None
        lo = sweep_gap.score_start(self.result)
        return stage2.span_words(self.result.run.trace, rv.judged_col, lo, rv.check)

    @property
    def gap_words(self) -> str | None:
        """Its gap to the worst kept run and whether the sweep can tell them apart (None:
        ranked among the kept, or not ranked)."""
        if self.gap is None:
            return None
        return words.gap_words(
            self.gap_to, self.gap.gap, self.gap.se, self.n_ranked, self.gap.untested
        )

    @property
    def own_verdict(self) -> str:
        """The run's verdict judged alone, at its own check step."""
        return self.alone.verdict

    def to_json(self, keep: float) -> dict:
        reasons, alone = self.result.reasons, self.alone
        ref, check = alone.window
        own_at = words.alone_at(ref, check, alone.run.last, alone.rule.reached)
        why = words.sweep_why(
            self.verdict, self.own_verdict, self.rank, self.n_ranked, self.score, keep,
            fact_of_log(self.result), own_at, self.score_window, self.gap_words,
        )  # fmt: skip
        return {
            "log": self.log,
            "verdict": self.verdict,
            "rank": self.rank,
            "score": self.score,
            "score_window": self.score_window,
            "judged_at": self.result.run.last,
            "state": self.result.state,
            "compute_saved": self.compute_saved,
            "compute_saved_at_check": self.compute_saved_at_check,
            "fact_of_log": fact_of_log(self.result),
            "gap": None
            if self.gap is None
            else {
                "to": self.gap_to,
                "gap": self.gap.gap,
                "se": self.gap.se,
                "separated": self.gap.separated,
            },
            "own_verdict": self.own_verdict,
            "label": alone.label,
            "action": words.sweep_action(
                self.verdict, self.own_verdict, alone.action, alone.label, own_at
            ),
            "assumptions": assumptions.assumptions_json(
                self.result.assumptions, self.group_size_check
            ),
            "group_size_note": None
            if self.group_size_check is None
            else group_size_words(self.group_size_check, "the sweep's verdict on it"),
            "alone": {
                "verdict": alone.verdict,
                "label": alone.label,
                "action": alone.action,
                "window": {"ref_step": ref, "check_step": check},
                "check_reached": alone.rule.reached,
                "at": own_at,
                "judged_to_step": alone.run.last,
                "reasons": alone.reasons,
            },
            "why": why,
            "reason": reasons[0],
            "reasons": reasons,
        }


@dataclass(frozen=True)
class SweepResult:
    """A sweep judged at its common ``step`` by ``rule``: the best ``keep`` share of the runs
    with signal continue; ``compute_saved``: the share of the runs' planned compute (summed)
    the stops save now (each log at its last step); ``compute_saved_at_check``: what the stops would
    have saved at ``step``, where a run is judged short of its log's end;
    ``at_check_step``: the logs are finished and ``step`` is the runs' earliest check step
    (judged as the sweep would have been live), not their common last step."""

    step: int
    rule: str
    keep: float
    runs: list[SweepRun]
    compute_saved: float
    at_check_step: bool = False  # finished logs: judged at the runs' check step, as live
    #: where the logs' logging intervals differ: what that changes, said in the header
    interval_note: str | None = None
    #: where the runs plan different totals of steps: each named, said in the header
    planned_note: str | None = None
    #: where a run is judged short of its log's end: the mean share the stops saved at the
    #: common step (a run judged at its last step counts what it saves now); None otherwise
    compute_saved_at_check: float | None = None

    def to_json(self) -> dict:
        return {
            "step": self.step,
            "at_check_step": self.at_check_step,
            "interval_note": self.interval_note,
            "planned_note": self.planned_note,
            "rule": self.rule,
            "doom_score": words.doom_words(self.rule),
            "keep": self.keep,
            "runs": [r.to_json(self.keep) for r in self.runs],
            "compute_saved": self.compute_saved,
            "compute_saved_at_check": self.compute_saved_at_check,
        }


def fact_of_log(r: MonitorResult) -> str | None:
    """A fact of the run's own log that stops it whatever its rank: "no_signal" (no group
    carries signal) or "coverage" (held-out coverage fell beyond its noise, the coverage
    rule's stop); None where neither holds."""
    if r.no_signal is not None:
        return "no_signal"
    if r.coverage is not None and r.coverage.fell:
        return "coverage"
    return None


def _ranked(
    results: list[MonitorResult], keep: float
) -> tuple[list[str], dict[int, int], dict[int, sweep_gap.Gap]]:
    """The sweep's verdict on each run, the rank of each run ranked and, for each run ranked
    outside the kept share, its gap to the worst kept run: a run its own log stops (no
    signal, held-out coverage fallen beyond its noise: :func:`fact_of_log`) stops and is not
    ranked; of the rest with a score, least doomed first, the best ``keep`` share continue
    (a tie at the boundary kept), the others stop, unless the sweep cannot separate a run's
    score from the worst kept run's (the gap within ``sweep_gap.SEPARATION_SE`` SE, or
    untested): that run is watched; a run without a score continues, unranked."""
    facts = [fact_of_log(r) for r in results]
    # scores equal but for a float's rounding (a mean over windows of different lengths) tie
    scores = [
        None if f is not None or r.doom_score is None else round(r.doom_score, SCORE_DIGITS)
        for r, f in zip(results, facts, strict=True)
    ]
    # a stable sort: ties keep their order
    scored = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: scores[i])
    n_keep = max(1, int(np.ceil(keep * len(scored)))) if scored else 0
    while 0 < n_keep < len(scored) and scores[scored[n_keep]] == scores[scored[n_keep - 1]]:
        n_keep += 1  # a tie at the boundary is kept: the order the logs were given decides nothing
    rank = {i: k + 1 for k, i in enumerate(scored)}
    gaps = {i: sweep_gap.gap_to_kept(results, i, scored[n_keep - 1]) for i in scored[n_keep:]}
    verdicts = []
    for i in range(len(results)):
        if facts[i] is not None:
            verdicts.append("stop")
        elif rank.get(i, 0) <= n_keep:  # a run its rule cannot score continues, unranked
            verdicts.append("continue")
        else:
            # a gap untested (None) or within the noise does not justify a relative stop
            verdicts.append("stop" if gaps[i].separated is True else "watch")
    return verdicts, rank, gaps


def _g_checks(full, at: MonitorConfig, judged: list[MonitorResult], verdicts, keep: float):
    """For each run whose g is assumed, the sweep's verdict on it re-made with every such run
    judged at each g of the usual range (runs whose g is given or logged keep theirs); None
    for the others."""
    assumed = [r.run.g.source == "assumed" for r in judged]
    if not any(assumed):
        return [None] * len(judged)
    at_g = {}
    for g in assumptions.CHECK_GROUP_SIZES:
        cfg_g = replace(at, group_size=g)
        redone = [
            analyse(lg, cfg_g, checks=False) if a else r
            for lg, r, a in zip(full, judged, assumed, strict=True)
        ]
        at_g[g] = _ranked(redone, keep)[0]

    return [
        assumptions.GroupSizeCheck(
            int(r.run.g.value),
            assumptions.Outcome(verdicts[i]),  # the sweep's verdict on the run
            {g: assumptions.Outcome(v[i]) for g, v in at_g.items()},
        )
        if assumed[i]
        else None
        for i, r in enumerate(judged)
    ]


def judge_sweep(paths, cfg: MonitorConfig | None = None, keep: float = 0.5) -> SweepResult:
    """Several runs of one sweep judged against each other at their common step (the
    earliest last step; where every log is finished and no --check-step is given, the
    earliest of the runs' check steps, as the sweep would have been judged live): runs with
    no signal stop; of the rest, ranked by the rule's doom
    score over [ref, common step], the worst ``1 - keep`` stop (successive halving). Where a
    run's g is assumed, the sweep's verdict on it is also re-made at the usual range of g."""
    cfg = cfg or MonitorConfig()
    if len(paths) < 2:
        raise UserError("a sweep needs at least two logs")
    resolved = [str(Path(p).resolve()) for p in paths]
    dup = sorted({p for p in resolved if resolved.count(p) > 1})
    if dup:
        raise UserError(f"the same log is given twice: {dup[0]}")
    read = [(str(p), logs.read_log(p, cfg.step_key)) for p in paths]
    common = min(int(max(r["step"] for r in lg.records)) for _, lg in read)
    alone = [analyse(lg, cfg) for _, lg in read]  # each run judged by itself
    # finished logs are judged as the sweep would have been live: at the runs' check step
    # (the earliest), not at their common last step, where a stop saves nothing
    at_check = False
    if cfg.check_step is None and all(a.run.finished for a in alone):
        check = min(a.rule.check_step for a in alone)
        at_check = check < common
        common = min(common, check)
    if cfg.check_step is not None:  # --check-step N judges the sweep at N (where logged)
        common = min(common, cfg.check_step)
    # each run's reference step is its rule's own, as judged alone (--ref-step sets every
    # run's): the sweep sets only the common check step
    ref = max(a.rule.ref for a in alone)
    if common < max(ref + 1, MIN_SWEEP_STEP):
        short = [_short(n) for n, lg in read if max(r["step"] for r in lg.records) == common]
        raise UserError(
            f"the logs' common step {common} is too early to compare the sweep (it needs "
            f"step {max(ref + 1, MIN_SWEEP_STEP)} in every log; "
            f"{', '.join(short) or 'the check step'} ends there)"
        )
    # each run keeps its own planned total (--planned-steps, else its log's max_steps)
    at = MonitorConfig(**{**asdict(cfg), "check_step": common})
    # each run judged on its whole log with the common step as its check step: the rule,
    # floor and no-signal state read steps up to it (monitor_run.upto), the coverage rule every
    # held-out evaluation, and "now" is the log's own last step, as judged alone
    full = [lg for _, lg in read]
    judged = [_at_common(analyse(lg, at, checks=False), cfg) for lg in full]
    verdicts, rank, gaps = _ranked(judged, keep)
    checks = _g_checks(full, at, judged, verdicts, keep)
    runs = []
    for i, ((name, _), r, verdict) in enumerate(zip(read, judged, verdicts, strict=True)):
        now, then = _saved(r, verdict)
        gap = gaps.get(i)
        gap_to = None if gap is None else _short(read[gap.to][0])
        runs.append(
            SweepRun(name, r, verdict, rank.get(i), len(rank), now, alone[i], checks[i], then,
                     gap, gap_to)
        )  # fmt: skip
    rule = next((r.rule_used for r in judged if r.rule_used), cfg.rule)
    # shares of the sweep's planned compute: each run's saved share weighted by its planned
    # steps (runs may plan different totals), not a mean of shares
    planned = np.array([r.result.planned_steps for r in runs], dtype=float)
    mean_saved = float(np.dot([r.compute_saved for r in runs], planned) / planned.sum())
    then = [r.compute_saved if r.compute_saved_at_check is None else r.compute_saved_at_check
            for r in runs]  # fmt: skip
    short = any(r.compute_saved_at_check is not None for r in runs)
    mean_then = float(np.dot(then, planned) / planned.sum()) if short else None
    ivs = [(_short(r.log), int(r.result.run.iv.value["steps"]), r.score_window) for r in runs]
    note = words.interval_words(ivs, common) if len({n for _, n, _ in ivs}) > 1 else None
    plans = [(_short(r.log), r.result.planned_steps, r.result.run.planned_src) for r in runs]
    plan_note = words.planned_words(plans, common) if len({n for _, n, _ in plans}) > 1 else None
    mixed = words.trainers_words([(_short(r.log), r.result.run.log.trainer) for r in runs])
    plan_note = "; ".join(n for n in (plan_note, mixed) if n) or None
    return SweepResult(common, rule, keep, runs, mean_saved, at_check, note, plan_note, mean_then)


def _at_common(r: MonitorResult, cfg: MonitorConfig) -> MonitorResult:
    """``r`` with its window said to come from the sweep (not steps the user gave), unless
    the user gave both steps."""
    if cfg.check_step is not None and cfg.ref_step is not None:
        return r
    rv, planned = r.rule, r.planned_steps
    share = rv.check_step / planned
    src = f"the sweep's step; the check at {share:.3g} of the {planned} planned steps"
    return replace(r, rule=replace(rv, window_src=src))


def _saved(r: MonitorResult, verdict: str) -> tuple[float, float | None]:
    """What the sweep's stop saves: now (from the log's last step, as judged alone) and,
    where the run was judged short of its log's end, then (from the common step; else None)."""
    if verdict != "stop":
        return 0.0, None
    run = r.run
    now = saved_share(run.planned, run.now.done)
    short = run.whole is not None and run.done < run.now.done
    return now, saved_share(run.planned, run.done) if short else None


def _short(log: str) -> str:
    """A log's name: its file, or the run folder of a trainer_state.json."""
    p = Path(log)
    return p.parent.name if p.name == "trainer_state.json" else p.name
