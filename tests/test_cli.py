"""CLI contract: JSON fields, one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

from rankinv import theory


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_threshold_json_contract():
    out = run_cli("threshold", "--group-size", "8", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in [
        "group_size",
        "level",
        "p_star",
        "p_star_upper",
        "advantage_variance_at_p_star",
        "entropy_low_nats",
        "entropy_high_nats",
        "n_outcomes",
    ]:
        assert key in data
    assert data["p_star"] == pytest.approx(0.08299595731146789, abs=1e-15)
    assert str(data["p_star"]).startswith("0.08299595")
    assert data["p_star_upper"] == pytest.approx(1 - data["p_star"])
    assert data["n_outcomes"] == 32
    low, high = theory.entropy_threshold(8, 32)
    assert data["entropy_low_nats"] == low and data["entropy_high_nats"] == high


def test_threshold_table_output():
    out = run_cli("threshold", "-g", "4", "--n-outcomes", "10")
    assert out.returncode == 0
    assert "0.159" in out.stdout
    # every key is explained, and a sentence says what p* means
    rows = {line.split("│")[1].strip(): line for line in out.stdout.splitlines() if "│" in line}
    assert "p*(g): below this pass rate more than 50% of groups are signal-free" in rows["p_star"]
    assert "E[sigma^2] = p(1-p)(g-1)/g at p*" in rows["advantage_variance_at_p_star"]
    assert "(K = 10 answers)" in rows["entropy_low_nats"]
    assert "no learning signal (all fail or all pass)" in out.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["threshold", "--group-size", "1"], "g must be an integer >= 2"),
        (["threshold", "--group-size", "abc"], "integer"),
        (["threshold", "--group-size", "8", "--level", "1.5"], "level"),
        (["threshold", "--group-size", "8", "--n-outcomes", "1"], "n_outcomes"),
        (["threshold"], "--group-size"),
        (["simulate", "--depths", "1,x"], "--depths"),
        (["simulate", "--seeds", "0"], "seeds must be an integer >= 1"),
        (["simulate", "-g", "1"], "group_size must be an integer >= 2"),
        (["no-such-command"], "no-such-command"),
        (["threshold", "-g", "8", "--json", "true"], "--json is a flag and takes no value"),
        (["compare", "--example", "paper-qwen", "--json", "false"], "--json is a flag"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert needle in lines[0]


def _trl_state(reward) -> str:
    steps = [{"step": s, "reward": reward if s == 3 else 0.4, "frac_reward_zero_std": 0.3,
              "entropy": 0.5} for s in range(1, 41)]  # fmt: skip
    return json.dumps({"log_history": steps, "max_steps": 100, "logging_steps": 1})


#: (file name, its text, the command's arguments before the file, what the line says)
BAD_FILES = [
    ("trainer_state.json", _trl_state("high"), ["monitor"],
     "trainer_state.json: column 'reward' holds text ('high' at step 3), not a number"),
    ("log.csv", "step,reward,frac_reward_zero_std\n1,0.2,0.5\n2,good,0.5\n", ["monitor"],
     "log.csv: column 'reward' holds text ('good' at step 2)"),
    ("log.jsonl", '{"step": 1, "score": "high", "entropy": 0.4}\n',
     ["monitor", "--reward-key", "score"], "column 'score' holds text ('high' at step 1)"),
    ("empty.json", "", ["monitor"], "empty.json is empty: no logged steps yet"),
    ("empty.json", "", ["rank"], "empty.json is empty: give the directory `rankinv validate`"),
    ("eval_results.json", " \n", ["rank"], "eval_results.json is empty: give the directory"),
    ("broken.json", '{"eval": ', ["rank"], "broken.json is not valid JSON"),
    ("empty.json", "", ["compare"], "empty.json is empty; pass a CSV or JSON file of checkpoints"),
    ("population.json", '{"a": 1}\n', ["calibrate", "--population"],
     "--population {path} is a file; give quick, full or the directory"),
]  # fmt: skip


@pytest.mark.parametrize("name,text,args,needle", BAD_FILES)
def test_bad_files_exit_2_with_one_line_naming_them(tmp_path, name, text, args, needle):
    """A log whose metric column holds text, an empty file, and a file where a folder is
    expected: one line naming the file (and the column and value), exit status 2."""
    path = tmp_path / name
    path.write_text(text)
    out = run_cli(*args, str(path))
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stdout + out.stderr
    assert needle.format(path=path) in lines[0] and str(path.name) in lines[0]


def test_simulate_overrides_reach_the_sweep(tmp_path):
    out = run_cli(
        "simulate", "--depths", "1,8", "--seeds", "2", "-g", "4", "--rl-steps", "20",
        "--json", "--out", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["work"]["runs"] == 4 and data["work"]["rl_steps"] == 20
    assert data["work"]["group_size"] == 4 and data["depths"] == [1.0, 1.0, 8.0, 8.0]
    assert data["p_star_analytic"] == pytest.approx(theory.p_star(4))
    assert len(list((tmp_path / "logs").glob("*.jsonl"))) == 4


def test_simulate_name_shows_regime_overrides_and_not_seeds():
    from rankinv.cli.simulate import sweep_name

    assert sweep_name("qwen-like", {"seeds": 4}) == "qwen-like"
    assert sweep_name("qwen-like", {"seeds": 4, "rl_steps": 20, "eval_every": 10}) == (
        "qwen-like+overrides (rl-steps)"
    )
    assert sweep_name("quick", {"sft_depths": (1.0,), "group_size": 4}) == (
        "quick+overrides (depths, g)"
    )


def test_simulate_two_checkpoints_inversion_is_na_not_no(tmp_path):
    out = run_cli(
        "simulate", "--depths", "1,16", "--seeds", "1", "--rl-steps", "10", "--out", str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    assert "inversion: n/a (needs at least 3 checkpoints)" in out.stdout
    assert "inversion: no" not in out.stdout
    saved = json.loads((tmp_path / "simulate.json").read_text())
    assert saved["inversion"] is None
    from rankinv.report import build_report

    assert "Inversion: **n/a (needs at least 3 checkpoints)**" in build_report(tmp_path).read_text()


@pytest.mark.parametrize(
    "command", ["threshold", "simulate", "monitor", "compare", "report", "demo"]
)
def test_help_shows_json_as_a_flag(command):
    out = run_cli(command, "--help")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "--json" in x)
    assert "<bool>" not in out.stdout and "Print JSON" in line


def test_tables_to_a_pipe_are_not_cut():
    out = run_cli("compare", "--example", "paper-qwen")
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout
    assert "headroom" in out.stdout and "pre_pass_at_1" in out.stdout


def test_simulate_three_checkpoints_is_no_evidence_not_an_inversion(tmp_path):
    # at n = 3 the exact permutation p is at least 1/3: no evidence either way, not a trend
    out = run_cli("simulate", "--depths", "0,2,4", "--seeds", "1", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "inversion: no evidence of an ordering" in out.stdout
    saved = json.loads((tmp_path / "simulate.json").read_text())
    assert saved["inversion"] is False
    assert saved["inversion_call"] == "no evidence of an ordering"
    assert saved["spearman_pre_pass1_vs_post"]["p_value"] >= 1 / 3 - 1e-9


def test_simulate_population_refuses_preset_options():
    out = run_cli("simulate", "--population", "quick", "--seeds", "2")
    assert out.returncode == 2 and "--seeds would be ignored" in out.stderr


def test_threshold_approximation_follows_the_level():
    import math

    out = run_cli("threshold", "-g", "8", "--level", "0.3", "--json")
    assert json.loads(out.stdout)["p_star_ln2_over_g"] == pytest.approx(math.log(1 / 0.3) / 8)


def test_an_internal_error_is_reported_as_a_bug_not_as_bad_input(monkeypatch, capsys):
    """A ValueError from inside rankinv (here a zip(strict=True) mismatch) is our bug: exit 1
    and a line that says so; only a UserError is the user's mistake (exit 2)."""
    from rankinv.cli import main
    from rankinv.errors import UserError

    def broken(*a, **k):
        return list(zip([1, 2], [1], strict=True))

    monkeypatch.delenv("RANKINV_DEBUG", raising=False)
    monkeypatch.setattr(theory, "threshold_summary", broken)
    with pytest.raises(SystemExit) as exc:
        main(["threshold", "--group-size", "8"])
    err = capsys.readouterr().err
    assert exc.value.code == 1
    assert "internal error (a bug in rankinv" in err and "ValueError" in err
    assert len(err.strip().splitlines()) == 1

    def refused(*a, **k):
        raise UserError("group size must be an integer >= 2, got 1")

    monkeypatch.setattr(theory, "threshold_summary", refused)
    with pytest.raises(SystemExit) as exc:
        main(["threshold", "--group-size", "1"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "rankinv: error: group size must be an integer >= 2, got 1"
    )
    monkeypatch.setenv("RANKINV_DEBUG", "1")
    monkeypatch.setattr(theory, "threshold_summary", broken)
    with pytest.raises(ValueError, match="shorter"):
        main(["threshold", "--group-size", "8"])


def test_validate_checks_allow_import_before_anything_heavy(tmp_path):
    from typer.testing import CliRunner

    from rankinv.cli import app
    from rankinv.errors import UserError

    args = ["validate", "--model", str(tmp_path), "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(app, [*args, "--allow-import", "no_such_module_xyz"])
    assert isinstance(res.exception, UserError) and "no_such_module_xyz" in str(res.exception)


def test_validate_passes_allow_import_and_workers_to_the_probe(tmp_path, monkeypatch):
    """--allow-import reaches the probe's sandbox through its config (no module global)."""
    import rankinv.validate.models as sampler
    import rankinv.validate.probe as probe
    from rankinv.cli import main

    seen = {}

    def fake_probe(model, cfg, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(sampler, "resolve_model_dir", lambda m: (tmp_path, None))
    monkeypatch.setattr(probe, "run_probe", fake_probe)
    args = ["validate", "--model", str(tmp_path), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit):
        main([*args, "--allow-import", "json", "--workers", "3", "--json"])
    assert seen["cfg"].allow_imports == ("json",) and seen["cfg"].workers == 3
    with pytest.raises(SystemExit):
        main([*args, "--overwrite", "--json"])
    assert seen["cfg"].allow_imports == () and seen["cfg"].workers is None


FAST_EXIT = """
import atexit, sys, threading, time
import rankinv.cli as cli
path = sys.argv[1]
def late():  # a non-daemon thread still writing when the command returns
    time.sleep(0.3)
    with open(path + ".thread", "w") as fh:
        fh.write("joined")
threading.Thread(target=late).start()
atexit.register(lambda: open(path + ".atexit", "w").write("ran"))
sys.argv = ["rankinv", *sys.argv[2:]]
cli.entry()
"""


@pytest.mark.parametrize("args,code", [(["threshold", "--group-size", "8", "--json"], 0),
                                       (["threshold", "--group-size", "0"], 2)])  # fmt: skip
def test_the_console_script_exits_fast_but_keeps_what_a_normal_exit_keeps(tmp_path, args, code):
    """entry() skips the interpreter's teardown, not the user's results: non-daemon threads
    are joined, atexit handlers run, stdout is flushed whole, the exit status is main's."""
    p = str(tmp_path / "mark")
    out = subprocess.run(
        [sys.executable, "-c", FAST_EXIT, p, *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == code, out.stderr
    assert open(p + ".thread").read() == "joined" and open(p + ".atexit").read() == "ran"
    if code == 0:
        assert json.loads(out.stdout)["group_size"] == 8
    else:
        assert out.stderr.startswith("rankinv: error:") and out.stdout == ""


def test_rank_warnings_go_to_stderr_apart_from_the_results(tmp_path):
    """A percent column is read as shares with a warning on stderr, never inside the table."""
    csv = tmp_path / "pct.csv"
    csv.write_text("name,pre_pass_at_1,pre_pass_at_k\na,30,60\nb,40,70\nc,20,50\n")
    out = run_cli("rank", "--table", str(csv))
    assert out.returncode == 0, out.stderr
    assert "pre_pass_at_1 is in percent (largest 40): read as 0.4" in out.stderr
    assert "warning" not in out.stdout
