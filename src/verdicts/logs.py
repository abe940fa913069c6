"""One reader for every GRPO trainer's logs, and one mapping of their metric names.

Formats (``read_log``):

- TRL: ``trainer_state.json`` (or its directory): ``log_history``, one entry per logging step
  (evaluation entries of the same step are merged in); ``max_steps`` is the planned total
  (also read from JSONL records that carry one value of it, as rankinv's own logs do).
- JSONL: one JSON object per line: rankinv's simulator (its lines carry
  ``records.SIMULATED_COLUMN``, so its logs are read as a simulation's) and mini experiment,
  OpenRLHF or any harness; verl's file logger writes ``{"step": s, "data": {...}}`` lines,
  unnested here.
- CSV: W&B's exported history (``_step``) or any table with a step column.
- TensorBoard: a directory holding ``events.out.tfevents.*`` files (TRL with
  ``report_to="tensorboard"``, verl, OpenRLHF), read with tensorboard's own event reader
  (optional extra ``tensorboard``).
- A simulated run of a population: ``POPULATION#LADDER_ID/RUNG``
  (``rankinv.verdicts.simulated_run``): the run's per-step trace, each value the step's own.

Metric names differ by trainer; ``COLUMNS`` lists, per quantity the rules read, the names
looked for in order. A ``train/`` prefix (TRL's and W&B's tracker names) is dropped when the
bare name is not logged. Held-out evaluation columns are mapped onto one set of names
(``eval/pass_at_1``, ``eval/pass_at_<k>``, ``eval/pass_at_<k>_se``; ``EVAL_ALIASES``): TRL's
``eval_`` prefix, verl's ``val-core/<source>/acc/mean@N`` (pass@1) and ``best@N/mean``
(verl's bootstrap best-of-N, read as pass@N) and OpenRLHF's ``eval_<source>_pass<N>``.

What each trainer logs, read from its own metric code (not guessed):

- TRL 1.16 GRPOTrainer: ``reward``, ``frac_reward_zero_std``, ``entropy``; each logged value is
  the mean over the generation rounds since the previous log (``logging_steps``, default 10;
  ``trainer_state.json`` holds it); the end-of-training summary (``train_runtime``) marks a
  finished run.
- verl (verl/trainer/ppo/metric_utils.py ``compute_data_metrics``, ray_trainer.py):
  ``critic/score/mean|max|min``, ``actor/entropy`` (the mean token entropy, aggregated by
  ``loss_agg_mode``), no zero-std share; DAPO's dynamic sampling (``algorithm.filter_groups``)
  logs ``train/num_gen_batches`` and drops zero-std groups before any metric is computed.
- OpenRLHF (openrlhf/trainer/ppo_trainer.py): ``reward``, ``rollout/reward_mean``,
  ``entropy_loss`` (only with an entropy coefficient); with ``--algo.dynamic_filtering_enable``
  ``dynamic_filtering_pass_rate`` (percent of prompts kept); no zero-std share otherwise.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rankinv.errors import InputNotFound, UserError
from rankinv.records import SIMULATED_COLUMN
from rankinv.verdicts import simulated_run
from rankinv.verdicts.stage2 import Trace
from rankinv.verdicts.tables import read_csv_records
from rankinv.verdicts.words import inputs as input_words

#: Per quantity, the metric names looked for, in order. TRL: entropy, frac_reward_zero_std,
#: reward; verl: actor/entropy, critic/score/mean (verl logs no zero-std share); OpenRLHF
#: (TensorBoard/W&B): reward; the simulator and mini experiment: min_entropy, all_fail.
COLUMNS: dict[str, tuple[str, ...]] = {
    "step": ("step", "global_step", "_step", "training/global_step", "trainer/global_step"),
    "entropy": ("entropy", "actor/entropy", "policy_entropy"),
    "min_entropy": ("min_entropy", "entropy/min", "actor/entropy_min", "worst_token_entropy"),
    "zero_std": ("frac_reward_zero_std", "critic/frac_reward_zero_std"),
    "informative": ("informative_fraction", "frac_informative"),
    "all_fail": ("frac_all_fail", "all_fail"),
    "reward": ("reward", "critic/score/mean", "rewards/mean", "reward_mean", "rollout/reward_mean"),
    "reward_min": ("critic/score/min",),
    "reward_max": ("critic/score/max",),
    "heldout_pass_at_1": ("heldout_pass_at_1",),
    "heldout_pass_at_k": ("heldout_pass_at_k",),
    "group_size": (
        "num_generations",
        "group_size",
        "n_samples_per_prompt",
        "rollout_n",
        "rankinv/group_size",  # rankinv's TRL callbacks log the trainer's num_generations
    ),
    "gen_batches": ("num_gen_batches",),  # verl DAPO (filter_groups): batches drawn per step
    "filter_pass_rate": ("dynamic_filtering_pass_rate",),  # OpenRLHF: % of prompts kept
    "finished": ("train_runtime",),  # TRL's end-of-training summary
}
#: Held-out evaluation columns, mapped onto eval/pass_at_<k>[_se] (see the module docstring).
EVAL_ALIASES = (
    re.compile(r"^(?:eval[/_])+(?P<k>pass_at_\d+(?:_se)?)$"),  # TRL eval_, trackers' eval/
    re.compile(r"^val-core/[^/]+/(?:acc|reward)/mean@\d+$"),  # verl: pass@1
    re.compile(r"^val-core/[^/]+/(?:acc|reward)/best@(?P<n>\d+)/mean$"),  # verl: pass@N
    re.compile(r"^(?:eval/)?eval_.+_pass(?P<o>\d+)$"),  # OpenRLHF
)
EVAL_KEY = re.compile(r"^eval/pass_at_(\d+)(_se)?$")
TB_GLOB = "events.out.tfevents.*"


@dataclass
class RunLog:
    """A run's log: one merged record per step, in step order."""

    source: str
    format: str  # "trl", "jsonl", "verl", "csv", "tensorboard" or "simulated"
    records: list[dict]
    max_steps: int | None = None  # the planned total, where the log states it (TRL)
    issues: list[str] = field(default_factory=list)
    logging_steps: int | None = None  # TRL's logging interval, where the log states it

    @property
    def trainer(self) -> str:
        """ "trl", "verl", "openrlhf" or "unknown", from the format and the metric names."""
        return trainer_of(self.records, self.format)

    @property
    def finished(self) -> bool:
        """Whether the log holds TRL's end-of-training summary (``JudgedRun.finished``)."""
        return pick_key(self.records, "finished") is not None


