"""The probe directory contract: ProbeResult save/load, legacy summaries, alike-sampling."""

import json
import os
import subprocess
import sys

import pytest

from rankinv.verdicts.probe_result import (
    PROBLEMS,
    SUMMARY,
    ProbeResult,
    ProbeSetup,
    sampling_differences,
)
from rankinv.verdicts.rank import rank


def _result(model="m", max_new_tokens=64, counts=(1, 2, 3)):
    setup = ProbeSetup(
        model=model,
        benchmark="humaneval",
        benchmark_hash="abc",
        n_problems=len(counts),
        samples=8,
        temperature=1.0,
        top_p=1.0,
        max_new_tokens=max_new_tokens,
        stop=("\ndef",),
        chat_template=False,
        engine="hf",
        end_tokens=(2, 5),
        group_size=4,
        rl_steps=20,
        batch_prompts=2,
        n_prompts=len(counts),
    )
    problems = [{"task_id": f"t{i}", "n": 8, "c": c} for i, c in enumerate(counts)]
    summary = {"model": model, "group_size": 4, "entropy_rollout": 0.4, "entropy_prompt": None}
    return ProbeResult(summary=summary, problems=problems, setup=setup)


def test_save_load_round_trip(tmp_path):
    r = _result()
    r.save(tmp_path / "p")
    back = ProbeResult.load(tmp_path / "p")
    assert back == r  # dir is not compared
    assert back.setup.stop == ("\ndef",) and back.setup.end_tokens == (2, 5)
    assert back.n == [8, 8, 8] and back.c == [1, 2, 3]
    assert "setup" not in back.summary  # the setup lives in one place


#: Saves a probe of 400 problems (about 12 kB of problems.jsonl) under a 4 kB file-size
#: limit, as a full disk would stop it: the write fails part way.
_SAVE_OVER_LIMIT = """
import resource, signal, sys
from rankinv.verdicts.probe_result import ProbeResult
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
old = ProbeResult.load(sys.argv[1])
big = ProbeResult(summary={**old.summary, "model": "new"}, setup=old.setup,
                  problems=[{"task_id": f"t{i}", "n": 8, "c": i % 9} for i in range(400)])
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    big.save(sys.argv[1])
except OSError as exc:
    print("failed:", exc.strerror)
"""


def test_a_save_that_fails_mid_write_leaves_the_old_files_whole(tmp_path):
    """problems.jsonl (and the summary) are written to a temporary file beside them and
    renamed: a write that fails part way (here the file-size limit, as a full disk) leaves
    the previous probe's files as they were, and no temporary file behind."""
    _result().save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", _SAVE_OVER_LIMIT, str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert run.returncode == 0 and run.stdout.startswith("failed: File too large"), run
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert ProbeResult.load(tmp_path) == _result()


def test_legacy_summary_rebuilds_the_setup(tmp_path):
    d = tmp_path / "old"
    d.mkdir()
    (d / PROBLEMS).write_text(json.dumps({"task_id": "a", "n": 4, "c": 1}) + "\n")
    legacy = {
        "model": "ckpt/e3",
        "group_size": 4,
        "tag": {"revision": "r1", "benchmark_hash": "h", "sampling": {"stop": ["x"]}},
        "config": {"samples": 4, "temperature": 0.7, "max_new_tokens": 32},
        "plan": {"group_size": 4, "rl_steps": 400, "batch_prompts": 32, "n_prompts": 1},
    }
    (d / SUMMARY).write_text(json.dumps(legacy))
    st = ProbeResult.load(d).setup
    assert (st.model, st.revision, st.benchmark_hash) == ("ckpt/e3", "r1", "h")
    assert (st.samples, st.temperature, st.max_new_tokens, st.stop) == (4, 0.7, 32, ("x",))
    assert (st.rl_steps, st.n_problems, st.end_tokens) == (400, 1, None)


@pytest.mark.parametrize(
    "write, msg",
    [
        (lambda d: None, "not a `rankinv validate` output"),
        (lambda d: (d / SUMMARY).write_text("{"), "not valid JSON"),
        (lambda d: (d / SUMMARY).write_text("[1]"), "not a JSON object"),
    ],
)
def test_load_names_what_is_wrong(tmp_path, write, msg):
    d = tmp_path / "p"
    d.mkdir()
    (d / PROBLEMS).write_text(json.dumps({"task_id": "a", "n": 4, "c": 1}) + "\n")
    write(d)
    with pytest.raises(ValueError, match=msg):
        ProbeResult.load(d)


def test_load_refuses_problems_without_counts(tmp_path):
    r = _result()
    r.save(tmp_path / "p")
    (tmp_path / "p" / PROBLEMS).write_text('{"task_id": "a", "n": 3}\n')
    with pytest.raises(ValueError, match="line 1 lacks n or c"):
        ProbeResult.load(tmp_path / "p")


def test_sampling_differences_name_the_field(tmp_path):
    a = _result("a").save(tmp_path / "a")
    b = _result("b", max_new_tokens=128).save(tmp_path / "b")
    probes = [ProbeResult.load(a), ProbeResult.load(b)]
    (diff,) = sampling_differences(probes)
    assert diff.startswith("max_new_tokens: 64") and "128" in diff
    with pytest.raises(ValueError, match="not sampled alike.*max_new_tokens"):
        rank([a, b], signal="pass_at_1")
    # the same setup but another model and seed is comparable
    c = _result("c", counts=(0, 8, 8)).save(tmp_path / "c")
    res = rank([a, c], signal="pass_at_1").to_json()
    assert {r["checkpoint"] for r in res["ranking"]} == {"a", "c"}
    assert {r["probe_dir"] for r in res["ranking"]} == {str(a), str(c)}


def test_rank_recomputes_the_signals_from_the_saved_counts(tmp_path):
    """One computation (issue 24): rank recomputes every signal from the probe's counts by
    signals.stage1_signals, so a summary saved by another version cannot leak its values."""
    a, b = _result("a"), _result("b", counts=(8, 8, 0))
    a.summary["signals"] = {"pass_at_1": 0.9}  # stale values: not read
    b.summary["signals"] = {"pass_at_1": 0.1}
    res = rank([a.save(tmp_path / "a"), b.save(tmp_path / "b")], signal="pass_at_1").to_json()
    values = {r["checkpoint"]: r["signal_value"] for r in res["ranking"]}
    assert values["b"] == pytest.approx(16 / 24)  # counts 8, 8, 0 of 8 samples each
    assert values["a"] != 0.9
