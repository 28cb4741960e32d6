"""Turn the text cells of raw exports into typed values, one polars expression per quirk.

Every parser returns null for a value it cannot read; the row contracts (tasks/contracts.py)
then quarantine the row, naming the raw text, instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
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
    return pl.col(column).cast(pl.String).str.strip_chars().replace("", None)


def _worked_out(
    value: pl.Expr, steps: Callable[[pl.DataFrame], pl.DataFrame], dtype: pl.DataType
) -> pl.Expr:
    """`value` turned into one `dtype` column by `steps`, frame operations on a column `value`.

    Polars evaluates a sub-expression again everywhere it is referenced, and a parser looks at
    a cell several ways (a pattern's groups, whether it matched, a fallback). Materialising
    each step once makes them two to three times cheaper than one nested expression.
    """

    def run(values: pl.Series) -> pl.Series:
        return steps(values.to_frame("value")).to_series()

    return value.map_batches(run, return_dtype=dtype)


def decimal(column: str) -> pl.Expr:
    """A plain decimal number, accepting a comma as decimal separator (`1,5` is 1.5)."""
    return _worked_out(text(column), _decimal, pl.Float64)


def _decimal(cells: pl.DataFrame) -> pl.DataFrame:
    value = cells.select(pl.col("value").str.replace(",", ".", literal=True)).to_series()
    return pl.select(
        pl.when(value.str.contains(_DECIMAL)).then(value.cast(pl.Float64, strict=False))
    )


def duration_hours(column: str, parsing: ParsingSettings) -> pl.Expr:
    """Decimal hours from `H:MM`, `HH:MM:SS`, decimals, or an Excel date-time past day zero.

    Durations of 24 h or more leave Excel as a date-time counted from day zero
    (1899-12-31): `1900-01-01 02:30:00` is 26.5 h. They are real work, so they are converted.
    """
    return _worked_out(text(column), lambda cells: _duration_hours(cells, parsing), pl.Float64)


def _duration_hours(cells: pl.DataFrame, parsing: ParsingSettings) -> pl.DataFrame:
    # A pattern's first group takes part in every match, so it is set exactly when the cell
    # matches. Most cells are H:MM; only the others (`rest`) are tried as date-times and decimals.
    hms = cells.select(
        "value",
        pl.col("value")
        .str.extract_groups(_HMS)
        .struct.rename_fields(["hours", "minutes", "seconds"])
        .struct.unnest(),
    )
    rest = hms.select(value=pl.when(pl.col("hours").is_null()).then(pl.col("value")))
    parts = pl.concat(
        [
            hms,
            rest.select(
                pl.col("value")
                .str.extract_groups(_EXCEL_DATETIME)
                .struct.rename_fields(["day", "stamp_hours", "stamp_minutes", "stamp_seconds"])
                .struct.unnest()
            ),
            _decimal(rest).select(decimal=pl.first()),
        ],
        how="horizontal",
    ).with_columns(pl.col("day").str.to_date("%Y-%m-%d", strict=False))
    from_hms = (
        pl.col("hours").cast(pl.Float64)
        + pl.col("minutes").cast(pl.Float64) / 60
        + pl.col("seconds").cast(pl.Float64).fill_null(0) / 3600
    )
    from_excel = (
        (pl.col("day") - pl.lit(parsing.excel_day_zero)).dt.total_days().cast(pl.Float64) * 24
        + pl.col("stamp_hours").cast(pl.Float64)
        + pl.col("stamp_minutes").cast(pl.Float64) / 60
        + pl.col("stamp_seconds").cast(pl.Float64).fill_null(0) / 3600
    )
    return parts.select(
        pl.when(pl.col("hours").is_not_null())
        .then(from_hms)
        .when(pl.col("day") < pl.lit(_EXCEL_LEAP_BUG))
        .then(from_excel)
        .otherwise(pl.col("decimal"))
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
    return _worked_out(value, _whole_number, pl.Int64)


def _whole_number(cells: pl.DataFrame) -> pl.DataFrame:
    number = cells.select(pl.col("value").cast(pl.Float64, strict=False)).to_series()
    # Too large for 64 bits (`1e30`) or infinite is no count of ours: null, so quarantined.
    return pl.select(pl.when(number == number.floor()).then(number.cast(pl.Int64, strict=False)))


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
    return raw.select(
        *_flying_day(raw, parsing, source),
        duration_hours("tah", parsing).alias("tah"),
        whole_number("tac", parsing).alias("tac"),
        _placeholder(source).alias("is_placeholder"),
    )


def typed_flight_plan(
    raw: pl.DataFrame, parsing: ParsingSettings, source: SourceSettings
) -> pl.DataFrame:
    """Typed flight-plan rows: a utilisation row's day, without the totals nobody knows ahead."""
    return raw.select(
        *_flying_day(raw, parsing, source),
        _placeholder(source).alias("is_placeholder"),
    )


def _placeholder(source: SourceSettings) -> pl.Expr:
    return text("dep_date").is_in(source.placeholder_dates).fill_null(False)


def _flying_day(raw: pl.DataFrame, parsing: ParsingSettings, source: SourceSettings) -> list:
    """An aircraft's day as utilisation and flight-plan exports write it, the same quirks."""
    cycles = whole_number("cycles", parsing)
    if source.blank_cycles is not None:
        blank = text("cycles").is_null() & ~_placeholder(source)
        cycles = pl.when(blank).then(source.blank_cycles).otherwise(cycles)
    return [
        once_per_distinct(raw, calendar_date("dep_date", parsing)).alias("dep_date"),
        text("registration").alias("registration"),
        text("aircraft_type").alias("aircraft_type"),
        once_per_distinct(raw, whole_number("flights", parsing)).cast(pl.Int32).alias("flights"),
        once_per_distinct(raw, duration_hours("block_hours", parsing)).alias("block_hours"),
        cycles.cast(pl.Int32).alias("cycles"),
    ]
