"""Stage-2 monitor, compare and report on real-shaped inputs and the paper's tables."""

import json
import subprocess
import sys

import pytest

from rankinv.verdicts import compare as cmp
from rankinv.verdicts import rules
from rankinv.verdicts.monitor import MonitorConfig, monitor, read_series

PAPER = MonitorConfig(rule="paper")  # the paper's entropy-drop rule, exactly


def trl_state(entropies: dict[int, float], zero_std: float = 0.3, max_steps: int = 400) -> dict:
    """A trainer_state.json as TRL's GRPOTrainer writes it (log_history per logging step,
    then the train summary entry without metrics)."""
    history = []
    for step, h in sorted(entropies.items()):
        history.append(
            {
                "clip_ratio/high_max": 0.0,
                "clip_ratio/high_mean": 0.0,
                "clip_ratio/low_mean": 0.0,
                "clip_ratio/region_mean": 0.0,
                "completions/clipped_ratio": 0.0,
                "completions/mean_length": 48.5,
                "completions/max_length": 64.0,
                "entropy": h,
                "epoch": step / max_steps,
                "frac_reward_zero_std": zero_std,
                "grad_norm": 0.21,
                "kl": 0.0,
                "learning_rate": 1e-6,
                "loss": 0.003,
                "num_tokens": 1000.0 * step,
                "reward": 0.42,
                "reward_std": 0.31,
                "rewards/accuracy_reward/mean": 0.42,
                "rewards/accuracy_reward/std": 0.49,
                "step": step,
            }
        )
    history.append(
        {
            "epoch": 1.0,
            "step": max(entropies),
            "total_flos": 0.0,
            "train_loss": 0.002,
            "train_runtime": 1234.5,
            "train_samples_per_second": 1.3,
            "train_steps_per_second": 0.3,
        }
    )
    return {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": 1.0,
        "eval_steps": 500,
        "global_step": max(entropies),
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": 10,
        "max_steps": max_steps,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 1,
        "save_steps": 500,
        "stateful_callbacks": {},
        "total_flos": 0.0,
        "train_batch_size": 8,
        "trial_name": None,
        "trial_params": None,
    }


def decay(h0, h_end, steps=range(10, 201, 10)):
    steps = list(steps)
    return {s: h0 + (h_end - h0) * (s - steps[0]) / (steps[-1] - steps[0]) for s in steps}


def test_trl_collapsing_run_stops_and_saves_compute(tmp_path):
    # entropy 0.50 at step 10 -> 0.20 at step 150: a 60% drop
    ent = {s: 0.5 - 0.3 * (s - 10) / 140 for s in range(10, 151, 10)}
    (tmp_path / "trainer_state.json").write_text(json.dumps(trl_state(ent, zero_std=0.7)))
    rep = monitor(tmp_path, PAPER)  # a checkpoint directory works too
    assert rep["verdict"] == "stop"
    assert rep["entropy_drop"] == pytest.approx(0.6)
    assert rep["compute_saved"] == pytest.approx(0.625)  # 150 of 400 steps
    assert rep["informative_fraction"] == pytest.approx(0.3)
    assert "mean token entropy" in rep["entropy_signal"]  # TRL logs no worst-token entropy


def test_trl_healthy_run_continues(tmp_path):
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(trl_state(decay(0.5, 0.42), zero_std=0.2)))
    rep = monitor(path, PAPER)
    assert rep["verdict"] == "continue"
    assert rep["compute_saved"] == 0.0
    assert 0 < rep["entropy_drop"] < 0.25


def test_watch_band_and_provisional(tmp_path):
    path = tmp_path / "log.jsonl"
    # 40% drop by step 150: between 0.6 * 0.5 and 0.5
    path.write_text(
        "\n".join(
            json.dumps({"step": s, "entropy": h})
            for s, h in decay(0.5, 0.3, range(10, 151, 10)).items()
        )
    )
    rep = monitor(path, PAPER)
    assert rep["verdict"] == "watch"
    # a run at step 60 that already lost 70% is stopped before the check step
    path.write_text(
        "\n".join(
            json.dumps({"step": s, "entropy": h})
            for s, h in decay(1.0, 0.3, range(10, 61, 10)).items()
        )
    )
    rep = monitor(path, PAPER)
    assert rep["verdict"] == "stop"
    assert rep["compute_saved"] == pytest.approx((400 - 60) / 400)
    assert any("provisional" in r for r in rep["reasons"])


