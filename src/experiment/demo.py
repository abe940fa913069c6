"""The demo pipeline (`rankinv demo`): the main job on built-in defaults, as steps.

``demo_steps(out)`` yields ``(name, result)`` pairs as each step finishes, so the CLI prints
them as they come; every artifact is written under ``out`` (resumable: a rerun reuses the
simulation). Steps:

1. thresholds: p*(g), 1 - p*, the advantage variance at p* and the entropy bounds.
2. simulation: SFT to 6 depths x 3 seeds then GRPO, on the generalising (family) policy.
3. monitor: stage 2 on the shallowest and the deepest simulated run, under the calibrated
   default rule and the paper's entropy-drop rule side by side.
4. paper: the paper's Qwen2.5-Coder-3B ladder (Table 1) and its two-stage diagnostic.
5. report: report.md with figures, drawn from the artifacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from rankinv import theory
from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.report import build_report
from rankinv.simulate import preset as sim_preset
from rankinv.simulate import run_sweep
from rankinv.theory import paper
from rankinv.verdicts import compare as cmp
from rankinv.verdicts._calibrated import DEFAULT_STAGE2_RULE, STAGE2_CALIBRATION
from rankinv.verdicts.monitor import MonitorConfig, monitor
from rankinv.verdicts.stage2 import check_window

GROUP_SIZES = (2, 4, 8, 16, 32, 64)
SIM_PRESET = "family"
PAPER_RL_STEPS = 400  # the paper's GRPO runs: the entropy drop is judged at step 150 of 400


def thresholds_table(group_sizes=GROUP_SIZES, level: float = 0.5, n_outcomes: int = 32):
    return [theory.threshold_summary(g, level, n_outcomes) for g in group_sizes]


def demo_steps(out: str | Path) -> Iterator[tuple[str, object]]:
    """The demo's steps, as (name, result) pairs; a bad ``out`` is refused here, before the
    first step (not at the first ``next``)."""
    out_dir = Path(out).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    return _steps(out_dir)


def _steps(out_dir: Path) -> Iterator[tuple[str, object]]:
    yield "thresholds", thresholds_table()

    cfg = sim_preset(SIM_PRESET)
    sim = run_sweep(cfg, out_dir)
    yield "simulation", sim

    monitors = {}
    for d in (min(cfg.sft_depths), max(cfg.sft_depths)):
        log = out_dir / "logs" / f"depth{d:g}_seed0.jsonl"
        both = {}
        for rule in (DEFAULT_STAGE2_RULE, "paper"):
            # both rules judged where calibration judged them: the same fraction of the run
            # (the calibrated rule's; the paper's own is 150 of 400 steps)
            frac = STAGE2_CALIBRATION.get(rule, {}).get(
                "check_fraction", paper.CHECK_STEP / PAPER_RL_STEPS
            )
            ref, check = check_window(cfg.rl_steps, frac)
            mcfg = MonitorConfig(
                ref_step=ref,
                check_step=check,
                planned_steps=cfg.rl_steps,
                group_size=cfg.group_size,
                rule=rule,
            )
            both[rule] = monitor(log, mcfg)
        # the default rule's report keeps the name the report and figures read; the paper's
        # beside it (one file each: the report draws every monitor_*.json once)
        write_json(out_dir / f"monitor_sim_depth{d:g}.json", both[DEFAULT_STAGE2_RULE].to_json())
        write_json(out_dir / f"monitor_sim_depth{d:g}_paper.json", both["paper"].to_json())
        monitors[f"depth{d:g}"] = both
    yield "monitor", monitors

    ex = cmp.example("paper-qwen")
    res = cmp.compare(ex["rows"], ex["outcome"], ex["group_size"])
    res = replace(res, source="example paper-qwen")
    write_json(out_dir / "compare.json", res.to_json())
    diag = cmp.example("paper-qwen-diagnostic")
    res_diag = cmp.compare(diag["rows"], diag["outcome"], diag["group_size"])
    yield "paper", {"table1": res, "diagnostic": res_diag}

    yield "report", build_report(out_dir)
