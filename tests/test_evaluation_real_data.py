"""The real evidence shipped in the package is what the saved artifacts give, and loads."""

import json
from pathlib import Path

import pytest

from rankinv.evaluation import real_data

FIGURES_DATA = Path(__file__).resolve().parents[1] / "figures" / "data"


def test_shipped_real_evidence_is_built_from_the_saved_artifacts():
    """Regenerate with scripts/update_real_evidence.py after a saved artifact changes."""
    built = json.loads(json.dumps(real_data.build(FIGURES_DATA)))
    assert real_data.load() == built


def test_shipped_evidence_holds_every_real_ladder_and_the_corpus():
    real = real_data.load()
    names = [lad["ladder"] for lad in real["ladders"]]
    assert names[:3] == ["paper-qwen", "paper-qwen-peak", "paper-deepseek"]
    assert {"mini-full-s0", "mini-lr-s2", "mini-nomod-s1", "mini-gpu"} <= set(names)
    runs = real["trl_corpus"]["runs"]
    assert len(runs) == 40 and all(r["records"] and r["label"] for r in runs)


def test_bad_paths_name_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="real evidence not found"):
        real_data.load(tmp_path / "nosuch.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        real_data.load(bad)
    bad.write_text("[]")
    with pytest.raises(ValueError, match="not a real-evidence file"):
        real_data.load(bad)
    with pytest.raises(FileNotFoundError, match="figures data folder not found"):
        real_data.build(tmp_path / "none")
