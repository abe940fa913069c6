"""A probe's result as a type: the contract of a `rankinv validate --out` directory.

The probe (:mod:`rankinv.validate.probe`) writes it, ``rank``, ``report`` and ``compare``
read it; nobody else spells the file names. A directory holds

    validate_summary.json   the overall summary (signals, stage-1 verdict, reasons) and,
                            under "setup", what the probe was run with (:class:`ProbeSetup`)
    problems.jsonl          one record per problem: task_id, n, c, p_hat, entropies, ...
    samples.jsonl           every sample as it was checked (appended; a rerun resumes)
    prompt_entropy.json     the prompt-entropy cache of the run
    pre_rl.json             the optional pre-RL report

Probes written before the setup was recorded are read too: their setup is rebuilt from the
summary's ``tag`` and ``config`` (fields they never recorded are None).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rankinv._io import read_jsonl, write_json, write_text
from rankinv.errors import InputNotFound, UserError
from rankinv.records import Plan
from rankinv.verdicts.words import inputs as words

SUMMARY = "validate_summary.json"
PROBLEMS = "problems.jsonl"
SAMPLES = "samples.jsonl"
PROMPT_ENTROPY = "prompt_entropy.json"
PRE_RL = "pre_rl.json"

#: Setup fields that must agree for two probes' pass rates, entropies and plan-dependent
#: signals to be comparable (``rank`` refuses probes that differ in any of them).
SAMPLED_ALIKE = (
    "benchmark_hash",
    "samples",
    "temperature",
    "top_p",
    "max_new_tokens",
    "stop",
    "end_tokens",
    "chat_template",
    "group_size",
    "rl_steps",
    "batch_prompts",
    "n_prompts",
)


@dataclass(frozen=True)
class ProbeSetup:
    """What a probe was run with: the model, the task set, the sampling and the planned RL.
    ``model`` names the checkpoint (its folder's name or Hub id; probes made before
    2026-12 recorded its path); ``model_path`` is its full path, where the user asked for it
    (``validate --record-path``)."""

    model: str
    revision: str | None = None
    benchmark: str | None = None
    benchmark_hash: str | None = None
    n_problems: int | None = None
    samples: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_new_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    chat_template: bool | None = None
    engine: str | None = None
    end_tokens: tuple[int, ...] | None = None
    group_size: int | None = None
    rl_steps: int | None = None
    batch_prompts: int | None = None
    n_prompts: int | None = None
    version: str | None = None
    model_path: str | None = None
    #: the planned run's options typed at validate (group_size, rl_steps, batch_prompts,
    #: n_prompts), given even where equal to the default; None: not recorded (older probes)
    plan_given: tuple[str, ...] | None = None

    def plan(self) -> Plan:
        """The planned GRPO run this probe was screened for; fields it did not record take
        the defaults of :class:`Plan` (the prompts probed for n_prompts)."""
        return Plan.from_json(
            {
                "group_size": self.group_size,
                "rl_steps": self.rl_steps,
                "batch_prompts": self.batch_prompts,
                "n_prompts": self.n_prompts,
            },
            n_prompts=self.n_problems,
        )

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("stop", "end_tokens", "plan_given"):
            if d[k] is not None:
                d[k] = list(d[k])
        return d

    @classmethod
    def from_json(cls, d: dict) -> ProbeSetup:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("stop", "end_tokens", "plan_given"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        if "model" not in kw:
            raise UserError("a probe setup must name its model")
        kw["model"] = str(kw["model"])
        return cls(**kw)

    @classmethod
    def from_legacy_summary(cls, s: dict, n_problems: int) -> ProbeSetup:
        """The setup of a summary written before "setup" existed (tag + config + plan)."""
        tag = s.get("tag") or {}
        cfg = s.get("config") or {}
        plan = s.get("plan") or {}
        sampling = tag.get("sampling") or {}
        stop = s.get("stop", sampling.get("stop"))
        return cls(
            model=str(s.get("model") or tag.get("model") or "?"),
            revision=tag.get("revision"),
            benchmark=tag.get("benchmark") or cfg.get("benchmark"),
            benchmark_hash=tag.get("benchmark_hash"),
            n_problems=n_problems,
            samples=cfg.get("samples"),
            temperature=cfg.get("temperature", sampling.get("temperature")),
            top_p=cfg.get("top_p", sampling.get("top_p")),
            max_new_tokens=cfg.get("max_new_tokens", sampling.get("max_new_tokens")),
            seed=cfg.get("seed", sampling.get("seed")),
            stop=tuple(stop) if stop is not None else None,
            chat_template=s.get("chat_template"),
            engine=s.get("engine"),
            end_tokens=None,
            group_size=s.get("group_size") or plan.get("group_size"),
            rl_steps=plan.get("rl_steps"),
            batch_prompts=plan.get("batch_prompts"),
            n_prompts=plan.get("n_prompts"),
            version=tag.get("version"),
            plan_given=tuple(plan["given"]) if isinstance(plan.get("given"), list) else None,
        )


@dataclass
class ProbeResult:
    """One probed checkpoint: its summary, its per-problem records and its setup."""

    summary: dict
    problems: list[dict]
    setup: ProbeSetup
    dir: Path | None = field(default=None, compare=False)
    pre_rl: dict | None = field(default=None, compare=False)  # the pre-RL report, when made

    @property
    def name(self) -> str:
        """The checkpoint's name as shown to the user (the setup's ``model``)."""
        return self.setup.model

    @property
    def n(self) -> list[int]:
        return [int(p["n"]) for p in self.problems]

    @property
    def c(self) -> list[int]:
        return [int(p["c"]) for p in self.problems]

    @property
    def signals(self) -> dict:
        """The stage-1 signals the probe computed under its own planned RL (may be empty for
        probes that did not save them)."""
        return dict(self.summary.get("signals") or {})

    def save(self, out_dir: str | Path) -> Path:
        """Write pre_rl.json (when there is a report), problems.jsonl, then
        validate_summary.json (with the setup) into ``out_dir``, each atomically (a failed
        or killed write leaves the file it replaces whole)."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        if self.pre_rl is not None:
            write_json(d / PRE_RL, self.pre_rl)
        write_text(d / PROBLEMS, "".join(json.dumps(p) + "\n" for p in self.problems))
        write_json(d / SUMMARY, {**self.summary, "setup": self.setup.to_json()})
        self.dir = d
        return d

    def sample_entropies(self) -> dict[str, list[float]]:
        """Each problem's per-sample mean token entropies from samples.jsonl (empty when
        the file is absent or records none): the data behind the rollout entropy's SE."""
        path = None if self.dir is None else Path(self.dir) / SAMPLES
        if path is None or not path.is_file():
            return {}
        out: dict[str, list[float]] = {}
        try:
            rows = read_jsonl(path)
        except (OSError, ValueError):
            return {}
        for r in rows:
            h = r.get("mean_entropy") if isinstance(r, dict) else None
            if isinstance(h, int | float) and not isinstance(h, bool):
                out.setdefault(str(r.get("task_id")), []).append(float(h))
        return out

    @staticmethod
    def require(paths) -> None:
        """Raise InputNotFound naming the first of ``paths`` that does not exist (before
        a caller counts them, so that a missing path is named as missing)."""
        for p in paths:
            if not Path(p).exists():
                raise InputNotFound(f"probe directory not found: {p}")

    @classmethod
    def load(cls, path: str | Path) -> ProbeResult:
        """Read a probe directory; one-line UserError naming what is missing or broken."""
        d = Path(path)
        cls.require([d])
        if not d.is_dir():
            raise UserError(f"{d} is a file; pass the directory `rankinv validate --out` wrote")
        summary_path, problems_path = d / SUMMARY, d / PROBLEMS
        if not summary_path.is_file() or not problems_path.is_file():
            raise UserError(
                f"{d} is not a `rankinv validate` output (needs {SUMMARY} and {PROBLEMS})"
            )
        try:
            summary = json.loads(summary_path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{summary_path} is not valid JSON ({exc.msg})") from None
        if not isinstance(summary, dict):
            raise UserError(f"{summary_path} is not a JSON object")
        try:
            problems = read_jsonl(problems_path)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if not problems:
            raise UserError(f"{problems_path} holds no problems")
        bad = [i for i, p in enumerate(problems, 1) if not {"n", "c"} <= set(p)]
        if bad:
            raise UserError(f"{problems_path}: line {bad[0]} lacks n or c")
        for i, p in enumerate(problems, 1):
            if not _counts(p["n"], p["c"]):
                raise UserError(words.bad_counts(problems_path, i, p["n"], p["c"]))
        setup = (
            ProbeSetup.from_json(summary["setup"])
            if isinstance(summary.get("setup"), dict)
            else ProbeSetup.from_legacy_summary(summary, len(problems))
        )
        summary = {k: v for k, v in summary.items() if k != "setup"}
        return cls(summary=summary, problems=problems, setup=setup, dir=d)


def _counts(n, c) -> bool:
    """Whether n and c are a problem's sample and pass counts: whole, 1 <= n, 0 <= c <= n."""

    def whole(x) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and float(x).is_integer()

    return whole(n) and whole(c) and 1 <= n and 0 <= c <= n


def sampling_differences(probes: list[ProbeResult]) -> list[str]:
    """Each setup field of :data:`SAMPLED_ALIKE` on which the probes disagree, as
    "field: a (dir) vs b (dir)"; fields a probe did not record are not compared."""
    out = []
    first = probes[0]
    for name in SAMPLED_ALIKE:
        for other in probes[1:]:
            a, b = getattr(first.setup, name), getattr(other.setup, name)
            if a is not None and b is not None and a != b:
                out.append(f"{name}: {a!r} ({first.dir}) vs {b!r} ({other.dir})")
                break
    return out