def test_worst_token_entropy_preferred_and_keys_configurable(tmp_path):
    path = tmp_path / "verl.jsonl"
    rows = [
        {
            "training/global_step": s,
            "actor/entropy": 0.5,
            "min_entropy": 0.4 - s / 500,
            "critic/frac_reward_zero_std": 0.6,
        }
        for s in range(0, 200, 10)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    rep = monitor(path, PAPER)
    assert rep["entropy_signal"].startswith("worst-token")
    rep2 = monitor(path, MonitorConfig(entropy_key="actor/entropy", rule="paper"))
    assert rep2["entropy_drop"] == pytest.approx(0.0)
    assert rep2["verdict"] == "watch"  # informative 0.4 < 0.5 ... and flat
    assert rep2["informative_fraction"] == pytest.approx(0.4)


def test_truncated_nan_and_out_of_order_are_reported(tmp_path):
    path = tmp_path / "run.jsonl"
    lines = [json.dumps({"step": s, "entropy": 0.5}) for s in (30, 10, 20)]
    lines.append(json.dumps({"step": 40, "entropy": float("nan")}))
    lines.append('{"step": 50, "entro')
    path.write_text("\n".join(lines))
    s = read_series(path)
    assert s.steps == [10, 20, 30]
    text = " ".join(s.issues)
    assert "out of order" in text and "NaN" in text and "final line" in text


def test_missing_keys_listed(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,reward,loss\n1,0.5,0.1\n2,0.6,0.1\n")
    with pytest.raises(
        ValueError,
        match=r"lacks key\(s\) \['entropy'\]; keys there: "
        r"\['loss', 'reward', 'step'\]",
    ):
        monitor(path, PAPER)


def test_csv_log(tmp_path):
    path = tmp_path / "metrics.csv"
    rows = ["step,entropy,frac_reward_zero_std"]
    rows += [f"{s},{0.6 - s / 400:.4f},0.8" for s in range(0, 201, 10)]
    path.write_text("\n".join(rows))
    rep = monitor(path, PAPER)
    assert rep["entropy_drop"] == pytest.approx((0.575 - 0.225) / 0.575, rel=1e-3)
    assert rep["verdict"] == "stop"


def test_short_log_with_zero_std_column_says_too_few_steps(tmp_path):
    path = tmp_path / "short.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"step": s, "entropy": 0.5, "frac_reward_zero_std": 0.3}) for s in range(5)
        )
    )
    rep = monitor(path)
    assert rep["informative_fraction"] is None
    text = " ".join(rep["reasons"])
    assert "log has no frac_reward_zero_std" not in text
    assert "frac_reward_zero_std is logged, but not at a step >= 10 (last logged step 4)" in text


def test_named_zero_std_key_must_exist_like_entropy_key(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"step": s, "entropy": 0.5, "frac_reward_zero_std": 0.3})
            for s in range(0, 200, 10)
        )
    )
    with pytest.raises(ValueError, match=r"log lacks key\(s\) \['nosuch'\]; keys there"):
        monitor(path, MonitorConfig(zero_std_key="nosuch"))
    with pytest.raises(ValueError, match=r"log lacks key\(s\) \['nosuch'\]"):
        monitor(path, MonitorConfig(entropy_key="nosuch"))
    out = run_cli("monitor", str(path), "--zero-std-key", "nosuch")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "nosuch" in out.stderr


def test_log_ending_one_step_before_the_check_step_is_judged(tmp_path):
    # the simulator logs steps 0..149 for 150 updates; the check step is 150
    path = tmp_path / "sim.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"step": s, "entropy": 1.0 - 0.002 * s, "frac_reward_zero_std": 0.3})
            for s in range(150)
        )
    )
    rep = monitor(path)
    assert rep["check_reached"] is True
    assert rep["entropy_check"]["step"] == 149
    assert rep["entropy_drop"] == pytest.approx((0.98 - (1 - 0.298)) / 0.98)
    assert not any("provisional" in r for r in rep["reasons"])
    assert any("judged at step 149, the log's last step, 1 short" in r for r in rep["reasons"])
    # two steps short is still provisional
    path.write_text("\n".join(path.read_text().splitlines()[:-1]))
    rep = monitor(path)
    assert rep["check_reached"] is False
    assert any("provisional" in r for r in rep["reasons"])


def test_bad_monitor_config():
    with pytest.raises(ValueError, match="check_step must be"):
        MonitorConfig(ref_step=100, check_step=50)
    with pytest.raises(ValueError, match="threshold"):
        MonitorConfig(threshold=2.0)


