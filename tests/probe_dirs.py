"""Probe folders for the rank and report tests: a small one written from counts
(:func:`write_probe`), or a copy of a shipped probe of the miniature experiment
(:func:`mini_probe`, with the per-problem fields the report's figure draws)."""

import json
import shutil
from pathlib import Path

#: The miniature experiment's probes: one ladder, SFT depths 1, 2, 4, 8, 16.
MINI_PROBES = Path(__file__).resolve().parents[1] / "figures/data/mini/probes"


def write_probe(d, name, counts, n=16, g=8):
    """A probe folder at ``d``: one problem per count (c of n samples pass), model ``name``."""
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


def mini_probe(d, depth):
    """A copy at ``d`` of the miniature experiment's probe of SFT depth ``depth``."""
    shutil.copytree(MINI_PROBES / f"teacher-s0-d{depth}", d)
    return d
