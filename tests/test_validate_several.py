"""What multi-model `validate` prints under its table (a new user's try): the rank command
in the --model order (a shell glob, DIR/*, is alphabetical: d1, d16, d4, and rank reads the
order given as least to most trained), what the risk column measures, the small-probe
caveat, and that choosing between the checkpoints is rank's job."""

import json
import os
from pathlib import Path

import pytest
from probe_dirs import mini_probe

from rankinv.render.probe import print_probes
from rankinv.verdicts.ladders import rank_command
from rankinv.verdicts.results_files import load_inputs
from rankinv.verdicts.signals import STAGE1_CALIBRATION


def _probes(out: Path, depths) -> list[dict]:
    """validate's summaries of the mini probes of ``depths``, each with its folder."""
    rows = []
    for d in depths:
        folder = mini_probe(out / f"teacher-s0-d{d}", d)
        rows.append(
            {**json.loads((folder / "validate_summary.json").read_text()), "out": str(folder)}
        )
    return rows


def test_rank_command_is_the_folder_where_rank_reads_it_in_the_model_order(tmp_path):
    out = tmp_path / "ladder"
    rows = _probes(out, (1, 4, 16))
    cmd = rank_command(out, [r["out"] for r in rows])
    assert cmd == f"rankinv rank {out}"
    got, _ = load_inputs([out])  # what `rankinv rank OUT` reads, in its order
    assert [Path(r["out"]).name for r in rows] == [p.name for p in got]


def test_rank_command_lists_the_folders_when_the_folder_order_differs(tmp_path):
    out = tmp_path / "ladder"
    rows = _probes(out, (16, 4, 1))  # --model given most-trained first
    dirs = [r["out"] for r in rows]
    assert rank_command(out, dirs) == "rankinv rank " + " ".join(dirs)
    same = _probes(tmp_path / "b", (1, 4))  # another run's folder beside them: rank reads it too
    (tmp_path / "b" / "older").mkdir()
    assert rank_command(tmp_path / "b", [r["out"] for r in same]).endswith("teacher-s0-d4")


def test_several_probes_say_the_threshold_the_caveat_and_rank(tmp_path, printed):
    out = tmp_path / "ladder"
    rows = _probes(out, (1, 4, 16))
    flat = " ".join(printed(print_probes, rows, str(out)).split())
    assert "/*" not in flat
    thr = STAGE1_CALIBRATION["share_below_p_star"]["poor_start_threshold"]
    assert (
        "risk: stage-1 signal share_below_p_star (share of prompts with p-hat < p*(g) "
        f"(all-fail zone)) above {thr:.3f} is high, the threshold past which simulated "
        "checkpoints were poor starts" in flat
    )
    assert "AUC" in flat and "for a poor start" in flat  # the rule's accuracy, as validate's
    assert "small probe" not in flat  # 200 problems x 16 samples: not small
    small = [{**r, "n_problems": 12, "samples_per_problem": 8} for r in rows]
    flat_small = " ".join(printed(print_probes, small, str(out)).split())
    assert (
        "small probe: 12 problems x 8 samples; the p-hats behind these verdicts are coarse"
        in flat_small
    )
    assert (
        "risk is an absolute screen of each checkpoint alone (it can be high on all of them); "
        "choosing between them is `rankinv rank`'s job: it compares them with each other and "
        f"against the free answers (least-trained, best pass@1, ...): rankinv rank {out}"
    ) in flat


def test_validate_of_three_tiny_models_prints_rank_in_the_model_order(tmp_path, tokenizer):
    """End to end: d1, d4, d16 (a shell glob would give d1, d16, d4) probed by one validate."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    from tiny_models import build_model

    models = [
        str(build_model("qwen2", tmp_path / f"teacher-s0-d{d}", tokenizer, seed=d))
        for d in (1, 4, 16)
    ]
    out = tmp_path / "probes"
    given = [x for m in models for x in ("--model", m)]
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "validate", *given,
         "--out", str(out), "--benchmark", "synthetic", "--samples", "4", "--limit", "2",
         "--max-new-tokens", "6", "--workers", "1", "--group-size", "4"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    flat = " ".join(run.stdout.split())
    assert "/*" not in flat and flat.endswith(f"rankinv rank {out}")
    assert "small probe: 2 problems x 4 samples; the p-hats behind these verdicts" in flat
    assert "the threshold past which simulated checkpoints were poor starts" in flat
