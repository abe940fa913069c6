"""rank's decision in words (rankinv.verdicts.words.rank): golden text for each kind of
abstention (the JSON's abstain_reason and to_decide, and the back-test's), and for the
lines `rankinv rank` prints when a free answer recommends."""

import json

import pytest

from rankinv.verdicts.compare import load_paper
from rankinv.verdicts.rank import NOISE_Z, decide, rank
from rankinv.verdicts.rank_verdict import NO_SIGNAL, RankDecision
from rankinv.verdicts.words import rank as words

NAMES = ["a", "b", "c"]
GOLDEN = [
    (
        RankDecision(None, NO_SIGNAL, NAMES, [], {}, None, NOISE_Z),
        "no signal that may decide is measured on every checkpoint",
        "give pre-RL pass@k (or a rankinv probe) or a pilot log per checkpoint",
    ),
    (
        decide({"pass_at_k": [0.6, 0.6, 0.5]}, NAMES),
        "tie: a, b tie on pass_at_k",
        "more samples per prompt, or a pilot run of each (rank --pilot)",
    ),
    (
        decide({"pass_at_k": [0.7, 0.6, 0.5], "entropy_prompt": [0.2, 0.5, 0.5]}, NAMES),
        "the top two signals disagree: pass_at_k picks a, entropy_prompt picks b, c",
        "a pilot run of each candidate (rank --pilot, ~10 GRPO steps), or RL on both",
    ),
    (
        decide({"pass_at_k": [0.60, 0.61, 0.4]}, NAMES, {"pass_at_k": [0.02, 0.02, 0.02]}),
        "within noise: pass_at_k separates b from a by 0.0100, under 2 x its sampling SE 0.0283",
        "more samples per prompt (4x the samples halves the SE) or a pilot run of each "
        "(rank --pilot)",
    ),
    (decide({"pass_at_k": [0.6, 0.7, 0.5]}, NAMES), None, None),
]


@pytest.mark.parametrize(("decision", "reason", "advice"), GOLDEN)
def test_each_abstention_in_words(decision, reason, advice):
    assert words.abstain_reason(decision) == reason
    assert words.to_decide(decision) == advice


def test_a_free_answer_recommending_over_an_abstaining_signal_in_words(tmp_path):
    """The paper's Qwen ladder as a table: the signals disagree, and the least-trained
    checkpoint (which the signal did not beat on held-out ladders) is recommended."""
    d = load_paper()
    rows = [  # the paper's entropy is the prompt tokens' (entropy_prompt)
        {"entropy_prompt": a.pop("entropy"), **a, "pre_pass_at_10": b["pre_pass_at_10"]}
        for a, b in zip(d["examples"]["paper-qwen"]["rows"], d["table5_qwen"], strict=True)
    ]
    path = tmp_path / "qwen.json"
    path.write_text(json.dumps(rows))
    res = rank(table=path)
    js = res.to_json()
    assert js["abstain_reason"] is None and js["signal_abstain_reason"] == (
        "the top two signals disagree: pass_at_k picks qwen-5.8ep, entropy_prompt picks qwen-1.0ep"
    )
    (line,) = words.recommendation_lines(res, em=lambda s: f"*{s}*")
    assert line == (
        "recommended start: *qwen-1.0ep*, the least-trained checkpoint (a free answer; "
        "pass_at_k abstains (the top two signals disagree: pass_at_k picks qwen-5.8ep, "
        "entropy_prompt picks qwen-1.0ep), but did not beat it on held-out ladders)"
    )
    # the inversion is the recommendation's (the free answer's), and says so (issue 38b)
    assert js["predicted_inversion"] is True and js["signal_predicted_inversion"] is None
    assert words.inversion_line(res).startswith(
        "predicted inversion (by the least-trained checkpoint, a free answer): the best "
        "pre-RL pass@1 (qwen-5.8ep) is not the recommended start (qwen-1.0ep), which is "
        "taken to end best (a prediction from n = 5 checkpoints"
    )
    assert words.inversion_line(res).endswith("; pass_at_k alone abstains")
    free = words.free_answer_lines(res)
    assert free[0].startswith("free answers (the table's depth column): least-trained: qwen-1.0ep")
    assert free[-1].startswith("rankinv adds nothing measurable here: on held-out simulated")
    assert free[-1].endswith("; the free answer: qwen-1.0ep")
