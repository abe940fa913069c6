"""The checks a stage-2 decision carries beside its reasons, in words: an assumed group size
re-checked at the usual range of g (:func:`group_size_words`)."""

from __future__ import annotations

from rankinv.verdicts.assumptions import GroupSizeCheck, Outcome


def _what(o: Outcome) -> str:
    return f"{o.verdict} (predicted: {o.label})" if o.label else o.verdict


def group_size_words(check: GroupSizeCheck, subject: str = "the verdict") -> str:
    """Whether the decision holds over the usual range of g when g is assumed, and where it
    does not, at which g it would be what and that --group-size settles it. ``subject``:
    what is checked (a sweep checks its own verdict on a run)."""
    where = " and ".join(f"g = {g}" for g in sorted(check.at))
    if check.holds:
        return (
            f"{subject} does not depend on the assumed g = {check.assumed}: re-judged at "
            f"{where} (GRPO's usual range) it is the same, {_what(check.outcome)}"
        )
    parts = [
        f"at g = {g} the same" if check.outcome.same(o) else f"at g = {g} it would be {_what(o)}"
        for g, o in sorted(check.at.items())
    ]
    return (
        f"{subject} depends on the assumed g = {check.assumed}: at g = {check.assumed} it is "
        f"{_what(check.outcome)}; " + "; ".join(parts) + "; --group-size (the run's g) "
        "settles it"
    )
