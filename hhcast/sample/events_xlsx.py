"""The Events Unscheduled workbook: two header layouts and the cell quirks of real exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
import xlsxwriter

SHEET = "Events"
DAY_MINUTES = 24 * 60
# Serial day 0 for every date after 1900-02-28 (Excel's phantom 1900-02-29 sits before).
EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMAT = "dd/mm/yyyy"
# A duration of a day or more leaves Excel as a date-time counted from 1900-01-00.
DURATION_FORMAT = "yyyy-mm-dd hh:mm:ss"
TEXT_DATE_SHARE = 0.02  # legacy exports only


@dataclass(frozen=True)
class Layout:
    """One header layout in circulation: field name -> header text, in column order."""

    name: str
    headers: dict[str, str]


LEGACY = Layout(
    "legacy",
    {
        "sign": "SIGN",
        "registration": "AC",
        "aircraft_type": "AC Type",
        "issue_station": "ISSUE STATION",
        "closing_date": "CLOSING DATE",
        "ata": "ATA",
        "ata_description": "ATA DESC",
        "planned_minutes": "HH Planejado WO",
        "executed_minutes": "HH Executado WO",
    },
)
# The 2021 export also moved columns around, so nothing may rely on positions.
LAYOUT_2021 = Layout(
    "2021",
    {
        "sign": "SIGN",
        "registration": "AC",
        "aircraft_type": "AC_Type",
        "closing_date": "CLOSING_DATE",
        "issue_station": "ISSUE_STATION",
        "ata": "ATA",
        "ata_description": "DESCRIPTION",
        "executed_minutes": "hh_exec",
        "planned_minutes": "hh_plan",
    },
)
STYLE_COLUMN = {
    "closing_date": "date_style",
    "executed_minutes": "executed_style",
    "planned_minutes": "planned_style",
}


def write_events_workbook(
    path: Path,
    rows: pl.DataFrame,
    layout: Layout,
    header_row: int,
    title: str | None,
    created: datetime,
) -> list[dict]:
    """Write one export and return its corrupted cells as {row, column, value} (Excel rows).

    `rows` holds the simulated fields, one uniform `*_style` draw per quirky cell and, for
    deliberately bad rows, `flaw_field`/`flaw_value` naming the cell to spoil.
    """
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": created})
    formats = {
        "date": workbook.add_format({"num_format": DATE_FORMAT}),
        "duration": workbook.add_format({"num_format": DURATION_FORMAT}),
        None: None,
    }
    sheet = workbook.add_worksheet(SHEET)
    if title is not None:
        sheet.write_string(0, 0, title)
    for column, header in enumerate(layout.headers.values()):
        sheet.write_string(header_row - 1, column, header)

    columns, bad_rows = [], []
    flaws = rows.select("flaw_field", "flaw_value").with_row_index().drop_nulls()
    for field, header in layout.headers.items():
        values, format_keys = _cells(field, rows, layout)
        for index, _, value in flaws.filter(pl.col("flaw_field") == field).iter_rows():
            values[index], format_keys[index] = value, None
            bad_rows.append({"row": header_row + 1 + index, "column": header, "value": value})
        columns.append((values, [formats[key] for key in format_keys]))

    # Per-cell calls are the only way into xlsxwriter; keep this loop free of other work.
    write_string, write_number = sheet.write_string, sheet.write_number
    for index in range(rows.height):
        row = header_row + index
        for column, (values, cell_formats) in enumerate(columns):
            value = values[index]
            if value.__class__ is str:
                write_string(row, column, value)
            else:
                write_number(row, column, value, cell_formats[index])
    workbook.close()
    return sorted(bad_rows, key=lambda bad: bad["row"])


def _cells(field: str, rows: pl.DataFrame, layout: Layout) -> tuple[list, list[str | None]]:
    """A column's cell values (str for text cells, numbers otherwise) and format keys."""
    values = rows[field].to_list()
    if field == "ata":
        return values, [None] * len(values)
    if field == "closing_date":
        styles = rows[STYLE_COLUMN[field]].to_list()
        text = layout is LEGACY
        cells = [
            d.strftime("%d/%m/%Y") if text and s < TEXT_DATE_SHARE else (d - EXCEL_EPOCH).days
            for d, s in zip(values, styles, strict=True)
        ]
        return cells, [None if c.__class__ is str else "date" for c in cells]
    if field in STYLE_COLUMN:
        styles = rows[STYLE_COLUMN[field]].to_list()
        cells = [hh_cell(m, s, layout) for m, s in zip(values, styles, strict=True)]
        keys = ["duration" if m >= DAY_MINUTES else None for m in values]
        return cells, keys
    return values, [None] * len(values)


def hh_cell(minutes: int, style: float, layout: Layout) -> str | float:
    """An HH value as the exports write it; every form reads back to the exact minute.

    Decimals appear only when the hours are exact in two decimals (minutes divisible by 3),
    so `1,55` or 1.55 is precisely 93 minutes and duplicates compare equal across layouts.
    """
    if minutes >= DAY_MINUTES:
        return minutes / DAY_MINUTES  # written with DURATION_FORMAT: a 1900-era date-time
    if minutes == 0:
        return "0:00" if style < 0.5 else 0
    hours, rest = divmod(minutes, 60)
    exact = minutes % 3 == 0
    if layout is LEGACY:
        if style < 0.55 or (style >= 0.82 and not exact):
            return f"{hours}:{rest:02d}"
        if style < 0.70:
            return f"{hours:02d}:{rest:02d}"
        if style < 0.82:
            return f"{hours:02d}:{rest:02d}:00"
        return minutes / 60
    if exact and style < 0.40:
        hundredths = minutes * 5 // 3
        whole, cents = divmod(hundredths, 100)
        return f"{whole},{cents // 10}" if cents % 10 == 0 else f"{whole},{cents:02d}"
    if exact and style < 0.75:
        return minutes / 60
    return f"{hours}:{rest:02d}"
