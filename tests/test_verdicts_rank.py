"""`rankinv rank`: checkpoints ordered by the predicted post-RL outcome."""

import json
import subprocess
import sys

import pytest
from pilot_logs import trl_log
from probe_dirs import write_probe as _probe

from rankinv.records import Plan
from rankinv.verdicts.rank import rank


@pytest.fixture
def ladder(tmp_path):
    # shallow: diverse, modest pass@1; deep: higher pass@1 but half its problems at p = 0
    shallow = _probe(tmp_path / "e1", "e1", [3, 4, 5, 2, 3, 4, 6, 5])
    deep = _probe(tmp_path / "e16", "e16", [0, 0, 0, 0, 16, 16, 15, 14])
    return shallow, deep


def test_rank_by_escape_flags_the_inversion(ladder):
    res = rank(list(ladder), signal="escape").to_json()
    assert [r["checkpoint"] for r in res["ranking"]] == ["e1", "e16"]
    assert res["recommended"] == "e1" and res["best_pre_pass_at_1"] == "e16"
    assert res["predicted_inversion"] is True
    # escape by hand for e16: four prompts at p = 0 never escape; p = 1 never either
    plan = Plan(group_size=8, rl_steps=20, batch_prompts=4, n_prompts=8)
    deep = next(r for r in res["ranking"] if r["checkpoint"] == "e16")
    f = lambda p: p**8 + (1 - p) ** 8  # noqa: E731
    exp = sum(1 - f(p) ** plan.visits for p in [0, 0, 0, 0, 1, 1, 15 / 16, 14 / 16]) / 8
    assert deep["signal_value"] == pytest.approx(exp)


def test_rank_by_pass_at_1_agrees_with_itself(ladder):
    res = rank(list(ladder), signal="pass_at_1").to_json()
    # pass@1 with its negative sign predicts the lower pass@1 rung ends best
    assert res["recommended"] == "e1" and res["signal_sign"] in (-1, 1)


