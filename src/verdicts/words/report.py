"""The report's words for the probe folders it searched (``rankinv.verdicts.ladders``): what
it found and skipped (:func:`search_lines`), the order each ladder was taken in
(:func:`order_line`), a ladder not ranked, the one line per ladder the CLI prints
(:func:`ladder_line`), and the report's input errors."""

from __future__ import annotations

from rankinv.verdicts.ladders import DEEPER, ONE_PROBE, UNREADABLE, Ladder, LadderSearch, rel
from rankinv.verdicts.words import rank as rank_words

#: Why a folder was skipped, by code.
SKIPPED = {
    DEEPER: "not searched: deeper than {depth} levels",
    UNREADABLE: "not searched: unreadable ({detail})",
    ONE_PROBE: "not ranked: the only probe folder in its folder (a ladder needs 2 or more)",
}


def label(lad: Ladder, search: LadderSearch) -> str:
    """A ladder's name: its folder below the searched one (the searched one's own name)."""
    return search.root.name if lad.folder == search.root else rel(lad.folder, search.root)


def heading(lad: Ladder, search: LadderSearch) -> str:
    return f"Ladder ranking: {label(lad, search)}"


#: At most this many skipped folders are named one per line (the JSON names them all).
MOST_SKIPPED = 10


def search_lines(search: LadderSearch) -> list[str]:
    """What the search found (how many probe folders, in which ladders) and each folder it
    skipped, with why (the first MOST_SKIPPED, then how many more)."""
    n = len(search.probes)
    ladders = ", ".join(f"{label(lad, search)} ({len(lad.probes)})" for lad in search.ladders)
    out = [
        f"probe folders under {search.root} (searched {search.max_depth} levels down): {n} found"
        + (f"; ranked as ladders, one per folder: {ladders}" if ladders else "")
    ]
    for s in search.skipped[:MOST_SKIPPED]:
        why = SKIPPED[s["why"]].format(depth=search.max_depth, detail=s["detail"])
        out.append(f"skipped {s['folder']}: {why}")
    more = len(search.skipped) - MOST_SKIPPED
    if more > 0:
        out.append(f"skipped {more} more folders (the JSON's probes.skipped lists them all)")
    return out


def order_line(lad: Ladder, search: LadderSearch) -> str:
    """The order a ladder was ranked in, and why: rank reads the order given as least to most
    trained when no depths are known."""
    names = ", ".join(p.name for p in lad.probes)
    return (
        f"order taken as least to most trained: {names} (the folders' names in natural order, "
        "e1 < e3 < e10; rank reads the order given as least to most trained when no depths "
        f"are known; with known depths run rankinv rank {lad.folder} --depths D1,D2,...)"
    )


def not_ranked_line(lad: Ladder) -> str:
    return f"not ranked: {lad.not_ranked}"


def ladder_line(lad: Ladder, search: LadderSearch) -> str:
    """One line per ladder for the CLI: its name, how many probes, and rank's recommendation
    (or why none: its first line, as ``rankinv rank`` prints it), or why it was not ranked."""
    if lad.result is None:
        what = not_ranked_line(lad)
    elif lad.result.kind_needed:
        what = (
            f"{rank_words.kind_unknown_short(lad.result)} (rankinv rank {lad.folder} "
            "--depths D1,D2,...)"
        )
    else:
        what = rank_words.recommendation_lines(lad.result)[0]
    return f"ladder {label(lad, search)} ({len(lad.probes)} probes): {what}"


def warning_line(text: str) -> str:
    return f"warning: {text}"


def not_found(path) -> str:
    return f"not found: {path}"


def is_a_file(path) -> str:
    return f"{path} is a file; rankinv report reads a folder of rankinv artifacts"


#: A monitor report without its series (`rankinv monitor --json` prints none): no figure.
NO_SERIES = "figure not drawn: the JSON has no series; `rankinv monitor --out FILE` writes it"


def no_artifacts(path, search: LadderSearch, skipped: list[str] = ()) -> str:
    """A folder with nothing to report, and how far down probe folders were looked for (and
    the *.json files skipped as no rankinv artifact, the first three named)."""
    deeper = [s["folder"] for s in search.skipped if s["why"] == DEEPER]
    tail = f"; not searched, deeper down: {', '.join(deeper[:3])}" if deeper else ""
    if skipped:
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        tail += f"; skipped, no rankinv artifact: {', '.join(skipped[:3])}{more}"
    return (
        f"{path} holds no rankinv artifacts (simulate.json, derive.json, compare.json, a "
        f"monitor report, validate_summary.json here or in its folders up to "
        f"{search.max_depth} levels down, population.json, calibrate.json, mini.json of "
        f"rankinv experiment mini){tail}"
    )


#: A compare.json without its rows (`rankinv compare FILE --json` leaves them out).
COMPARE_NO_ROWS = (
    "(this compare.json holds no rows, as `rankinv compare FILE --json` prints it: the "
    "tables above are drawn from it, the figures (which need the rows) are not; "
    "`rankinv compare FILE --out DIR` writes the complete compare.json)"
)


def mini_lacks(name: str, missing: list[str]) -> str:
    """A mini.json of an older layout: the parts it lacks, and that the rest is reported."""
    return (
        f"({name} lacks {', '.join(missing)} (an older layout, or not written by this "
        "version of `rankinv experiment mini`): reported from the parts it has)"
    )
