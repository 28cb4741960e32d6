"""Each quirk of DOMAIN.md's raw exports parses to the right value, and nonsense to null."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tasks.raw import parse


def _apply(expr_for, values: list[str | None]) -> list:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(expr_for("v"))
        .to_series()
        .to_list()
    )


@pytest.mark.parametrize(
    ("cell", "hours"),
    [
        ("1:30", 1.5),
        ("01:30", 1.5),
        (" 0:05 ", 5 / 60),
        ("12:30:15", 12.5 + 15 / 3600),
        ("26:30", 26.5),  # typed as text, past 24 h
        ("1.5", 1.5),
        ("1,5", 1.5),  # 2021 layout's comma decimal
        ("2", 2.0),
        ("0", 0.0),
        ("0:00", 0.0),
        ("1900-01-01 02:30:00", 26.5),  # Excel's day 1 is 1900-01-01: 24 h + 2.5 h
        ("1899-12-31 01:30:00", 1.5),  # a time cell under 24 h, as calamine renders it
        ("1900-01-02 18:00:00", 66.0),
        ("23456:40", 23456 + 40 / 60),  # TAH, total hours since new
    ],
)
def test_duration_quirks_parse_to_decimal_hours(settings, cell, hours):
    assert _apply(lambda c: parse.duration_hours(c, settings.parsing), [cell]) == [
        pytest.approx(hours)
    ]


@pytest.mark.parametrize("cell", ["n/a", "?", "1:75", "9:7x", "2019-03-07 00:00:00", "", None])
def test_unreadable_or_blank_durations_are_null(settings, cell):
    # A real date is not a duration: only date-times before Excel's 1900 leap bug are.
    assert _apply(lambda c: parse.duration_hours(c, settings.parsing), [cell]) == [None]


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2019.03.07", date(2019, 3, 7)),  # utilisation's dotted dates
        ("07/03/2019", date(2019, 3, 7)),  # text dates in legacy events
        ("2019-03-07 00:00:00", date(2019, 3, 7)),  # date cells as calamine renders them
        ("2019-03-07", date(2019, 3, 7)),
        ("31/02/2019", None),
        ("2019.13.45", None),
        ("0 ", None),
    ],
)
def test_dates(settings, cell, day):
    assert _apply(lambda c: parse.calendar_date(c, settings.parsing), [cell]) == [day]


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("12'345", 12345),
        ("1'234'567", 1234567),
        ("5", 5),
        ("5.0", 5),
        ("5.5", None),
        ("x", None),
        ("1e30", None),
        ("inf", None),
        ("nan", None),
        ("1e19", None),
    ],
)
def test_whole_numbers_ignore_thousands_separators(settings, cell, number):
    assert _apply(lambda c: parse.whole_number(c, settings.parsing), [cell]) == [number]


def test_utilization_placeholder_rows_and_blank_cycles(settings):
    raw = pl.DataFrame(
        {
            "dep_date": ["2019.03.07", "0 ", "2019.03.08"],
            "registration": ["PR-GAA", None, "PR-GAA"],
            "aircraft_type": ["B737NG", None, "B737NG"],
            "flights": ["4", None, "1"],
            "block_hours": ["7:30", None, "1:30"],
            "cycles": ["4", None, None],
            "tah": ["23456:40", None, "23458:10"],
            "tac": ["12'345", None, "12'346"],
        }
    )
    typed = parse.typed_utilization(raw, settings.parsing, settings.sources["aircraft_utilization"])
    assert typed.get_column("is_placeholder").to_list() == [False, True, False]
    # Blank cycles means one cycle; a placeholder row holds no cycles at all.
    assert typed.get_column("cycles").to_list() == [4, None, 1]
    assert typed.get_column("tac").to_list() == [12345, None, 12346]
    assert typed.get_column("block_hours").to_list() == [7.5, None, 1.5]


def test_event_rows_keep_executed_zero_and_ata_as_text(settings):
    raw = pl.DataFrame(
        {
            "sign": [" MECHANIC "],
            "registration": ["PR-GAA"],
            "aircraft_type": ["B737NG"],
            "issue_station": [None],
            "closing_date": ["2019-03-07 00:00:00"],
            "ata": ["32"],
            "ata_description": ["LANDING GEAR"],
            "hh_planned": ["2,5"],
            "hh_executed": ["0:00"],
        }
    )
    row = parse.typed_events(raw, settings.parsing).row(0, named=True)
    # The fallback to planned HH is a business rule of staging; raw keeps what was written.
    assert row["hh_executed"] == 0.0
    assert row["hh_planned"] == 2.5
    assert row["sign"] == "MECHANIC"
    assert row["ata"] == "32"
    assert row["closing_date"] == date(2019, 3, 7)


@pytest.mark.parametrize(
    "parser",
    [parse.duration_hours, parse.calendar_date, parse.whole_number],
    ids=["duration", "date", "whole number"],
)
def test_parsing_each_distinct_text_once_gives_every_row_its_own_value(settings, parser):
    cells = ["1:30", None, "2019.03.07", " ", "1,5", "1:30", "n/a", "12'345", "1,5", None, "7"]
    raw = pl.DataFrame({"v": cells}, schema={"v": pl.String})
    cell_by_cell = raw.select(parser("v", settings.parsing)).to_series()
    once = raw.select(parse.once_per_distinct(raw, parser("v", settings.parsing))).to_series()
    assert once.dtype == cell_by_cell.dtype
    assert once.to_list() == cell_by_cell.to_list()
    assert once.null_count() < len(cells)  # the cells above are not all nonsense to every parser
