"""report on real-shaped and broken artifacts, and `compare --json` on the paper's table."""

import json
import subprocess
import sys

import pytest

from rankinv.verdicts import compare as cmp


# ---------------------------------------------------------------- compare
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


def test_report_on_truncated_or_incomplete_json_names_the_file(tmp_path):
    from rankinv.report import build_report

    res = cmp.compare(cmp.example("paper-qwen")["rows"]).to_json()
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
    assert "| adv_var (not scored) | - (same ranks as pre_pass_at_1) |" in report


def test_report_on_a_folder_of_probe_folders(tmp_path):
    """issue 38: `report runs/ladder` said "no rankinv artifacts" though its subfolders held
    probes; each is now a section, in natural order, its figure linked from the report."""
    import shutil
    from pathlib import Path

    from rankinv.report import build_report

    src = Path(__file__).resolve().parents[1] / "figures/data/mini/probes"
    for d in (1, 16, 2):
        shutil.copytree(src / f"teacher-s0-d{d}", tmp_path / f"teacher-s0-d{d}")
    text = build_report(tmp_path).read_text()
    heads = [ln for ln in text.splitlines() if ln.startswith("## Checkpoint probe")]
    assert heads == [f"## Checkpoint probe: teacher-s0-d{d}" for d in (1, 2, 16)]
    assert "(teacher-s0-d2/probe.png)" in text
    assert (tmp_path / "teacher-s0-d2" / "probe.png").exists()


def test_shipped_artifacts_name_checkpoints_by_folder_not_by_a_machines_path():
    """issue 38: the probes, mini runs and rank results under figures/data named their
    checkpoints by /tmp paths of the machine that made them; they name the folder now
    (scripts/portable_checkpoint_names.py rewrote them; new probes record no path)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "figures" / "data"
    keyed = re.compile(r'"(?:model|checkpoint|recommended|best_pre_pass_at_1)":\s*"/[^"]*"')
    files = [p for p in root.rglob("*") if p.suffix in (".json", ".jsonl")]
    assert len(files) > 100
    left = [str(p.relative_to(root)) for p in files if keyed.search(p.read_text())]
    assert not left, left[:5]
    probe = json.loads((root / "mini/probes/teacher-s0-d8/validate_summary.json").read_text())
    assert probe["model"] == probe["tag"]["model"] == "teacher-s0-d8"


def test_a_compare_json_printed_by_json_is_reported_without_its_figures(tmp_path):
    """new user: `rankinv compare c2.csv --json > rep5/compare.json; rankinv report rep5`
    said "missing key 'rows' (not a complete rankinv artifact?)": --json leaves the rows out;
    the tables are drawn from what it holds, and the line names the complete file's command."""
    from rankinv.report import build_report

    rows = [
        {"name": n, "pre_pass_at_1": p, "entropy": h, "post_pass_at_10": y}
        for n, p, h, y in zip(
            "abcde", [0.1, 0.2, 0.3, 0.4, 0.5], [0.9, 0.7, 0.5, 0.3, 0.2],
            [0.5, 0.45, 0.4, 0.35, 0.3], strict=True,
        )
    ]  # fmt: skip
    res = cmp.compare(rows, "post_pass_at_10", None, source="c2.csv").to_json()
    as_printed = {k: v for k, v in res.items() if k != "rows"}
    (tmp_path / "compare.json").write_text(json.dumps(as_printed))
    text = build_report(tmp_path).read_text()
    assert "## Predicted vs observed (c2.csv)" in text and "| e | 0.200 |" in text
    assert "`rankinv compare FILE --out DIR` writes the complete compare.json" in text
    assert not list(tmp_path.glob("*.png"))
