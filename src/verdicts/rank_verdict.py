"""What `rankinv rank` decided, as types, without words: :class:`RankDecision` (the pure
decision of :func:`rankinv.verdicts.rank.decide`, which the back-test also scores),
:class:`RankRow` (one checkpoint) and :class:`RankVerdict` (the decision with the free
answers and everything it rests on). ``rankinv.verdicts.words.rank`` phrases them;
:class:`rankinv.verdicts.rank_result.RankResult` adds those words and the JSON."""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Why the decision names no rung, as a code (the words: ``words.rank.abstain_reason``).
NO_SIGNAL = "no_signal"  # no signal that may decide is measured on every rung
TIE = "tie"  # the lead signal ties two or more rungs for first
DISAGREE = "disagree"  # the top two deciding signals pick different rungs
WITHIN_NOISE = "within_noise"  # the lead's first-place gap is within its sampling noise
NO_PASS = "no_pass"  # every rung scores pass@1 = 0 (and pass@k = 0): nothing to rank
ABSTAIN_KINDS = (NO_SIGNAL, TIE, DISAGREE, WITHIN_NOISE, NO_PASS)
#: The verdict's own abstention (not the signal's): the signal beat no free answer held out,
#: and which free answer applies depends on the ladder's kind, which the inputs do not say
KIND_UNKNOWN = "ladder_kind_unknown"

#: Where each rung's SFT depth came from (the words: ``words.rank.DEPTH_SOURCE``).
DEPTHS_GIVEN = "given"  # --depths
DEPTHS_TABLE = "table"  # the table's depth column
DEPTHS_ORDER = "order"  # assumed: the order given, least to most trained


@dataclass(frozen=True)
class RankDecision:
    """A rung, or why none: ``recommended`` (None when it abstains) and ``abstain`` (one of
    :data:`ABSTAIN_KINDS`, None when it recommends); ``candidates``: the rungs involved (the
    recommended one alone; the rungs tied, or the two signals' picks, the lead's first; the
    first and the runner-up within noise; every rung when no signal may decide);
    ``decided_by``: the top two deciding signals (one when only one may decide), ``lead`` the
    first of them; ``picks``: each deciding signal's first rungs (ties within the tie
    tolerance). The numbers it rests on, once the lead names a single first rung and the top
    two agree: ``runner_up``, ``gap`` (the lead's first-place gap, sign-oriented) and
    ``gap_se`` (that gap's sampling SE, None when unknown), judged against ``noise_z``
    standard errors."""

    recommended: str | None
    abstain: str | None
    candidates: list[str]
    decided_by: list[str]
    picks: dict[str, list[str]]
    lead: str | None
    noise_z: float
    runner_up: str | None = None
    gap: float | None = None
    gap_se: float | None = None

    def __post_init__(self):
        if self.abstain not in (None, *ABSTAIN_KINDS):
            raise ValueError(f"abstain must be one of {ABSTAIN_KINDS} or None, not {self.abstain}")
        if (self.recommended is None) == (self.abstain is None):
            raise ValueError("a decision recommends a rung or says why not, never both")


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
class RankVerdict:
    """Rank's decision and what it rests on.

    The free answers (:func:`rankinv.verdicts.baselines.free_answers`): baselines,
    ladder_kind, versus, adds_nothing_over, and where the depths
    they read came from (``depths_from``: DEPTHS_GIVEN, DEPTHS_TABLE or DEPTHS_ORDER). The
    decision: ranking (best predicted first), ``decision`` (the signal's, see
    :class:`RankDecision`) and ``anchor`` (the free answer recommended instead, where the
    deciding signal did not beat it on held-out simulated ladders and no signal was named;
    None: the signal's decision stands). What it rests on: best_pre_pass_at_1,
    signal_predicted_inversion (the same for the signal's own pick), tied_first, signal
    (the lead), signal_sign, k (None unless pass@k is measured on every rung), accuracy,
    plan, pilot, unavailable, dropped, uncalibrated_fallback, source, inputs.
    ``kind_needed``: nothing is recommended because the deciding signal beat neither free
    answer held out and which one applies (the least-trained on a depth ladder, the best
    pre-RL pass@1 at one depth) depends on the ladder's kind, unknown without depths (the
    abstain code :data:`KIND_UNKNOWN`). Derived from the rung recommended (properties):
    agrees_with_shallowest, predicted_inversion.
    """

    baselines: dict[str, str | None]
    ladder_kind: str | None
    depths_from: str
    versus: dict[str, dict]
    adds_nothing_over: str | None
    ranking: list[RankRow]
    decision: RankDecision
    anchor: str | None
    best_pre_pass_at_1: str | None
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
    inputs: dict
    kind_needed: bool = False
    signal_predicted_inversion: bool | None = None

    @property
    def recommended(self) -> str | None:
        """The rung to start RL from: the anchor's pick, else the signal's (None: none)."""
        if self.kind_needed:
            return None
        return self.baselines[self.anchor] if self.anchor else self.decision.recommended

    # agrees_with_shallowest and predicted_inversion are about the rung recommended, never
    # about a signal's pick that was not (that stays in signal_predicted_inversion)
    @property
    def agrees_with_shallowest(self) -> bool | None:
        """Whether the rung recommended is the least-trained one (None: none recommended, or
        no depth to say which is least trained)."""
        r, s = self.recommended, self.baselines["shallowest"]
        return None if r is None or s is None else r == s

    @property
    def predicted_inversion(self) -> bool | None:
        """Whether the best pre-RL pass@1 is not the rung recommended (None: none is, or no
        single rung holds the best pass@1)."""
        r, b = self.recommended, self.best_pre_pass_at_1
        return None if r is None or b is None else r != b

    @property
    def recommended_by(self) -> str | None:
        """ "signal", or "free answer: <baseline>" when the anchor recommends (None when
        nothing is recommended)."""
        if self.recommended is None:
            return None
        return f"free answer: {self.anchor}" if self.anchor else "signal"

    @property
    def abstain(self) -> str | None:
        """Why nothing is recommended, as a code (None: a rung is, or the anchor's is)."""
        if self.kind_needed:
            return KIND_UNKNOWN
        return None if self.anchor else self.decision.abstain

    @property
    def signal_pick(self) -> str | None:
        return self.decision.recommended

    @property
    def signal_abstain(self) -> str | None:
        return self.decision.abstain

    # the decision's fields, as the JSON has them at the top level
    @property
    def candidates(self) -> list[str]:
        return self.decision.candidates

    @property
    def decided_by(self) -> list[str]:
        return self.decision.decided_by

    @property
    def picks(self) -> dict[str, list[str]]:
        return self.decision.picks

    @property
    def gap(self) -> float | None:
        return self.decision.gap

    @property
    def gap_se(self) -> float | None:
        return self.decision.gap_se

    @property
    def noise_z(self) -> float:
        return self.decision.noise_z
