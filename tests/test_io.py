"""rankinv._io: atomic JSON, JSONL that survives a cut line, --out folders that hold one run."""

import json

import pytest

from rankinv._io import RUN_FILE, append_jsonl, claim_out_dir, read_jsonl
from rankinv.errors import UserError


def test_a_cut_last_line_is_dropped_and_a_cut_middle_line_is_named(tmp_path):
    p = tmp_path / "r.jsonl"
    append_jsonl(p, {"a": 1})
    append_jsonl(p, {"a": 2})
    p.write_text(p.read_text() + '{"a": 3')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]
    p.write_text('{"a": 1}\n{"a"\n{"a": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_jsonl(p)


def test_the_same_run_resumes_in_its_folder(tmp_path):
    ident = {"command": "simulate", "config": {"seeds": 2, "depths": (1, 2)}}
    d = claim_out_dir(tmp_path / "o", ident)
    (d / "simulate.json").write_text("{}")
    assert claim_out_dir(tmp_path / "o", ident) == d
    assert (d / "simulate.json").exists()
    assert json.loads((d / RUN_FILE).read_text())["config"]["depths"] == [1, 2]


def test_another_run_is_refused_naming_the_difference(tmp_path):
    claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/a", "seed": 0})
    (tmp_path / "o" / "samples.jsonl").write_text("{}\n")
    with pytest.raises(UserError, match=r"model: '/m/a' there, '/m/b' now.*--overwrite"):
        claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/b", "seed": 0})
    with pytest.raises(UserError, match=r"config.seeds: 2 there, 3 now"):
        claim_out_dir(tmp_path / "s", {"config": {"seeds": 2}})
        claim_out_dir(tmp_path / "s", {"config": {"seeds": 3}})
    # --overwrite empties the other run's folder, then claims it
    claim_out_dir(tmp_path / "o", {"command": "validate", "model": "/m/b", "seed": 0}, True)
    assert not (tmp_path / "o" / "samples.jsonl").exists()


def test_overwrite_never_empties_a_folder_rankinv_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(UserError, match="not written by a rankinv run"):
        claim_out_dir(tmp_path / "mine", {"command": "demo"}, overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is an existing file"):
        claim_out_dir(tmp_path / "f", {"command": "demo"})
