"""Rank's decision in words: why it abstains and what would decide (:func:`abstain_reason`,
:func:`to_decide`, the JSON's and the back-test's text), and the lines ``rankinv rank``
prints under its table (:func:`table_notes`, :func:`recommendation_lines`,
:func:`inversion_line`, :func:`free_answer_lines`, with :func:`versus_words`).

``em`` wraps the words a printout emphasises (the CLI passes rich's bold); by default the
text is plain."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    RankVerdict,
)

#: What would decide between the candidates, by why the decision abstained.
TO_DECIDE = {
    NO_SIGNAL: "give pre-RL pass@k (or a rankinv probe) or a pilot log per checkpoint",
    TIE: "more samples per prompt, or a pilot run of each (rank --pilot)",
    DISAGREE: "a pilot run of each candidate (rank --pilot, ~10 GRPO steps), or RL on both",
    WITHIN_NOISE: "more samples per prompt (4x the samples halves the SE) or a pilot run of "
    "each (rank --pilot)",
    NO_PASS: "a task set the checkpoints solve at least sometimes (easier problems, more "
    "samples), or checkpoints trained further",
}

#: What would decide when pilot logs were given already (no advice to run a pilot).
TO_DECIDE_WITH_PILOT = {
    NO_SIGNAL: TO_DECIDE[NO_SIGNAL],
    TIE: "more samples per prompt, or longer pilot runs (these pilot logs do not separate them)",
    DISAGREE: "longer pilot runs of the candidates, or RL on both",
    WITHIN_NOISE: "more samples per prompt (4x the samples halves the SE), or longer pilot runs",
    NO_PASS: TO_DECIDE[NO_PASS],
}

#: What would decide when the ladder's kind is needed (KIND_UNKNOWN).
TO_DECIDE_KIND = (
    "each checkpoint's SFT depth (--depths, epochs or steps, in the order given; or a depth "
    "column in the table): rank then names the free answer that applies"
)

#: Where the rungs' depths came from, in words (the JSON's depth_source).
DEPTH_SOURCE = {
    DEPTHS_GIVEN: "given (--depths)",
    DEPTHS_TABLE: "the table's depth column",
    DEPTHS_ORDER: "assumed: the checkpoints as listed, least to most trained (give --depths)",
}

#: How each free answer reads in a sentence.
FREE = {
    "shallowest": "least-trained",
    "deepest": "most-trained",
    "best_pass_at_1": "best pre-RL pass@1",
    "lowest_pass_at_1": "lowest pre-RL pass@1",
}


def _plain(s: str) -> str:
    return s


def abstain_reason(d: RankDecision) -> str | None:
    """Why the decision names no rung, with the rungs and numbers involved (None: it does)."""
    if d.abstain is None:
        return None
    if d.abstain == NO_SIGNAL:
        return "no signal that may decide is measured on every checkpoint"
    if d.abstain == NO_PASS:
        return (
            "no checkpoint passes any problem (pre-RL pass@1 = 0.000 on every one): the "
            "signals measure noise, not readiness for RL"
        )
    lead = d.lead
    if d.abstain == TIE:
        return f"tie: {', '.join(d.picks[lead])} tie on {lead}"
    if d.abstain == DISAGREE:
        second = d.decided_by[1]
        return (
            f"the top two signals disagree: {lead} picks {d.candidates[0]}, "
            f"{second} picks {', '.join(d.picks[second])}"
        )
    return (
        f"within noise: {lead} separates {d.candidates[0]} from {d.runner_up} by "
        f"{d.gap:.4f}, under {d.noise_z:g} x its sampling SE {d.gap_se:.4f}"
    )


def kind_unknown_reason(res: RankVerdict) -> str:
    """Why the verdict names no rung though the ladder's free answers might: the signal
    beat neither held out, and which applies depends on the ladder's kind."""
    picks = res.baselines or {}
    said = (
        f"{res.signal} would pick {res.decision.recommended}"
        if res.decision.recommended
        else f"{res.signal} abstains ({abstain_reason(res.decision)})"
    )
    held = "; ".join(
        f"vs the {FREE[b]} checkpoint: {versus_words(res.versus[b])}"
        for b in ("shallowest", "best_pass_at_1")
        if res.versus.get(b)
    )
    best = picks.get("best_pass_at_1")
    recipes = (
        f"take the best pre-RL pass@1 ({best})"
        if best
        else "the free answer is the best pre-RL pass@1, which names no single checkpoint "
        "here (a tie, or pass@1 not measured on every one): it needs pass@1 measured on each "
        "checkpoint, with more samples per problem to break a tie"
    )
    return (
        f"rankinv adds nothing measurable here and the free answer depends on what differs "
        f"between these checkpoints, which the inputs do not say: {said}, but held out on "
        f"simulated ladders it beat neither free answer ({held or 'no held-out comparison'}). "
        f"If they differ in SFT depth, take the least-trained ({picks.get('shallowest')} if "
        f"they were listed least to most trained); if they share one depth (recipes), "
        f"{recipes}"
    )


