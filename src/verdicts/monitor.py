"""Stage-2 monitor: read a GRPO run's log and decide continue / watch / stop.

Over 400 lines: log reading for three formats (TRL, JSONL, CSV) with their key aliases,
and the verdict of both the paper's rule and the calibrated ones.

The verdict comes from one stage-2 rule (``MonitorConfig.rule``): by default the rule that
scored best on held-out simulated settings (``rankinv.verdicts.rules``, chosen by
``rankinv calibrate``); ``rule="paper"`` applies the paper's rule exactly. Whatever the rule,
the report also carries the entropy drop and the informative-group fraction.

The paper's rule (Aphale & Liu, arXiv 2606.18487): the relative entropy drop
dH = (H(ref) - H(check)) / H(ref) between RL step 10 and step 150 flags a doomed run when
it exceeds 0.5; stopping at step 150 of 400 saves 62.5% of the RL compute. Alongside it,
the informative-group fraction 1 - frac_reward_zero_std is set against 1 - f_g(p*) = 1/2,
the share at which half the groups of a prompt at p* carry signal.

Logs read: TRL GRPOTrainer's trainer_state.json (``log_history``), JSONL (verl, OpenRLHF,
rankinv's simulator and miniature experiment; key names configurable) and CSV.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.errors import InputNotFound, UserError
from rankinv.theory import paper
from rankinv.verdicts import rules
from rankinv.verdicts.tables import read_csv_records

VERDICTS = ("continue", "watch", "stop")

#: Worst-token entropy keys looked for first (the paper plots the worst-token entropy).
WORST_TOKEN_KEYS = ("min_entropy", "entropy/min", "actor/entropy_min", "worst_token_entropy")
#: Mean entropy keys: TRL logs "entropy"; verl "actor/entropy"; OpenRLHF "entropy".
MEAN_ENTROPY_KEYS = ("entropy", "actor/entropy", "policy_entropy")
ZERO_STD_KEYS = ("frac_reward_zero_std", "critic/frac_reward_zero_std")
INFORMATIVE_KEYS = ("informative_fraction", "frac_informative")
ALL_FAIL_KEYS = ("frac_all_fail", "all_fail")
REWARD_KEYS = ("reward", "critic/score/mean", "rewards/mean")
STEP_KEYS = ("step", "global_step", "training/global_step")


@dataclass(frozen=True)
class MonitorConfig:
    ref_step: int = paper.REF_STEP
    check_step: int = paper.CHECK_STEP
    threshold: float = paper.DROP_THRESHOLD
    group_size: int = 8
    planned_steps: int = 400
    watch_fraction: float = 0.6  # drop above watch_fraction * threshold -> "watch"
    entropy_key: str | None = None  # force a key; default: worst-token, else mean
    rule: str = rules.DEFAULT_STAGE2_RULE  # "paper": the paper's entropy-drop rule exactly
    rule_threshold: float | None = None  # None: the calibrated threshold of the rule
    step_key: str | None = None
    zero_std_key: str | None = None
    reward_key: str | None = None

    def __post_init__(self):
        if not (isinstance(self.ref_step, int) and self.ref_step >= 0):
            raise UserError(f"ref_step must be an integer >= 0, got {self.ref_step!r}")
        if not (isinstance(self.check_step, int) and self.check_step > self.ref_step):
            raise UserError(
                f"check_step must be an integer > ref_step ({self.ref_step}), "
                f"got {self.check_step!r}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise UserError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if not (isinstance(self.planned_steps, int) and self.planned_steps > 0):
            raise UserError(f"planned_steps must be a positive integer, got {self.planned_steps!r}")
        theory.p_star(self.group_size)  # validates g
        if self.rule not in rules.STAGE2_RULES:
            raise UserError(f"rule must be one of {sorted(rules.STAGE2_RULES)}, got {self.rule!r}")


@dataclass
class Series:
    """The columns the monitor needs, in step order, plus what was wrong with the log."""

    steps: list[int]
    entropy: list[float]
    informative: list[float | None]
    reward: list[float | None]
    entropy_signal: str
    issues: list[str] = field(default_factory=list)
    informative_key: str | None = None  # the column the informative fraction came from
    all_fail: list[float | None] | None = None


def _read_records(path: Path) -> tuple[list[dict], list[str]]:
    if not path.exists():
        raise InputNotFound(f"log not found: {path}")
    if path.is_dir():
        state = path / "trainer_state.json"
        if not state.exists():
            raise UserError(f"{path} is a directory without trainer_state.json")
        path = state
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise UserError(f"{path.name} is not a text log (not UTF-8)") from None
    if not text.strip():
        raise UserError(f"{path.name} is empty: no logged steps yet")
    issues: list[str] = []
    if path.suffix == ".csv":
        return read_csv_records(text), issues
    stripped = text.lstrip()
    if stripped.startswith("{") and path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        if "log_history" not in data:
            raise UserError(f"{path.name} has no 'log_history'; keys there: {sorted(data)}")
        return list(data["log_history"]), issues
    recs = []
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
                f"{path.name}: line {i} is a JSON {type(rec).__name__}, not an object of "
                "logged values (one JSON object per step)"
            )
        recs.append(rec)
    return recs, issues


def _pick(keys_present: set[str], forced: str | None, candidates: tuple[str, ...]) -> str | None:
    if forced:
        return forced if forced in keys_present else None
    for k in candidates:
        if k in keys_present:
            return k
    return None


def _finite(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_series(path: str | Path, cfg: MonitorConfig = MonitorConfig()) -> Series:
    """Parse a log into step-ordered series; missing keys raise, listing the keys there."""
    recs, issues = _read_records(Path(path))
    return series_from_records(recs, cfg, issues)


def series_from_records(
    recs: list[dict], cfg: MonitorConfig = MonitorConfig(), issues: list[str] | None = None
) -> Series:
    """Series from log records (dicts as TRL, verl or our JSONL write them). Shared by the
    file reader and the live TRL callback."""
    issues = list(issues or [])
    present: set[str] = set()
    for r in recs:
        present.update(k for k, v in r.items() if v is not None)
    step_key = _pick(present, cfg.step_key, STEP_KEYS)
    if cfg.entropy_key:  # the user's choice, or nothing
        worst = None
        ent_key = cfg.entropy_key if cfg.entropy_key in present else None
    else:  # worst-token entropy where the log has it, the mean otherwise
        worst = _pick(present, None, WORST_TOKEN_KEYS)
        ent_key = worst or _pick(present, None, MEAN_ENTROPY_KEYS)
    zero_key = _pick(present, cfg.zero_std_key, ZERO_STD_KEYS)
    inf_key = None if zero_key else _pick(present, None, INFORMATIVE_KEYS)
    reward_key = _pick(present, cfg.reward_key, REWARD_KEYS)
    fail_key = _pick(present, None, ALL_FAIL_KEYS)
    missing = []
    if step_key is None:
        missing.append(cfg.step_key or "step")
    if ent_key is None:
        missing.append(cfg.entropy_key or "entropy")
    for forced, picked in ((cfg.zero_std_key, zero_key), (cfg.reward_key, reward_key)):
        if forced and picked is None:  # a key the user named must exist, like entropy_key
            missing.append(forced)
    if missing:
        raise UserError(f"log lacks key(s) {missing}; keys there: {sorted(present)}")
    rows = []
    for r in recs:
        step = _finite(r.get(step_key))
        h = _finite(r.get(ent_key))
        if step is None:
            continue
        if h is None:
            if ent_key in r:
                issues.append(f"step {int(step)}: {ent_key} is NaN or not a number; skipped")
            continue
        if zero_key:
            z = _finite(r.get(zero_key))
            inf = None if z is None else 1.0 - z
        elif inf_key:
            inf = _finite(r.get(inf_key))
        else:
            inf = None
        rows.append(
            (
                int(step),
                h,
                inf,
                _finite(r.get(reward_key)) if reward_key else None,
                _finite(r.get(fail_key)) if fail_key else None,
            )
        )
    steps_in_order = [s for s, *_ in rows]
    if any(b < a for a, b in zip(steps_in_order, steps_in_order[1:], strict=False)):
        issues.append("steps out of order; sorted by step")
    rows.sort(key=lambda t: t[0])
    dedup: dict[int, tuple] = {}
    for row in rows:
        if row[0] in dedup:
            issues.append(f"step {row[0]} logged twice; kept the last")
        dedup[row[0]] = row
    rows = list(dedup.values())
    if worst:
        signal = f"worst-token entropy ({ent_key})"
    elif cfg.entropy_key:
        signal = f"entropy ({ent_key}, chosen by the user)"
    else:
        signal = f"mean token entropy ({ent_key}; the log has no worst-token entropy)"
    return Series(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        signal,
        issues,
        zero_key or inf_key,
        [r[4] for r in rows],
    )


#: A log that ends this many steps short of the check step is judged at its last step
#: (the simulator's and the demo's logs hold steps 0..149 for 150 updates: the state after
#: update 149 is the last one logged). The reasons then name the step actually used.
CHECK_STEP_TOLERANCE = 1


def _value_at(steps, values, target: int, side: str) -> tuple[int, float] | None:
    """First logged step >= target (side='after') or last <= target (side='before')."""
    idx = [i for i, s in enumerate(steps) if (s >= target if side == "after" else s <= target)]
    if not idx:
        return None
    i = idx[0] if side == "after" else idx[-1]
    return steps[i], values[i]


def analyse(series: Series, cfg: MonitorConfig = MonitorConfig()) -> dict:
    """The stage-2 verdict with reasons. JSON fields: verdict, reasons, entropy_signal,
    entropy_drop, informative_fraction, compute_saved, and the details behind them."""
    reasons: list[str] = []
    steps, ent = series.steps, series.entropy
    if not steps:
        raise UserError("log has no usable rows (no step with a finite entropy)")
    ref = _value_at(steps, ent, cfg.ref_step, "after")
    last_step = steps[-1]
    reached = last_step >= cfg.check_step - CHECK_STEP_TOLERANCE
    chk = _value_at(steps, ent, cfg.check_step, "before") if reached else (steps[-1], ent[-1])
    drop = None
    if ref is None or chk is None or chk[0] <= ref[0]:
        reasons.append(
            f"not enough steps yet: need step {cfg.ref_step} and a later one "
            f"(last logged step {last_step})"
        )
    elif ref[1] <= 0:
        reasons.append(f"entropy at step {ref[0]} is {ref[1]:g}; a relative drop is undefined")
    else:
        drop = (ref[1] - chk[1]) / ref[1]
    ps = theory.p_star(cfg.group_size)
    floor = theory.informative_probability(ps, cfg.group_size)
    inf_pairs = [
        (s, v)
        for s, v in zip(steps, series.informative, strict=True)
        if v is not None and s >= cfg.ref_step
    ]
    inf_recent = trend = None
    if inf_pairs:
        tail = inf_pairs[-max(3, len(inf_pairs) // 5) :]
        inf_recent = float(np.mean([v for _, v in tail]))
        if len(inf_pairs) >= 3:
            xs = np.array([s for s, _ in inf_pairs], dtype=float)
            ys = np.array([v for _, v in inf_pairs])
            if np.ptp(xs) > 0:
                trend = float(np.polyfit(xs, ys, 1)[0])
    verdict = "continue"
    stop_step = None
    if drop is not None:
        where = f"steps {ref[0]} -> {chk[0]}"
        if drop > cfg.threshold:
            verdict = "stop"
            stop_step = chk[0]
            reasons.append(
                f"entropy fell {drop:.0%} over {where}, above the {cfg.threshold:.0%} "
                f"abort threshold" + ("" if reached else " before the check step")
            )
        elif drop > cfg.watch_fraction * cfg.threshold:
            verdict = "watch"
            reasons.append(
                f"entropy fell {drop:.0%} over {where}: approaching the "
                f"{cfg.threshold:.0%} threshold"
            )
        else:
            reasons.append(f"entropy fell {drop:.0%} over {where}: below the threshold")
        if not reached:
            reasons.append(f"provisional: the check step {cfg.check_step} is not reached yet")
        elif chk[0] < cfg.check_step:
            reasons.append(
                f"judged at step {chk[0]}, the log's last step, {cfg.check_step - chk[0]} "
                f"short of the check step {cfg.check_step}"
            )
    if inf_recent is not None:
        below = inf_recent < floor
        falling = trend is not None and trend < 0
        msg = (
            f"informative-group fraction {inf_recent:.2f} "
            f"({'below' if below else 'above'} 1 - f_g(p*) = {floor:.2f} at g = "
            f"{cfg.group_size})"
        )
        if trend is not None:
            msg += f", trend {trend * 100:+.3f} per 100 steps"
        if below and falling and verdict == "continue":
            verdict = "watch"
            msg += ": below the floor and falling, hence watch"
        reasons.append(msg)
    elif series.informative_key is not None:
        reasons.append(
            f"informative fraction unknown yet: {series.informative_key} is logged, but not "
            f"at a step >= {cfg.ref_step} (last logged step {last_step})"
        )
    else:
        wanted = cfg.zero_std_key or " / ".join(ZERO_STD_KEYS + INFORMATIVE_KEYS)
        reasons.append(f"informative fraction unknown: the log has no column {wanted}")
    rule_info = None
    if cfg.rule != "paper":
        paper_reasons = [f"for reference, the paper's entropy rule: {r}" for r in reasons]
        verdict, stop_step, rule_info = _rule_verdict(series, cfg, ref, last_step, reached)
        reasons = [rule_info["reason"]] + paper_reasons
    compute_saved = 0.0
    if verdict == "stop" and stop_step is not None:
        compute_saved = max(0.0, (cfg.planned_steps - stop_step) / cfg.planned_steps)
    return {
        "verdict": verdict,
        "reasons": reasons,
        "rule": cfg.rule,
        "rule_used": "paper" if rule_info is None else rule_info["rule_used"],
        "rule_score": None if rule_info is None else rule_info["score"],
        "rule_threshold": rules.rule_threshold(cfg.rule)
        if cfg.rule_threshold is None
        else cfg.rule_threshold,
        "rule_accuracy": rules.stage2_accuracy_note(cfg.rule),
        "entropy_signal": series.entropy_signal,
        "entropy_drop": drop,
        "entropy_ref": None if ref is None else {"step": ref[0], "value": ref[1]},
        "entropy_check": None if chk is None else {"step": chk[0], "value": chk[1]},
        "informative_fraction": inf_recent,
        "informative_trend_per_step": trend,
        "informative_floor": floor,
        "compute_saved": compute_saved,
        "steps_seen": len(steps),
        "last_step": last_step,
        "check_reached": reached,
        "log_issues": series.issues,
        "config": asdict(cfg),
        "series": {"step": steps, "entropy": ent, "informative": series.informative},
    }


def _rule_verdict(series: Series, cfg: MonitorConfig, ref, last_step: int, reached: bool):
    """Verdict of a calibrated (non-paper) rule: its doom score over [ref, check] against
    its threshold. stop only once the check step is reached; before, a score above the
    threshold reads "watch" (provisional)."""

    def arr(xs):
        if xs is None or all(v is None for v in xs):
            return None
        return np.array([np.nan if v is None else v for v in xs], dtype=float)

    trace = rules.Trace(
        steps=np.array(series.steps),
        entropy=np.array(series.entropy, dtype=float),
        informative=arr(series.informative),
        all_fail=arr(series.all_fail),
        reward=arr(series.reward),
    )
    ref_step = cfg.ref_step if ref is None else ref[0]
    check = min(cfg.check_step, last_step)
    if check <= ref_step:
        reason = (
            f"rule {cfg.rule}: not enough steps to judge yet (needs steps {ref_step} to "
            f"{cfg.check_step}; last logged step {last_step}); continue for now"
        )
        return "continue", None, {"score": None, "reason": reason, "rule_used": cfg.rule}
    rule = cfg.rule
    score = rules.stage2_score(rule, trace, ref_step, check)
    fallback = ""
    if score is None:  # the log lacks this rule's columns: the next-best rule it supports
        order = sorted(  # only rules that beat chance on held-out settings
            (
                r
                for r in rules.STAGE2_RULES
                if r != cfg.rule and (rules.STAGE2_CALIBRATION.get(r, {}).get("auc") or 0) > 0.5
            ),
            key=lambda r: -rules.STAGE2_CALIBRATION[r]["auc"],
        )
        for alt in order:
            score = rules.stage2_score(alt, trace, ref_step, check)
            if score is not None:
                fallback = (
                    f" (the log has no column for rule {cfg.rule}, e.g. reward: pass "
                    f"--reward-key; judged by the next-best rule {alt})"
                )
                rule = alt
                break
    if score is None:
        reason = (
            f"rule {cfg.rule} cannot be computed on this log's columns, nor any rule that beat "
            "chance on held-out settings (they read the reward or frac_reward_zero_std: name "
            "them with --reward-key / --zero-std-key); continue. --rule paper judges the "
            "entropy drop"
        )
        return "continue", None, {"score": None, "reason": reason, "rule_used": None}
    # the rule actually judged (the asked one, or its fallback) sets thresholds and wording
    thr = rules.rule_threshold(rule) if cfg.rule_threshold is None else cfg.rule_threshold
    watch_thr = rules.rule_watch_threshold(rule) if cfg.rule_threshold is None else thr
    note = rules.stage2_accuracy_note(rule)
    desc = rules.STAGE2_RULES[rule].description
    above = score > thr
    if above and reached:
        verdict, stop_step = "stop", check
    elif above or score > watch_thr:
        verdict, stop_step = "watch", None
    else:
        verdict, stop_step = "continue", None
    if rule in ("reward_slope", "informative_trend"):  # scores are minus a change: show it
        what = "mean reward" if rule == "reward_slope" else "informative-group fraction"
        state = "stop" if above else "watch" if score > watch_thr else "continue"
        reason = (
            f"rule {rule}: the {what} changed by {-score:+.3f} over steps {ref_step}-{check}; "
            f"the rule stops when it changes by less than {round(-thr, 3) + 0:+.3f} and watches "
            f"below {round(-watch_thr, 3) + 0:+.3f}: {state}{fallback} ({note})"
        )
    else:
        where = (
            f"above its stop threshold {thr:.3f}"
            if above
            else f"between its watch ({watch_thr:.3f}) and stop ({thr:.3f}) thresholds"
            if score > watch_thr
            else f"below its watch threshold {watch_thr:.3f}"
        )
        reason = (
            f"rule {rule}: {desc} = {score:.3f} over steps {ref_step}-{check}, {where}"
            f"{fallback} ({note})"
        )
    if above and not reached:
        reason += f"; provisional until the check step {cfg.check_step}"
    return verdict, stop_step, {"score": score, "reason": reason, "rule_used": rule}


def monitor(path: str | Path, cfg: MonitorConfig = MonitorConfig()) -> dict:
    """Read the log at ``path`` and return :func:`analyse`'s report."""
    return analyse(read_series(path, cfg), cfg)
