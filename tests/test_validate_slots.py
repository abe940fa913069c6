"""A ladder's budget and its parts, without a model: device slots under tensor parallelism,
sandbox processes per node, shards of a checkpoint's problems, a Ray cluster's budget,
progress lines, and the folding of shard records (rankinv.validate.slots, progress, shards)."""

import json
import queue

import pytest

from rankinv.errors import UserError
from rankinv.validate import shards
from rankinv.validate.progress import Printer, Reporter
from rankinv.validate.slots import (
    Unit,
    device_slots,
    plan_units,
    ray_nodes_budget,
    sandbox_budget,
)


def test_device_slots_are_groups_of_the_tensor_parallel_size():
    gpus = [str(i) for i in range(8)]
    assert device_slots(gpus) == gpus
    assert device_slots(gpus, 2) == ["0,1", "2,3", "4,5", "6,7"]
    assert device_slots(gpus, 8) == ["0,1,2,3,4,5,6,7"]
    assert device_slots([], 4) == []  # no GPU: the engine says what it lacks
    with pytest.raises(UserError, match="^--tensor-parallel-size 3 does not divide the 8 vis"):
        device_slots(gpus, 3)
    with pytest.raises(UserError, match="^--tensor-parallel-size 4 does not divide the 2 vis"):
        device_slots(["0", "1"], 4)
    with pytest.raises(UserError, match="must be an integer >= 1, got 0"):
        device_slots(gpus, 0)


def test_sandbox_processes_are_shared_by_the_workers_of_a_node():
    """(CPUs - 1) // workers on the node, at least 1: not CPUs - 1 for each worker."""
    assert [sandbox_budget(16, w) for w in (1, 2, 3, 8, 15, 16, 32)] == [15, 7, 5, 1, 1, 1, 1]
    assert sandbox_budget(2, 1) == 1 and sandbox_budget(1, 1) == 1 and sandbox_budget(96, 4) == 23


def _split(units):
    return [(u.job, u.shard, u.of) for u in units]


def test_idle_workers_take_shards_of_the_checkpoints():
    # 3 checkpoints on 8 GPUs: 3, 3 and 2 shards, every problem in exactly one shard
    units = plan_units(3, 8, 164)
    assert [sum(u.job == j for u in units) for j in range(3)] == [3, 3, 2]
    for j in range(3):
        probs = [p for u in units if u.job == j for p in u.problems]
        assert sorted(probs) == list(range(164))
    assert units[0].problems[:3] == (0, 3, 6) and units[7].problems[:3] == (1, 3, 5)
    assert _split(plan_units(3, 4, 3)) == [(0, 0, 2), (0, 1, 2), (1, 0, 1), (2, 0, 1)]
    assert plan_units(3, 4, 3)[0].problems == (0, 2) and plan_units(3, 4, 3)[2].problems is None
    # as many workers as checkpoints, or more checkpoints: one unit each, unsplit
    assert _split(plan_units(4, 4, 164)) == [(j, 0, 1) for j in range(4)]
    assert _split(plan_units(9, 4, 164)) == [(j, 0, 1) for j in range(9)]
    # never more shards than problems
    assert _split(plan_units(1, 8, 3)) == [(0, 0, 3), (0, 1, 3), (0, 2, 3)]
    assert _split(plan_units(2, 8, 1)) == [(0, 0, 1), (1, 0, 1)]
    assert Unit(0, 1, 3).label == "shard 2/3" and Unit(0).label == ""


def _node(nid, cpus, gpus=0, alive=True):
    return {"NodeID": nid, "Alive": alive, "Resources": {"CPU": cpus, "GPU": gpus}}


def test_a_ray_cluster_budget():
    nodes = [_node("a", 32, 8), _node("b", 32, 8), _node("dead", 64, 8, alive=False)]
    assert ray_nodes_budget(nodes, 2) == (8, {"a": 7, "b": 7}, {"num_gpus": 2})
    assert ray_nodes_budget(nodes, 1) == (16, {"a": 3, "b": 3}, {"num_gpus": 1})
    with pytest.raises(UserError, match="^--tensor-parallel-size 3 does not divide the 16 GPUs"):
        ray_nodes_budget(nodes, 3)
    with pytest.raises(UserError, match="no node of the Ray cluster has 4 GPUs"):
        ray_nodes_budget([_node("a", 8, 2), _node("b", 8, 2)], 4)
    # CPUs only: a task per CPU, one sandbox process each
    assert ray_nodes_budget([_node("c", 4)], 1) == (4, {"c": 1}, {"num_cpus": 1})


def test_progress_lines_say_where_a_worker_is():
    now = [0.0]
    sent = []
    bar = Reporter("step-100 shard 1/2", 100, sent.append, every_s=30, clock=lambda: now[0])
    for t in (10, 20, 30, 40, 65):
        now[0] = t
        bar.update(10)
    now[0] = 100
    bar.close()
    assert sent == [
        "[step-100 shard 1/2] sampling 100 samples",
        "[step-100 shard 1/2] 30/100 samples, 1.00 samples/s, 1 min 10 s left",
        "[step-100 shard 1/2] 50/100 samples, 0.77 samples/s, 1 min 05 s left",
        "[step-100 shard 1/2] sampled 50/100 in 1 min 40 s (0.50 samples/s)",
    ]


def test_the_printer_writes_every_line_sent_before_it_stops():
    q, out = queue.Queue(), []
    with Printer(q.get, out.append) as printer:
        q.put("a")
        q.put("b")
    assert out == printer.lines == ["a", "b"]


def _rec(task, sample, key="k", **kw):
    return {"run_key": key, "task_id": task, "sample": sample, **kw}


def _write(path, recs, cut=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in recs)
    path.write_text(text + ('{"run_key": "k", "task' if cut else ""))


def _read(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_shard_records_fold_into_the_checkpoint_once(tmp_path):
    """fold appends what the shard folders hold and the checkpoint lacks, in shard order,
    each record once (a cut last line skipped); seed gives a shard the checkpoint's records
    of its problems; a second fold or seed adds nothing."""
    d = tmp_path / "ckpt"
    _write(d / "samples.jsonl", [_rec("t0", 0), _rec("t1", 0)])
    u1, u2 = Unit(0, 0, 2, (0,)), Unit(0, 1, 2, (1,))
    assert shards.seed(d, u1, ["t0"]) == 1 and shards.seed(d, u2, ["t1"]) == 1
    assert _read(shards.shard_dir(d, u1) / "samples.jsonl") == [_rec("t0", 0)]
    assert shards.shard_dir(d, u2) == d / ".shards" / "2-of-2"
    with open(shards.shard_dir(d, u1) / "samples.jsonl", "a") as f:
        f.write(json.dumps(_rec("t0", 1)) + "\n" + json.dumps(_rec("t0", 1, kind="entropy")) + "\n")
    _write(shards.shard_dir(d, u2) / "samples.jsonl", [_rec("t1", 0), _rec("t1", 1)], cut=True)
    assert shards.fold(d) == 3
    assert _read(d / "samples.jsonl") == [
        _rec("t0", 0), _rec("t1", 0), _rec("t0", 1), _rec("t0", 1, kind="entropy"), _rec("t1", 1),
    ]  # fmt: skip
    assert shards.fold(d) == 0 and shards.seed(d, u1, ["t0"]) == 0
    shards.clear(d)
    assert not (d / ".shards").exists() and shards.fold(d) == 0
