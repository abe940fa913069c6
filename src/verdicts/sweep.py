"""Several runs of one sweep judged against each other: successive halving at the runs'
common step, for the practitioner who stops the losers of a sweep rather than judging one
run alone (``rankinv monitor LOG LOG ...``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rankinv.errors import UserError
from rankinv.verdicts import logs
from rankinv.verdicts.monitor import MonitorConfig, analyse
from rankinv.verdicts.monitor_report import MonitorResult
from rankinv.verdicts.words import sweep as words

#: A sweep is compared from this common step on (the paper's reference step): before it,
#: every rule's window is too short for a ranking to mean anything.
MIN_SWEEP_STEP = 10


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its own result at the sweep's common step (``result``), the
    sweep's verdict on it, its rank by doom score among the ``n_ranked`` runs with signal
    and a computable score (None: not ranked), the compute a stop saves, and ``alone``: its
    own verdict on its whole log under the same configuration (its own check step), which the
    predicted label and action come from."""

    log: str
    result: MonitorResult
    verdict: str
    rank: int | None
    n_ranked: int
    compute_saved: float
    alone: MonitorResult

    @property
    def score(self) -> float | None:
        """The doom score at the common step (higher = less worth continuing)."""
        return self.result.doom_score

    @property
    def own_verdict(self) -> str:
        """The run's verdict judged alone, at its own check step."""
        return self.alone.verdict

    def to_json(self, keep: float) -> dict:
        reasons, alone = self.result.reasons, self.alone
        ref, check = alone.window
        own_at = f"at its own check step {check} (steps {ref}-{alone.run.last})"
        why = words.sweep_why(
            self.verdict, self.own_verdict, self.rank, self.n_ranked, self.score, keep,
            self.result.no_signal is not None, own_at,
        )  # fmt: skip
        return {
            "log": self.log,
            "verdict": self.verdict,
            "rank": self.rank,
            "score": self.score,
            "judged_at": self.result.run.last,
            "state": self.result.state,
            "compute_saved": self.compute_saved,
            "own_verdict": self.own_verdict,
            "label": alone.label,
            "action": words.sweep_action(
                self.verdict, self.own_verdict, alone.action, alone.label, check
            ),
            "assumptions": [a.to_json() for a in self.result.assumptions],
            "alone": {
                "verdict": alone.verdict,
                "label": alone.label,
                "action": alone.action,
                "window": {"ref_step": ref, "check_step": check},
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
    with signal continue; ``compute_saved``: the mean share of the planned compute saved."""

    step: int
    rule: str
    keep: float
    runs: list[SweepRun]
    compute_saved: float

    def to_json(self) -> dict:
        return {
            "step": self.step,
            "rule": self.rule,
            "doom_score": words.doom_words(self.rule),
            "keep": self.keep,
            "runs": [r.to_json(self.keep) for r in self.runs],
            "compute_saved": self.compute_saved,
        }


def judge_sweep(paths, cfg: MonitorConfig | None = None, keep: float = 0.5) -> SweepResult:
    """Several runs of one sweep judged against each other at their common step (the
    earliest last step): runs with no signal stop; of the rest, ranked by the rule's doom
    score over [ref, common step], the worst ``1 - keep`` stop (successive halving)."""
    cfg = cfg or MonitorConfig()
    if len(paths) < 2:
        raise UserError("a sweep needs at least two logs")
    resolved = [str(Path(p).resolve()) for p in paths]
    dup = sorted({p for p in resolved if resolved.count(p) > 1})
    if dup:
        raise UserError(f"the same log is given twice: {dup[0]}")
    read = [(str(p), logs.read_log(p, cfg.step_key)) for p in paths]
    common = min(int(max(r["step"] for r in lg.records)) for _, lg in read)
    ref = cfg.ref_step if cfg.ref_step is not None else 1
    if common < max(ref + 1, MIN_SWEEP_STEP):
        raise UserError(
            f"the logs' common step {common} is too early to compare the sweep (it needs "
            f"step {max(ref + 1, MIN_SWEEP_STEP)} in every log)"
        )
    # each run keeps its own planned total (--planned-steps, else its log's max_steps)
    at = MonitorConfig(**{**asdict(cfg), "ref_step": ref, "check_step": common})
    judged = []
    for name, lg in read:
        cut = logs.RunLog(
            lg.source,
            lg.format,
            [r for r in lg.records if r["step"] <= common],
            lg.max_steps,
            lg.issues,
            lg.logging_steps,
        )
        judged.append((name, analyse(cut, at)))
    # runs with signal and a score, least doomed first (a stable sort: ties keep their order)
    scores = [r.doom_score if r.no_signal is None else None for _, r in judged]
    scored = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: scores[i])
    n_keep = max(1, int(np.ceil(keep * len(scored)))) if scored else 0
    while 0 < n_keep < len(scored) and scores[scored[n_keep]] == scores[scored[n_keep - 1]]:
        n_keep += 1  # a tie at the boundary is kept: the order the logs were given decides nothing
    rank = {i: k + 1 for k, i in enumerate(scored)}
    runs = []
    for i, (name, r) in enumerate(judged):
        if r.no_signal is not None:
            verdict = "stop"
        elif i not in rank:
            verdict = "continue"  # its rule cannot be computed: not ranked
        else:
            verdict = "continue" if rank[i] <= n_keep else "stop"
        saved = (r.planned_steps - r.steps_done) / r.planned_steps if verdict == "stop" else 0.0
        alone = analyse(read[i][1], cfg)
        runs.append(SweepRun(name, r, verdict, rank.get(i), len(scored), saved, alone))
    rule = next((r.rule_used for _, r in judged if r.rule_used), cfg.rule)
    return SweepResult(common, rule, keep, runs, float(np.mean([r.compute_saved for r in runs])))
