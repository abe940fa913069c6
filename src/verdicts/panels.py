"""What a stage-2 report shows of the series a rule read: the columns as JSON, the panel a
figure draws (the series and the rule's threshold in its units), and where a panel's values
came from in the log."""

from __future__ import annotations

import numpy as np

from rankinv.verdicts.stage2 import STAGE2_RULES, format_value, value_at


def col_list(values, n) -> list:
    """A column as JSON: floats, None where missing or not finite."""
    return (
        [None] * n if values is None else [None if not np.isfinite(v) else float(v) for v in values]
    )


def signal_source(panel: dict) -> str:
    """The log column a signal panel plots, as computed: the informative fraction is
    1 - the zero-std share column (e.g. "1 - frac_reward_zero_std")."""
    key = panel.get("key")
    if key is None:
        return "not logged"
    return f"1 - {key}" if panel.get("name") == "informative" else key


def signal_panel(trace, rule, ref, check, thr, keys) -> dict | None:
    """The series the rule read and its threshold in that series' units, for figures."""
    col = {"entropy": trace.entropy, "informative": trace.informative, "reward": trace.reward}
    name = STAGE2_RULES[rule].needs[-1]
    if rule == "paper_min" and trace.min_entropy is not None:
        name, values = "min_entropy", trace.min_entropy
    else:
        values = col.get(name, getattr(trace, name, None))
    if values is None:
        return None
    ok = np.isfinite(values)
    line = None
    if rule in ("paper", "paper_min"):
        r0 = value_at(trace, values, ref, "after")
        if r0 is not None:
            y = r0[1] * (1 - thr)
            line = {"steps": [ref, check], "values": [y, y], "label": f"stop level: {thr:.0%} drop"}
    elif rule in ("informative", "combined"):
        line = {"steps": [ref, check], "values": [1 - thr] * 2, "label": "stop level"}
    elif rule in ("reward_gain", "reward_slope"):
        start = value_at(trace, values, ref, "after")
        if start is not None:
            lo, hi = trace.reward_range
            head = max(hi - start[1], 0.05 * (hi - lo))
            need = -thr * (head if rule == "reward_gain" else 1.0)
            line = {
                "steps": [ref, check],
                "values": [start[1], start[1] + need],
                "label": f"least rise that continues ({format_value(-thr, '+.0%')} of headroom)"
                if rule == "reward_gain"
                else f"least rise that continues ({format_value(-thr, '+.3f')})",
            }
    key = keys.get("zero_std") if name == "informative" else keys.get(name)
    return {
        "name": name,
        "key": key,
        "step": trace.steps[ok].tolist(),
        "values": values[ok].tolist(),
        "window": [ref, check],
        "threshold_line": line,
    }