def trainer_of(records: list[dict], fmt: str = "jsonl") -> str:
    """ "trl", "verl", "openrlhf", "simulator" (rankinv's own simulation: a population's run,
    or a log ``rankinv simulate`` wrote) or "unknown"."""
    keys = {k for r in records for k in r}
    if fmt == simulated_run.FORMAT or SIMULATED_COLUMN in keys:
        return "simulator"
    if fmt == "trl" or "frac_reward_zero_std" in keys:
        return "trl"
    if fmt == "verl" or any(k.startswith(("critic/", "actor/", "val-core/")) for k in keys):
        return "verl"
    if keys & {"rollout/reward_mean", "dynamic_filtering_pass_rate", "act_loss"}:
        return "openrlhf"
    return "unknown"


def _eval_names(rec: dict) -> dict:
    """The record with its held-out evaluation columns also under eval/pass_at_<k>[_se]."""
    out = dict(rec)
    for key, v in rec.items():
        if not isinstance(key, str) or EVAL_KEY.match(key):
            continue
        for i, pat in enumerate(EVAL_ALIASES):
            m = pat.match(key)
            if m is None:
                continue
            d = m.groupdict()
            name = (
                d["k"]
                if i == 0
                else "pass_at_1"
                if i == 1
                else f"pass_at_{d['n']}"
                if i == 2
                else f"pass_at_{d['o']}"
            )
            out.setdefault(f"eval/{name}", v)
    return out


def _strip_prefix(rec: dict) -> dict:
    out = dict(rec)
    for k, v in rec.items():
        if isinstance(k, str) and k.startswith("train/") and k[6:] not in rec:
            out[k[6:]] = v
    return _eval_names(out)


