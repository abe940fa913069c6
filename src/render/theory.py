"""`rankinv threshold`: the dead-zone thresholds as a table with what each key means."""

from __future__ import annotations

from rich.markup import escape

from rankinv.render.base import console, kv_table

#: What each `rankinv threshold` key means (shown beside the value in the table).
THRESHOLD_MEANING = {
    "group_size": "g, rollouts per prompt in a GRPO group",
    "level": "share of signal-free groups that defines p*",
    "p_star": "p*(g): below this pass rate more than {level:.0%} of groups are signal-free "
    "(all fail)",
    "p_star_upper": "1 - p*: above this more than {level:.0%} of groups are signal-free (all pass)",
    "p_star_ln2_over_g": "ln(1/L) / g, the common small-p approximation of p* (ln2/g at "
    "L = 1/2; it overstates p*)",
    "advantage_variance_at_p_star": "E[sigma^2] = p(1-p)(g-1)/g at p*: mean group reward "
    "variance, the size of the GRPO signal",
    "entropy_low_nats": "H_low = h(p*): answer entropy below this puts the prompt in the "
    "dead zone (K = {n_outcomes} answers)",
    "entropy_high_nats": "H_high = h(p*) + p* ln(K-1): answer entropy above this keeps it out",
    "n_outcomes": "K, distinct answers per prompt assumed by the entropy bounds",
}


def print_threshold(payload: dict) -> None:
    g, level = payload["group_size"], payload["level"]
    table = kv_table(f"GRPO dead-zone thresholds, g = {g}, level = {level}", [])
    table.add_column("meaning")
    for key, value in payload.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown, escape(THRESHOLD_MEANING[key].format(**payload)))
    console.print(table)
    console.print(
        f"A prompt solved with probability p gives a group of {g} rollouts with no "
        f"learning signal (all fail or all pass) with probability p^g + (1-p)^g; below "
        f"p* = {payload['p_star']:.4g} (or above 1 - p*) that happens to more than "
        f"{level:.0%} of its groups, so GRPO hardly learns from it. Keys as in --json.",
        highlight=False,
    )
    from rankinv.simulate.settings import AXES
    from rankinv.verdicts._calibrated import DEFAULT_STAGE1_RISK_SIGNAL, STAGE1_CALIBRATION
    from rankinv.verdicts.words.probe import risk_threshold_line

    thr = STAGE1_CALIBRATION.get(DEFAULT_STAGE1_RISK_SIGNAL, {}).get("poor_start_threshold")
    if thr is not None:
        line = risk_threshold_line(DEFAULT_STAGE1_RISK_SIGNAL, thr, AXES["group_size"])
        console.print(line, highlight=False)
