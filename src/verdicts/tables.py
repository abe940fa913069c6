"""Reading tabular inputs shared by the monitor and compare."""

from __future__ import annotations

import csv
import re

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


def _cell(v: str | None, decimal_comma: bool):
    if v is None:
        return None
    s = v.strip()
    if s == "" or s.lower() in MISSING_TOKENS:
        return None
    if decimal_comma and _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return s


def read_csv_records(text: str) -> list[dict]:
    """CSV text -> list of dicts; numbers become floats, empty or missing cells (``n/a``,
    ``NA``, ``-``, ...) None, text stays text. The delimiter is detected (``,``, ``;``, tab,
    ``|``); with ``;`` a decimal comma (``0,15``) is read as a decimal point."""
    delimiter = detect_delimiter(text)
    rows = []
    for raw in csv.DictReader(text.splitlines(), delimiter=delimiter):
        row = {}
        for k, v in raw.items():
            if k is None:
                continue
            row[k.strip()] = _cell(v, decimal_comma=delimiter == ";")
        rows.append(row)
    return rows
