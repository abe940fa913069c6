"""Compare's results in words (rankinv.verdicts.words.compare): the one phrasing of a rho
that the CLI and the Markdown report both print."""

import json

from rankinv.verdicts import compare as cmp
from rankinv.verdicts.words.compare import rho_line, rho_words


def _rho(rho, lo, hi, p, method="bootstrap", n=6):
    return {
        "rho": rho, "ci_low": lo, "ci_high": hi, "p_value": p, "ci_method": method,
        "p_method": "permutation", "n": n, "power": 0.5,
    }  # fmt: skip


def test_rho_line_names_the_approximate_ci_and_the_permutation_p_and_flags_disagreement():
    r = _rho(0.45, -0.02, 0.80, 0.0455, method="fisher-z", n=15) | {"p_method": "exact"}
    line = rho_line("entropy", r)
    assert "95% CI [-0.02, +0.80] (Fisher z, approximate), exact permutation p = 0.0455" in line
    assert "the approximate CI includes 0 though the permutation p is <= 0.05" in line
    agree = rho_line("entropy", r | {"ci_low": 0.1})
    assert "disagree" not in agree and "includes 0" not in agree


def test_an_undefined_rho_says_why():
    assert rho_words({"rho": None, "error": "constant input"}) == "undefined (constant input)"
    assert rho_line("entropy", {"rho": None}) == "entropy: undefined (constant input)"


def test_the_report_prints_the_same_words_as_the_cli(tmp_path):
    from rankinv.report import build_report

    res = cmp.compare(cmp.example("paper-qwen")["rows"])
    (tmp_path / "compare.json").write_text(json.dumps(res.to_json()))
    report = build_report(tmp_path).read_text()
    for key, v in res.predictors.items():
        if not v.monotone_of:
            assert f"| {key} | {rho_words(v.to_json())} |" in report
