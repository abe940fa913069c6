"""A simulated run as a log the monitor reads: ``POPULATION#LADDER_ID/RUNG``.

POPULATION is a population folder (``rankinv simulate --population quick --out DIR``) or the
population.jsonl in it; LADDER_ID a ladder's ``ladder_id`` (its first field in each line);
RUNG the run's place in its ladder: 0, 1, ... (a depth ladder's rungs go from the shallowest
SFT depth up), or ``depth=D``, or ``recipe=NAME`` on a recipe ladder. E.g.::

    rankinv monitor DIR/population.jsonl#3f2a9c0d1e4b-s0/2
    rankinv monitor DIR#3f2a9c0d1e4b-s0/0 DIR#3f2a9c0d1e4b-s0/4   (a ladder's rungs, judged
                                                                   against each other)

The log is the run's per-step trace (``rankinv.records.RunRecord.trace``: step, entropy,
min_entropy, frac_reward_zero_std, frac_all_fail, reward, heldout_pass_at_1,
heldout_pass_at_k; every ``trace_every`` steps, step 0 and the last step included), each
record with the ladder's group size; the planned total is the ladder's ``plan.rl_steps``.
Each value is the step's own (the simulator does not average over a logging interval), as
``rankinv calibrate`` scored the rules on these traces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rankinv.errors import InputNotFound, UserError
from rankinv.records import LadderRecord, RunRecord

SEP = "#"
POPULATION_FILE = "population.jsonl"
FORMAT = "simulated"
USAGE = "POPULATION#LADDER_ID/RUNG (RUNG: 0, 1, ..., depth=D or recipe=NAME)"


def is_run_name(path) -> bool:
    """Whether ``path`` names a simulated run (and is not a file of that name)."""
    s = str(path)
    return SEP in s and not Path(s).exists()


@dataclass(frozen=True)
class SimulatedRun:
    name: str  # as given
    ladder: LadderRecord
    index: int  # the rung's place in its ladder

    @property
    def run(self) -> RunRecord:
        return self.ladder.runs[self.index]

    @property
    def max_steps(self) -> int:
        return int(self.ladder.plan.rl_steps)

    def records(self) -> list[dict]:
        """The trace, each step with the ladder's group size."""
        g = self.ladder.plan.group_size
        return [{**t, "group_size": g} for t in self.run.trace]


def _population_file(part: str) -> Path:
    path = Path(part)
    if path.is_dir():
        path = path / POPULATION_FILE
    if not path.is_file():
        raise InputNotFound(f"population not found: {path}")
    return path


def _ladder(path: Path, ladder_id: str) -> LadderRecord:
    """The ladder's record (lines of other ladders are not parsed)."""
    ids = []
    with path.open() as fh:
        for line in fh:
            if f'"{ladder_id}"' in line:
                rec = json.loads(line)
                if rec.get("ladder_id") == ladder_id:
                    return LadderRecord.from_json(rec)
            elif len(ids) < 3 and line.strip():
                head = line[:200]
                if '"ladder_id": "' in head:
                    ids.append(head.split('"ladder_id": "', 1)[1].split('"', 1)[0])
    some = f"; ladders there include {', '.join(ids)}" if ids else ""
    raise UserError(f"{path} has no ladder {ladder_id!r}{some}")


def _rung(ladder: LadderRecord, rung: str, name: str) -> int:
    runs = ladder.runs
    if rung.isdigit() and int(rung) < len(runs):
        return int(rung)
    key, eq, value = rung.partition("=")
    if eq and key == "depth":
        try:
            found = [i for i, r in enumerate(runs) if r.depth == float(value)]
        except ValueError:
            found = []
    elif eq and key == "recipe":
        found = [i for i, r in enumerate(runs) if r.extra.get("recipe") == value]
    else:
        found = []
    if len(found) == 1:
        return found[0]
    rungs = ", ".join(
        f"{i} (depth {r.depth:g}{', recipe ' + r.extra['recipe'] if 'recipe' in r.extra else ''})"
        for i, r in enumerate(runs)
    )
    raise UserError(f"{name}: no single rung {rung!r} in ladder {ladder.ladder_id}; rungs: {rungs}")


def read(name: str) -> SimulatedRun:
    """The simulated run ``name`` (``POPULATION#LADDER_ID/RUNG``) of a population."""
    part, _, which = str(name).partition(SEP)
    ladder_id, slash, rung = which.partition("/")
    if not ladder_id or not slash or not rung:
        raise UserError(f"{name}: name a simulated run as {USAGE}")
    path = _population_file(part)
    ladder = _ladder(path, ladder_id)
    index = _rung(ladder, rung, name)
    if not ladder.runs[index].trace:
        raise UserError(f"{name}: the run has no per-step trace")
    return SimulatedRun(str(name), ladder, index)
