"""`rankinv rank`: checkpoints ordered by the predicted post-RL outcome."""

import json
import subprocess
import sys

import pytest

from rankinv.verdicts import rules
from rankinv.verdicts.rank import rank


def _probe(d, name, counts, n=16, g=8):
    d.mkdir(parents=True)
    probs = [{"task_id": f"t{i}", "n": n, "c": c} for i, c in enumerate(counts)]
    (d / "problems.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probs))
    summary = {
        "model": name,
        "group_size": g,
        "entropy_rollout": 0.5,
        "entropy_prompt": None,
        "plan": {"group_size": g, "rl_steps": 20, "batch_prompts": 4, "n_prompts": 8},
    }
    (d / "validate_summary.json").write_text(json.dumps(summary))
    return d


@pytest.fixture
def ladder(tmp_path):
    # shallow: diverse, modest pass@1; deep: higher pass@1 but half its problems at p = 0
    shallow = _probe(tmp_path / "e1", "e1", [3, 4, 5, 2, 3, 4, 6, 5])
    deep = _probe(tmp_path / "e16", "e16", [0, 0, 0, 0, 16, 16, 15, 14])
    return shallow, deep


def test_rank_by_escape_flags_the_inversion(ladder):
    res = rank(list(ladder), signal="escape")
    assert [r["checkpoint"] for r in res["ranking"]] == ["e1", "e16"]
    assert res["recommended"] == "e1" and res["best_pre_pass_at_1"] == "e16"
    assert res["predicted_inversion"] is True
    # escape by hand for e16: four prompts at p = 0 never escape; p = 1 never either
    plan = rules.Plan(group_size=8, rl_steps=20, batch_prompts=4, n_prompts=8)
    deep = next(r for r in res["ranking"] if r["checkpoint"] == "e16")
    f = lambda p: p**8 + (1 - p) ** 8  # noqa: E731
    exp = sum(1 - f(p) ** plan.visits for p in [0, 0, 0, 0, 1, 1, 15 / 16, 14 / 16]) / 8
    assert deep["signal_value"] == pytest.approx(exp)


def test_rank_by_pass_at_1_agrees_with_itself(ladder):
    res = rank(list(ladder), signal="pass_at_1")
    # pass@1 with its negative sign predicts the lower pass@1 rung ends best
    assert res["recommended"] == "e1" and res["signal_sign"] in (-1, 1)


def test_rank_bad_input(ladder, tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        rank([ladder[0]])
    with pytest.raises(FileNotFoundError, match="not found"):
        rank([ladder[0], tmp_path / "nosuch"])
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
    res = rank([a, b], signal="escape")
    assert sorted(res["tied_first"]) == ["a", "b"] and res["predicted_inversion"] is False
