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
    v2 = real["trl_corpus_v2"]
    assert v2["first_scored"] == "2026-12-07" and v2["source"] == "figures/data/trl_corpus_v2"
    assert len(v2["runs"]) == 62 and all(r["records"] and r["label"] for r in v2["runs"])
    # every v2 evaluation resolves a change of 0.05 (2 SE of the difference, worst case)
    assert max(2 * r["se_gain_pass_at_k"] for r in v2["runs"]) <= 0.05


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


def test_recipe_and_shallow_ladders_carry_recipes_counts_and_their_history():
    """The mini experiment's recipe ladders (one depth, a rung per recipe) and depth ladders
    from under one epoch: every rung with the count-based signals of its probe; scored
    first on 2026-12-07 and nothing chosen after."""
    from rankinv.experiment.config import RECIPES
    from rankinv.verdicts import signals as sg

    counts = {s for s, spec in sg.STAGE1_SIGNALS.items() if spec.needs == "counts"}
    by = {lad["ladder"]: lad for lad in real_data.load()["ladders"]}
    for seed in range(3):
        recipe, shallow = by[f"mini-recipe-s{seed}"], by[f"mini-shallow-s{seed}"]
        assert [r["recipe"] for r in recipe["rungs"]] == list(RECIPES)
        assert len(RECIPES) >= 5 and len({r["depth"] for r in recipe["rungs"]}) == 1
        assert [r["depth"] for r in shallow["rungs"]] == [0.25, 0.5, 1, 2]
        for lad in (recipe, shallow):
            assert (lad["first_scored"], lad["chosen_after"]) == ("2026-12-07", False)
            assert all(counts <= set(r["values"]) for r in lad["rungs"]), lad["ladder"]
            assert "probes/ (counts)" in lad["source"]
