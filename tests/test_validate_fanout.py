"""Probing a ladder (rankinv.validate.fanout): names, plans, and the local worker processes
and the Ray backend giving exactly the probes of one process."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv._io import LOCK_FILE  # noqa: E402
from rankinv.errors import UserError  # noqa: E402
from rankinv.validate.config import ProbeConfig  # noqa: E402
from rankinv.validate.fanout import (  # noqa: E402
    ProbeJob,
    checkpoint_names,
    plan_jobs,
    validate_many,
)

CFG = ProbeConfig(samples=4, group_size=4, limit=2, max_new_tokens=8, workers=1)


@pytest.fixture(scope="module")
def ladder(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("ladder")
    return [
        str(build_model("qwen2", root / "step-100", tokenizer, seed=1)),
        str(build_model("llama", root / "step-200", tokenizer, seed=2)),
    ]


def template(**kw):
    return ProbeJob(model="", out="", cfg=CFG, progress=False, **kw)


def test_checkpoint_names(tmp_path):
    assert checkpoint_names(["a/ckpt-1", "a/ckpt-2"]) == ["ckpt-1", "ckpt-2"]
    assert checkpoint_names(["run1/final", "run2/final"]) == ["run1-final", "run2-final"]
    with pytest.raises(UserError, match="share the output directory 'x-final'"):
        checkpoint_names(["a/x/final", "b/x/final"])


def test_one_model_goes_to_out_several_to_subdirectories(tmp_path):
    one = plan_jobs(["m/a"], tmp_path, template())
    assert [(j.model, j.out) for j in one] == [("m/a", str(tmp_path))]
    two = plan_jobs(["m/a", "m/b"], tmp_path, template(engine="hf"))
    assert [j.out for j in two] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert all(j.cfg is CFG and j.engine == "hf" for j in two)
    with pytest.raises(UserError, match="given twice"):
        plan_jobs(["m/a", "m/a"], tmp_path, template())


def test_backend_options_are_checked(tmp_path):
    with pytest.raises(UserError, match="--backend must be one of local, ray"):
        validate_many(["m/a"], tmp_path, template(), backend="slurm")
    with pytest.raises(UserError, match="--ray-address goes with --backend ray"):
        validate_many(["m/a"], tmp_path, template(), ray_address="ray://x:10001")


def probe_files(d: Path) -> tuple:
    """What a probe measured, without timings: every sample and every problem record."""
    samples = sorted(
        (r["task_id"], r["sample"], r["completion"], r["passed"], r["mean_entropy"])
        for r in map(json.loads, (d / "samples.jsonl").read_text().splitlines())
    )
    problems = (d / "problems.jsonl").read_text()
    return samples, problems


@pytest.fixture(scope="module")
def in_process(ladder, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    sums = validate_many(ladder, out, template(), devices=[])
    assert [s["out"] for s in sums] == [str(out / "step-100"), str(out / "step-200")]
    return out, sums


def test_one_worker_per_device_equals_one_process(ladder, in_process, tmp_path):
    """Two device workers (spawned processes, CUDA_VISIBLE_DEVICES pinned: here no GPU)
    write exactly the probes the in-process run wrote."""
    ref, ref_sums = in_process
    sums = validate_many(ladder, tmp_path, template(), devices=["", ""])
    for name in ("step-100", "step-200"):
        assert probe_files(tmp_path / name) == probe_files(ref / name)
    assert [s["pass_at_1"] for s in sums] == [s["pass_at_1"] for s in ref_sums]


@pytest.mark.slow
def test_ray_backend_equals_local(ladder, in_process, tmp_path):
    """One Ray task per checkpoint on a local Ray instance (CPUs): the same probes."""
    pytest.importorskip("ray")
    ref, ref_sums = in_process
    sums = validate_many(ladder, tmp_path, template(), backend="ray")
    for name in ("step-100", "step-200"):
        assert probe_files(tmp_path / name) == probe_files(ref / name)
    assert [s["entropy_rollout"] for s in sums] == [s["entropy_rollout"] for s in ref_sums]
    # a rerun resumes: every sample is already there
    again = validate_many(ladder, tmp_path, template(), backend="ray")
    assert [s["new_samples"] for s in again] == [0, 0]


def _validate(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rankinv.cli", "validate", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_validates_on_one_checkpoint_folder_are_refused(ladder, tmp_path):
    """Each checkpoint's folder DIR/<name>/ has one writer, not only DIR: a validate of one
    of the ladder's checkpoints into DIR/<name> while a validate of the ladder into DIR
    runs (and the other way round) exits 2 in one line naming the holder's pid; nothing
    is written to a folder it was refused."""
    common = ["--benchmark", "synthetic", "--group-size", "4", "--max-new-tokens", "48"]
    ladder_run = _validate(*[a for m in ladder for a in ("--model", m)], *common,
                           "--samples", "64", "--out", tmp_path / "d")  # fmt: skip
    lock = tmp_path / "d" / "step-200" / LOCK_FILE
    try:
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text() == f"{ladder_run.pid}\n"):
            assert ladder_run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        one = _validate("--model", ladder[1], *common, "--samples", "4", "--out", lock.parent)
        _, err = one.communicate(timeout=120)
        assert ladder_run.poll() is None, "the ladder's run ended before the check"
    finally:
        ladder_run.kill()
        ladder_run.wait()
    assert one.returncode == 2 and len(err.strip().splitlines()) == 1, err[-2000:]
    assert f"pid {ladder_run.pid}" in err and str(lock.parent) in err
    # the other way round: one checkpoint's validate holds d2/step-200; the ladder's stops
    one = _validate("--model", ladder[1], *common, "--samples", "256", "--out",
                    tmp_path / "d2" / "step-200")  # fmt: skip
    lock = tmp_path / "d2" / "step-200" / LOCK_FILE
    try:
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text() == f"{one.pid}\n"):
            assert one.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        both = _validate(*[a for m in ladder for a in ("--model", m)], *common,
                         "--samples", "4", "--out", tmp_path / "d2")  # fmt: skip
        _, err = both.communicate(timeout=120)
        assert one.poll() is None, "the checkpoint's run ended before the check"
    finally:
        one.kill()
        one.wait()
    assert both.returncode == 2 and len(err.strip().splitlines()) == 1, err[-2000:]
    assert f"pid {one.pid}" in err
    assert sorted(os.listdir(tmp_path / "d2" / "step-100")) == [LOCK_FILE]
