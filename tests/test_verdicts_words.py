"""Compare's results in words (rankinv.verdicts.words.compare): the one phrasing of a rho
that the CLI and the Markdown report both print."""

import json

from rankinv.verdicts import compare as cmp
from rankinv.verdicts.words.compare import rho_line, rho_words


def _rho(rho, lo, hi, p, method="bootstrap", n=6):
    return {
        "rho": rho, "ci_low": lo, "ci_high": hi, "p_value": p, "ci_method": method,
        "p_method": "permutation", "n": n, "power": 0.5,
    }  # fmt: skip


def test_rho_line_names_the_approximate_ci_and_the_permutation_p_and_flags_disagreement():
    r = _rho(0.45, -0.02, 0.80, 0.0455, method="fisher-z", n=15) | {"p_method": "exact"}
    line = rho_line("entropy", r)
    assert "95% CI [-0.02, +0.80] (Fisher z, approximate), exact permutation p = 0.0455" in line
    assert "the approximate CI includes 0 though the permutation p is <= 0.05" in line
    agree = rho_line("entropy", r | {"ci_low": 0.1})
    assert "disagree" not in agree and "includes 0" not in agree


def test_an_undefined_rho_says_why():
    assert rho_words({"rho": None, "error": "constant input"}) == "undefined (constant input)"
    assert rho_line("entropy", {"rho": None}) == "entropy: undefined (constant input)"


def test_the_report_prints_the_same_words_as_the_cli(tmp_path):
    from rankinv.report import build_report

    res = cmp.compare(cmp.example("paper-qwen")["rows"])
    (tmp_path / "compare.json").write_text(json.dumps(res.to_json()))
    report = build_report(tmp_path).read_text()
    for key, v in res.predictors.items():
        if not v.monotone_of:
            assert f"| {key} | {rho_words(v.to_json())} |" in report


# ---------------------------------------------------------------- golden texts (issue 37)
# Verdicts are tested on their fields; these few tests pin the wording the user reads.


def test_golden_probe_reasons():
    from rankinv.verdicts.probe_verdict import ProbeVerdict
    from rankinv.verdicts.signals import Stage1Verdict
    from rankinv.verdicts.words.probe import reasons

    v = Stage1Verdict("high", "calibrated", "escape", 0.3, 0.5, 1, "held-out AUC 0.70")
    pv = ProbeVerdict(v, 4, 8, 8, 0.25, 0.083, 0.5, 0.0, 0.0, "rollout", 0.3, 0.18)
    assert reasons(pv) == [
        "no signal: every problem was all-fail or all-pass in 8 samples, so no group of 8 would "
        "carry a reward difference (zero advantage, zero gradient)",
        "stage-1 signal escape = 0.300 is below 0.500, the threshold past which simulated "
        "checkpoints were poor starts: a better rung of the same ladder ended higher after RL "
        "(theory: mean over prompts of 1 - f_g(p)^visits, the chance a prompt draws at least "
        "one signal-carrying group within the planned steps x batch; one threshold for every "
        "g, pooled over simulated settings of several g); held-out AUC 0.70",
        "small probe: 4 problems x 8 samples; the p-hats behind this verdict are coarse (the "
        "calibration used 64 samples per prompt)",
        "pass@1 0.250; p*(8) = 0.083; 50% of problems below p* (all-fail zone), 0% above 1 - p* "
        "(all-pass); 0% of groups of 8 would carry signal (unbiased estimate)",
        "the paper's screen (baseline, not the verdict): rollout entropy 0.300 nats is above "
        "tau_H = 0.18 (no flag; calibrated on one model family)",
    ]


def test_golden_monitor_reasons(tmp_path):
    from rankinv.verdicts.monitor import MonitorConfig, monitor

    path = tmp_path / "run.jsonl"  # no signal from step 41, the reward stuck near 0
    rows = [{"step": s, "frac_reward_zero_std": 1.0, "reward": 0.017} for s in range(1, 60)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = monitor(path, MonitorConfig(rule="paper", group_size=8, planned_steps=400))
    # the rule's line quotes its calibrated accuracy (golden in test_verdicts_monitor.py)
    said = [r for r in rep.reasons if not r.startswith("for reference, rule")]
    assert said == [
        "no signal (a fact of the log, whatever the rule): the zero-std group share 1.000 over "
        "steps 50-59 is above the no-signal level 0.950 (no signal: at or above it; 10 logged "
        "steps), so the policy gradient is (nearly) zero with beta = 0; groups fail whole: "
        "almost every sample fails: mean reward 0.017 (the minimum is 0); stop",
        "for reference, the informative-group fraction 0.00 over steps 50-59 (the latest steps "
        "judged) is below the floor 1 - f_g(p*) at g = 8 (given): 0.50; flat (0.00 over steps "
        "10-59, a fitted line)",
        "rests on: reward range [0, 1] (assumed; pass --reward-range)",
        "stopping now (step 59 of 400 planned, --planned-steps) saves 341 steps, 85.2% of the "
        "RL compute",
    ]


def test_a_run_the_sweep_stops_is_never_told_to_continue():
    """issue 38 (second fresh-clone try): a sweep's stop printed beside the run's own
    'continue' action; the action now says the sweep stops it and what alone would do."""
    from rankinv.verdicts.words.sweep import sweep_action

    own = "continue"
    got = sweep_action("stop", "continue", own, "improving", 20)
    assert got.startswith("stop: the sweep keeps its better runs") and "step 20" in got
    assert sweep_action("continue", "continue", own, "improving", 20) == own
    assert sweep_action("stop", "stop", "restart", "stranded", 20) == "restart"
