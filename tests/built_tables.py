"""The tables a transform builds, read whole, so that two builds can be compared row for row."""

from __future__ import annotations

import duckdb

from warehouse.connection import connect

BUILT_TABLES = (
    "intermediate.int_aircraft_daily",
    "marts.features_weekly_aircraft",
    "marts.data_quality_weekly",
    "marts.features_weekly",
    "marts.features_weekly_plan",
)


def read_built(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every built table's rows, ordered by all its columns."""
    return {t: con.execute(f"select * from {t} order by all").fetchall() for t in BUILT_TABLES}


def contents(settings) -> dict[str, list[tuple]]:
    """The built tables of the settings' warehouse, as they stand."""
    with connect(settings.warehouse, read_only=True) as con:
        return read_built(con)
