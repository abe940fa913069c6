"""Reading tabular inputs shared by the monitor and compare."""

from __future__ import annotations

import csv


def read_csv_records(text: str) -> list[dict]:
    """CSV text -> list of dicts; numbers become floats, empty cells None, text stays text."""
    rows = []
    for raw in csv.DictReader(text.splitlines()):
        row = {}
        for k, v in raw.items():
            if k is None:
                continue
            try:
                row[k] = float(v) if v not in ("", None) else None
            except ValueError:
                row[k] = v
        rows.append(row)
    return rows
