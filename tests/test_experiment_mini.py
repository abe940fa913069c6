"""The miniature end-to-end experiment, ci preset (slow: about 5 minutes on this 2-core machine
from the saved base, more when other work shares it; the CI's separate slow step)."""

import dataclasses
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def rankinv(*args, timeout=2700):
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def probe(model_dir, out):
    """`rankinv validate` on a checkpoint the experiment saved, unchanged."""
    return rankinv(
        "validate",
        "--model",
        model_dir,
        "--benchmark",
        "synthetic",
        "--samples",
        8,
        "--group-size",
        8,
        "--limit",
        3,
        "--max-new-tokens",
        12,
        "--out",
        out,
        timeout=600,
    )


def test_mini_ci_preset_end_to_end(tmp_path):
    out = tmp_path / "mini"
    res = rankinv("experiment", "mini", "--preset", "ci", "--out", out)
    teacher = [b for b in res["by_depth"] if b["variant"] == "teacher"]
    clean = [b for b in res["by_depth"] if b["variant"] == "clean"]
    assert [b["depth"] for b in teacher] == [1, 2, 4, 8, 16]
    assert all(b["runs"] == 3 for b in teacher) and len(clean) == 2
    # the mechanism the experiment exists to show: deeper SFT on plausibly wrong
    # demonstrations collapses rollout entropy and strands prompts (all-fail groups up)
    assert teacher[-1]["pre.entropy"] < teacher[0]["pre.entropy"]
    assert teacher[-1]["all_fail"] > teacher[0]["all_fail"]
    # predicted vs observed with confidence intervals, and the simulator beside it
    # the compare rows are the runs' final post-RL pass@10 (steps >= 1), and the reported rho
    # is the seed-demeaned Spearman of those rows
    from rankinv import theory

    rows = json.loads((out / "compare_rows.json").read_text())
    saved = json.loads((out / "mini.json").read_text())  # --json leaves the per-run list out
    by_name = {r["name"]: r for r in saved["runs"]}
    assert all(r["post_pass_at_10"] == by_name[r["name"]]["final_pass_at_k"] for r in rows)
    rho = theory.spearman(
        [r["pre_pass_at_1"] for r in rows],
        [r["post_pass_at_10"] for r in rows],
        [r["seed"] for r in rows],
    ).rho
    assert res["rho_pass1_vs_post"]["rho"] == pytest.approx(rho)
    # the rollout entropy is named so (compare's plain "entropy" is the paper's prompt H)
    assert all(r["entropy_rollout"] == by_name[r["name"]]["pre"]["entropy"] for r in rows)
    assert all("entropy" not in r for r in rows)
    rho_h = theory.spearman(
        [r["entropy_rollout"] for r in rows],
        [r["post_pass_at_10"] for r in rows],
        [r["seed"] for r in rows],
    ).rho
    assert res["rho_entropy_vs_post"]["rho"] == pytest.approx(rho_h)
    assert res["simulator"]["inversion"] is True
    # each GRPO log carries its held-out pass@k with SEs: monitor's coverage rule can test it
    from rankinv.verdicts.monitor import monitor

    log = sorted((out / "runs").glob("teacher-s0-d*.jsonl"))[0]
    cov = monitor(log).coverage
    assert cov is not None and cov.ses is not None and cov.k == 10
    assert probe(out / "ckpt" / "teacher-s0-d16", tmp_path / "probe")["n_problems"] == 3
    # resumable: a rerun finds every checkpoint and run and redoes nothing
    again = rankinv("experiment", "mini", "--preset", "ci", "--out", out, timeout=600)
    assert again["seconds"]["total"] < 120


def test_mini_lora_ladder_saves_adapters_that_validate_loads(tmp_path):
    from rankinv.experiment.base import saved_dir
    from rankinv.experiment.mini import preset, run_mini

    cfg = dataclasses.replace(
        preset("ci"),
        sft_mode="lora",
        depths=(1, 2),
        seeds=1,
        rl_steps=2,
        eval_every=1,
        control_depths=(),
        eval_samples=10,
    )
    res = run_mini(cfg, tmp_path / "mini", log=lambda m: None)
    assert [b["depth"] for b in res["by_depth"]] == [1, 2]
    adapter = tmp_path / "mini" / "ckpt" / "teacher-lora-s0-d2"
    cfg_json = json.loads((adapter / "adapter_config.json").read_text())
    # the adapters name the saved base the package ships (no pretraining here)
    assert cfg_json["base_model_name_or_path"] == str(saved_dir().resolve())
    assert res["base_model"]["saved"] and res["seconds"]["pretrain"] < 5
    assert probe(adapter, tmp_path / "probe")["n_problems"] == 3
    with pytest.raises(ValueError, match="sft_mode"):
        dataclasses.replace(preset("ci"), sft_mode="qlora")
