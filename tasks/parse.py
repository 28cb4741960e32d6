"""Turn the text cells of raw exports into typed values, one polars expression per quirk.

Every parser returns null for a value it cannot read; the row contracts (tasks/contracts.py)
then quarantine the row, naming the raw text, instead of guessing.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from hhcast.config import ParsingSettings, SourceSettings

_HMS = r"^(\d+):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?$"
_DECIMAL = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_EXCEL_DATETIME = r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$"
# Excel counts 1900-02-29 (a day that never was); serials before it map to dates one-to-one.
_EXCEL_LEAP_BUG = date(1900, 3, 1)


def text(column: str) -> pl.Expr:
    """The cell trimmed of surrounding whitespace, null when blank."""
    stripped = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def decimal(column: str) -> pl.Expr:
    """A plain decimal number, accepting a comma as decimal separator (`1,5` is 1.5)."""
    value = text(column).str.replace(",", ".", literal=True)
    return pl.when(value.str.contains(_DECIMAL)).then(value.cast(pl.Float64, strict=False))


def duration_hours(column: str, parsing: ParsingSettings) -> pl.Expr:
    """Decimal hours from `H:MM`, `HH:MM:SS`, decimals, or an Excel date-time past day zero.

    Durations of 24 h or more leave Excel as a date-time counted from day zero
    (1899-12-31): `1900-01-01 02:30:00` is 26.5 h. They are real work, so they are converted.
    """
    value = text(column)
    hms = value.str.extract_groups(_HMS)
    from_hms = (
        hms.struct.field("1").cast(pl.Float64)
        + hms.struct.field("2").cast(pl.Float64) / 60
        + hms.struct.field("3").cast(pl.Float64).fill_null(0) / 3600
    )
    stamp = value.str.extract_groups(_EXCEL_DATETIME)
    day = stamp.struct.field("1").str.to_date("%Y-%m-%d", strict=False)
    from_excel = (
        (day - pl.lit(parsing.excel_day_zero)).dt.total_days().cast(pl.Float64) * 24
        + stamp.struct.field("2").cast(pl.Float64)
        + stamp.struct.field("3").cast(pl.Float64) / 60
        + stamp.struct.field("4").cast(pl.Float64).fill_null(0) / 3600
    )
    return (
        pl.when(value.str.contains(_HMS))
        .then(from_hms)
        .when(value.str.contains(_EXCEL_DATETIME) & (day < pl.lit(_EXCEL_LEAP_BUG)))
        .then(from_excel)
        .otherwise(decimal(column))
    )


def calendar_date(column: str, parsing: ParsingSettings) -> pl.Expr:
    """A date from the first of the configured formats that reads the cell exactly."""
    value = text(column)
    return pl.coalesce(
        [value.str.to_datetime(fmt, strict=False).dt.date() for fmt in parsing.date_formats]
    )


def whole_number(column: str, parsing: ParsingSettings) -> pl.Expr:
    """An integer, ignoring thousands separators (`12'345`); `5.0` reads as 5, `5.5` as null."""
    value = text(column)
    for separator in parsing.thousands_separators:
        value = value.str.replace_all(separator, "", literal=True)
    number = value.cast(pl.Float64, strict=False)
    return pl.when(number == number.floor()).then(number.cast(pl.Int64))


def once_per_distinct(raw: pl.DataFrame, parsed: pl.Expr) -> pl.Expr:
    """`parsed`, an expression of one column of `raw`, worked out once for each distinct text.

    A month's export repeats a few dozen dates and about a thousand durations over tens of
    thousands of rows: parsing each distinct text once and looking the rows up is several
    times cheaper than parsing every cell, and gives the same values.
    """
    (column,) = set(parsed.meta.root_names())
    distinct = raw.get_column(column).unique()
    values = distinct.to_frame().select(parsed).to_series()
    return pl.col(column).replace_strict(distinct, values, default=None)


def typed_events(raw: pl.DataFrame, parsing: ParsingSettings) -> pl.DataFrame:
    """Typed unscheduled-event rows from the text cells of an events export."""
    return raw.select(
        text("sign").alias("sign"),
        text("registration").alias("registration"),
        text("aircraft_type").alias("aircraft_type"),
        text("issue_station").alias("issue_station"),
        once_per_distinct(raw, calendar_date("closing_date", parsing)).alias("closing_date"),
        text("ata").str.replace(r"\.0+$", "").alias("ata"),
        text("ata_description").alias("ata_description"),
        once_per_distinct(raw, duration_hours("hh_planned", parsing)).alias("hh_planned"),
        once_per_distinct(raw, duration_hours("hh_executed", parsing)).alias("hh_executed"),
    )


def typed_utilization(
    raw: pl.DataFrame, parsing: ParsingSettings, source: SourceSettings
) -> pl.DataFrame:
    """Typed utilisation rows; placeholder rows (`Dep. Date` of `0 `) are flagged, not parsed.

    TAH and TAC grow row by row, nearly every cell distinct, so they are parsed cell by cell.
    """
    placeholder = text("dep_date").is_in(source.placeholder_dates).fill_null(False)
    cycles = whole_number("cycles", parsing)
    if source.blank_cycles is not None:
        blank = text("cycles").is_null() & ~placeholder
        cycles = pl.when(blank).then(source.blank_cycles).otherwise(cycles)
    return raw.select(
        once_per_distinct(raw, calendar_date("dep_date", parsing)).alias("dep_date"),
        text("registration").alias("registration"),
        text("aircraft_type").alias("aircraft_type"),
        once_per_distinct(raw, whole_number("flights", parsing)).cast(pl.Int32).alias("flights"),
        once_per_distinct(raw, duration_hours("block_hours", parsing)).alias("block_hours"),
        cycles.cast(pl.Int32).alias("cycles"),
        duration_hours("tah", parsing).alias("tah"),
        whole_number("tac", parsing).alias("tac"),
        placeholder.alias("is_placeholder"),
    )