def test_rank_bad_input(ladder, tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        rank([ladder[0]])
    with pytest.raises(FileNotFoundError, match="not found"):
        rank([ladder[0], tmp_path / "nosuch"])
    # a single missing path is named as missing, not counted
    with pytest.raises(FileNotFoundError, match="probe directory not found"):
        rank([tmp_path / "nosuch"])
    with pytest.raises(FileNotFoundError, match="pilot log not found"):
        rank(pilot=[str(tmp_path / "nosuch.jsonl")])
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(ValueError, match="is a file"):
        rank([ladder[0], tmp_path / "file.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a `rankinv validate` output"):
        rank([ladder[0], tmp_path / "empty"])


def test_cli_rank_json_and_error(ladder, tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rankinv.cli",
            "rank",
            *map(str, ladder),
            "--signal",
            "escape",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert {"ranking", "recommended", "predicted_inversion"} <= set(res)
    assert res["predicted_inversion"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", str(ladder[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "at least 2" in bad.stderr


def test_rank_duplicates_ties_and_too_few_samples(ladder, tmp_path):
    with pytest.raises(ValueError, match="given twice"):
        rank([ladder[0], ladder[0]])
    few = _probe(tmp_path / "few", "few", [1, 2, 3, 4], n=8)
    with pytest.raises(ValueError, match="--samples >= 10"):
        rank([few, ladder[0]], signal="pass_at_k")
    a = _probe(tmp_path / "a", "a", [3, 4, 5, 2, 3, 4, 6, 5])
    b = _probe(tmp_path / "b", "b", [3, 4, 5, 2, 3, 4, 6, 5])
    res = rank([a, b], signal="escape").to_json()
    assert sorted(res["tied_first"]) == ["a", "b"]
    # a tie is no recommendation, and no "the orders agree" either
    assert res["recommended"] is None and res["abstain"] == "tie"
    assert sorted(res["candidates"]) == ["a", "b"] and res["gap"] is None


def _paper_table(tmp_path, name):
    from rankinv.verdicts.compare import load_paper

    d = load_paper()
    if name == "qwen":
        t5 = d["table5_qwen"]
        rows = [
            {**a, "pre_pass_at_10": b["pre_pass_at_10"], "post_pass_at_10": b["post_pass_at_10"]}
            for a, b in zip(d["examples"]["paper-qwen"]["rows"], t5, strict=True)
        ]
    else:
        rows = d["examples"]["paper-deepseek"]["rows"]
    # the paper's entropy is the prompt tokens' (a plain `entropy` column is the rollout's)
    rows = [{("entropy_prompt" if k == "entropy" else k): v for k, v in r.items()} for r in rows]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rows))
    return path, rows


def test_table_qwen_signals_abstain_and_the_free_answer_is_named(tmp_path):
    """The signals disagree (pass@k picks the worst rung); the lead did not beat the
    least-trained checkpoint on held-out simulated depth ladders, so that free answer is the
    recommendation, and the table's depth column says which rung it is."""
    path, _ = _paper_table(tmp_path, "qwen")
    typed = rank(table=path)
    assert typed.depths_from == "table" and typed.anchor == "shallowest"
    res = typed.to_json()
    assert res["signal_pick"] is None and res["k"] == 10
    assert res["signal_abstain"] == "disagree" and res["abstain"] is None  # the free answer's
    assert res["decided_by"] == ["pass_at_k", "entropy_prompt"]
    assert res["picks"]["pass_at_k"] == ["qwen-5.8ep"] == res["candidates"][:1]
    assert res["candidates"][1:] == res["picks"]["entropy_prompt"] == ["qwen-1.0ep"]
    assert res["ladder_kind"] == "depth" and res["depth_source"] == "the table's depth column"
    assert res["adds_nothing_over"] == "shallowest"
    assert res["recommended"] == "qwen-1.0ep" == res["baselines"]["shallowest"]
    assert res["recommended_by"] == "free answer: shallowest" and res["agrees_with_shallowest"]
    assert res["baselines"]["best_pass_at_1"] == "qwen-5.8ep" == res["baselines"]["deepest"]


def test_table_deepseek_the_signal_picks_within_002_but_yields_to_the_free_answer(tmp_path):
    """On the paper's DeepSeek ladder the lead signal's pick ends within 0.02 of the best,
    but it did not beat the least-trained checkpoint on held-out simulated ladders, so
    rank names that free answer, which here is the worst rung: the cost of trusting only
    held-out evidence, stated, not tuned away on a real ladder."""
    path, rows = _paper_table(tmp_path, "deepseek")
    res = rank(table=path).to_json()
    post = {r["name"]: r["post_pass_at_10"] for r in rows}
    assert max(post.values()) - post[res["signal_pick"]] <= 0.02
    assert res["recommended"] == res["baselines"]["shallowest"] == "deepseek-1.0ep"
    assert post["deepseek-1.0ep"] == min(post.values())


def test_named_signal_is_never_overridden_by_a_free_answer(tmp_path):
    path, _ = _paper_table(tmp_path, "deepseek")
    res = rank(table=path, signal="pass_at_k").to_json()
    assert res["recommended_by"] == "signal" and res["recommended"] == res["signal_pick"]
    assert res["adds_nothing_over"] == "shallowest"  # still said


def test_depths_given_and_recipe_ladders(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,pre_pass_at_10,pre_pass_at_1\na,0.60,0.3\nb,0.70,0.4\nc,0.5,0.2\n")
    res = rank(table=path, depths=[4, 1, 2])
    assert res.baselines["shallowest"] == "b" and res.baselines["deepest"] == "a"
    assert res.depths_from == "given" and res.ladder_kind == "depth"
    recipe = rank(table=path, depths=[2, 2, 2])
    assert recipe.ladder_kind == "recipe" and recipe.baselines["shallowest"] is None
    assert recipe.baselines["best_pass_at_1"] == "b"
    assumed = rank(table=path)  # the order given: no ladder kind, and no free answer anchors
    assert assumed.depths_from == "order" and assumed.ladder_kind is None
    assert assumed.baselines["shallowest"] == "a" and assumed.kind_needed
    # nothing recommended: nobody recommended it (issue 38b: was "signal")
    assert assumed.recommended is None and assumed.recommended_by is None
    with pytest.raises(ValueError, match="--depths gives 2 values for 3 checkpoints"):
        rank(table=path, depths=[1, 2])


def test_table_names_the_columns_a_signal_needs(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,pre_pass_at_1\na,0.2\nb,0.3\n")
    with pytest.raises(ValueError, match="no pass@k, entropy, pilot or probe-count") as err:
        rank(table=path)
    msg = str(err.value)  # one short line naming what to add
    assert "\n" not in msg and len(msg) < 250 and "pre_pass_at_10 or entropy" in msg
    with pytest.raises(ValueError, match="entropy_step10"):
        rank(table=path, signal="pilot_entropy")


def test_within_noise_abstains_and_says_what_would_decide(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_10,pre_pass_at_10_se\na,0.60,0.02\nb,0.61,0.02\nc,0.40,0.02\n"
    )
    res = rank(table=path, signal="pass_at_k").to_json()
    assert res["recommended"] is None and res["abstain"] == "within_noise"
    assert res["candidates"] == ["b", "a"]  # the lead's first, then its runner-up
    assert res["gap"] == pytest.approx(0.01) and res["gap_se"] == pytest.approx(0.02 * 2**0.5)
    assert res["gap"] <= res["noise_z"] * res["gap_se"]
    path.write_text("name,pre_pass_at_10,pre_pass_at_10_se\na,0.60,0.002\nb,0.70,0.002\n")
    assert rank(table=path, signal="pass_at_k").to_json()["recommended"] == "b"


def test_pilot_ranks_by_early_rl_entropy_on_trl_logs(tmp_path):
    hot = trl_log(tmp_path / "e1" / "trainer_state.json", [0.6] * 12, [0.2] * 12)
    cold = trl_log(tmp_path / "e8" / "trainer_state.json", [0.2] * 12, [0.7] * 12)
    res = rank(pilot=[cold, hot], depths=[8, 1]).to_json()
    assert res["signal"].startswith("pilot_") and res["recommended"] == "e1"  # its folder
    first = res["ranking"][0]
    # the mean over steps 1..10 only: step 11 and 12 are not read
    assert first["values"]["pilot_entropy"] == pytest.approx(0.6)
    assert first["values"]["pilot_informative"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="one log per checkpoint"):
        rank(table=_paper_table(tmp_path, "qwen")[0], pilot=[hot])


def test_cli_rank_pilot_takes_several_logs_after_one_flag(tmp_path):
    a = trl_log(tmp_path / "a" / "trainer_state.json", [0.6] * 10, [0.2] * 10)
    b = trl_log(tmp_path / "b" / "trainer_state.json", [0.2] * 10, [0.7] * 10)
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", "--pilot", str(a), str(b), "--depths", "1,8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "recommended start" in run.stdout and str(a) in run.stdout


def test_same_model_in_two_folders_shows_the_folder(tmp_path):
    a = _probe(tmp_path / "x" / "s0", "models/qwen", [3, 4, 5, 2, 3, 4, 6, 5])
    b = _probe(tmp_path / "y" / "s0", "models/qwen", [0, 0, 0, 0, 16, 16, 15, 14])
    res = rank([a, b], signal="escape").to_json()
    names = [r["checkpoint"] for r in res["ranking"]]
    assert len(set(names)) == 2 and all(str(tmp_path) in n for n in names)


def test_table_with_an_na_cell_says_what_was_dropped_and_drops_k(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,entropy_prompt\n"
        "a,0.15,0.66,0.227\nb,0.16,n/a,0.163\nc,0.19,0.70,0.120\n"
    )
    res = rank(table=path).to_json()
    assert res["dropped"] == [{"signal": "pass_at_k", "missing_on": ["b"]}]
    assert res["k"] is None  # no pass@k on every row: no k to speak of
    assert res["signal"] == "entropy_prompt" and res["uncalibrated_fallback"] is True
    named = rank(table=path, signal="entropy_prompt").to_json()  # chosen by the user: no fallback
    assert named["uncalibrated_fallback"] is False


def test_na_cells_leaving_no_deciding_signal_name_the_gap_in_one_short_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,pre_pass_at_1,pre_pass_at_10\na,0.15,0.66\nb,0.16,n/a\n")
    with pytest.raises(ValueError, match=r"\(pass_at_k is n/a on b\)") as err:
        rank(table=path)
    assert len(str(err.value)) < 250


def test_rank_returns_a_typed_result_whose_json_keeps_the_public_fields(ladder):
    """Decide, then explain: rank returns a RankResult (fields, no sentences to parse); its
    to_json is the command's JSON, with the public fields of DESIGN.md in their order."""
    from rankinv.verdicts.rank_result import RankResult
    from rankinv.verdicts.rank_verdict import RankDecision, RankRow

    res = rank(list(ladder), signal="escape")
    assert isinstance(res, RankResult) and all(isinstance(r, RankRow) for r in res.ranking)
    assert isinstance(res.decision, RankDecision) and res.decision.recommended == "e1"
    assert res.recommended == "e1" and res.predicted_inversion is True
    assert [r.checkpoint for r in res.ranking] == ["e1", "e16"]
    js = res.to_json()
    assert list(js)[:8] == [
        "baselines", "agrees_with_shallowest", "ladder_kind", "depth_source", "versus",
        "adds_nothing_over", "ranking", "recommended",
    ]  # fmt: skip
    assert {"recommended_by", "signal_pick", "abstain_reason", "predicted_inversion"} <= set(js)
    # the codes, added last, then whether the ladder's kind was needed
    assert list(js)[-3:] == ["abstain", "signal_abstain", "kind_needed"]
    assert js["ranking"][0] == res.ranking[0].to_json()
    json.dumps(js)  # plain JSON


def test_no_inversion_is_claimed_when_the_signal_abstains_or_pass_at_1_is_dropped(tmp_path):
    """issue 38 (fresh clone): rank abstained within noise and still printed "predicted
    inversion"; with pass@1 n/a on two rows it named a "best pre-RL pass@1" among the rest."""
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10,pre_pass_at_10_se\n"
        "a,0.30,0.700,0.03\nb,0.35,0.701,0.03\nc,0.40,0.6995,0.03\n"
    )
    res = rank(table=path).to_json()
    assert res["signal_pick"] is None and res["predicted_inversion"] is None
    assert res["best_pre_pass_at_1"] == "c"
    path.write_text(
        "name,pre_pass_at_1,pre_pass_at_10\ne1,0.30,0.70\ne2,n/a,0.60\ne4,0.40,0.65\ne8,n/a,0.5\n"
    )
    res = rank(table=path).to_json()
    assert res["best_pre_pass_at_1"] is None and res["predicted_inversion"] is None
    assert res["baselines"]["best_pass_at_1"] is None
