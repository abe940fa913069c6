"""rankinv report on population and calibrate folders: sections and figures from artifacts."""

import json

from rankinv.report import build_report


def test_population_and_calibrate_folders_get_sections_and_figures(tmp_path):
    pop = {
        "population": "quick",
        "n_runs": 12,
        "n_ladders": 2,
        "inverted_share": 0.5,
        "inverted_share_random": 0.25,
        "n_ladders_random": 4,
        "by_axis": {"demos": {"clean": {"n_ladders": 2, "inverted_share": 0.0}}},
    }
    cal = {
        "chosen": {"stage1": "pass_at_k"},
        "n_ladders": 2,
        "n_runs": 12,
        "stage1": [
            {"signal": "pass_at_k", "median_rho": 0.5, "iqr": [0.1, 0.9], "rhos": [0.1, 0.9]}
        ],
        "stage2": [{"rule": "paper", "check_step": 150, "auc": 0.42, "precision": None}],
    }
    (tmp_path / "population.json").write_text(json.dumps(pop))
    (tmp_path / "calibrate.json").write_text(json.dumps(cal))
    text = build_report(tmp_path).read_text()
    assert "random settings only: 0.250 (n = 4 ladders" in text
    assert "| pass_at_k | +0.50 | [+0.10, +0.90] | n/a | n/a | ? |" in text
    assert "| paper | 150 | 0.42 | n/a | n/a | n/a |" in text
    assert (tmp_path / "population.png").stat().st_size > 5_000
    assert (tmp_path / "calibrate.png").stat().st_size > 5_000
