"""A planned-run option typed at `validate` is recorded as given, even where it equals the
paper's default (issue 38c, a fresh-clone try: `validate -g 8` printed "g = 8 (assumed: the
paper's; --group-size sets it)" while -g 4 said given); older probes keep today's reading."""

import json

from probe_dirs import mini_probe
from typer.testing import CliRunner

from rankinv.cli import app
from rankinv.render.probe import probe_notes
from rankinv.verdicts.probe_result import ProbeResult
from rankinv.verdicts.rank import rank
from rankinv.verdicts.words.plan import plan_sources


def _typed(monkeypatch, tmp_path, *opts):
    """The ProbeConfig `rankinv validate ... OPTS` builds (nothing is probed)."""
    from rankinv.validate import fanout

    seen = {}

    def fake(models, out, template, backend, address):
        seen["cfg"] = template.cfg
        return [{}]

    monkeypatch.setattr(fanout, "validate_many", fake)
    monkeypatch.setattr(fanout, "check_inputs", lambda *a: None)
    args = ["validate", "--model", str(tmp_path), "--out", str(tmp_path / "o"), *opts, "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return seen["cfg"]


def test_a_typed_default_is_recorded_as_given(monkeypatch, tmp_path):
    cfg = _typed(monkeypatch, tmp_path, "-g", "8")
    assert cfg.group_size == 8 and cfg.given == ("group_size",)
    cfg = _typed(monkeypatch, tmp_path, "--rl-steps", "400", "--rl-prompts-per-step", "32")
    assert cfg.group_size == 8 and set(cfg.given) == {"rl_steps", "batch_prompts"}
    assert _typed(monkeypatch, tmp_path).given == ()


def _recorded(d, given):
    s = json.loads((d / "validate_summary.json").read_text())
    s["plan"]["given"] = given
    if "setup" in s:
        s["setup"]["plan_given"] = given
    (d / "validate_summary.json").write_text(json.dumps(s))
    return s


def test_validate_and_rank_read_the_record(tmp_path):
    dirs = [mini_probe(tmp_path / f"teacher-s0-d{d}", d) for d in (1, 4, 16)]
    old = json.loads((dirs[0] / "validate_summary.json").read_text())
    assert "given" not in old["plan"]  # an older probe: today's reading, g = 8 assumed
    assert plan_sources(old)["group_size"] is False
    s = _recorded(dirs[0], ["group_size"])
    assert probe_notes(s)[-1].startswith("planned run: g = 8 (given)")
    for d in dirs[1:]:
        _recorded(d, ["group_size"])
    assert ProbeResult.load(dirs[0]).setup.plan_given == ("group_size",)
    got = rank(dirs, signal="share_below_p_star", depths=[1, 4, 16]).to_json()["plan"]["given"]
    assert got == {"group_size": True, "budget": False, "n_prompts": False}
