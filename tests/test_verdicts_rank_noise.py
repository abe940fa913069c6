"""`rankinv rank` on weak evidence: no pass anywhere, an SE estimated from a probe's samples,
a second signal that ties, free answers that tie (a fresh-clone user's findings)."""

import json

from pilot_logs import trl_log

from rankinv import render
from rankinv.render.rank import print_rank
from rankinv.verdicts.rank import rank


def _probe(d, name, counts, entropies, n=16, g=8, spread=0.0):
    """A probe folder: per-problem counts, a rollout entropy per problem, and samples.jsonl
    with n per-sample entropies around it (+- spread) when spread is given."""
    d.mkdir(parents=True)
    probs = [
        {"task_id": f"t{i}", "n": n, "c": c, "mean_token_entropy": h}
        for i, (c, h) in enumerate(zip(counts, entropies, strict=True))
    ]
    (d / "problems.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probs))
    if spread:
        rows = [
            {"task_id": f"t{i}", "sample": j, "mean_entropy": h + spread * (-1) ** j}
            for i, h in enumerate(entropies)
            for j in range(n)
        ]
        (d / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {
        "model": name,
        "group_size": g,
        "entropy_rollout": sum(entropies) / len(entropies),
        "entropy_prompt": None,
        "plan": {"group_size": g, "rl_steps": 20, "batch_prompts": 4, "n_prompts": 8},
    }
    (d / "validate_summary.json").write_text(json.dumps(summary))
    return d


def _printed(res):
    with render.console.capture() as cap:
        print_rank(res)
    return " ".join(cap.get().split())  # unwrapped


def test_no_pass_anywhere_abstains_and_names_no_pass_at_1_pick(tmp_path):
    dirs = [
        _probe(tmp_path / f"e{i}", f"e{i}", [0] * 8, [5.6899 - 1e-4 * i] * 8, spread=0.3)
        for i in (1, 3, 8)
    ]
    res = rank(dirs)
    js = res.to_json()
    assert js["recommended"] is None and js["abstain"] == "no_pass"
    assert js["baselines"]["best_pass_at_1"] is None
    assert js["baselines"]["lowest_pass_at_1"] is None
    assert js["best_pre_pass_at_1"] is None and js["predicted_inversion"] is None
    out = _printed(res)
    assert "no checkpoint passes any problem" in out
    assert "best pre-RL pass@1: all tie at 0.000" in out
    assert "lowest pre-RL pass@1: all tie at 0.000" in out
    assert "recommended start" not in out


def test_entropy_se_is_estimated_from_the_samples_and_a_small_gap_abstains(tmp_path):
    counts = [3, 4, 5, 2, 3, 4, 6, 5]
    a = _probe(tmp_path / "a", "a", counts, [0.50] * 8, spread=0.3)
    b = _probe(tmp_path / "b", "b", [c + 1 for c in counts], [0.49] * 8, spread=0.3)
    res = rank([a, b], signal="entropy_rollout")
    # per problem var 0.3^2 (n 16) -> SE of the mean over 8 problems 0.3 / 4 / sqrt(8)
    assert res.gap_se is not None and res.gap_se > 0.01
    assert res.decision.abstain == "within_noise"


def test_without_samples_the_noise_check_is_said_not_to_have_run(tmp_path):
    counts = [3, 4, 5, 2, 3, 4, 6, 5]
    a = _probe(tmp_path / "a", "a", counts, [0.9] * 8)
    b = _probe(tmp_path / "b", "b", [c + 1 for c in counts], [0.3] * 8)
    res = rank([a, b], signal="entropy_rollout")
    assert res.recommended == "a" and res.gap_se is None
    assert "sampling noise not checked: no standard error of entropy_rollout" in _printed(res)


def test_a_second_signal_that_ties_does_not_agree(tmp_path):
    # same counts (every count signal ties), different entropies
    counts = [3, 4, 5, 2, 3, 4, 6, 5]
    a = _probe(tmp_path / "a", "a", counts, [0.9] * 8, spread=0.01)
    b = _probe(tmp_path / "b", "b", counts, [0.3] * 8, spread=0.01)
    res = rank([a, b], signal="entropy_rollout")
    assert res.recommended == "a" and len(res.decided_by) == 2
    out = _printed(res)
    assert " agree)" not in out
    assert f"{res.decided_by[1]} does not separate them, 2 checkpoints tie" in out
    assert "best pre-RL pass@1: all tie at" in out


def test_an_inversion_from_two_checkpoints_is_said_unresolvable(tmp_path):
    a = _probe(tmp_path / "a", "a", [3, 4, 5, 2, 3, 4, 6, 5], [0.9] * 8)
    b = _probe(tmp_path / "b", "b", [0, 0, 0, 0, 16, 16, 15, 14], [0.3] * 8)
    res = rank([a, b], signal="entropy_rollout", depths=[1, 8])
    assert res.predicted_inversion is True
    out = _printed(res)
    assert "predicted inversion (by entropy_rollout): the best pre-RL pass@1 (b)" in out
    assert "a prediction from n = 2 checkpoints" in out
    assert "an inversion cannot be resolved at this n" in out


def test_small_n_words_follow_compares_reachable_p():
    from rankinv.verdicts.words.rank import small_n_words

    assert "cannot be resolved" in small_n_words(4)
    assert "cannot be resolved" not in small_n_words(5)
    assert "|rho| >= 0.98" in small_n_words(5)


def test_differs_from_the_least_trained_says_separates_only_when_significant():
    from types import SimpleNamespace

    from rankinv.verdicts.words.rank import _differs_words

    v = {"mean": 0.001, "ci": [-0.01, 0.01], "wins": 3, "losses": 3, "n_settings": 9}
    res = SimpleNamespace(signal="entropy_rollout", versus={"shallowest": v | {"p_holm": 1.0}})
    line = _differs_words(res, "e1")
    assert "separates them;" not in line and "did not significantly beat" in line
    res.versus = {"shallowest": v | {"p_holm": 0.001, "mean": 0.02}}
    assert "entropy_rollout separates them;" in _differs_words(res, "e1")


def test_two_probes_of_one_model_are_named_in_a_warning(tmp_path):
    counts = [3, 4, 5, 2, 3, 4, 6, 5]
    a = _probe(tmp_path / "probe-e8", "sft-epoch8", counts, [0.5] * 8)
    b = _probe(tmp_path / "probe-e8-prerl", "sft-epoch8", counts, [0.5] * 8)
    c = _probe(tmp_path / "probe-e1", "sft-epoch1", [c + 1 for c in counts], [0.9] * 8)
    warnings = rank([a, b, c]).inputs["warnings"]
    hit = [w for w in warnings if "probe the same model" in w]
    assert len(hit) == 1
    assert str(a) in hit[0] and str(b) in hit[0] and "identical per-problem results" in hit[0]


def test_pilot_logs_named_by_folder_short_one_warned_and_no_pilot_advice(tmp_path):
    a = trl_log(tmp_path / "run1" / "trainer_state.json", [0.5] * 6, [0.5] * 6)
    b = trl_log(tmp_path / "run2" / "trainer_state.json", [0.5] * 12, [0.5] * 12)
    res = rank(pilot=[a, b])
    assert [r.checkpoint for r in res.ranking] == ["run1", "run2"]
    short = [w for w in res.inputs["warnings"] if "short of the pilot window" in w]
    assert len(short) == 1 and str(a) in short[0] and "step 6" in short[0]
    assert res.recommended is None and "rank --pilot" not in res.to_decide
    out = _printed(res)
    assert "rank --pilot" not in out
    assert "pilot: pilot_informative, pilot_entropy (RL steps 1-10" in out
    # nothing recommended: the pilot signals were read first and did not decide (a
    # fresh-clone try: "decided" beside a title "did not decide" and an abstention)
    assert "the signals rank reads first: they did not decide (below)" in " ".join(out.split())


def test_pilot_line_says_when_the_pilot_did_not_decide(tmp_path):
    counts = [3, 4, 5, 2, 3, 4, 6, 5]
    a = _probe(tmp_path / "a", "a", counts, [0.9] * 8)
    b = _probe(tmp_path / "b", "b", [c + 1 for c in counts], [0.3] * 8)
    la = trl_log(tmp_path / "pa" / "trainer_state.json", [0.2] * 10, [0.7] * 10)
    lb = trl_log(tmp_path / "pb" / "trainer_state.json", [0.6] * 10, [0.2] * 10)
    res = rank([a, b], pilot=[la, lb])
    assert not any(s.startswith("pilot_") for s in res.decided_by)
    out = _printed(res)
    assert "pilot: pilot_informative, pilot_entropy" in out and "did not decide" in out
