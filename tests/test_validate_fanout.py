"""Probing a ladder (rankinv.validate.fanout): names, plans, the local worker processes and
the Ray backend giving exactly the probes of one process, device slots of the tensor-parallel
size, idle workers taking shards of a checkpoint (merged, resumable), progress lines from
every worker."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import fake_vllm  # noqa: E402
from tiny_models import build_model  # noqa: E402

from rankinv._io import LOCK_FILE  # noqa: E402
from rankinv.errors import UserError  # noqa: E402
from rankinv.validate.config import ProbeConfig  # noqa: E402
from rankinv.validate.fanout import (  # noqa: E402
    ProbeJob,
    checkpoint_names,
    plan_jobs,
    run_split,
    validate_many,
)
from rankinv.validate.workers import run_inline  # noqa: E402

CFG = ProbeConfig(samples=4, group_size=4, limit=2, max_new_tokens=8, workers=1)


@pytest.fixture(scope="module")
def ladder(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("ladder")
    return [
        str(build_model("qwen2", root / "step-100", tokenizer, seed=1)),
        str(build_model("llama", root / "step-200", tokenizer, seed=2)),
    ]


@pytest.fixture(scope="module")
def ladder3(ladder, tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("ladder3")
    return [*ladder, str(build_model("qwen2", root / "step-300", tokenizer, seed=3))]


NAMES3 = ("step-100", "step-200", "step-300")
#: 3 checkpoints of 2 problems on 4 workers: the first in 2 shards, one problem each
UNITS3 = [(0, 0, 2), (0, 1, 2), (1, 0, 1), (2, 0, 1)]


@pytest.fixture(scope="module")
def split_in_one_process(ladder3, tmp_path_factory):
    """The 4 units of 3 checkpoints on 4 workers, run one after another in this process."""
    out = tmp_path_factory.mktemp("split")
    sums = run_split(plan_jobs(ladder3, out, template()), 4, run_inline)
    assert sorted((w["job"], w["shard"], w["of"]) for s in sums for w in s["workers"]) == UNITS3
    return out, sums


def template(**kw):
    return ProbeJob(**{"model": "", "out": "", "cfg": CFG, "progress": False, **kw})


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
    assert [j.name for j in two] == ["a", "b"] and one[0].name is None  # the probes' names
    runs = plan_jobs(["r1/final", "r2/final"], tmp_path, template(record_path=True))
    assert [j.name for j in runs] == ["r1-final", "r2-final"] and runs[0].record_path
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


def test_one_worker_per_device_group_equals_one_process(ladder, in_process, tmp_path):
    """Two device workers (spawned processes, CUDA_VISIBLE_DEVICES pinned to two devices
    each at --tensor-parallel-size 2: here no GPU, the HF engine ignores the option) write
    exactly the probes the in-process run wrote."""
    ref, ref_sums = in_process
    tp2 = template(engine_options={"tensor_parallel_size": 2})
    sums = validate_many(ladder, tmp_path, tp2, devices=["0", "1", "2", "3"])
    for name in ("step-100", "step-200"):
        assert probe_files(tmp_path / name) == probe_files(ref / name)
    assert [s["pass_at_1"] for s in sums] == [s["pass_at_1"] for s in ref_sums]
    where = sorted(w["where"] for s in sums for w in s["workers"])
    assert where == ["slot 0 (GPU 0,1)", "slot 1 (GPU 2,3)"]


def test_a_tensor_parallel_size_that_does_not_divide_the_gpus_is_refused(ladder, tmp_path):
    tp3 = template(engine_options={"tensor_parallel_size": 3})
    with pytest.raises(UserError, match="^--tensor-parallel-size 3 does not divide the 4 visible"):
        validate_many(ladder, tmp_path / "d", tp3, devices=["0", "1", "2", "3"])
    assert not (tmp_path / "d").exists()  # refused before any folder is claimed
    # the command: exit 2, one line, before any model loads
    run = _validate(*[a for m in ladder for a in ("--model", m)], "--engine", "vllm",
                    "--tensor-parallel-size", "3", "--out", tmp_path / "e",
                    env={"CUDA_VISIBLE_DEVICES": "0,1,2,3"})  # fmt: skip
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2 and len(err.strip().splitlines()) == 1, err[-2000:]
    assert "--tensor-parallel-size 3 does not divide the 4 visible GPUs" in err


def test_three_checkpoints_on_four_local_workers_use_all_four(
    ladder3, split_in_one_process, tmp_path, capsys
):
    """4 worker processes for 3 checkpoints: the idle one takes half of the first
    checkpoint's problems; every worker runs one unit and says so; the merged probes are
    those of the same shards run in one process, and no shard folder is left."""
    ref, ref_sums = split_in_one_process
    sums = validate_many(ladder3, tmp_path, template(progress=True), devices=["", "", "", ""],
                         every_s=0)  # fmt: skip
    workers = [w for s in sums for w in s["workers"]]
    assert sorted((w["job"], w["shard"], w["of"]) for w in workers) == UNITS3
    assert sorted(w["where"] for w in workers) == ["slot 0", "slot 1", "slot 2", "slot 3"]
    assert len({w["pid"] for w in workers}) == 4
    err = capsys.readouterr().err
    for label in ("step-100 shard 1/2", "step-100 shard 2/2", "step-200", "step-300"):
        for line in ("started on slot", "sampling 4 samples" if "shard" in label else
                     "sampling 8 samples", "sampled", "done in"):  # fmt: skip
            assert f"[{label}] {line}" in err, (label, line, err[-3000:])
    for name in NAMES3:
        assert probe_files(tmp_path / name) == probe_files(ref / name)
        assert not (tmp_path / name / ".shards").exists()
    assert [s["pass_at_1"] for s in sums] == [s["pass_at_1"] for s in ref_sums]
    assert sums[0]["new_samples"] == 8 and sums[0]["n_problems"] == 2


def test_local_workers_share_the_cpus_for_their_sandboxes(monkeypatch, tmp_path):
    """Each local worker's sandbox takes (CPUs - 1) // the workers running, not CPUs - 1;
    --workers, where given, is kept; one worker in this process keeps the default."""
    from dataclasses import replace

    from rankinv.validate import fanout

    seen = {}
    monkeypatch.setattr(fanout, "node_cpus", lambda: 17)

    def run_split(jobs, n_slots, run):
        seen[n_slots] = [j.cfg.workers for j in jobs]

    monkeypatch.setattr(fanout, "run_split", run_split)
    free = template(cfg=replace(CFG, workers=None))
    jobs = plan_jobs(["m/a", "m/b", "m/c"], tmp_path, free)  # 2 problems each
    fanout.run_local(jobs, ["0", "1", "2", "3"])  # 4 units on 4 workers: 16 // 4
    fanout.run_local(jobs, [str(i) for i in range(8)])  # 3 x 2 shards on 6 workers: 16 // 6
    fanout.run_local(jobs, ["0"])  # in this process: the probe's own default
    assert seen == {4: [4, 4, 4], 8: [2, 2, 2], 1: [None, None, None]}
    fanout.run_local(plan_jobs(["m/a", "m/b"], tmp_path, template()), ["0", "1"])
    assert seen[2] == [1, 1]  # --workers 1 given


def test_a_split_checkpoint_resumes_after_a_lost_shard(ladder, tmp_path):
    """A shard that failed leaves its checkpoint unsummarised and the other shard's records
    in place; the rerun samples only the lost shard's problems and writes the probe an
    uninterrupted split run writes; a rerun unsplit finds every sample there. The probe
    names its checkpoint by folder, its path recorded only where asked (split or not)."""
    jobs = plan_jobs([ladder[0]], tmp_path / "a", template(record_path=True))

    def first_only(js, us):
        return [run_inline(js, us[:1])[0], (None, RuntimeError("worker lost"))]

    with pytest.raises(RuntimeError, match=r"failed: RuntimeError\('worker lost'\)"):
        run_split(jobs, 2, first_only)
    assert (tmp_path / "a" / ".shards" / "1-of-2" / "samples.jsonl").is_file()
    assert not (tmp_path / "a" / "validate_summary.json").exists()
    again = run_split(jobs, 2, run_inline)
    assert again[0]["new_samples"] == 4  # the lost shard's problem, 4 samples
    ref = run_split(plan_jobs([ladder[0]], tmp_path / "b", template()), 2, run_inline)
    assert probe_files(tmp_path / "a") == probe_files(tmp_path / "b")
    assert ref[0]["pass_at_1"] == again[0]["pass_at_1"]
    once = run_split(jobs, 1, run_inline)
    assert once[0]["new_samples"] == 0 and once[0]["pass_at_1"] == ref[0]["pass_at_1"]
    path = str(Path(ladder[0]).resolve())
    assert again[0]["setup"]["model_path"] == once[0]["setup"]["model_path"] == path
    assert ref[0]["setup"]["model_path"] is None
    assert again[0]["setup"]["model"] == ref[0]["setup"]["model"] == Path(ladder[0]).name


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


def _validate(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rankinv.cli", "validate", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
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


def _vllm_probe(d: Path) -> tuple:
    """A vLLM probe's samples (exact) and entropies (by problem and sample), its problems."""
    recs = [json.loads(x) for x in (d / "samples.jsonl").read_text().splitlines()]
    samples = sorted((r["task_id"], r["sample"], r["completion"], r["passed"], r["token_ids"])
                     for r in recs if r.get("kind") is None)  # fmt: skip
    entropy = {(r["task_id"], r["sample"]): r["mean_entropy"] for r in recs if r.get("kind")}
    problems = [json.loads(x) for x in (d / "problems.jsonl").read_text().splitlines()]
    return samples, entropy, problems


