"""Rank's printout as plain text, for every place that shows a ranking: the table's title,
columns and cells (:func:`ranking_table`) and the lines under it, in order
(:func:`lines_under`). The CLI (``rankinv.render.rank``) draws them with rich, the report
(``rankinv.report``) as Markdown; the sentences are ``rankinv.verdicts.words.rank``'s."""

from __future__ import annotations

from collections.abc import Callable

from rankinv.verdicts.rank_verdict import RankRow, RankVerdict
from rankinv.verdicts.words import rank as words


def _plain(s: str) -> str:
    return s


def fmt(v, spec: str = ".3f") -> str:
    """A number as the table shows it ("-": not measured)."""
    return "-" if v is None else format(v, spec)


def label(res: RankVerdict, signal: str) -> str:
    """A signal's column name: pass@k signals with their k."""
    if not res.k:
        return signal
    names = {"pass_at_k": f"pass@{res.k}", "reachable_pass_at_k": f"reachable pass@{res.k}"}
    return names.get(signal, signal)


def ranking_table(
    res: RankVerdict, folder: Callable[[RankRow], str] | None = None
) -> tuple[str, list[str], list[list[str]]]:
    """(title, columns, rows) of the ranking, best predicted first: the lead signal, pre-RL
    pass@1, the second deciding signal, and a pass@k column where the k the notes explain is
    in no other column. ``folder``: how a row's folder is shown (default: as recorded)."""
    head = label(res, res.signal)
    title = f"Checkpoints by predicted post-RL outcome ({head}, sign {res.signal_sign:+d})"
    if res.signal_pick is None or res.recommended != res.signal_pick:
        # the order is the signal's, which did not decide (it abstained, or a free answer
        # recommends instead): the title says so before the lines under the table do
        title = f"Checkpoints in {head}'s order (sign {res.signal_sign:+d}), which did not decide"
    cols = ["#", "checkpoint", "folder", head, "pre-RL pass@1"]
    second = res.decided_by[1] if len(res.decided_by) > 1 else None
    if second:
        cols.append(label(res, second))
    extra = "pass_at_k" if res.k and "pass_at_k" not in (res.signal, second) else None
    if extra:
        cols.append(label(res, extra))
    rows = []
    for i, r in enumerate(res.ranking, 1):
        where = folder(r) if folder else r.probe_dir or r.pilot_log or "-"
        row = [str(i), r.checkpoint, where, fmt(r.signal_value, ".4f"), fmt(r.pre_pass_at_1)]
        if second:
            row.append(fmt(r.values.get(second), ".4f"))
        if extra:
            row.append(fmt(r.values.get(extra)))
        rows.append(row)
    return title, cols, rows


def lines_under(res: RankVerdict, em: Callable[[str], str] = _plain) -> list[str]:
    """The lines under the ranking: k and the signals dropped, the pilot's part, the
    recommendation (or why none), the inversion call, the lead's accuracy, the free answers."""
    inversion = words.inversion_line(res)
    pilot = words.pilot_line(res)
    return [
        *words.table_notes(res),
        *([pilot] if pilot else []),
        *words.recommendation_lines(res, em),
        *([inversion] if inversion else []),
        words.accuracy_line(res),
        *words.free_answer_lines(res, em),
    ]
