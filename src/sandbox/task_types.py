"""The task types every task set builds: :class:`Task` (a HumanEval-style function to
complete and its test) and :class:`JudgedTask` (one the sandbox judges through another
task/completion pair). The readers (:mod:`.tasks`, :mod:`.io_tasks`, :mod:`.row_tasks`)
import them from here, so that none imports another back."""

from __future__ import annotations

from dataclasses import asdict, dataclass

FIELDS = ("task_id", "prompt", "entry_point", "test", "canonical_solution")


@dataclass(frozen=True)
class Task:
    task_id: str
    prompt: str
    entry_point: str
    test: str
    canonical_solution: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class JudgedTask(Task):
    """A task the sandbox judges through another (task, completion) pair: stdin/stdout
    cases (:class:`rankinv.sandbox.io_tasks.IOTask`), the user's reward
    (:class:`rankinv.sandbox.row_tasks.RewardTask`)."""

    def sandbox_pair(self, completion: str) -> tuple[Task, str]:
        """The (task, completion) the executor runs for this task's ``completion``."""
        raise NotImplementedError

    def timeout_factor(self) -> int:
        """How many timeouts the wrapped check may take (one per stdin/stdout case)."""
        return 1
