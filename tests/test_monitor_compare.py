"""compare and report on real-shaped inputs and the paper's tables (the monitor's tests:
test_verdicts_monitor.py, test_verdicts_logs.py, test_cli_monitor.py)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rankinv.verdicts import compare as cmp
from rankinv.verdicts import rules


# ---------------------------------------------------------------- compare
def test_paper_qwen_table1_rhos():
    ex = cmp.example("paper-qwen")
    res = cmp.compare(ex["rows"], ex["outcome"])
    assert res["predictors"]["entropy"]["rho"] == pytest.approx(0.70)
    assert res["predictors"]["pre_pass_at_1"]["rho"] == pytest.approx(-0.90)
    # rho = -0.90 with exact permutation p = 10/120: a trend, not a significant inversion
    assert res["inversion_p"] == pytest.approx(10 / 120)
    assert res["inversion_call"] == "trend, not significant at this n"
    assert res["inversion"] is False
    # the favoured predictor is the strongest |rho| (pass@1, -0.90), not the largest signed
    # rho (entropy, +0.70, p = 0.23)
    assert res["favoured_predictor"] == "pre_pass_at_1" and res["favoured_sign"] == -1
    assert res["favoured_significant"] is False
    assert res["predictor_order"] == ["pre_pass_at_1", "entropy"]
    assert list(res["predictors"]) == ["pre_pass_at_1", "adv_var", "entropy"]
    assert res["predictors"]["adv_var"]["monotone_of"] == "pre_pass_at_1"
    assert res["predictors"]["pre_pass_at_1"]["agrees"] is True  # expected sign -
    assert res["predictors"]["entropy"]["agrees"] is True  # expected sign +
    for key in ("predictors", "inversion", "n"):
        assert key in res
    for v in res["predictors"].values():
        assert set(v) >= {"rho", "ci_low", "ci_high", "p_value", "n", "power"}
        # n = 5: no percentile bootstrap (it returned [1, 1] for monotone samples)
        assert v["ci_method"] == "fisher-z" and v["p_method"] == "exact"
        assert v["ci_low"] < v["rho"] < v["ci_high"]
        assert 0 < v["power"] < 0.5


def test_paper_deepseek_no_inversion():
    for name in ("paper-deepseek", "paper-deepseek-table1"):
        ex = cmp.example(name)
        if len(ex["rows"]) < 3:
            # Table 1 endpoints only: the ordering is preserved at both ends
            a, b = ex["rows"]
            assert (b["pre_pass_at_1"] > a["pre_pass_at_1"]) == (
                b["post_pass_at_10"] > a["post_pass_at_10"]
            )
            continue
        res = cmp.compare(ex["rows"], ex["outcome"])
        assert res["inversion"] is False
        assert res["predictors"]["pre_pass_at_1"]["rho"] > 0
        assert all(s["headroom"] > 4 for s in res["stage"])  # far above p*(8)


def test_table3_flags_exactly_the_papers_rungs():
    ex = cmp.example("paper-qwen-diagnostic")
    res = cmp.compare(ex["rows"], ex["outcome"])
    s1 = [s["depth"] for s in res["stage"] if s["stage1_flag"]]
    s2 = [s["depth"] for s in res["stage"] if s["stage2_flag"]]
    missed = [
        s["depth"]
        for s in res["stage"]
        if not s["stage1_flag"] and not s["stage2_flag"] and s["observed_rank"] > 1
    ]
    assert s1 == ex["paper_flags"]["stage1"] == [1.9, 2.9, 5.8]
    assert s2 == ex["paper_flags"]["stage2"] == [2.9, 5.8]
    assert missed == ex["paper_flags"]["missed"] == [3.8]


def test_compare_csv_with_seeds_is_demeaned(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["name,seed,depth,pre_pass_at_1,entropy,post_pass_at_10"]
    for seed in range(3):
        offset = 0.2 * seed  # large seed offsets, within-seed inversion
        for d in (1, 2, 4, 8):
            lines.append(
                f"s{seed}-d{d},{seed},{d},{0.1 + 0.02 * d + offset:.3f},"
                f"{0.5 / d + rng.normal(0, 0.001):.4f},{0.9 - 0.05 * d + offset:.3f}"
            )
    path = tmp_path / "ckpts.csv"
    path.write_text("\n".join(lines))
    res = cmp.compare(cmp.read_rows(path))
    assert res["seed_demeaned"]
    assert res["predictors"]["pre_pass_at_1"]["rho"] == pytest.approx(-1.0)
    # within-seed permutations, (4!)^3 of them, enumerated exactly
    assert res["predictors"]["pre_pass_at_1"]["p_method"] == "exact"
    assert res["predictors"]["pre_pass_at_1"]["p_value"] < 0.01
    assert res["inversion_call"] == "inversion"
    assert res["inversion"]


def test_compare_positive_rho_is_no_inversion():
    rows = [
        {"name": f"c{i}", "pre_pass_at_1": 0.1 * i, "post_pass_at_10": 0.2 * i + 0.01 * (i % 2)}
        for i in range(1, 9)
    ]
    res = cmp.compare(rows)
    assert res["inversion_call"] == "none" and res["inversion"] is False


def test_compare_csv_with_na_cells(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text(
        "name,pre_pass_at_1,entropy,post_pass_at_10\n"
        "a,0.10,0.30,0.80\nb,0.12,n/a,0.75\nc,0.14,0.25,0.70\nd,0.16,0.20,0.60\n"
        "e,0.18,NA,0.50\nf,0.20,0.10,-\n"
    )
    with pytest.raises(ValueError, match="outcome column 'post_pass_at_10' has missing"):
        cmp.compare(cmp.read_rows(path))
    path.write_text(path.read_text().replace("0.10,-", "0.10,0.40"))
    res = cmp.compare(cmp.read_rows(path))
    assert res["predictors"]["entropy"]["n"] == 4  # the two n/a rows left out
    assert res["predictors"]["pre_pass_at_1"]["n"] == 6
    assert res["stage"][1]["entropy"] is None
    out = run_cli("compare", str(path))
    assert out.returncode == 0, out.stderr


def test_compare_text_in_a_numeric_column_is_one_clear_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "name,pre_pass_at_1,post_pass_at_10\na,0.1,0.8\nb,zero point two,0.7\nc,0.3,0.6\n"
    )
    with pytest.raises(ValueError, match="column 'pre_pass_at_1', row 2: 'zero point two'"):
        cmp.compare(cmp.read_rows(path))


def test_compare_semicolon_csv_with_decimal_commas(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text(
        "name;pre_pass_at_1;entropy;post_pass_at_10\n"
        "a;0,151;0,227;0,806\nb;0,163;0,163;0,750\nc;0,159;0,156;0,671\n"
        "d;0,173;0,171;0,608\ne;0,187;0,120;0,481\n"
    )
    res = cmp.compare(cmp.read_rows(path))
    assert res["n"] == 5
    assert res["predictors"]["pre_pass_at_1"]["rho"] == pytest.approx(-0.90)
    assert res["predictors"]["entropy"]["rho"] == pytest.approx(0.70)


def test_compare_without_name_column_labels_rows(tmp_path):
    path = tmp_path / "noname.csv"
    path.write_text("depth,pre_pass_at_1,post_pass_at_10\n1,0.10,0.8\n2,0.12,0.7\n4,0.15,0.75\n")
    res = cmp.compare(cmp.read_rows(path))
    assert [s["name"] for s in res["stage"]] == [
        "row 1, depth 1",
        "row 2, depth 2",
        "row 3, depth 4",
    ]
    out = run_cli("compare", str(path))
    assert out.returncode == 0 and "None" not in out.stdout


def test_compare_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,pre_pass_at_1,entropy\na,0.1,0.2\nb,0.2,0.1\nc,0.3,0.3\n")
    with pytest.raises(ValueError, match="missing outcome column 'post_pass_at_10'; columns"):
        cmp.compare(cmp.read_rows(path))
    with pytest.raises(ValueError, match="example must be one of"):
        cmp.example("paper-llama")


# ---------------------------------------------------------------- CLI and report
def run_cli(*args, timeout=300, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_cli_compare_json():
    out = run_cli("compare", "--example", "paper-qwen", "--json")
    data = json.loads(out.stdout)
    assert data["inversion"] is False and data["n"] == 5
    assert data["inversion_call"] == "trend, not significant at this n"
    bad = run_cli("compare")
    assert bad.returncode == 2 and "either FILE or --example" in bad.stderr


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


def test_tied_outcomes_share_the_better_rank():
    # the table and ranks.png both rank ties as 1, 1, 3 (not 1, 2 in the table and 1.5 drawn)
    rows = [
        {"name": "a", "pre_pass_at_1": 0.1, "post_pass_at_10": 0.8},
        {"name": "b", "pre_pass_at_1": 0.2, "post_pass_at_10": 0.8},
        {"name": "c", "pre_pass_at_1": 0.3, "post_pass_at_10": 0.5},
    ]
    res = cmp.compare(rows)
    assert [s["observed_rank"] for s in res["stage"]] == [1, 1, 3]
