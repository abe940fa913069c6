"""What the stage-2 monitor decided on a run, as a type: :class:`MonitorDecision`, the
verdict, the outcome it predicts and the action, and every part it rests on (the run as
judged with its assumptions, the rule's verdict, the informative floor, the no-signal state,
held-out coverage) with the numbers the JSON report carries. No words here:
``rankinv.verdicts.words.monitor`` phrases a decision, and
:class:`rankinv.verdicts.monitor_report.MonitorResult` adds those words and the JSON."""

from __future__ import annotations

from dataclasses import dataclass

from rankinv.verdicts import stage2
from rankinv.verdicts.assumptions import Assumed, GroupSizeCheck, Outcome
from rankinv.verdicts.coverage import Coverage
from rankinv.verdicts.mechanical import NoSignal
from rankinv.verdicts.monitor_config import MonitorConfig
from rankinv.verdicts.monitor_floor import Floor
from rankinv.verdicts.monitor_rules import RuleVerdict, shown_value, stops_when, thresholds
from rankinv.verdicts.monitor_run import JudgedRun, saved_share


@dataclass(frozen=True)
class LaterSteps:
    """What a log shows after the check step it was judged at: its last ``step``, the
    decision judged there instead (``outcome``, as --check-step at that step gives it), and
    the mean reward over the last quarter of the steps judged (as the reward-edge rule reads
    it) to the step judged (``check``) and to the last step (None: no reward logged)."""

    step: int
    outcome: Outcome
    check: int
    reward_at_check: float | None
    reward_at_last: float | None
    #: the rule whose stop names the label there, with no held-out evaluation (None: other)
    claimed_by: str | None = None


@dataclass(frozen=True)
class MonitorDecision:
    """The monitor's decision on a run and what it rests on.

    ``verdict``: continue, watch or stop; ``label`` / ``action``: the outcome it predicts and
    what to do (``rankinv.verdicts.monitor_label``); ``provisional``: the check step is not
    reached (a rule's stop is a watch until then); ``state``: "signal" or
    "no_signal:<state>"; ``decided_by``: what set the verdict ("coverage", "no_signal",
    "informative_floor", "rule" or None); ``compute_saved``: the share of the planned steps a
    stop now saves (0 unless stop). The parts: ``run`` (the log as judged, with g, the
    reward range, the planned steps and the logging interval), ``config``, ``rule`` (the
    rule's verdict and numbers), ``floor`` (the informative share against its floor),
    ``no_signal`` (the mechanical state, None while signal remains; ``no_signal_on_bound``:
    found on an upper bound of the informative share) and ``coverage`` (held-out pass@k,
    None without evaluations). ``group_size_check``: where g is assumed, the decision re-made
    at the usual range of g (None where g is given or logged, or not checked); ``later``:
    where the log goes on past the check step, what its later steps show (None: it does not,
    or not checked)."""

    verdict: str
    label: str
    action: str
    provisional: bool
    state: str
    decided_by: str | None
    compute_saved: float
    run: JudgedRun
    config: MonitorConfig
    rule: RuleVerdict
    floor: Floor
    no_signal: NoSignal | None
    no_signal_on_bound: bool
    coverage: Coverage | None
    group_size_check: GroupSizeCheck | None = None
    later: LaterSteps | None = None

    # ------------------------------------------------ the rule's numbers
    @property
    def rule_used(self) -> str | None:
        return self.rule.rule_used

    @property
    def shown_rule(self) -> str:
        """The rule whose quantity is reported: the one used, else the one asked."""
        return self.rule.rule_used or self.config.rule

    @property
    def doom_score(self) -> float | None:
        """The rule's score, higher = stop (None: not judged)."""
        return self.rule.score

    @property
    def doom_threshold(self) -> float:
        t = self.rule.threshold
        return t if t is not None else thresholds(self.shown_rule, self.config)[0]

    @property
    def rule_score(self) -> float | None:
        """The quantity the rule prints (e.g. the informative fraction), not its doom score."""
        return None if self.doom_score is None else shown_value(self.shown_rule, self.doom_score)

    @property
    def rule_threshold(self) -> float:
        return shown_value(self.shown_rule, self.doom_threshold)

    @property
    def rule_stops_when(self) -> str:
        return stops_when(self.shown_rule)

    # ------------------------------------------------ the run
    @property
    def check_reached(self) -> bool:
        return self.rule.reached

    @property
    def last_step(self) -> int:
        """The log's last step (the verdict reads steps up to its check step only)."""
        return self.run.now.last

    @property
    def steps_done(self) -> int:
        return self.run.now.done

    @property
    def planned_steps(self) -> int:
        return self.run.planned

    @property
    def compute_saved_at_check(self) -> float | None:
        """The share of the planned steps a stop saved where it was judged short of the
        log's end (a finished log judged at its check step, as live); None otherwise."""
        run = self.run
        if self.verdict != "stop" or run.whole is None or run.done >= run.now.done:
            return None
        return saved_share(run.planned, run.done)

    @property
    def group_size(self) -> int:
        return int(self.run.g.value)

    @property
    def reward_range(self) -> tuple[float, float]:
        return tuple(self.run.rng.value)

    @property
    def assumptions(self) -> tuple[Assumed, ...]:
        """g, the reward range, the planned steps and the logging interval, in that order."""
        return (self.run.g, self.run.rng, self.run.pl, self.run.iv)

    @property
    def window(self) -> tuple[int, int]:
        """(reference step, check step) of the rule's window."""
        return self.rule.ref, self.rule.check_step

    # ------------------------------------------------ entropy, informative share, coverage
    @property
    def entropy_drop(self) -> float | None:
        t = self.run.trace
        return stage2.relative_drop(t, t.entropy, self.rule.ref, self.rule.check)

    @property
    def entropy_ref(self) -> tuple[int, float] | None:
        """(step, value) of the entropy at the reference step (the first logged after it)."""
        t = self.run.trace
        return stage2.value_at(t, t.entropy, self.rule.ref, "after")

    @property
    def entropy_check(self) -> tuple[int, float] | None:
        t = self.run.trace
        return stage2.value_at(t, t.entropy, self.rule.check, "before")

    @property
    def informative_fraction(self) -> float | None:
        return self.floor.fraction

    @property
    def informative_floor(self) -> float:
        return self.floor.floor

    @property
    def best_coverage_step(self) -> int | None:
        return None if self.coverage is None else self.coverage.keep_step
