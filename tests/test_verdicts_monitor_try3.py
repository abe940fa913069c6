"""A third fresh-clone try of `rankinv monitor`: a reward that collapsed to its minimum is
diverging, not stranded; a sweep says on which window each run was judged; steps done count
from the first training record; a trend is given over its window; one rounding per number."""

import json
from pathlib import Path

from rankinv.verdicts import labels
from rankinv.verdicts.monitor import monitor
from rankinv.verdicts.sweep import judge_sweep


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _collapsed_rows(first_reward, heldout=None):
    rows = [{"step": 0, **(heldout or {})}] if heldout else []
    for s in range(1, 41):
        r = first_reward if s == 1 else 0.0
        rows.append(
            {"step": s, "reward": r, "frac_reward_zero_std": 1.0, "entropy": 0.3 + 0.03 * s}
        )
    return rows


def test_a_reward_collapsed_to_its_minimum_is_diverging_with_the_step_to_roll_back_to(tmp_path):
    rep = monitor(jsonl(tmp_path / "c.jsonl", _collapsed_rows(0.75)))
    assert rep.state == "no_signal:stranded" and rep.verdict == "stop"
    assert rep.label == "diverging"  # was: stranded
    assert rep.action.startswith(labels.ACTIONS["diverging"])
    assert "roll back to step 1 or before" in rep.action
    assert "the reward fell from 0.750 at step 1 to its minimum" in rep.action


def test_held_out_coverage_fallen_from_its_start_names_the_best_coverage_step(tmp_path):
    # logged every 10 steps the reward's early high is averaged away; the held-out fall shows it
    ev = {"heldout_pass_at_k": 0.784, "heldout_pass_at_1": 0.458}
    rows = _collapsed_rows(0.0, ev)
    rows += [{"step": s, "heldout_pass_at_k": 0.0, "heldout_pass_at_1": 0.0} for s in (20, 40)]
    rep = monitor(jsonl(tmp_path / "h.jsonl", rows))
    assert rep.label == "diverging"  # was: stranded
    assert "the checkpoint to keep: step 0 (best pass@k)" in rep.action
    assert "held-out pass@k fell from 0.784 at step 0 to 0.000 at step 40" in rep.action


def test_a_reward_low_from_the_start_stays_stranded(tmp_path):
    rep = monitor(jsonl(tmp_path / "s.jsonl", _collapsed_rows(0.0)))
    assert rep.label == "stranded"
    assert rep.action == labels.ACTIONS["stranded"]
    assert labels.collapse([1, 2, 3], [0.05, 0.0, 0.0]) is None
    assert labels.collapse([1, 2, 3], [0.5, 0.0, 0.0]) == (1, 0.5)


CORPUS = Path(__file__).parent.parent / "figures/data/trl_corpus_v2/trl_logs"


def test_a_sweep_of_a_run_and_its_log10_twin_names_each_runs_window():
    name = "clean-d4-easy-lr0.0001-g8-s0"
    res = judge_sweep([CORPUS / name, CORPUS / f"{name}-log10"]).to_json()
    note = res["interval_note"]
    assert "the runs are judged on the same steps" not in note  # was: said, and untrue
    assert "judged at the same step 20" in note
    assert "averages over a longer window (11-20 against 15-20), which can move its score" in note
    one, ten = res["runs"]
    assert one["score_window"] == "steps 15-20" and ten["score_window"] == "steps 11-20"
    assert f"doom score {one['score']:+.3f} over steps 15-20, rank" in one["why"]
    assert f"doom score {ten['score']:+.3f} over steps 11-20, rank" in ten["why"]
    assert {one["verdict"], ten["verdict"]} == {"stop", "continue"}  # not forced to agree