def kind_unknown_short(res: RankVerdict) -> str:
    """:func:`kind_unknown_reason` in one short clause (a report's line per ladder)."""
    picks = res.baselines or {}
    return (
        "no recommendation without depths: the free answer is the least-trained "
        f"({picks.get('shallowest')}, in the order given) on a depth ladder, the best pre-RL "
        f"pass@1 ({picks.get('best_pass_at_1') or 'no single checkpoint'}) at one depth"
    )


def to_decide(d: RankDecision, pilot_given: bool = False) -> str | None:
    """What would decide between the candidates (None: the decision names a rung); a pilot
    run is not advised when pilot logs were given."""
    if d.abstain is None:
        return None
    return (TO_DECIDE_WITH_PILOT if pilot_given else TO_DECIDE)[d.abstain]


def pilot_line(res: RankVerdict) -> str | None:
    """Which pilot signal was read and whether it decided (None: no pilot logs). Pilot
    signals rank among the others by their held-out rho on simulated ladders: they decide
    when they are among the top two deciding signals (or named by --signal)."""
    if not res.pilot:
        return None
    from rankinv.verdicts.signals import STAGE1_CALIBRATION

    shown = [s for s in ("pilot_informative", "pilot_entropy") if s in res.ranking[0].values]
    used = [s for s in shown if s in res.decided_by]
    window = f"RL steps 1-{res.pilot['pilot_step']}, entropy from {res.pilot['entropy_signal']}"
    if used:  # the signals read first; whether they decided is the recommendation's
        settled = "they did not decide (below)"
        if res.recommended_by == "signal":
            settled = "they decided"
        return f"pilot: {', '.join(used)} ({window}), the signals rank reads first: {settled}"
    rho = ", ".join(
        f"{s} {STAGE1_CALIBRATION[s]['choose_median_rho']:+.2f}"
        for s in [*res.decided_by, *shown]
        if s in STAGE1_CALIBRATION
    )
    return (
        f"pilot: {', '.join(shown) or 'no pilot signal'} ({window}) did not decide: "
        f"{', '.join(res.decided_by)} rank above it on held-out simulated ladders "
        f"(choose-half median rho: {rho})"
    )


def table_notes(res: RankVerdict) -> list[str]:
    """The lines under the ranking: what k is (only with pass@k), the planned run where a
    signal shown or deciding reads it, and each signal dropped."""
    from rankinv.verdicts.signals import STAGE1_SIGNALS
    from rankinv.verdicts.words.plan import BUDGET_SIGNALS, G_SIGNALS, plan_line

    out = []
    if res.k:
        out.append(f"k = {res.k} (pass@k: the chance one of k samples passes)")
    shown = [s for s in dict.fromkeys([res.signal, *res.decided_by[1:2]]) if s]
    gloss = [f"{s}: {STAGE1_SIGNALS[s].description}" for s in shown if s in STAGE1_SIGNALS]
    if gloss:
        out.append("columns: " + "; ".join(gloss))
    used = {res.signal, *res.decided_by}
    if res.plan and used & {*BUDGET_SIGNALS, *G_SIGNALS}:
        plan = res.plan
        out.append(plan_line(plan, plan.get("given") or {}, bool(used & set(BUDGET_SIGNALS))))
    from rankinv.verdicts.words.probe import constant_value, same_everywhere

    for s in dict.fromkeys([res.signal, *res.decided_by]):
        same = constant_value([r.values.get(s) for r in res.ranking])
        if s and same is not None:
            out.append(same_everywhere(s, same, len(res.ranking)))
    out += [
        f"dropped: {d['signal']} (n/a on {', '.join(d['missing_on'])}): a signal ranks only "
        "when measured on every checkpoint"
        for d in res.dropped
    ]
    return out


