"""Reading tabular inputs shared by the monitor, compare and rank: CSV text, a file of rows
(CSV or JSON), a cell as a number, a row's label."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

from rankinv.errors import InputNotFound, UserError

#: Cells read as missing (case-insensitive), besides the empty cell.
MISSING_TOKENS = frozenset({"n/a", "na", "nan", "none", "null", "-", "--", "?", "missing"})
#: Delimiters looked for by the sniffer (comma, semicolon as spreadsheets in many locales
#: write it, tab, pipe).
DELIMITERS = ",;\t|"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")


def detect_delimiter(text: str) -> str:
    """The delimiter of CSV text: csv.Sniffer on the first lines, comma when unsure."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _cell(v: str | None, decimal_comma: bool, keep_missing: bool = False):
    if v is None:
        return None
    s = v.strip()
    if s == "" or s.lower() in MISSING_TOKENS:
        return s if keep_missing and s else None
    if decimal_comma and _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return s


def read_csv_records(text: str, keep_missing: bool = False) -> list[dict]:
    """CSV text -> list of dicts; numbers become floats, empty or missing cells (``n/a``,
    ``NA``, ``-``, ...) None (``keep_missing``: a missing-value token is kept as written, so
    a reader can say which cells it could not read), text stays text. The delimiter is
    detected (``,``, ``;``, tab,
    ``|``); with ``;`` a decimal comma (``0,15``) is read as a decimal point."""
    delimiter = detect_delimiter(text)
    rows = []
    for raw in csv.DictReader(text.splitlines(), delimiter=delimiter):
        row = {}
        for k, v in raw.items():
            if k is None:
                continue
            row[k.strip()] = _cell(v, delimiter == ";", keep_missing)
        rows.append(row)
    return rows


#: A share column whose largest value is above this is on the percent scale (0..100).
PERCENT_ABOVE = 1.0


def _mixed_scales(rows: list[dict], col: str, source: str) -> None:
    """Refuse a column holding both shares (a fraction strictly between 0 and 1) and
    percents (a value above 1): dividing it all by 100 would turn its shares into nonsense."""
    from rankinv.errors import UserError

    def num(v):
        return isinstance(v, int | float) and not isinstance(v, bool)

    share = [i for i, r in enumerate(rows, 1) if num(v := r.get(col)) and 0 < v < 1]
    pct = [i for i, r in enumerate(rows, 1) if num(v := r.get(col)) and v > PERCENT_ABOVE]
    if share and pct:
        raise UserError(
            f"{source}column {col!r} mixes shares and percents: data row(s) "
            f"{', '.join(map(str, share))} below 1, row(s) {', '.join(map(str, pct))} above 1; "
            "write every row on one scale"
        )


def percent_to_share(
    rows: list[dict], columns: list[str], source: str | None = None
) -> tuple[list[dict], list[str]]:
    """Rows with every share column written in percent (a value above 1, none above 100:
    pass@10 = 60) divided by 100, and one warning per converted column; a share column with
    a value below 0 or above 100 is refused (one line). A column whose values all lie in
    [0, 1] is read as shares; when others were converted, a warning says so (0.6 % and
    0.6 cannot be told apart). A column mixing the two scales is refused. ``source``: the
    file, named in the errors."""
    from rankinv.errors import UserError

    where = f"{source}: " if source else ""

    converted, kept, warnings = [], [], []
    for col in columns:
        vals = [r[col] for r in rows if isinstance(r.get(col), int | float)]
        vals = [v for v in vals if not isinstance(v, bool)]
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        if lo < 0 or hi > 100:
            bad = lo if lo < 0 else hi
            raise UserError(
                f"{where}column {col!r} holds {bad:g}: neither a share (0 to 1) nor a percent "
                "(0 to 100)"
            )
        _mixed_scales(rows, col, where)
        (converted if hi > PERCENT_ABOVE else kept).append((col, hi))
    if not converted:
        return rows, warnings
    names = {c for c, _ in converted}
    base = {c.removesuffix("_se") for c in names}
    names |= {c + "_se" for c in base if any(c + "_se" in r for r in rows)}
    rows = [
        {k: (v / 100.0 if k in names and isinstance(v, int | float) else v) for k, v in r.items()}
        for r in rows
    ]
    for col, hi in converted:
        warnings.append(f"column {col} is in percent (largest {hi:g}): read as {hi / 100:g}")
    stay = [c for c, _ in kept if c not in names]
    if stay:
        warnings.append(
            f"column(s) {', '.join(stay)} lie in [0, 1] and stay shares; write every column "
            "on one scale if they are percent too"
        )
    return rows, warnings


def read_rows(path: str | Path) -> list[dict]:
    """The rows of a CSV file, or of a JSON list of objects or {"rows": [...]}."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"file not found: {p}")
    if p.is_dir():
        raise UserError(f"{p} is a directory; pass a CSV or JSON file of checkpoints")
    text = p.read_text()
    if not text.strip():
        raise UserError(f"{p} is empty; pass a CSV or JSON file of checkpoints, one row each")
    # a .csv file, or one with no JSON's opening bracket (a pipe such as <(printf ...), a
    # file without a suffix): read as CSV
    if p.suffix == ".csv" or text.lstrip()[:1] not in ("[", "{"):
        return read_csv_records(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is neither CSV nor valid JSON ({exc.msg})") from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UserError(f"{path}: expected a list of row objects or {{'rows': [...]}}")
    return rows


def number(value, column: str, row: int):
    """A cell as float or None (missing); text in a numeric column is an error. ``row``:
    the 0-based index of the data row; messages say "row N", the Nth data row counted from
    1 (the header not counted), as every table reader of rankinv does."""
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING_TOKENS):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(
            f"column {column!r}, row {row + 1}: {value!r} is not a number "
            "(write n/a or leave the cell empty for a missing value)"
        )
    v = float(value)
    return v if math.isfinite(v) else None


def row_label(r: dict, i: int) -> str:
    """A row's name, else "row i" with its depth and seed where given."""
    if r.get("name") is not None:
        return str(r["name"])
    parts = [f"row {i + 1}"]
    if r.get("depth") is not None:
        parts.append(f"depth {r['depth']:g}" if isinstance(r["depth"], float) else str(r["depth"]))
    if r.get("seed") is not None:
        parts.append(f"seed {r['seed']:g}" if isinstance(r["seed"], float) else str(r["seed"]))
    return ", ".join(parts)
