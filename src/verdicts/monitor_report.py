"""The monitor's report: the JSON fields of a stage-2 verdict and every number it rests on
(``report``), what a report's verdict rests on in words (``basis``), and a report recognised
by its content (``is_report``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rankinv.verdicts import mechanical, panels, stage2
from rankinv.verdicts.monitor_rules import shown_value, stops_when, thresholds
from rankinv.verdicts.rules import stage2_accuracy_note


@dataclass(frozen=True)
class Decision:
    """The monitor's decision: the verdict, the outcome it predicts and the action, whether
    it is provisional, the log's state (no signal: ``mech``) and the reasons, and the share
    of the planned compute a stop saves."""

    verdict: str
    label: str
    action: str
    provisional: bool
    state: str
    mech: dict | None
    mech_bound: bool
    reasons: list[str]
    compute_saved: float


@dataclass(frozen=True)
class Informative:
    """The informative share over the log's latest steps, its trend, and its floor."""

    fraction: float | None
    trend_per_step: float | None
    floor: float


def entropy_signal(keys: dict, entropy_key: str | None) -> str:
    """Which entropy column the log gave, in words."""
    if keys["entropy"] is None:
        return "none (the log has no entropy column)"
    if entropy_key:
        return f"entropy ({keys['entropy']}, chosen by the user)"
    return f"mean token entropy ({keys['entropy']})"


def report(run, cfg, rv, d: Decision, inf: Informative, cov) -> dict:
    """The JSON report of ``analyse``: the decision, the rule's numbers (as the reasons print
    them and as doom scores), the entropy drop over the window, the informative share, the
    assumptions, the coverage, the window and the series the figures draw."""
    trace, derived = run.trace, run.derived
    drop = stage2.relative_drop(trace, trace.entropy, rv.ref, rv.check)
    e_ref = stage2.value_at(trace, trace.entropy, rv.ref, "after")
    e_chk = stage2.value_at(trace, trace.entropy, rv.check, "before")
    ent_signal = entropy_signal(run.keys, cfg.entropy_key)
    thr = rv.details.get("threshold")
    shown_rule = rv.rule_used or cfg.rule
    doom = rv.details.get("score")
    doom_thr = thr if thr is not None else thresholds(shown_rule, cfg)[0]
    n = trace.steps.size
    return {
        "verdict": d.verdict,
        "label": d.label,
        "action": d.action,
        "provisional": d.provisional,
        "state": d.state,
        "no_signal": None
        if d.mech is None
        else {k: v for k, v in d.mech.items() if k != "comparison"}
        | {
            "level": mechanical.NO_SIGNAL_ZERO_STD,
            "steps": mechanical.NO_SIGNAL_STEPS,
            "bound": d.mech_bound,
        },
        "reasons": d.reasons,
        "rule": cfg.rule,
        "rule_used": rv.rule_used,
        "rule_on_bound": bool(rv.details.get("bound")),
        # the quantity and threshold the reasons print (e.g. the informative fraction and
        # its stop level); doom_*: the same as a doom score, higher = stop
        "rule_score": None if doom is None else shown_value(shown_rule, doom),
        "rule_threshold": shown_value(shown_rule, doom_thr),
        "rule_stops_when": stops_when(shown_rule),
        "doom_score": doom,
        "doom_threshold": doom_thr,
        "rule_accuracy": stage2_accuracy_note(shown_rule),
        "entropy_signal": ent_signal,
        "entropy_drop": drop,
        "entropy_ref": None if e_ref is None else {"step": e_ref[0], "value": e_ref[1]},
        "entropy_check": None if e_chk is None else {"step": e_chk[0], "value": e_chk[1]},
        "informative_fraction": inf.fraction,
        "informative_trend_per_step": inf.trend_per_step,
        "informative_floor": inf.floor,
        "informative_source": None
        if run.derived is None
        else run.derived.source or run.derived.bound_words,
        "compute_saved": d.compute_saved,
        "planned_steps": run.planned,
        "planned_steps_source": run.planned_src,
        "group_size": run.g.value,
        "reward_range": list(run.rng.value),
        "assumptions": [a.to_json() for a in (run.g, run.rng, run.pl, run.iv)],
        "trainer": run.log.trainer,
        "dynamic_sampling": None if derived is None else derived.dynamic_sampling,
        "config_line": None if derived is None else derived.config_line,
        "coverage": None if cov is None else cov.to_json(),
        "best_coverage_step": None if cov is None else cov.keep_step,
        "steps_seen": n,
        "last_step": run.last,
        "steps_done": run.done,
        "check_reached": rv.reached,
        "window": {"ref_step": rv.ref, "check_step": rv.check_step, "from": rv.window_src},
        "columns": run.keys,
        "log_format": run.log.format,
        "log_issues": run.log.issues,
        "config": asdict(cfg),
        "signal": None
        if rv.rule_used is None or thr is None or rv.details.get("bound")
        else panels.signal_panel(trace, rv.rule_used, rv.ref, rv.check, thr, run.keys),
        "series": {
            "step": trace.steps.tolist(),
            "entropy": panels.col_list(trace.entropy, n),
            "informative": panels.col_list(trace.informative, n),
            "reward": panels.col_list(trace.reward, n),
        },
    }


def basis(rep: dict) -> str:
    """What a report's verdict rests on, in words (the CLI and report.md print it)."""
    used = rep.get("rule_used")
    decided = rep.get("decided_by")
    if decided == "coverage":
        what = "held-out coverage fell beyond its noise"
        best = rep.get("best_coverage_step")
        what += "" if best is None else f"; keep step {best}"
    elif decided == "informative_floor":
        what = f"the informative-group share below its floor and falling (rule {used}: continue)"
    elif rep.get("state", "signal").startswith("no_signal"):
        what = f"no signal: {rep['state'].split(':', 1)[1]}, a fact of the log"
    elif rep.get("rule_on_bound"):
        what = f"rule {used} on an upper bound of the informative share from the mean reward"
    elif used in ("paper", "paper_min"):
        what = f"rule {used}; signal: {rep['entropy_signal']}"
    elif used:
        sig = rep.get("signal") or {}
        what = f"rule {used}; signal: {sig.get('name', '?')} ({panels.signal_source(sig)})"
    else:
        what = "no rule computable on this log"
    prov = "provisional: the check step is not reached; " if rep.get("provisional") else ""
    return prov + what


def is_report(data) -> bool:
    """Whether loaded JSON is a monitor report (found by content, whatever its file name)."""
    return isinstance(data, dict) and {"verdict", "reasons", "series", "config"} <= set(data)
