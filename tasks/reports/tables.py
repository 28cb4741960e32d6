"""The warehouse tables a report is drawn from, read once: actuals, forecasts and monitoring.

Tables that do not exist yet (a warehouse before its first transform or monitor run) read as
empty frames, so the report says what is missing instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl


@dataclass(frozen=True)
class ReportTables:
    """Everything one report shows, as read from the warehouse."""

    actuals: pl.DataFrame  # week_start, hh: the complete weeks shown
    predictions: pl.DataFrame  # ml.predictions rows of the weeks shown (what-if rows too)
    metrics: pl.DataFrame  # ml.metric_history
    drift: pl.DataFrame  # ml.drift_history
    decisions: pl.DataFrame  # ml.promotions, with the proposed model's candidate and algorithm
    alerts: pl.DataFrame  # ml.alerts


def read_tables(con: duckdb.DuckDBPyConnection, weeks: int) -> ReportTables:
    """The report's tables: the last `weeks` complete weeks and every forecast made for them
    or after them, and the whole monitoring and champion history."""
    actuals = _frame(
        con,
        "marts.features_weekly",
        "select * from (select week_start, hh from marts.features_weekly where is_complete "
        "order by week_start desc limit ?) order by week_start",
        [weeks],
    )
    first_week = actuals["week_start"].min() if actuals.height else date.min
    predictions = _frame(
        con,
        "ml.predictions",
        "select * from ml.predictions where week_start >= ? order by made_at, week_start",
        [first_week],
    )
    return ReportTables(
        actuals=actuals,
        predictions=predictions,
        metrics=_frame(con, "ml.metric_history", "select * from ml.metric_history order by run_at"),
        drift=_frame(con, "ml.drift_history", "select * from ml.drift_history order by run_at"),
        decisions=_frame(
            con,
            "ml.promotions",
            "select p.*, m.candidate, m.algorithm from ml.promotions p "
            "left join ml.models m on m.model_id = p.champion_after order by p.decided_at",
        ),
        alerts=_frame(con, "ml.alerts", "select * from ml.alerts order by opened_at"),
    )


def _frame(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, params: list | None = None
) -> pl.DataFrame:
    """A query's rows, or an empty frame while `table` does not exist yet."""
    schema, name = table.split(".")
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    if not found[0][0]:
        return pl.DataFrame()
    return con.sql(sql, params=params or []).pl()
