"""Probe folders found under one folder, grouped into ladders and ranked: what ``rankinv
report DIR`` reads when DIR holds `rankinv validate` outputs at any depth up to
:data:`MAX_DEPTH` (runs/ladder/probe-e1, runs/exp/ladderA/probe-e3, ...).

A probe folder is one holding ``validate_summary.json``; it is a leaf (nothing below it is
searched). The probe folders of one parent folder are one ladder, taken in natural order of
their names (e1 < e3 < e10), which :func:`rankinv.verdicts.rank.rank` reads as least to most
trained since no depths are known; a ladder of two or more is ranked by it, unchanged. A
ladder rank refuses (probes not sampled alike, say) keeps rank's one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rankinv.errors import UserError
from rankinv.verdicts.probe_result import SUMMARY
from rankinv.verdicts.rank import rank
from rankinv.verdicts.rank_result import RankResult
from rankinv.verdicts.results_files import natural_key, subdirs

#: How many folder levels below DIR are searched for probe folders (DIR/a/b/probe: 3).
MAX_DEPTH = 3
#: Why a folder was skipped (the JSON's codes; ``rankinv.verdicts.words.report`` says them).
DEEPER = "deeper"
UNREADABLE = "unreadable"
ONE_PROBE = "one_probe"


@dataclass
class Ladder:
    """The probe folders of one parent folder, in natural order of their names, and what
    rank made of them (``result``), or why they were not ranked (``not_ranked``)."""

    folder: Path
    probes: list[Path]
    result: RankResult | None = None
    not_ranked: str | None = None

    def to_json(self, root: Path) -> dict:
        return {
            "folder": rel(self.folder, root),
            "probes": [rel(p, root) for p in self.probes],
            "order": "natural",
            "rank": None if self.result is None else self.result.to_json(),
            "not_ranked": self.not_ranked,
        }


@dataclass
class LadderSearch:
    """What a search under ``root`` found: the ladders (two or more probes each, natural
    order of their folders' paths), and each folder skipped with why (``skipped``: folder,
    code, detail)."""

    root: Path
    max_depth: int
    ladders: list[Ladder] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    @property
    def probes(self) -> list[Path]:
        """Every probe folder found, ladder by ladder (one-probe folders' too)."""
        return [p for lad in self.ladders for p in lad.probes] + [
            self.root / s["folder"] for s in self.skipped if s["why"] == ONE_PROBE
        ]

    def to_json(self) -> dict:
        return {
            "root": str(self.root),
            "max_depth": self.max_depth,
            "found": [rel(p, self.root) for p in self.probes],
            "ladders": [lad.to_json(self.root) for lad in self.ladders],
            "skipped": self.skipped,
        }


def rel(path: Path, root: Path) -> str:
    """A folder's path below ``root`` ("." for root itself), with "/" between its parts."""
    return path.relative_to(root).as_posix()


def is_probe(d: Path) -> bool:
    return (d / SUMMARY).is_file()


def find_probes(root: Path, max_depth: int = MAX_DEPTH) -> tuple[list[Path], list[dict]]:
    """The probe folders below ``root`` (not root itself), at most ``max_depth`` levels
    down, hidden folders left out; and the folders not searched (deeper, or unreadable)."""
    found: list[Path] = []
    skipped: list[dict] = []
    todo = [(root, 0)]
    while todo:
        d, depth = todo.pop()
        try:
            subs = subdirs(d)
        except OSError as exc:
            skipped.append({"folder": rel(d, root), "why": UNREADABLE, "detail": exc.strerror})
            continue
        if depth == max_depth:
            if subs:
                skipped.append({"folder": rel(d, root), "why": DEEPER, "detail": None})
            continue
        for e in subs:
            if is_probe(e):
                found.append(e)
            else:
                todo.append((e, depth + 1))
    skipped.sort(key=lambda s: natural_key(s["folder"]))
    return found, skipped


def search(root: str | Path, max_depth: int = MAX_DEPTH) -> LadderSearch:
    """The probe folders below ``root`` grouped by parent folder, each group of two or more
    ranked by :func:`rankinv.verdicts.rank.rank` in natural order of the folders' names."""
    root = Path(root)
    probes, skipped = find_probes(root, max_depth)
    groups: dict[Path, list[Path]] = {}
    for p in probes:
        groups.setdefault(p.parent, []).append(p)
    out = LadderSearch(root, max_depth, skipped=skipped)
    for folder in sorted(groups, key=lambda f: natural_key(rel(f, root))):
        members = sorted(groups[folder], key=lambda p: natural_key(p.name))
        if len(members) < 2:
            out.skipped.append({"folder": rel(members[0], root), "why": ONE_PROBE, "detail": None})
            continue
        lad = Ladder(folder, members)
        try:
            lad.result = rank(dirs=members)
        except UserError as exc:
            lad.not_ranked = str(exc)
        out.ladders.append(lad)
    return out


def rank_command(out: str | Path, probes: list[str | Path]) -> str:
    """The `rankinv rank` line for the probe folders one `validate` wrote into ``out``, in
    their --model order (least to most trained, as rank reads them): ``rankinv rank OUT``
    where rank's expansion of OUT (natural order of its entries) gives exactly those folders
    in that order, else the folders listed one by one (a shell glob, OUT/*, is alphabetical:
    d1, d16, d4)."""
    import shlex

    names = [Path(p).name for p in probes]
    try:
        entries = [e.name for e in Path(out).iterdir() if not e.name.startswith(".")]
    except OSError:
        entries = None
    if entries is not None and sorted(entries) == sorted(names):
        if sorted(names, key=natural_key) == names:
            return f"rankinv rank {shlex.quote(str(out))}"
    return "rankinv rank " + " ".join(shlex.quote(str(p)) for p in probes)
