"""rank's decision as a type (rankinv.verdicts.rank.decide -> RankDecision): which rung, or
which kind of abstention with the rungs and numbers involved; asserted on fields (the words
are tests/test_verdicts_words_rank.py's)."""

import dataclasses

import numpy as np
import pytest

from rankinv.verdicts.rank import NOISE_Z, decide
from rankinv.verdicts.rank_verdict import (
    ABSTAIN_KINDS,
    DISAGREE,
    NO_PASS,
    NO_SIGNAL,
    TIE,
    WITHIN_NOISE,
    RankDecision,
)

NAMES = ["a", "b", "c"]


def test_no_deciding_signal_abstains_with_every_rung():
    # pre-RL pass@1 alone never decides; a signal with a gap is not measured on every rung
    d = decide({"pass_at_1": [0.3, 0.4, 0.2], "pass_at_k": [0.6, None, 0.5]}, NAMES)
    assert d == RankDecision(None, NO_SIGNAL, NAMES, [], {}, None, NOISE_Z)


def test_a_tie_on_the_lead_names_the_tied_rungs_and_no_gap():
    d = decide({"pass_at_k": [0.6, 0.6, 0.5]}, NAMES)
    assert (d.recommended, d.abstain, d.lead) == (None, TIE, "pass_at_k")
    assert d.candidates == ["a", "b"] == d.picks["pass_at_k"] and d.decided_by == ["pass_at_k"]
    assert d.gap is None and d.gap_se is None and d.runner_up is None


def test_the_top_two_disagreeing_name_the_leads_pick_first():
    # pass_at_k leads entropy_prompt (held-out rho); each picks a different rung
    values = {"pass_at_k": [0.7, 0.6, 0.5], "entropy_prompt": [0.2, 0.5, 0.1]}
    d = decide(values, NAMES)
    assert (d.abstain, d.decided_by) == (DISAGREE, ["pass_at_k", "entropy_prompt"])
    assert d.candidates == ["a", "b"] and d.picks == {"pass_at_k": ["a"], "entropy_prompt": ["b"]}
    # where the second agrees, the lead's pick stands
    agree = decide({**values, "entropy_prompt": [0.6, 0.5, 0.1]}, NAMES)
    assert (agree.recommended, agree.abstain, agree.candidates) == ("a", None, ["a"])


def test_a_gap_within_noise_z_standard_errors_abstains_with_its_numbers():
    values = {"pass_at_k": [0.60, 0.61, 0.40]}
    se = {"pass_at_k": [0.02, 0.02, 0.02]}
    d = decide(values, NAMES, se)
    assert (d.recommended, d.abstain, d.runner_up) == (None, WITHIN_NOISE, "a")
    assert d.candidates == ["b", "a"] and d.noise_z == NOISE_Z
    assert d.gap == pytest.approx(0.01) and d.gap_se == pytest.approx(np.hypot(0.02, 0.02))
    # the same gap with a tenth of the noise separates them; no SE: noise not checked
    sharp = decide(values, NAMES, {"pass_at_k": [0.002, 0.002, 0.002]})
    assert (sharp.recommended, sharp.abstain, sharp.runner_up) == ("b", None, "a")
    blind = decide(values, NAMES)
    assert blind.recommended == "b" and blind.gap == pytest.approx(0.01) and blind.gap_se is None


def test_a_negative_sign_picks_the_lowest_value():
    d = decide({"share_below_p_star": [0.3, 0.1, 0.5]}, NAMES)
    assert (d.recommended, d.runner_up) == ("b", "a") and d.gap == pytest.approx(0.2)


def test_a_decision_is_frozen_and_recommends_or_says_why_never_both():
    d = decide({"pass_at_k": [0.6, 0.7, 0.5]}, NAMES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.recommended = "a"
    with pytest.raises(ValueError, match="never both"):
        RankDecision("a", TIE, ["a"], ["pass_at_k"], {}, "pass_at_k", NOISE_Z)
    with pytest.raises(ValueError, match="never both"):
        RankDecision(None, None, ["a"], ["pass_at_k"], {}, "pass_at_k", NOISE_Z)
    with pytest.raises(ValueError, match="abstain must be one of"):
        RankDecision(None, "unsure", ["a"], [], {}, None, NOISE_Z)
    assert set(ABSTAIN_KINDS) == {NO_SIGNAL, TIE, DISAGREE, WITHIN_NOISE, NO_PASS}


def test_a_named_signal_leads_and_must_be_measured_on_every_rung():
    values = {"pass_at_k": [0.7, 0.6, 0.5], "escape": [0.1, 0.9, 0.2]}
    assert decide(values, NAMES, signal="escape").decided_by[0] == "escape"
    with pytest.raises(ValueError, match="not measured on every checkpoint"):
        decide({"pass_at_k": [0.7, None, 0.5]}, NAMES, signal="pass_at_k")
