"""The table ``rankinv compare --probes DIR... --outcomes FILE`` reads, from probe folders and
a file of post-RL results: one row per probe, its stage-1 signals by the one computation
``rank`` uses, beside its outcome. Probes not sampled alike are refused as ``rank`` refuses
them (:func:`rankinv.verdicts.probe_result.sampling_differences`); the g of p*(g) is the
probes' own where they record it; outcome rows that name no probe are warned about."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from rankinv.errors import UserError
from rankinv.records import DEFAULT_K
from rankinv.verdicts.tables import read_rows
from rankinv.verdicts.words import inputs as words


@dataclass
class ProbeTable:
    """The rows compare reads; ``group_size``: the g the probes' planned run recorded (None
    where none did); ``warnings``: what was left out (outcome rows naming no probe)."""

    rows: list[dict]
    group_size: int | None = None
    warnings: list[str] = field(default_factory=list)


def probe_table(
    dirs: list[str | Path], outcomes: str | Path, group_size: int | None = None
) -> ProbeTable:
    """The table ``compare`` reads, from probe directories and a file of post-RL results.

    ``outcomes``: CSV or JSON rows with ``name`` (the probe folder's name, or the model path
    the probe recorded) and the outcome column(s), e.g. post_pass_at_10; ``seed`` and
    ``depth`` are carried over when given. Each probe gives pre_pass_at_1, pre_pass_at_10,
    entropy (prompt), entropy_rollout, informative_fraction and share_below_p_star, by the
    one stage-1 computation under the probes' own plan (its g replaced by ``group_size``
    where given). Probes not sampled alike (samples, sampling, g, the planned RL) are
    refused, as ``rank`` refuses them."""
    from rankinv.verdicts import signals as sg
    from rankinv.verdicts.probe_result import ProbeResult, sampling_differences
    from rankinv.verdicts.results_files import load_inputs  # result files, folders of them

    ProbeResult.require(dirs)  # a missing path is named before any count of paths is
    probes = load_inputs(dirs)[0]
    if len(probes) < 3:
        raise UserError(f"compare needs at least 3 probe directories, got {len(probes)}")
    diffs = sampling_differences(probes)
    if diffs:
        raise UserError(words.not_sampled_alike(diffs[0]))
    recorded = next((p.setup.group_size for p in probes if p.setup.group_size), None)
    post = read_rows(outcomes)
    by_name = {}
    for i, r in enumerate(post):
        if r.get("name") is None:
            raise UserError(f"{outcomes}: row {i + 1} has no name (the probe folder's name)")
        by_name[str(r["name"])] = r
    rows, used = [], set()
    for p in probes:
        d = p.dir
        folder = Path(d).name if Path(d).is_dir() else p.name
        key = next((k for k in (folder, p.name) if k in by_name), None)
        if key is None:
            alt = f" (or {p.name!r})" if p.name != folder else ""
            raise UserError(f"{outcomes} has no row named {folder!r}{alt} for probe {d}")
        used.add(key)
        plan = p.setup.plan()
        if group_size is not None:
            plan = replace(plan, group_size=group_size)
        s = sg.stage1_signals(
            p.n,
            p.c,
            plan,
            entropy_rollout=p.summary.get("entropy_rollout"),
            entropy_prompt=p.summary.get("entropy_prompt"),
        )
        extra = {k: v for k, v in by_name[key].items() if k != "name"}
        rows.append(
            {
                "name": folder,
                "pre_pass_at_1": s["pass_at_1"],
                f"pre_pass_at_{DEFAULT_K}": s["pass_at_k"],
                "entropy": s["entropy_prompt"],
                "entropy_rollout": s["entropy_rollout"],
                "informative_fraction": s["informative_fraction"],
                "share_below_p_star": s["share_below_p_star"],
                # validate's own risk verdict (a different screen from the paper's H < tau_H)
                "validate_risk": p.summary.get("risk"),
                "validate_risk_signal": p.summary.get("signal"),
                **extra,
            }
        )
    unmatched = [k for k in by_name if k not in used]
    warnings = [words.outcome_rows_unmatched(outcomes, unmatched)] if unmatched else []
    return ProbeTable(rows, recorded, warnings)
