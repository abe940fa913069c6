"""The monitor's report: :class:`MonitorResult`, a :class:`MonitorDecision` with its words
(``rankinv.verdicts.words.monitor``) and its JSON (``to_json``: the fields ``rankinv monitor
--json`` prints, and every number they rest on); a report recognised by its content
(``is_report``)."""

from __future__ import annotations

from dataclasses import asdict

from rankinv.verdicts import mechanical, panels
from rankinv.verdicts.assumptions import assumptions_json
from rankinv.verdicts.monitor_decision import LaterSteps, MonitorDecision
from rankinv.verdicts.rules import stage2_accuracy_note
from rankinv.verdicts.words import monitor as words


def entropy_signal(keys: dict, entropy_key: str | None) -> str:
    """Which entropy column the log gave, in words."""
    if keys["entropy"] is None:
        return "none (the log has no entropy column)"
    if entropy_key:
        return f"entropy ({keys['entropy']}, chosen by the user)"
    return f"mean token entropy ({keys['entropy']})"


def later_json(later: LaterSteps) -> dict:
    """What a log shows after its check step, as the JSON report carries it."""
    return {
        "last_step": later.step,
        "verdict": later.outcome.verdict,
        "label": later.outcome.label,
        "reward_at_check": later.reward_at_check,
        "reward_at_last": later.reward_at_last,
    }


class MonitorResult(MonitorDecision):
    """The stage-2 verdict of ``rankinv.verdicts.monitor``: the decision's fields (see
    :class:`MonitorDecision`), ``reasons`` and ``basis`` in words, and ``to_json``."""

    @property
    def reasons(self) -> list[str]:
        return words.reasons(self)

    @property
    def basis(self) -> str:
        """What the verdict rests on, in words."""
        return words.basis(self._head())

    def _head(self) -> dict:
        """The JSON fields ``basis`` reads."""
        rv = self.rule
        signal = None
        if rv.status == "judged" and not rv.on_bound:
            t, keys = self.run.now.trace, self.run.keys
            signal = panels.signal_panel(t, rv.rule_used, rv.ref, rv.check, rv.threshold, keys)
        return {
            "decided_by": self.decided_by,
            "rule": rv.rule_asked,
            "rule_used": rv.rule_used,
            "rule_on_bound": rv.on_bound,
            "rule_status": rv.status,
            "state": self.state,
            "best_coverage_step": self.best_coverage_step,
            "entropy_signal": entropy_signal(self.run.keys, self.config.entropy_key),
            "signal": signal,
            "provisional": self.provisional,
        }

    def to_json(self) -> dict:
        """The report's JSON: the decision, the rule's numbers (as the reasons print them and
        as doom scores), the entropy drop over the window, the informative share, the
        assumptions, the coverage, the window and the series the figures draw."""
        run, rv, cfg = self.run, self.rule, self.config
        derived, head = run.derived, self._head()
        trace = run.now.trace  # the figures draw the whole log, the window marked
        e_ref, e_chk = self.entropy_ref, self.entropy_check
        ns = self.no_signal
        n = trace.steps.size
        return {
            "verdict": self.verdict,
            "label": self.label,
            "action": self.action,
            "provisional": self.provisional,
            "state": self.state,
            "no_signal": None
            if ns is None
            else ns.to_json()
            | {
                "level": mechanical.NO_SIGNAL_ZERO_STD,
                "steps": mechanical.NO_SIGNAL_STEPS,
                "bound": self.no_signal_on_bound,
            },
            "reasons": self.reasons,
            "rule": cfg.rule,
            "rule_used": rv.rule_used,
            "rule_choice": words.rule_choice_words(rv, run.trace, derived),  # None: as wanted
            "rule_on_bound": rv.on_bound,
            # the quantity and threshold the reasons print (e.g. the informative fraction and
            # its stop level); doom_*: the same as a doom score, higher = stop
            "rule_score": self.rule_score,
            "rule_threshold": self.rule_threshold,
            "rule_stops_when": self.rule_stops_when,
            "doom_score": self.doom_score,
            "doom_threshold": self.doom_threshold,
            "rule_accuracy": stage2_accuracy_note(self.shown_rule),
            "entropy_signal": head["entropy_signal"],
            "entropy_drop": self.entropy_drop,
            "entropy_ref": None if e_ref is None else {"step": e_ref[0], "value": e_ref[1]},
            "entropy_check": None if e_chk is None else {"step": e_chk[0], "value": e_chk[1]},
            "informative_fraction": self.floor.fraction,
            "informative_trend_per_step": self.floor.trend_per_step,
            "informative_floor": self.floor.floor,
            "informative_source": None
            if derived is None
            else derived.source or derived.bound_words,
            "compute_saved": self.compute_saved,
            # a stop judged short of the log's end (a finished log): what it saved then
            "compute_saved_at_check": self.compute_saved_at_check,
            "planned_steps": run.planned,
            "planned_steps_source": run.planned_src,
            "group_size": run.g.value,
            "reward_range": None if run.rng.source == "unused" else list(run.rng.value),
            "assumptions": assumptions_json(self.assumptions, self.group_size_check),
            "trainer": run.log.trainer,
            "dynamic_sampling": None if derived is None else derived.dynamic_sampling,
            "config_line": None if derived is None else derived.config_line,
            "coverage": None if self.coverage is None else self.coverage.to_json(),
            "best_coverage_step": self.best_coverage_step,
            "steps_logged": n,  # the log's steps, a step 0 (evaluation only) among them
            "last_step": run.now.last,
            "judged_to_step": run.last,  # no number the verdict quotes comes from a later step
            # where the log goes on past the check step: the verdict judged at its last step
            "later_steps": None if self.later is None else later_json(self.later),
            "steps_done": run.now.done,
            "check_reached": rv.reached,
            "window": {"ref_step": rv.ref, "check_step": rv.check_step, "from": rv.window_src},
            "columns": run.keys,
            "log": run.log.source,
            "log_format": run.log.format,
            "log_issues": run.log.issues,
            # what was asked; the paper's rule's threshold named as such (rule_threshold is
            # the level of the rule used)
            "config": {
                ("paper_threshold" if k == "threshold" else k): v for k, v in asdict(cfg).items()
            },
            "signal": head["signal"],
            "series": {
                "step": trace.steps.tolist(),
                "entropy": panels.col_list(trace.entropy, n),
                "informative": panels.col_list(trace.informative, n),
                "reward": panels.col_list(trace.reward, n),
            },
            "decided_by": self.decided_by,
        }


#: What every monitor report holds; ``series`` (the figures' data) only the one written by
#: ``rankinv monitor --out FILE`` (``--json`` prints the report without it).
REPORT_KEYS = frozenset({"verdict", "reasons", "config"})


def is_report(data, series: bool = True) -> bool:
    """Whether loaded JSON is a monitor report (found by content, whatever its file name);
    ``series=False``: ``rankinv monitor --json``'s too (no series)."""
    need = REPORT_KEYS | {"series"} if series else REPORT_KEYS
    return isinstance(data, dict) and need <= set(data)
