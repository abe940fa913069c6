"""_worker: the main loop (wall-clock timeouts, harness restarts) and how the harness's
report becomes a status."""

import signal

import pytest

from rankinv.sandbox import _worker
from rankinv.sandbox.tasks import Task


def _task(test: str, prompt: str = "def f(*args, **kwargs):\n", entry: str = "f") -> Task:
    return Task("custom/0", prompt, entry, test, "    pass\n")


@pytest.mark.parametrize(
    ("report", "h_status", "timed_out", "expected"),
    [
        ("P", None, False, ("passed", "")),
        ("P", None, True, ("passed", "")),  # the report came first
        ("F AssertionError x", None, True, ("timeout", "exceeded 2.0 s wall clock")),
        ("F AssertionError x", None, False, ("failed", "AssertionError x")),
        ("M MemoryError", None, False, ("memory", "MemoryError")),
        ("E KeyError: 1", None, False, ("error", "KeyError: 1")),
        (
            "C memory the candidate's process was killed",
            None,
            False,
            ("memory", "the candidate's process was killed"),
        ),  # fmt: skip
        ("C odd kind", None, False, ("error", "kind")),
        ("", signal.SIGXCPU, False, ("timeout", "the tests exceeded 2.0 s of CPU")),
        ("", signal.SIGSEGV, False, ("killed", "harness killed by SIGSEGV")),
        ("", None, False, ("error", "the harness ended before the tests finished")),
    ],
)
def test_the_harness_report_becomes_a_status(report, h_status, timed_out, expected):
    """``h_status``: the harness's wait status (that of a process killed by a signal is
    the signal's number)."""
    assert _worker._verdict(report, h_status, timed_out, 2.0) == expected


def test_a_candidate_that_never_returns_times_out_and_the_worker_goes_on(sandbox):
    t = _task("def check(candidate):\n    assert candidate(1) == 1\n")
    out = sandbox.check(t, "    while True:\n        pass\n", timeout_s=1.0)
    assert out.status == "timeout" and out.seconds < 3.0
    assert sandbox.check(t, "    return args[0]\n").passed


def test_the_worker_modules_import_only_the_standard_library_and_each_other():
    """The worker is a fresh interpreter (``python -I -S``, empty environment): it loads
    its siblings by path and nothing of rankinv or site-packages."""
    import ast
    import sys
    from pathlib import Path

    here = Path(_worker.__file__).parent
    siblings = {"_worker", "_isolation", "_harness", "_zygote", "_wire", "_seccomp"}
    for name in sorted(siblings):
        tree = ast.parse((here / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [a.name for a in node.names] if node.level else [node.module.split(".")[0]]
            else:
                continue
            assert all(m in sys.stdlib_module_names or m in siblings for m in mods), (name, mods)
