"""`rankinv evaluate`: held-out pass@k of saved checkpoints as a JSONL log the monitor reads;
steps from folder names; resumable."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from rankinv.errors import UserError
from rankinv.validate.checkpoints import resolve_steps, step_of


@pytest.mark.parametrize(
    "path, step",
    [
        ("runs/x/global_step_120", 120),
        ("runs/x/global_step_120/actor/huggingface", 120),  # verl's merged layout
        ("out/checkpoint-40", 40),
        ("out/checkpoint-40/../checkpoint-80", 80),
        ("out/final", None),
    ],
)
def test_step_of(path, step, tmp_path):
    assert step_of(tmp_path / path) == step


def test_resolve_steps():
    assert resolve_steps(["a/checkpoint-10", "a/checkpoint-20"], None) == [10, 20]
    assert resolve_steps(["a/final"], [7]) == [7]
    with pytest.raises(UserError, match="no training step in the path"):
        resolve_steps(["a/final"], None)
    with pytest.raises(UserError, match="--step given 1 time"):
        resolve_steps(["a/checkpoint-1", "a/checkpoint-2"], [3])
    with pytest.raises(UserError, match="share step"):
        resolve_steps(["a/checkpoint-1", "b/checkpoint-1"], None)


def _setup(root: Path):
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import build_model, closed_tokenizer

    tok = closed_tokenizer(["def f():\n    return 1  # abc xyz\n"] * 20)
    first = build_model("qwen2", root / "run" / "global_step_0", tok)
    for s in (10, 20):
        shutil.copytree(first, root / "run" / f"global_step_{s}")
    bench = root / "heldout.jsonl"
    rows = [
        {
            "task_id": f"t/{i}",
            "prompt": "def f():\n    return 1  # ",
            "entry_point": "f",
            "test": f"def check(candidate):\n    assert candidate() == {1 if i < 3 else 2}\n",
            "canonical_solution": "\n",
        }
        for i in range(4)
    ]
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "run", bench


def test_evaluate_writes_a_log_monitor_reads_and_resumes(tmp_path):
    pytest.importorskip("torch")
    from rankinv.validate.checkpoints import evaluate_checkpoints
    from rankinv.validate.heldout import HeldOutConfig
    from rankinv.verdicts.monitor import monitor

    run, bench = _setup(tmp_path)
    out = tmp_path / "eval.jsonl"
    cfg = HeldOutConfig(samples=4, ks=(2,), max_new_tokens=4, stop=("\n",))
    ck = [run / "global_step_0", run / "global_step_10"]
    res = evaluate_checkpoints(ck, str(bench), cfg, out, workers=1, planned_steps=20)
    assert len(res["evaluated"]) == 2 and not res["skipped"]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["step"] for r in lines] == [0, 10]
    for r in lines:
        assert r["eval/pass_at_1"] == pytest.approx(0.75)  # 3 of 4 tasks pass always
        assert r["eval/pass_at_2_se"] == pytest.approx(0.25)  # sd(1, 1, 1, 0) / 2
        assert r["max_steps"] == 20 and r["benchmark_hash"] and r["version"]
    # a rerun with one more checkpoint evaluates only that one
    res = evaluate_checkpoints([*ck, run / "global_step_20"], str(bench), cfg, out, workers=1)
    assert res["skipped"] == [str(c.resolve()) for c in ck]
    assert res["evaluated"] == [str((run / "global_step_20").resolve())]
    assert len(out.read_text().splitlines()) == 3
    assert [r["step"] for r in res["records"]] == [0, 10, 20]
    # another sampling config is another run: nothing skipped
    other = HeldOutConfig(samples=2, max_new_tokens=4, stop=("\n",))
    res = evaluate_checkpoints(ck[:1], str(bench), other, out, workers=1)
    assert res["evaluated"] and not res["skipped"]
    # the monitor reads the log (this config's lines) and names the step to keep
    out2 = tmp_path / "only.jsonl"
    out2.write_text("".join(x + "\n" for x in out.read_text().splitlines()[:3]))
    rep = monitor(out2)
    assert rep.coverage.key == "eval/pass_at_2"
    assert rep.coverage.steps == [0, 10, 20] and not rep.coverage.fell
    assert rep.best_coverage_step == 0  # equal values: the first of ties


def test_cli_errors_are_one_line(tmp_path, capsys):
    from rankinv.cli import main

    (tmp_path / "final").mkdir()
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "final"), "--benchmark", "synthetic", "--out",
              str(tmp_path / "e.jsonl")])  # fmt: skip
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "give it with --step" in err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "final"), "--benchmark", "synthetic", "--step", "3",
              "-n", "4", "--k", "8", "--out", str(tmp_path / "e.jsonl")])  # fmt: skip
    assert exc.value.code == 2 and "every k must be" in capsys.readouterr().err
