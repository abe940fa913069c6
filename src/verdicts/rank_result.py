"""What `rankinv rank` decided, as a type: :class:`RankResult` (and its rows, :class:`RankRow`).

:func:`rankinv.verdicts.rank.rank` returns it; :mod:`rankinv.render.rank` phrases it and
``rankinv rank --json`` prints :meth:`RankResult.to_json` (the public JSON fields, in the
order they have always had).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class RankRow:
    """One checkpoint: its predicted post-RL outcome by the lead signal (``predicted`` is the
    signal's value times its sign, so higher is better), its pre-RL pass@1 and every signal
    measured on it."""

    checkpoint: str
    probe_dir: str | None
    pilot_log: str | None
    predicted: float
    signal_value: float
    pre_pass_at_1: float | None
    values: dict[str, float]

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RankResult:
    """Rank's decision and what it rests on.

    The free answers (:func:`rankinv.verdicts.baselines.free_answers`): baselines,
    agrees_with_shallowest, ladder_kind, depth_source, versus, adds_nothing_over. The
    decision: ranking (best predicted first), recommended (None when it abstains),
    recommended_by ("signal" or "free answer: <baseline>" when the deciding signal did not
    beat that free answer on held-out simulated ladders), signal_pick and
    signal_abstain_reason (what the signal alone said), abstain_reason, candidates,
    to_decide, decided_by, picks, gap / gap_se (the lead's first-place gap and its sampling
    SE), noise_z. What it rests on: best_pre_pass_at_1, predicted_inversion, tied_first,
    signal, signal_sign, k (None unless pass@k is measured on every rung), accuracy, plan,
    pilot, unavailable, dropped, uncalibrated_fallback, source, inputs.
    """

    baselines: dict[str, str | None]
    agrees_with_shallowest: bool | None
    ladder_kind: str | None
    depth_source: str
    versus: dict[str, dict]
    adds_nothing_over: str | None
    ranking: list[RankRow]
    recommended: str | None
    recommended_by: str
    signal_pick: str | None
    abstain_reason: str | None
    signal_abstain_reason: str | None
    candidates: list[str]
    to_decide: str | None
    decided_by: list[str]
    picks: dict[str, list[str]]
    gap: float | None
    gap_se: float | None
    noise_z: float
    best_pre_pass_at_1: str | None
    predicted_inversion: bool | None
    tied_first: list[str]
    signal: str
    signal_sign: int
    k: int | None
    accuracy: str
    plan: dict | None
    pilot: dict | None
    unavailable: str | None
    dropped: list[dict]
    uncalibrated_fallback: bool
    source: str
    inputs: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["ranking"] = [r.to_json() for r in self.ranking]
        return out
