"""What `rankinv rank` decided, with its words and its JSON: :class:`RankResult`, a
:class:`~rankinv.verdicts.rank_verdict.RankVerdict` (the decision and what it rests on, no
words) whose abstain reason and advice come from ``rankinv.verdicts.words.rank``.

:func:`rankinv.verdicts.rank.rank` returns it; :mod:`rankinv.render.rank` prints it and
``rankinv rank --json`` prints :meth:`RankResult.to_json` (the public JSON fields, in the
order they have always had, then the abstain codes and kind_needed).
"""

from __future__ import annotations

from rankinv.verdicts.rank_verdict import RankVerdict
from rankinv.verdicts.words import rank as words

#: The JSON's fields, in order: each an attribute of the result (``ranking`` as its rows'
#: JSON). The last two are the codes behind abstain_reason and signal_abstain_reason.
JSON_FIELDS = (
    "baselines",
    "agrees_with_shallowest",
    "ladder_kind",
    "depth_source",
    "versus",
    "adds_nothing_over",
    "ranking",
    "recommended",
    "recommended_by",
    "signal_pick",
    "abstain_reason",
    "signal_abstain_reason",
    "candidates",
    "to_decide",
    "decided_by",
    "picks",
    "gap",
    "gap_se",
    "noise_z",
    "best_pre_pass_at_1",
    "predicted_inversion",
    "signal_predicted_inversion",
    "tied_first",
    "signal",
    "signal_sign",
    "k",
    "accuracy",
    "plan",
    "pilot",
    "unavailable",
    "dropped",
    "uncalibrated_fallback",
    "source",
    "inputs",
    "abstain",
    "signal_abstain",
    "kind_needed",
)


class RankResult(RankVerdict):
    """Rank's verdict (see :class:`RankVerdict`) with its words (abstain_reason,
    signal_abstain_reason: what the signal alone said; to_decide; depth_source) and
    ``to_json``."""

    @property
    def depth_source(self) -> str:
        """Where the rungs' depths came from, in words."""
        return words.DEPTH_SOURCE[self.depths_from]

    @property
    def abstain_reason(self) -> str | None:
        """Why nothing is recommended (None: a rung is, or the free answer's is)."""
        if self.kind_needed:
            return words.kind_unknown_reason(self)
        return None if self.anchor else words.abstain_reason(self.decision)

    @property
    def signal_abstain_reason(self) -> str | None:
        return words.abstain_reason(self.decision)

    @property
    def to_decide(self) -> str | None:
        """What would decide (None where a checkpoint is recommended, a free answer's too:
        nothing is left to decide)."""
        if self.recommended is not None:
            return None
        if self.kind_needed:
            return words.TO_DECIDE_KIND
        return words.to_decide(self.decision, bool(self.pilot))

    def to_json(self) -> dict:
        out = {name: getattr(self, name) for name in JSON_FIELDS}
        out["ranking"] = [r.to_json() for r in self.ranking]
        return out