def recommendation_lines(res: RankVerdict, em: Callable[[str], str] = _plain) -> list[str]:
    """The recommendation: the free answer's (and what the signal said), none (why, the
    candidates, what would decide), an uncalibrated lead's hint, or the signal's pick (and
    whether sampling noise could be checked)."""
    lead, d = res.signal, res.decision
    if res.anchor:
        said = (
            f"{lead} would pick {d.recommended}"
            if d.recommended
            else f"{lead} abstains ({abstain_reason(d)})"
        )
        why = (
            "but it has no held-out score on simulated ladders: its pick is a hint"
            if res.uncalibrated_fallback
            else "but did not beat it on held-out ladders"
        )
        return [
            f"recommended start: {em(res.recommended)}, the {FREE[res.anchor]} checkpoint "
            f"(a free answer; {said}, {why})"
        ]
    if res.kind_needed:
        return [
            f"{em('no recommendation')}: {kind_unknown_reason(res)}",
            f"what would decide it: {TO_DECIDE_KIND}",
        ]
    if res.recommended is None:
        return [
            f"{em('no recommendation')}: {abstain_reason(d)}",
            f"candidates: {', '.join(d.candidates)}",
            f"what would decide it: {to_decide(d, bool(res.pilot))}" + _free_instead(res),
        ]
    if res.uncalibrated_fallback:
        out = [
            f"uncalibrated fallback, not a calibrated recommendation: {lead} alone, a signal "
            f"with no held-out score on simulated ladders, puts {em(res.recommended)} first; "
            "treat it as a hint"
        ]
    else:
        out = [f"recommended start: {em(res.recommended)}{_agreement(d)}"]
    if d.gap_se is None:
        out.append(
            f"sampling noise not checked: the table gives no standard error of {lead} on every "
            f"row (add a column <column>_se, here {_se_column(lead, res.k)})"
            if res.source == "table"
            else f"sampling noise not checked: no standard error of {lead} could be estimated "
            "from these inputs (no per-problem samples of it)"
        )
    return out


def _free_instead(res: RankVerdict) -> str:
    """With a named signal that abstains where a free answer names a rung the signal did not
    beat on held-out ladders: that leaving out --signal gives it, with no signal at all."""
    anchor = res.adds_nothing_over
    pick = (res.baselines or {}).get(anchor) if anchor else None
    if pick is None:
        return ""
    return (
        f", or leave out --signal: on held-out ladders {res.signal} did not beat the "
        f"{FREE[anchor]} checkpoint, {pick}, which needs no signal"
    )


def _agreement(d: RankDecision) -> str:
    """Whether the second deciding signal confirms the pick: only when it puts that rung
    first alone (a tie for first confirms nothing)."""
    if len(d.decided_by) < 2:
        return " (the only signal measured on every checkpoint that may decide)"
    second = d.decided_by[1]
    tied = d.picks[second]
    if tied == [d.recommended]:
        return f" ({', '.join(d.decided_by)} agree)"
    return (
        f" ({d.lead} alone: {second} does not separate them, {len(tied)} checkpoints tie "
        "for its first place)"
    )


def inversion_line(res: RankVerdict) -> str | None:
    """Whether the best pre-RL pass@1 is the recommended start, and whose prediction that is
    (the signal's, or the free answer's that was recommended instead), or why it is not
    called (None: nothing to say, no single best pre-RL pass@1)."""
    best = res.best_pre_pass_at_1
    if best is None:
        return None
    if res.recommended is None:
        why = f"{res.signal} abstains; " if res.signal_pick is None else ""
        return f"inversion: not called (no recommendation; {why}the best pre-RL pass@1 is {best})"
    whose = f"the {FREE[res.anchor]} checkpoint, a free answer" if res.anchor else res.signal
    start = (
        "fallback's pick" if res.uncalibrated_fallback and not res.anchor else "recommended start"
    )
    if res.predicted_inversion:
        head = (
            f"predicted inversion (by {whose}): the best pre-RL pass@1 ({best}) is not the "
            f"{start} ({res.recommended}), which is taken to end best "
            f"({small_n_words(len(res.ranking))})"
        )
    else:
        head = (
            f"no inversion predicted (by {whose}): the {start} ({res.recommended}) is also "
            "the best pre-RL pass@1"
        )
    if not res.anchor:
        return head
    if res.signal_pick is None:
        return head + f"; {res.signal} alone abstains"
    alone = "would" if res.signal_predicted_inversion else "would not"
    return head + f"; {res.signal} alone would pick {res.signal_pick}, which {alone} predict one"


