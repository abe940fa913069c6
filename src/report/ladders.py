"""The report's ladders in Markdown: what the search for probe folders found and skipped
(:func:`search_section`), and each ladder's ranking as ``rankinv rank`` prints it
(:func:`ladder_section`: its table and the lines under it, from
``rankinv.verdicts.words.rank_table``), with the order it was taken in."""

from __future__ import annotations

from pathlib import Path

from rankinv.verdicts.ladders import Ladder, LadderSearch
from rankinv.verdicts.rank_verdict import RankRow
from rankinv.verdicts.words import rank_table
from rankinv.verdicts.words import report as words


def _bold(s: str) -> str:
    return f"**{s}**"


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def search_section(search: LadderSearch) -> list[str]:
    """What was found below the report's folder, and each folder skipped (with why)."""
    first, *skipped = words.search_lines(search)
    return ["## Probe folders", "", first, "", *[f"- {s}" for s in skipped], ""]


def ladder_section(lad: Ladder, search: LadderSearch) -> list[str]:
    """One ladder: the order it was taken in, then rank's table and lines (or why it was not
    ranked)."""
    lines = [f"## {words.heading(lad, search)}", "", words.order_line(lad, search), ""]
    res = lad.result
    if res is None:
        return lines + [words.not_ranked_line(lad), ""]

    def folder(r: RankRow) -> str:
        return _relative(r.probe_dir, search.root)

    title, cols, rows = rank_table.ranking_table(res, folder)
    lines += [f"{title}:", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    lines += ["", *[f"- {ln}" for ln in rank_table.lines_under(res, _bold)]]
    warnings = (res.inputs or {}).get("warnings") or []
    lines += [f"- {words.warning_line(w)}" for w in warnings]
    return lines + [""]


def _relative(path: str | None, root: Path) -> str:
    """A probe's folder below the report's folder (as recorded when it lies elsewhere)."""
    if path is None:
        return "-"
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
