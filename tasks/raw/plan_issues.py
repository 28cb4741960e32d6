"""The issue of a flight plan: its date, from the file's name or else its earliest planned day.

A newer issue supersedes an older one for the days it covers
(sql/staging/stg_flight_plan_days.sql), so every row carries the date its issue was made and
where that date came from.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath

import polars as pl

from hhcast.config import ParsingSettings, Settings, SourceSettings
from tasks.raw.parse import calendar_date

FROM_FILE_NAME = "file_name"
FROM_FIRST_DAY = "first_dep_date"


def issue_date(
    name: str, rows: pl.DataFrame, source: SourceSettings, parsing: ParsingSettings
) -> tuple[date | None, str | None]:
    """The issue date of the file `name` holding typed plan `rows`, and where it came from.

    The file's name, when `source.issued_at_pattern` finds in it a date the configured
    formats read; otherwise the earliest planned `Dep. Date` (placeholder rows aside); None
    for a file with no planned day at all.
    """
    found = re.search(source.issued_at_pattern, name) if source.issued_at_pattern else None
    if found:
        text = pl.DataFrame({"issued_at": [found.group("issued_at")]})
        issued = text.select(calendar_date("issued_at", parsing)).item()
        if issued is not None:
            return issued, FROM_FILE_NAME
    first = rows.filter(~pl.col("is_placeholder")).get_column("dep_date").min()
    return (first, FROM_FIRST_DAY) if first is not None else (None, None)


def with_issue_date(rows: pl.DataFrame, uri: str, settings: Settings) -> pl.DataFrame:
    """A flight-plan file's accepted rows with its issue date and its origin on every row."""
    source = settings.sources["flight_plan"]
    issued, origin = issue_date(PurePosixPath(uri).name, rows, source, settings.parsing)
    return rows.with_columns(
        pl.lit(issued, pl.Date).alias("plan_issued_at"),
        pl.lit(origin, pl.String).alias("plan_issued_from"),
    )
