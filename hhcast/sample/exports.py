"""Write the simulated world as the monthly raw exports a maintenance organisation hands over.

The world is always simulated whole; the emitted range only decides which rows reach disk.
A month cut by the range keeps its file name with fewer rows, so a later, wider delivery
looks like the same file with changed content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from hhcast.sample.events_xlsx import LAYOUT_2021, LEGACY, SHEET, write_events_workbook
from hhcast.sample.fleet import Fleet
from hhcast.sample.utilization_csv import utilization_rows, write_utilization_csv

EVENTS_DIR = "landing/events_unscheduled"
UTILIZATION_DIR = "landing/aircraft_utilization"
OVERLAP_DAYS = 3  # each events export also repeats the first days of the next month
LAYOUT_2021_FROM = date(2021, 1, 1)
TITLE_SHARE = 1 / 4
BLANK_LEAD_SHARE = 1 / 6
LATIN1_SHARE = 0.5
CRLF_SHARE = 0.5
FLAW_RATE = 1 / 20_000
FLAW_AT_LEAST_ONE_FROM = 5_000  # rows in range from which a run always holds a bad row


@dataclass(frozen=True)
class ExportedFile:
    """One written export, as the manifest records it."""

    path: str  # relative to the output directory, with forward slashes
    source: str
    data_rows: int
    bad_rows: list[dict]
    first_date: date
    last_date: date
    details: dict = field(default_factory=dict)


def write_events(
    events: pl.DataFrame, out: Path, seed: int, first: date, last: date
) -> list[ExportedFile]:
    """One workbook per calendar month touching [first, last], holding its rows in range."""
    draws = np.random.default_rng([seed, 20]).random((events.height, 5))
    frame = events.with_columns(
        executed_style=draws[:, 0],
        planned_style=draws[:, 1],
        date_style=draws[:, 2],
        flaw_draw=draws[:, 3],
        flaw_kind=(draws[:, 4] * 3).astype(np.int8),
    ).filter(pl.col("closing_date").is_between(first, last))
    # A row repeated in the next month's file is never spoiled: duplicates must stay exact.
    single_file = frame["closing_date"].dt.day().to_numpy() > OVERLAP_DAYS
    flawed = _flawed(frame["flaw_draw"].to_numpy(), single_file)
    kinds = [("executed_minutes", "n/a"), ("planned_minutes", "?"), ("closing_date", None)]
    flaw_field, flaw_value = [None] * frame.height, [None] * frame.height
    dates, kind = frame["closing_date"].to_list(), frame["flaw_kind"].to_list()
    for i in np.flatnonzero(flawed):
        flaw_field[i], value = kinds[kind[i]]
        flaw_value[i] = value or _impossible_date(dates[i])
    frame = _with_flaws(frame, flaw_field, flaw_value)

    folder = out / EVENTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for month, rows in _by_month(frame, "closing_date", first, last, OVERLAP_DAYS):
        following = _next_month(month)
        layout = LEGACY if month < LAYOUT_2021_FROM else LAYOUT_2021
        lead = _month_draws(seed, month)[0]
        title = f"Events Unscheduled - export {month:%Y-%m}" if lead < TITLE_SHARE else None
        header_row = 1 if lead >= TITLE_SHARE + BLANK_LEAD_SHARE else 3
        name = f"events_unscheduled_{month:%Y_%m}.xlsx"
        # The export "runs" once the overlap days have closed; a fixed stamp pins the bytes.
        created = datetime.combine(following + timedelta(days=OVERLAP_DAYS), datetime.min.time())
        bad_rows = write_events_workbook(folder / name, rows, layout, header_row, title, created)
        written.append(
            ExportedFile(
                path=f"{EVENTS_DIR}/{name}",
                source="events_unscheduled",
                data_rows=rows.height,
                bad_rows=bad_rows,
                first_date=rows["closing_date"].min(),
                last_date=rows["closing_date"].max(),
                details={
                    "layout": layout.name,
                    "sheet": SHEET,
                    "header_row": header_row,
                    "title_row": title is not None,
                },
            )
        )
    return written


def write_utilization(
    fleet: Fleet, out: Path, seed: int, first: date, last: date
) -> list[ExportedFile]:
    """One CSV per calendar month touching [first, last], holding its rows in range."""
    rows = utilization_rows(fleet, seed).filter(pl.col("dep_date").is_between(first, last))
    # Bad rows sit at the top of the rare draw, placeholders at its bottom: never both.
    flawed = _flawed(1 - rows["rare_style"].to_numpy(), np.ones(rows.height, bool))
    flaw_field, flaw_value = [None] * rows.height, [None] * rows.height
    dates, minutes = rows["dep_date"].to_list(), rows["block_minutes"].to_list()
    # The zero-padding draw picks the spoiled cell: padding means nothing on a spoiled row.
    spoil_date = rows["padded_style"].to_numpy() < 0.5
    for i in np.flatnonzero(flawed):
        if spoil_date[i]:
            flaw_field[i], flaw_value[i] = "dep_date", f"{dates[i]:%Y}.13.{dates[i].day + 14}"
        else:
            hours, rest = divmod(minutes[i], 60)
            flaw_field[i], flaw_value[i] = "block_minutes", f"{hours}:{rest // 10}x"
    rows = _with_flaws(rows, flaw_field, flaw_value)

    folder = out / UTILIZATION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for month, chunk in _by_month(rows, "dep_date", first, last, 0):
        draws = _month_draws(seed, month)
        encoding = "latin-1" if draws[1] < LATIN1_SHARE else "utf-8"
        newline = "\r\n" if draws[2] < CRLF_SHARE else "\n"
        name = f"aircraft_utilization_{month:%Y_%m}.csv"
        data_rows, bad_rows = write_utilization_csv(folder / name, chunk, encoding, newline)
        written.append(
            ExportedFile(
                path=f"{UTILIZATION_DIR}/{name}",
                source="aircraft_utilization",
                data_rows=data_rows,
                bad_rows=bad_rows,
                first_date=chunk["dep_date"].min(),
                last_date=chunk["dep_date"].max(),
                details={"encoding": encoding, "newline": "CRLF" if newline == "\r\n" else "LF"},
            )
        )
    return written


def _by_month(
    frame: pl.DataFrame, column: str, first: date, last: date, overlap_days: int
) -> Iterator[tuple[date, pl.DataFrame]]:
    """Each month's non-empty rows, plus `overlap_days` of the next; `frame` is date-ordered."""
    days = frame[column].to_numpy()
    for month in _months(first, last):
        stop = _next_month(month) + timedelta(days=overlap_days)
        lo, hi = np.searchsorted(days, [np.datetime64(month), np.datetime64(stop)])
        if hi > lo:
            yield month, frame.slice(lo, hi - lo)


def _with_flaws(frame: pl.DataFrame, flaw_field: list, flaw_value: list) -> pl.DataFrame:
    return frame.with_columns(
        flaw_field=pl.Series(flaw_field, dtype=pl.String),
        flaw_value=pl.Series(flaw_value, dtype=pl.String),
    )


def _flawed(draw: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Rows to spoil: about FLAW_RATE of the eligible ones, at least one in a large range."""
    flawed = eligible & (draw < FLAW_RATE)
    if not flawed.any() and draw.size > FLAW_AT_LEAST_ONE_FROM and eligible.any():
        flawed[np.flatnonzero(eligible)[np.argmin(draw[eligible])]] = True
    return flawed


def _impossible_date(day: date) -> str:
    """A `dd/mm/yyyy` text that names no real day of the row's month (e.g. `31/02/2019`)."""
    last_day = (_next_month(day.replace(day=1)) - timedelta(days=1)).day
    return f"{31 if last_day < 31 else 32}/{day:%m/%Y}"


def _month_draws(seed: int, month: date) -> np.ndarray:
    """A month's own draws for its files' arrangement, independent of the emitted range."""
    return np.random.default_rng([seed, 30, month.year, month.month]).random(3)


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
