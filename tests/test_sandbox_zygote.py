"""_zygote: each completion runs in a process of its own, forked from a process that
never saw a test, and shares nothing with the next completion."""

from rankinv.sandbox import tasks as task_sets
from rankinv.sandbox.tasks import Task


def _task(test: str, prompt: str = "def f(*args, **kwargs):\n", entry: str = "f") -> Task:
    return Task("custom/0", prompt, entry, test, "    pass\n")


def test_the_completion_cannot_read_the_tests(sandbox):
    """Neither its memory (forked from a process that never saw a test), nor the gc
    objects, nor the harness's memory (another uid), nor the task files (hidden)."""
    test = "def check(candidate):\n    assert candidate() == 'SECRET' + '_EXPECTED_4321'\n"
    scan = (
        "    import ctypes, gc, os\n"
        "    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again: /proc/self/mem\n"
        "    a, b = b'SECRET_EXP', b'ECTED_4321'\n"
        "    for o in gc.get_objects():\n"
        "        s = repr(o).encode(errors='replace')\n"
        "        i = s.find(a)\n"
        "        if i >= 0 and s[i + len(a):i + len(a) + len(b)] == b:\n"
        "            return (a + b).decode()\n"
        "    for pid in os.listdir('/proc'):\n"
        "        if not pid.isdigit():\n"
        "            continue\n"
        "        try:\n"
        "            maps = open(f'/proc/{pid}/maps').read().splitlines()\n"
        "            mem = open(f'/proc/{pid}/mem', 'rb')\n"
        "        except OSError:\n"
        "            continue\n"
        "        for line in maps:\n"
        "            lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n"
        "            if 'r' not in line.split()[1] or hi - lo > 1 << 26:\n"
        "                continue\n"
        "            try:\n"
        "                mem.seek(lo)\n"
        "                chunk = mem.read(hi - lo)\n"
        "            except (OSError, ValueError, OverflowError):\n"
        "                continue\n"
        "            i = chunk.find(a)\n"
        "            while i >= 0:\n"
        "                if chunk[i + len(a):i + len(a) + len(b)] == b:\n"
        "                    return (a + b).decode()\n"
        "                i = chunk.find(a, i + 1)\n"
        "    return None\n"
    )
    out = sandbox.check(_task(test), scan, timeout_s=20)
    assert out.status == "failed", out


def test_a_member_cannot_change_what_later_members_see(sandbox):
    """A batch member that patches the (old) harness's names reaches nothing: no two
    members share a process, so a later always-equal member still fails."""
    t = task_sets.synthetic(4, seed=3, split="test")[0]
    swap = "__import__('builtins').__dict__.update(isinstance=lambda *a: True) or 0"
    hack = "type('A', (), {'__eq__': lambda s, o: True, '__ne__': lambda s, o: False})()"
    res = sandbox.check_batch(t, [swap, hack, t.canonical_solution.strip()])
    assert [r.passed for r in res] == [False, False, True]