# ---------------------------------------------------------------- compare
def run_cli(*args, timeout=300, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_cli_monitor_and_compare_json(tmp_path):
    ent = {s: 0.5 - 0.3 * (s - 10) / 140 for s in range(10, 151, 10)}
    (tmp_path / "trainer_state.json").write_text(json.dumps(trl_state(ent)))
    out = run_cli("monitor", str(tmp_path / "trainer_state.json"), "--rule", "paper", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["verdict"] in ("continue", "watch", "stop") and data["verdict"] == "stop"
    for key in (
        "reasons",
        "entropy_signal",
        "entropy_drop",
        "informative_fraction",
        "compute_saved",
    ):
        assert key in data
    out = run_cli("compare", "--example", "paper-qwen", "--json")
    data = json.loads(out.stdout)
    assert data["inversion"] is False and data["n"] == 5
    assert data["inversion_call"] == "trend, not significant at this n"
    bad = run_cli("monitor", str(tmp_path / "nope.jsonl"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    bad = run_cli("compare")
    assert bad.returncode == 2 and "either FILE or --example" in bad.stderr


def test_cli_monitor_follow(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text(
        "\n".join(json.dumps({"step": s, "entropy": 1.0 - s / 100}) for s in range(10, 80, 10))
        + "\n"
    )
    out = run_cli(
        "monitor", str(path), "--rule", "paper", "--follow", "--poll-s", "0.05", "--max-polls", "3"
    )
    assert out.returncode == 0, out.stderr
    assert "stop" in out.stdout  # 60% drop by step 70


def test_demo_end_to_end(tmp_path):
    # default output folder ./rankinv-demo, named on screen; full tables to a pipe
    text = run_cli("demo", timeout=600, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    where = tmp_path / "rankinv-demo"
    assert f"go to {where.resolve()}" in text.stdout
    assert (where / "report.md").exists() and "…" not in text.stdout
    # the rerun on the same folder resumes the simulation; JSON names the folder
    out = run_cli("demo", "--out", str(where), "--json", timeout=600)
    assert out.returncode == 0, out.stderr
    tmp_path = where
    data = json.loads(out.stdout)
    assert data["simulation"]["inversion"] is True
    assert data["paper_qwen"]["inversion_call"] == "trend, not significant at this n"
    assert data["out"] == str(where.resolve())
    assert (tmp_path / "report.md").exists()
    depths = data["simulation"]["depths"]
    shallow, deep = f"monitor_sim_depth{min(depths):g}.png", f"monitor_sim_depth{max(depths):g}.png"
    for png in ("plane.png", "ranks.png", shallow, deep):
        assert (tmp_path / png).stat().st_size > 10_000
    # stage 2 on both simulated runs, the calibrated rule beside the paper's
    for run in data["monitor"].values():
        assert set(run) == {"paper", rules.DEFAULT_STAGE2_RULE}
        assert run["paper"]["rule"] == "paper"
    assert len(data["thresholds"]) == 6


# ---------------------------------------------------------------- report on broken artifacts
def test_report_on_truncated_or_incomplete_json_names_the_file(tmp_path):
    from rankinv.report import build_report

    res = cmp.compare(cmp.example("paper-qwen")["rows"])
    text = json.dumps(res)
    (tmp_path / "compare.json").write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"compare\.json: not valid JSON"):
        build_report(tmp_path)
    del res["stage"]
    (tmp_path / "compare.json").write_text(json.dumps(res))
    with pytest.raises(ValueError, match=r"compare\.json: missing key 'stage'"):
        build_report(tmp_path)
    (tmp_path / "compare.json").unlink()
    (tmp_path / "simulate.json").write_text(json.dumps({"config": {"name": "quick"}}))
    out = run_cli("report", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"rankinv: error: {tmp_path / 'simulate.json'}: missing key 'by_depth' "
        "(not a complete rankinv artifact?)"
    ]


def test_report_includes_derive_tables(tmp_path):
    from pathlib import Path

    from rankinv.report import build_report

    src = Path(__file__).resolve().parents[1] / "figures" / "data" / "simulate" / "derive.json"
    der = json.loads(src.read_text())
    (tmp_path / "derive.json").write_text(src.read_text())
    report = build_report(tmp_path).read_text()
    assert "## Derived: p*(g) two ways" in report
    g8 = next(r for r in der["p_star"] if r["g"] == 8)
    assert f"| 8 | {g8['p_star_analytic']:.4f} | {g8['p_star_monte_carlo']:.4f} " in report
    for r in der["mitigations"]:
        assert f"| {r['mitigation']} | {r['shallow_post_peak']:.3f} |" in report


def test_report_compare_section_is_honest(tmp_path):
    from rankinv.report import build_report

    out = run_cli("compare", "--example", "paper-qwen", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    report = build_report(tmp_path).read_text()
    assert "**trend, not significant at this n** (permutation p = 0.0833)" in report
    assert "Strongest predictor by |rho|: `pre_pass_at_1`" in report
    assert "monotone function of pre_pass_at_1: not ranked" in report