def small_n_words(n: int) -> str:
    """What a prediction from n checkpoints can say of an inversion, by compare's test: the
    exact permutation p of n rows is at least 2 / n!, so below 5 rows no rank correlation
    can reach p <= ALPHA (``words.compare``'s "its result cannot be significant")."""
    from rankinv.theory.ranks import ALPHA, min_detectable_rho

    base = f"a prediction from n = {n} checkpoints, not an observed inversion"
    if 2 / math.factorial(n) > ALPHA:
        return (
            f"{base}; at n = {n} the permutation test cannot reach p <= {ALPHA}, so an "
            "inversion cannot be resolved at this n (compare needs 5 or more checkpoints "
            "with post-RL outcomes)"
        )
    mdr = min_detectable_rho(n)
    return (
        f"{base}; `rankinv compare` with post-RL outcomes tests it: at n = {n} only "
        f"|rho| >= {mdr:.2f} is detected with 80% power"
    )


def accuracy_line(res: RankVerdict) -> str:
    """The lead signal's held-out accuracy."""
    return f"{res.signal} accuracy: {res.accuracy}"


def free_answer_lines(res: RankVerdict, em: Callable[[str], str] = _plain) -> list[str]:
    """What the free answers pick, whether rank's pick differs from the least-trained, and
    what the held-out evidence says the deciding signal adds over them (nothing when no free
    answer names a rung)."""
    picks = res.baselines or {}
    shown = [f"{FREE[b]}: {p}" for b, p in picks.items() if p is not None]
    p1 = [r.pre_pass_at_1 for r in res.ranking]
    if p1 and all(v is not None for v in p1):
        for b, top in (("best_pass_at_1", max(p1)), ("lowest_pass_at_1", min(p1))):
            n = sum(abs(v - top) <= 1e-12 for v in p1)
            if picks.get(b) is None and n > 1:
                who = "all tie" if n == len(p1) else f"{n} checkpoints tie"
                shown.append(f"{FREE[b]}: {who} at {top:.3f}")
    if not shown:
        return []
    out = [f"free answers ({DEPTH_SOURCE[res.depths_from]}): " + "; ".join(shown)]
    if res.kind_needed:  # the recommendation's lines said what the signal picked and why not
        return out
    if res.agrees_with_shallowest is True:
        listed = " (the first listed: depths assumed)" if res.depths_from == "order" else ""
        out.append(f"rank's pick is the least-trained checkpoint{listed}")
    elif res.agrees_with_shallowest is False and not res.adds_nothing_over:
        out.append(_differs_words(res, picks["shallowest"]))
    anchor = res.adds_nothing_over
    if anchor:
        out.append(
            f"{em('rankinv adds nothing measurable here')}: on held-out simulated ladders "
            f"{res.signal} did not beat taking the {FREE[anchor]} checkpoint "
            f"({versus_words(res.versus[anchor])}); the free answer: {em(picks[anchor])}"
        )
    return out


def _differs_words(res: RankVerdict, shallowest: str) -> str:
    """Rank's pick is not the least-trained checkpoint: "separates them" only where the
    held-out comparison with taking the least-trained one is significant."""
    from rankinv.verdicts.baselines import beats

    v = (res.versus or {}).get("shallowest")
    head = f"rank's pick differs from the least-trained checkpoint ({shallowest}): "
    if beats(v):
        return head + f"{res.signal} separates them; held out, {res.signal} {versus_words(v)}"
    if not v:
        return head + f"no held-out comparison of {res.signal} with the least-trained one"
    return head + (
        f"held out, {res.signal} did not significantly beat taking the least-trained one "
        f"({versus_words(v)}), so the difference is not evidence that it separates them"
    )


def versus_words(v: dict) -> str:
    """A calibrated paired comparison in words: regret saved per setting, its interval (a
    bootstrap interval, not corrected for the multiple comparisons the Holm p adjusts for:
    said so, since it can exclude 0 beside a Holm p of 1), wins and losses, p."""
    holm = "p_holm" in v
    p = v.get("p_holm", v.get("p_wilcoxon_pratt"))
    lo, hi = v["ci"]
    return (
        f"saved {v['mean']:+.3f} regret per setting [{lo:+.3f}, {hi:+.3f}] (95% bootstrap "
        f"interval, unadjusted for multiple comparisons), won {v['wins']} lost "
        f"{v['losses']} of {v['n_settings']} settings, "
        + ("Holm-adjusted p = " if holm else "Wilcoxon p = ")
        + ("n/a" if p is None else f"{p:.2g}")
    )


def _se_column(lead: str, k: int | None) -> str:
    """The table column holding the standard error of signal ``lead``."""
    from rankinv.verdicts.rank_inputs import TABLE_COLUMNS

    if lead == "pass_at_k":
        return f"pre_pass_at_{k or 10}_se"
    return f"{TABLE_COLUMNS[lead][0] if lead in TABLE_COLUMNS else lead}_se"
