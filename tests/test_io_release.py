"""A command refused on bad input gives up its --out folder: one it made for the command
goes (no stray .rankinv-writer.lock), one that held results stays, unlocked."""

import json
import subprocess
import sys

from rankinv import _io


def test_a_refusal_removes_the_folder_it_made_and_keeps_one_with_results(tmp_path):
    made = tmp_path / "o12"
    _io.hold_folder(made)
    assert (made / _io.LOCK_FILE).exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "result.json").write_text("{}")
    _io.hold_folder(kept)
    _io.release_refused()
    assert not made.exists()
    assert (kept / "result.json").exists()
    with _io.claim_folder(kept):  # released: claimable again
        pass


def test_follow_on_a_missing_log_gives_up_with_exit_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "monitor", str(tmp_path / "nonexist.json"),
         "--follow", "--max-polls", "2", "--poll-s", "0.01"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and "no usable log appeared in 2 polls" in err[0]


def test_a_run_record_without_results_is_replaced_not_refused(tmp_path, caplog):
    import pytest

    from rankinv.errors import UserError

    d = tmp_path / "r10"
    with _io.claim_folder(d):
        _io.claim_out_dir(d, {"command": "validate", "max_new_tokens": 0})
    with caplog.at_level("WARNING", logger="rankinv"), _io.claim_folder(d):
        _io.claim_out_dir(d, {"command": "validate", "max_new_tokens": 8})
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "replacing the record of an earlier run that wrote no" in notes[0]
    assert "max_new_tokens: 0 there, 8 now" in notes[0]
    assert json.loads((d / _io.RUN_FILE).read_text())["max_new_tokens"] == 8
    (d / "samples.jsonl").write_text("{}\n")  # results: another run is refused again
    with pytest.raises(UserError, match="holds another run's results"):
        _io.claim_out_dir(d, {"command": "validate", "max_new_tokens": 16})


def test_a_refusal_removes_a_folder_it_made_holding_only_its_run_record(tmp_path):
    made = tmp_path / "r11"
    _io.hold_folder(made)
    _io.claim_out_dir(made, {"command": "validate", "max_new_tokens": 8})
    _io.release_refused()
    assert not made.exists()
