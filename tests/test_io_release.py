"""A command refused on bad input gives up its --out folder: one it made for the command
goes (no stray .rankinv-writer.lock), one that held results stays, unlocked."""

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
