"""What `rankinv compare` found, as a type: :class:`CompareResult`, with one
:class:`Predictor` per column and one :class:`StageRow` per checkpoint.

:func:`rankinv.verdicts.compare.compare` returns it; ``rankinv.verdicts.words.compare``
phrases it; ``rankinv compare --json`` prints :meth:`CompareResult.to_json` (the public JSON
fields, as they have always been named).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

#: A predictor's JSON fields that exist only when its rank correlation was computed.
_COMPUTED = ("demeaned", "ci_method", "p_method", "min_p_value", "n_to_detect", "p_holm")


@dataclass(frozen=True)
class Predictor:
    """One predictor's (seed-demeaned) Spearman rho with the outcome and what it rests on.

    ``rho`` is None (and ``error`` says why) with fewer than 3 values or no ordering; else its
    interval (``ci_low``, ``ci_high``, by ``ci_method``), the permutation p (``p_value``, by
    ``p_method``; ``min_p_value``: the smallest p these rows allow), ``min_detectable_rho`` (the
    smallest |rho| detected with 80% power at alpha 0.05; None when no rho can be) and
    ``n_to_detect``; ``p_holm``: p Holm-adjusted over the predictors compare tested (None on a
    copy, which is not tested). Beside it the sign the paper's hypothesis expects
    (``expected_sign``) and whether rho has it (``agrees``). ``monotone_of`` /
    ``monotone_sign``: a column derived from another that ranks the rows exactly as (+1) or
    against (-1) it: not scored on its own; ``expected_sign_conflict``: such a copy whose
    expected sign disagrees with its source's (the rows cannot bear out both hypotheses).
    ``same_ranks_as`` / ``same_ranks_sign``: two measured columns whose ranks happen to match."""

    rho: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: int
    min_detectable_rho: float | None
    expected_sign: int | None
    agrees: bool | None
    monotone_of: str | None = None
    monotone_sign: int | None = None
    expected_sign_conflict: bool | None = None
    same_ranks_as: str | None = None
    same_ranks_sign: int | None = None
    demeaned: bool | None = None
    ci_method: str | None = None
    p_method: str | None = None
    min_p_value: float | None = None
    n_to_detect: int | None = None
    error: str | None = None
    p_holm: float | None = None

    def to_json(self) -> dict:
        """The predictor's JSON: the computed fields only where rho was computed, ``error``
        only where it was not, the copy's fields only on a monotone copy."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.rho is None and self.error is not None:
            for k in _COMPUTED:
                out.pop(k)
        if self.error is None:
            out.pop("error")
        if self.monotone_of is None:
            out.pop("monotone_sign")
            out.pop("expected_sign_conflict")
        return out


@dataclass(frozen=True)
class StageRow:
    """One checkpoint: the paper's screens, not rankinv's verdicts: its prompt-entropy screen
    (``paper_h_screen_flag``: H < tau_H, the paper's stage 1) and its entropy-drop flag
    (``stage2_flag``: drop > its threshold; None where not measured) and the risk from the
    two (``paper_screen_risk``); beside them `rankinv validate`'s own risk verdict where the
    row came from a probe (``validate_risk``, by the signal ``validate_risk_signal``; a
    different screen), its headroom pass@1 / p*(g), its outcome and observed rank (1 = best;
    ties share the better rank)."""

    name: str
    depth: object
    seed: object
    entropy: float | None
    paper_h_screen_flag: bool | None
    stage2_drop: float | None
    stage2_flag: bool | None
    headroom: float | None
    below_p_star: bool | None
    paper_screen_risk: str | None
    validate_risk: str | None
    validate_risk_signal: str | None
    outcome: float
    observed_rank: int

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CompareResult:
    """Predicted against observed ranks.

    ``predictors`` (by |rho|, monotone copies last), ``predictor_order`` (the scored ones);
    the inversion of the pre-RL pass@1 ranking: ``inversion`` (the significant call only),
    ``inversion_call``, ``inversion_rho``, ``inversion_p``, ``inversion_min_detectable_rho``;
    ``baselines``: the free answers' orderings scored the same way; ``favoured_predictor``
    (the largest |rho| that is not a copy), ``favoured_sign``, ``favoured_significant``;
    ``stage``: the stage-1/2 flags per checkpoint beside what happened; the settings
    (``alpha``, ``outcome``, ``group_size`` and whether it was assumed, the paper's, not
    given: ``group_size_assumed``; or recorded by the probes: ``group_size_recorded``;
    ``tau_h``, ``stage2_threshold``), ``n``,
    ``seed_demeaned``, ``expected_sign_basis``, the ``rows`` read and, where the caller
    names it, their ``source``; ``warnings``: what the table's reader left out."""

    predictors: dict[str, Predictor]
    predictor_order: list[str]
    inversion: bool
    inversion_call: str
    inversion_rho: float | None
    inversion_p: float | None
    inversion_min_detectable_rho: float | None
    baselines: dict[str, dict]
    alpha: float
    n: int
    outcome: str
    seed_demeaned: bool
    favoured_predictor: str | None
    favoured_sign: int | None
    favoured_significant: bool
    expected_sign_basis: dict[str, str]
    tau_h: float
    stage2_threshold: float
    group_size: int
    group_size_assumed: bool
    stage: list[StageRow]
    rows: list[dict]
    source: str | None = None
    group_size_recorded: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The JSON of `rankinv compare` (``source`` only where named)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["predictors"] = {k: p.to_json() for k, p in self.predictors.items()}
        out["stage"] = [s.to_json() for s in self.stage]
        if self.source is None:
            out.pop("source")
        return out
