"""What a practitioner hits with `rankinv monitor` (issue 38): the reward-edge rule's reason in
one readable sentence, an assumed group size checked at the usual range of g, no TRL callback
recommended on a simulated run, and a finished log said to be judged at its check step."""

import json

import pytest

from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.words.monitor import rule_words


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def flat_run(tmp_path, reward, zero_std, name="run.jsonl", steps=range(1, 101)):
    rows = [{"step": s, "reward": reward, "frac_reward_zero_std": zero_std} for s in steps]
    return jsonl(tmp_path / name, rows)


# ---------------------------------------------------------------- item 2: the reward edge
@pytest.mark.parametrize(
    "reward,golden",
    [
        (
            0.312,
            "rule reward_edge: the mean reward was not at an edge of its range: over steps 76-100 "
            "(the last quarter of the judged steps 5-100) it averaged 0.312, 31.2% of its range "
            "from its minimum 0, farther than the stop distance 5.0% (the rule's score, 0.5 minus "
            "that distance, is 0.188: below its stop level 0.450; a free baseline: watching the "
            "reward); continue (",
        ),
        (
            0.97,
            "rule reward_edge: the mean reward sat at an edge of its range: over steps 76-100 "
            "(the last quarter of the judged steps 5-100) it averaged 0.970, 3.0% of its range "
            "from its maximum 1, within the stop distance 5.0% (the rule's score, 0.5 minus that "
            "distance, is 0.470: above its stop level 0.450; a free baseline: watching the "
            "reward); stop (",
        ),
    ],
)
def test_the_reward_edge_reason_says_what_was_measured_where_and_against_what(
    tmp_path, reward, golden
):
    """issue 38: '0.5 - that share 0.188 is below the stop level 0.450' read as a formula;
    the same numbers now in one sentence (golden text)."""
    cfg = MonitorConfig(rule="reward_edge", group_size=8, planned_steps=200)
    rep = monitor(flat_run(tmp_path, reward, 0.3), cfg)
    said = rule_words(rep.rule, rep)
    assert said.startswith(golden), said
    assert "0.5 - that share" not in said
    # the numbers are the JSON's: the rule's score and stop level
    data = rep.to_json()
    assert f"is {data['rule_score']:.3f}: " in said
    assert f"stop level {data['rule_threshold']:.3f}" in said