def test_shards_merge_into_the_unsplit_probe_where_seeds_are_per_problem(
    ladder, tmp_path, monkeypatch
):
    """vLLM seeds each problem's request by itself (the test double samples from that seed
    alone): a checkpoint split in 2 shards merges into the probe an unsplit run writes,
    entropies (scored per shard) equal to rounding."""
    fake_vllm.install(monkeypatch)
    cfg = ProbeConfig(samples=4, group_size=4, limit=2, max_new_tokens=8, workers=1)
    tmpl = ProbeJob(model="", out="", cfg=cfg, engine="vllm", progress=False)
    whole = run_split(plan_jobs([ladder[0]], tmp_path / "whole", tmpl), 1, run_inline)
    split = run_split(plan_jobs([ladder[0]], tmp_path / "split", tmpl), 2, run_inline)
    assert [(w["shard"], w["of"]) for w in split[0]["workers"]] == [(0, 2), (1, 2)]
    (s1, h1, p1), (s2, h2, p2) = _vllm_probe(tmp_path / "whole"), _vllm_probe(tmp_path / "split")
    assert s1 == s2 and len(s1) == 8
    assert h1.keys() == h2.keys() and all(h2[k] == pytest.approx(h1[k], rel=1e-5) for k in h1)
    for a, b in zip(p1, p2, strict=True):
        assert {k: v for k, v in a.items() if "entropy" not in k} == {
            k: v for k, v in b.items() if "entropy" not in k
        }
        assert b["prompt_entropy"] == pytest.approx(a["prompt_entropy"], rel=1e-5)
    assert split[0]["pass_at_1"] == whole[0]["pass_at_1"]
    assert split[0]["new_samples"] == 8 and split[0]["new_entropies_scored"] == 8
    assert split[0]["setup"] == whole[0]["setup"]