def _finite(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _text_value(v) -> bool:
    """A logged value that is neither a number (NaN and inf included, as JSON and CSV can
    write them) nor a missing-value token: text where a metric was expected."""
    from rankinv.verdicts.tables import MISSING_TOKENS

    if v is None or isinstance(v, bool | int | float):
        return False
    if isinstance(v, str) and (v.strip() == "" or v.strip().lower() in MISSING_TOKENS):
        return False
    try:
        float(v)
    except (TypeError, ValueError):
        return True
    return False


def text_in_columns(records: list[dict], names) -> tuple[str, object, object] | None:
    """(column, value, step) of the first record holding text under one of ``names`` (a
    metric column the rules read), else None."""
    for r in records:
        for k in names:
            if k in r and _text_value(r[k]):
                return k, r[k], r.get("step")
    return None


def _check_numeric(records: list[dict], source: str) -> None:
    """A UserError naming the file, the column and the value when a column the rules or the
    held-out evaluation read holds text (``"reward": "high"``): never a verdict without it."""
    names = {k for q, ks in COLUMNS.items() if q != "step" for k in ks}
    names |= {k for r in records for k in r if isinstance(k, str) and EVAL_KEY.match(k)}
    bad = text_in_columns(records, sorted(names))
    if bad is not None:
        col, value, step = bad
        raise UserError(
            f"{source}: column {col!r} holds text ({value!r} at step {step}), not a number; "
            "a metric column must hold numbers"
        )


#: Keys every record of a step may repeat (TRL's epoch, W&B's clock): not a step logged twice.
_BOOKKEEPING = frozenset({"epoch", "_runtime", "_timestamp", "timestamp", "time"})


def merge_by_step(
    recs: list[dict], issues: list[str] | None = None, step_key: str | None = None
) -> list[dict]:
    """Records with the same step merged (later values win), in step order; records
    without a step are dropped. ``step_key`` forces the step column's name."""
    issues = issues if issues is not None else []
    names = (step_key,) if step_key else COLUMNS["step"]
    step_key = next((k for k in names if any(k in r for r in recs)), None)
    if step_key is None:
        keys = sorted({k for r in recs for k in r})
        raise UserError(f"log lacks key(s) {list(names)[:1]} (a step column); keys there: {keys}")
    merged: dict[int, dict] = {}
    order, dups = [], []
    for r in recs:
        s = _finite(r.get(step_key))
        if s is None:
            continue
        s = int(s)
        vals = {k: v for k, v in r.items() if v is not None and k not in ("step", step_key)}
        old = merged.get(s, {})
        if any(k not in _BOOKKEEPING and old[k] != v for k, v in vals.items() if k in old):
            # the step logged again with other values (a resumed run)
            dups.append(s)
            merged[s] = {}  # its last copy is kept whole
        elif s not in merged:
            order.append(s)
        merged.setdefault(s, {}).update(vals)
        merged[s]["step"] = s
    if dups:
        from rankinv.verdicts.words.inputs import duplicate_words

        issues.append(duplicate_words(dups))
    if any(b < a for a, b in zip(order, order[1:], strict=False)):
        issues.append("steps out of order; sorted by step")
    return [merged[s] for s in sorted(merged)]


def _read_tensorboard(path: Path) -> list[dict]:
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise UserError(
            f"{path} holds TensorBoard event files; reading them needs the tensorboard "
            "package: pip install 'rankinv[tensorboard]'"
        ) from None
    by_step: dict[int, dict] = {}
    dirs = sorted({f.parent for f in path.rglob(TB_GLOB)})
    for d in dirs:
        acc = event_accumulator.EventAccumulator(
            str(d), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
        )
        acc.Reload()
        tags = acc.Tags()
        for tag in tags.get("scalars", []):
            for ev in acc.Scalars(tag):
                by_step.setdefault(int(ev.step), {})[tag] = float(ev.value)
        for tag in tags.get("tensors", []):  # TF2-style summaries store scalars as tensors
            for ev in acc.Tensors(tag):
                arr = np.asarray(ev.tensor_proto.float_val or ev.tensor_proto.double_val)
                if arr.size == 1:
                    by_step.setdefault(int(ev.step), {}).setdefault(tag, float(arr[0]))
    if not by_step:
        raise UserError(f"{path}: the TensorBoard event files hold no scalars")
    return [{"step": s, **v} for s, v in sorted(by_step.items())]


def _read_jsonl(text: str, name: str, issues: list[str]) -> tuple[list[dict], bool]:
    recs, nested = [], False
    lines = text.splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            where = "final line" if i == len(lines) else f"line {i}"
            issues.append(f"skipped unparsable {where} (truncated write?)")
            continue
        if not isinstance(rec, dict):
            raise UserError(
                f"{name}: line {i} is a JSON {type(rec).__name__}, not an object of "
                "logged values (one JSON object per step)"
            )
        if isinstance(rec.get("data"), dict) and "step" in rec:  # verl's file logger
            rec = {"step": rec["step"], **rec["data"]}
            nested = True
        recs.append(rec)
    return recs, nested


def read_log(path: str | Path, step_key: str | None = None) -> RunLog:
    """Read a log in any supported format (see the module docstring); ``step_key`` names
    the step column when it is none of COLUMNS["step"]."""
    if simulated_run.is_run_name(path):
        sim = simulated_run.read(str(path))
        recs = merge_by_step(sim.records())
        return RunLog(sim.name, simulated_run.FORMAT, recs, sim.max_steps, [])
    path = Path(path)
    if not path.exists():
        raise InputNotFound(f"log not found: {path}")
    issues: list[str] = []
    max_steps = logging_steps = None
    if path.is_dir():
        if (path / "trainer_state.json").exists():
            path = path / "trainer_state.json"
        elif next(path.rglob(TB_GLOB), None) is not None:
            recs = merge_by_step([_strip_prefix(r) for r in _read_tensorboard(path)], issues)
            if step_key:
                issues.append("TensorBoard logs carry their own step; --step-key ignored")
            return RunLog(str(path), "tensorboard", recs, None, issues)
        else:
            raise UserError(
                f"{path} is a directory without trainer_state.json or TensorBoard event files"
                + input_words.runs_folder_hint(path)
            )
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        if path.name.startswith("events.out.tfevents"):
            return read_log(path.parent, step_key)
        raise UserError(f"{path.name} is not a text log (not UTF-8)") from None
    if not text.strip():
        raise UserError(f"{path.name} is empty: no logged steps yet")
    if path.suffix == ".csv":
        recs, fmt = read_csv_records(text, keep_missing=True), "csv"
    elif text.lstrip().startswith("{") and path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        if "log_history" not in data:
            raise UserError(f"{path.name} {input_words.not_a_log(data)}")
        recs, fmt = list(data["log_history"]), "trl"
        ms = _finite(data.get("max_steps"))
        max_steps = int(ms) if ms and ms > 0 else None
        ls = _finite(data.get("logging_steps"))
        logging_steps = int(ls) if ls and ls >= 1 else None
    else:
        recs, nested = _read_jsonl(text, path.name, issues)
        fmt = "verl" if nested else "jsonl"
        planned = {_finite(r.get("max_steps")) for r in recs if isinstance(r, dict)} - {None}
        if len(planned) == 1 and (ms := planned.pop()) > 0:  # the planned total, stated
            max_steps = int(ms)
    if not recs:
        raise UserError(f"{path.name} holds no logged steps")
    recs = merge_by_step([_strip_prefix(r) for r in recs], issues, step_key)
    _check_numeric(recs, str(path))
    return RunLog(str(path), fmt, recs, max_steps, issues, logging_steps)


def pick_key(records: list[dict], quantity: str, forced: str | None = None) -> str | None:
    """The metric name of ``quantity`` in these records: ``forced`` if given (None when it is
    not logged), else the first of COLUMNS[quantity] that is logged with a number."""
    present = {k for r in records for k, v in r.items() if _finite(v) is not None}
    if forced:
        return forced if forced in present else None
    return next((k for k in COLUMNS[quantity] if k in present), None)


def column(records: list[dict], key: str | None) -> np.ndarray | None:
    """The values of ``key`` per record (NaN where absent); None when never logged."""
    if key is None:
        return None
    arr = np.array(
        [np.nan if _finite(r.get(key)) is None else float(r[key]) for r in records], dtype=float
    )
    return None if np.all(np.isnan(arr)) else arr


def trace(
    records: list[dict],
    entropy_key: str | None = None,
    zero_std_key: str | None = None,
    reward_key: str | None = None,
    reward_range: tuple[float, float] = (0.0, 1.0),
    source: str | None = None,  # names the log in an error about a forced column's text
):
    """(stage2.Trace, keys): the columns the rules read, and the metric name each came from
    (None where the log lacks it). ``records`` are merged per step (``merge_by_step``);
    the ``*_key`` arguments force a name (a forced name that is not logged raises)."""
    keys = {
        "entropy": pick_key(records, "entropy", entropy_key),
        "min_entropy": None if entropy_key else pick_key(records, "min_entropy"),
        "zero_std": pick_key(records, "zero_std", zero_std_key),
        "informative": None,
        "all_fail": pick_key(records, "all_fail"),
        "reward": pick_key(records, "reward", reward_key),
    }
    missing = [
        k
        for k, got in (
            (entropy_key, keys["entropy"]),
            (zero_std_key, keys["zero_std"]),
            (reward_key, keys["reward"]),
        )
        if k and got is None
    ]
    bad = text_in_columns(records, [k for k in (entropy_key, zero_std_key, reward_key) if k])
    if bad is not None:
        col, value, step = bad
        where = f"{source}: column" if source else "the log's column"
        raise UserError(f"{where} {col!r} holds text ({value!r} at step {step}), not a number")
    if missing:
        present = sorted({k for r in records for k in r})
        raise UserError(f"log lacks key(s) {missing}; keys there: {present}")
    if keys["zero_std"] is None:
        keys["informative"] = pick_key(records, "informative")
    lo, hi = reward_range
    if not hi > lo:
        raise UserError(f"reward range must be (min, max) with max > min, got {reward_range}")
    zero = column(records, keys["zero_std"])
    tr = Trace(
        steps=np.array([int(r["step"]) for r in records], dtype=int),
        entropy=column(records, keys["entropy"]),
        min_entropy=column(records, keys["min_entropy"]),
        informative=(1.0 - zero) if zero is not None else column(records, keys["informative"]),
        all_fail=column(records, keys["all_fail"]),
        reward=column(records, keys["reward"]),
        reward_range=(float(lo), float(hi)),
    )
    return tr, keys


def trace_of(records: list[dict], **forced) -> Trace:
    """The stage-2 trace of log records of any trainer, merged per step (the names mapped by
    ``COLUMNS``; ``forced``: :func:`trace`'s keyword arguments)."""
    return trace(merge_by_step(list(records)), **forced)[0]
