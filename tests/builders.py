"""Builders of raw export files for tests: workbooks and CSVs shaped like the real ones."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

LEGACY_HEADER = [
    "SIGN", "AC", "AC Type", "ISSUE STATION", "CLOSING DATE",
    "ATA", "ATA DESC", "HH Planejado WO", "HH Executado WO",
]  # fmt: skip
LAYOUT_2021_HEADER = [
    "SIGN", "AC", "AC_Type", "ISSUE_STATION", "CLOSING_DATE",
    "ATA", "DESCRIPTION", "hh_exec", "hh_plan",
]  # fmt: skip
UTILIZATION_HEADER = ["Dep. Date", "A/C", "AC-Type", "# per Day", "Hours", "Cycles", "TAH", "TAC"]


class Duration(float):
    """An Excel cell holding hours as a date-time serial (how >= 24 h durations leave Excel)."""


def _write_cell(sheet, row: int, col: int, value, formats: dict) -> None:
    if value is None:
        return
    if isinstance(value, Duration):
        sheet.write_number(row, col, value / 24, formats["stamp"])
    elif isinstance(value, datetime | date):
        serial = (datetime(value.year, value.month, value.day) - datetime(1899, 12, 30)).days
        sheet.write_number(row, col, serial, formats["date"])
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


def write_events_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]],
    header: Sequence[str] = LEGACY_HEADER,
    title: str | None = None,
    blank_rows: int = 0,
) -> Path:
    """Write an events workbook: header, rows, and optional title / blank rows above them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Events")
    formats = {
        "stamp": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": book.add_format({"num_format": "dd/mm/yyyy"}),
    }
    at = blank_rows
    if title:
        sheet.write_string(at, 0, title)
        at += 2
    sheet.write_row(at, 0, list(header))
    for offset, row in enumerate(rows, start=at + 1):
        for col, value in enumerate(row):
            _write_cell(sheet, offset, col, value, formats)
    book.close()
    return path


def write_utilization_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = UTILIZATION_HEADER,
    encoding: str = "utf-8",
) -> Path:
    """Write a utilisation CSV in the given encoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
