"""`rankinv threshold` and validate's verdict say that validate's risk threshold does not
move with g (issue 38c, a fresh-clone try: the same 0.137 showed for g = 4 and g = 8,
unexplained, beside a p*(g) that does move)."""

from rankinv import theory
from rankinv.render.theory import print_threshold
from rankinv.verdicts._calibrated import STAGE1_CALIBRATION
from rankinv.verdicts.signals import stage1_verdict
from rankinv.verdicts.words.probe import verdict_words


def test_threshold_says_validates_risk_threshold_is_one_for_every_g(printed):
    thr = STAGE1_CALIBRATION["share_below_p_star"]["poor_start_threshold"]
    for g in (4, 8):
        flat = " ".join(printed(print_threshold, theory.threshold_summary(g)).split())
        assert (
            f"validate's risk threshold, share_below_p_star past {thr:.3f}, does not depend "
            "on g: one number calibrated on simulated settings of g = 4, 8, 16, 32 pooled" in flat
        )


def test_the_verdict_line_says_it_too():
    v = stage1_verdict({"share_below_p_star": 0.45}, "share_below_p_star")
    assert "one threshold for every g, pooled over simulated settings of several g" in (
        verdict_words(v)
    )