def test_ray_address_as_ray_init_reads_it(monkeypatch):
    """No --ray-address starts a local instance (address="local": never a cluster found
    through RAY_ADDRESS or the last `ray start`), "auto" joins the running cluster,
    host:port that cluster; a cluster that is not there is one line."""
    ray = pytest.importorskip("ray")
    from rankinv.validate.ray_backend import ray_session

    calls = []

    def init(address=None, **kw):
        calls.append((address, kw["runtime_env"]))
        raise ConnectionError("Could not find any running Ray instance.\nmore")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    for given, said in [
        (None, "--backend ray (a local instance)"),
        ("auto", "--ray-address auto"),
        ("10.0.0.1:6379", "--ray-address 10.0.0.1:6379"),
    ]:
        with pytest.raises(UserError, match=f"^{re.escape(said)}: Could not find any running Ray"):
            with ray_session(given):
                pass
    local_env = {"env_vars": {"PYTHONPATH": "/somewhere"}}
    assert calls == [("local", local_env), ("auto", None), ("10.0.0.1:6379", None)]


@pytest.mark.slow
def test_ray_three_checkpoints_use_all_four_workers(
    ladder3, split_in_one_process, tmp_path, capsys
):
    """Ray on 4 CPUs, 3 checkpoints: 4 tasks at once (4 worker processes, their runs
    overlapping), the idle worker taking half of the first checkpoint; progress lines from
    every task reach the driver; the probes are those of the same shards in one process."""
    ray = pytest.importorskip("ray")
    ref, ref_sums = split_in_one_process
    env = {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}}
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False,
             runtime_env=env)  # fmt: skip
    try:
        sums = validate_many(ladder3, tmp_path, template(progress=True), backend="ray",
                             every_s=0)  # fmt: skip
    finally:
        ray.shutdown()
    workers = [w for s in sums for w in s["workers"]]
    assert sorted((w["job"], w["shard"], w["of"]) for w in workers) == UNITS3
    assert len({w["pid"] for w in workers}) == 4
    assert max(w["start"] for w in workers) < min(w["end"] for w in workers)  # all at once
    assert all(w["where"].startswith("Ray node ") for w in workers)
    err = capsys.readouterr().err
    for label in ("step-100 shard 1/2", "step-100 shard 2/2", "step-200", "step-300"):
        for line in ("started on Ray node", "sampling", "sampled", "done in"):
            assert f"[{label}] {line}" in err, (label, line, err[-3000:])
    for name in NAMES3:
        assert probe_files(tmp_path / name) == probe_files(ref / name)
    assert [s["pass_at_1"] for s in sums] == [s["pass_at_1"] for s in ref_sums]
